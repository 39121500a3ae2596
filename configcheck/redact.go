package configcheck

import "github.com/dedw3n/hardening/internal/redact"

// scrub is a safety net under the rules' own care: a problem text that
// contains a secret value, or a piece of one longer than its documented
// prefix, is replaced by a fixed text.
func (r *Report) scrub(states []*varState) {
	for _, st := range states {
		if !st.spec.Secret || st.res.value == "" {
			continue
		}
		targets := st.scrubFor
		if targets == nil {
			targets = []string{st.res.value}
		}
		for _, t := range targets {
			r.withhold(redact.NewPieces(t, len(matchedPrefix(t, st.prefixes))+minLeak))
		}
	}
}

// minLeak is how many characters beyond its documented prefix a piece of a
// secret must have for the scrubber to look for it: shorter pieces match
// ordinary words and example values by chance ("short", "postgres://a").
const minLeak = 6

// withhold replaces every message and hint that shows the secret, whole or
// in pieces, by a fixed text.
func (r *Report) withhold(secret redact.Pieces) {
	for i := range r.Problems {
		p := &r.Problems[i]
		if secret.In(p.Message) {
			p.Message = "(message withheld: it would have shown part of a secret value)"
		}
		if secret.In(p.Hint) {
			p.Hint = "(hint withheld: it would have shown part of a secret value)"
		}
	}
}
