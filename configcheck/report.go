package configcheck

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// Problem is one finding of a check. Its fields never hold a secret value:
// a secret is described by its length and documented prefix only. Rule is
// the rule's name ([Rule.Name]), "file" for a NAME_FILE problem, or "unknown"
// for a set variable that looks like a typo of a declared one.
type Problem struct {
	Var      string   `json:"variable"`
	Rule     string   `json:"rule"`
	Severity Severity `json:"severity"`
	Message  string   `json:"message"`
	Hint     string   `json:"hint,omitempty"`
}

// String renders the problem on one line: "error DATABASE_URL [required]: is not set".
func (p Problem) String() string {
	return fmt.Sprintf("%s %s [%s]: %s", p.Severity, p.Var, p.Rule, p.Message)
}

// LogValue renders the problem as a group of structured fields.
func (p Problem) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("variable", p.Var),
		slog.String("rule", p.Rule),
		slog.String("severity", string(p.Severity)),
		slog.String("message", p.Message),
		slog.String("hint", p.Hint),
	)
}

// Report is the outcome of [RuleSet.Check]: every problem found, in the
// order of the rule set's variables, then unknown variables by name. Its
// text, JSON, fmt and slog forms never contain a secret value.
type Report struct {
	Env      Env       `json:"env"`
	OK       bool      `json:"ok"` // no errors; warnings allowed
	Errors   int       `json:"errors"`
	Warnings int       `json:"warnings"`
	Problems []Problem `json:"problems"`

	values map[string]Secret // resolved values, NAME_FILE applied
}

func (r *Report) add(st *varState, rule string, fs []finding) {
	for _, f := range fs {
		sev := SeverityError
		if f.warn {
			sev = SeverityWarning
		}
		hint := f.hint
		if st.spec.Hint != "" {
			if hint != "" {
				hint += "; "
			}
			hint += st.spec.Hint
		}
		r.Problems = append(r.Problems, Problem{Var: st.name(), Rule: rule, Severity: sev, Message: f.msg, Hint: hint})
	}
}

func (r *Report) count() {
	r.Errors, r.Warnings = 0, 0
	for _, p := range r.Problems {
		if p.Severity == SeverityError {
			r.Errors++
		} else {
			r.Warnings++
		}
	}
	r.OK = r.Errors == 0
}

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
// it is at least 8 bytes long) or any n bytes of it. A short secret's pieces
// are looked for in all texts at once; for a long one, the n-byte pieces of
// the (short) texts are indexed and the secret is scanned once.
func (r *Report) scrubOne(secret string, n int) {
	if len(secret) <= 512 {
		var all strings.Builder
		for _, p := range r.Problems {
			all.WriteString(p.Message)
			all.WriteByte(0)
			all.WriteString(p.Hint)
			all.WriteByte(0)
		}
		text, found := all.String(), false
		if len(secret) >= 8 && strings.Contains(text, secret) {
			found = true
		}
		for j := 0; !found && j+n <= len(secret); j++ {
			found = strings.Contains(text, secret[j:j+n])
		}
		if !found {
			return
		}
	}
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

// Err returns nil when the report has no errors, and otherwise an error
// naming the count and the variables at fault (never their values).
func (r *Report) Err() error {
	if r.OK {
		return nil
	}
	var names []string
	seen := map[string]bool{}
	for _, p := range r.Problems {
		if p.Severity == SeverityError && !seen[p.Var] {
			seen[p.Var] = true
			names = append(names, p.Var)
		}
	}
	return fmt.Errorf("configcheck: %s: %s in %s", r.Env, plural(r.Errors, "error"), strings.Join(names, ", "))
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// summary is the report's first line.
func (r *Report) summary() string {
	state := "OK"
	if !r.OK {
		state = "FAILED"
	}
	return fmt.Sprintf("configcheck: %s: %s (%s, %s)", r.Env, state, plural(r.Errors, "error"), plural(r.Warnings, "warning"))
}

// WriteText writes the report for people: a summary line, then each problem
// with its fix hint.
//
//	configcheck: production: FAILED (1 error, 0 warnings)
//	error   SESSION_SECRET [min-length]: secret, 12 characters: is shorter than 32 characters
//	        fix: generate one with: openssl rand -base64 48
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	b.WriteString(r.summary())
	b.WriteByte('\n')
	for _, p := range r.Problems {
		fmt.Fprintf(&b, "%-7s %s [%s]: %s\n", p.Severity, p.Var, p.Rule, p.Message)
		if p.Hint != "" {
			fmt.Fprintf(&b, "        fix: %s\n", p.Hint)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON writes the report as one indented JSON object:
// {"env","ok","errors","warnings","problems":[{"variable","rule","severity","message","hint"}]}.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// String returns the text form of the report (see WriteText).
func (r *Report) String() string {
	var b strings.Builder
	_ = r.WriteText(&b)
	return b.String()
}

// GoString returns the summary line, so %#v shows no resolved values.
func (r *Report) GoString() string { return "configcheck.Report{" + r.summary() + "}" }

// LogValue renders the report as structured fields: env, ok, errors,
// warnings and the problems.
func (r *Report) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.String("env", string(r.Env)),
		slog.Bool("ok", r.OK),
		slog.Int("errors", r.Errors),
		slog.Int("warnings", r.Warnings),
	}
	for i, p := range r.Problems {
		attrs = append(attrs, slog.Any(fmt.Sprintf("problem%d", i+1), p))
	}
	return slog.GroupValue(attrs...)
}

// Value returns a variable's resolved value (NAME_FILE applied) and whether
// it is set. It returns secrets in clear: prefer [Report.Secret] for them.
func (r *Report) Value(name string) (string, bool) {
	s, ok := r.values[name]
	return s.Reveal(), ok
}

// Secret returns a variable's resolved value wrapped so that printing,
// logging and marshalling it never shows it. It is the zero Secret when the
// variable is unset or unknown to the rule set.
func (r *Report) Secret(name string) Secret { return r.values[name] }
