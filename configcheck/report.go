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
// the rule's name (as in [Rule.String]), "file" for a NAME_FILE problem, or "unknown"
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

// Report is the outcome of [RuleSet.Check] and [RuleSet.Load]: every problem
// found, in the order of the rule set's variables, then unknown variables by
// name. Its text, JSON, fmt and slog forms never contain a secret value.
//
// Its accessors (Value, Secret, Int, Duration, Bool, URL, List) return the
// values the application uses: the set value (NAME_FILE applied), else the
// Var's Default. After a check without errors they cannot fail: every typed
// rule has accepted what they parse. In a report with errors, a value that
// does not parse reads as the default, or as the zero value when there is
// none. Asking for an undeclared variable, or with the accessor of another
// type, is a programming error: it panics naming the variable, never a value.
type Report struct {
	Env      Env       `json:"env"`
	OK       bool      `json:"ok"` // no errors; warnings allowed
	Errors   int       `json:"errors"`
	Warnings int       `json:"warnings"`
	Problems []Problem `json:"problems"`

	vars map[string]loaded // the values the application uses, by name
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
