package configcheck

import "strings"

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
			r.scrubOne(t, len(matchedPrefix(t, st.prefixes))+minLeak)
		}
	}
}

// minLeak is how many characters beyond its documented prefix a piece of a
// secret must have for the scrubber to look for it: shorter pieces match
// ordinary words and example values by chance ("short", "postgres://a").
const minLeak = 6

// scrubOne withholds every message and hint that contains secret whole (when
// it is at least 8 bytes long) or any n bytes of it. The n-byte pieces of the
// (short) texts are indexed and the secret, which may be long, is scanned
// once.
func (r *Report) scrubOne(secret string, n int) {
	type field struct {
		problem int
		hint    bool
	}
	pieces := map[string][]field{}
	leaked := map[field]bool{}
	for i, p := range r.Problems {
		for _, f := range []field{{i, false}, {i, true}} {
			text := p.Message
			if f.hint {
				text = p.Hint
			}
			if len(secret) >= 8 && strings.Contains(text, secret) {
				leaked[f] = true
			}
			for j := 0; j+n <= len(text); j++ {
				pieces[text[j:j+n]] = append(pieces[text[j:j+n]], f)
			}
		}
	}
	for j := 0; j+n <= len(secret); j++ {
		for _, f := range pieces[secret[j:j+n]] {
			leaked[f] = true
		}
	}
	for f := range leaked {
		if f.hint {
			r.Problems[f.problem].Hint = "(hint withheld: it would have shown part of a secret value)"
		} else {
			r.Problems[f.problem].Message = "(message withheld: it would have shown part of a secret value)"
		}
	}
}
