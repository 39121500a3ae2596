package configcheck

import (
	"slices"
	"strings"
)

// Rule is one check on a variable. Rules are built by the constructors in this
// package (Required, MinLen, Prefix, PostgresDSN, …) and narrowed with In and
// Warn. The zero Rule checks nothing.
//
// Except Required, RequiredIf and NonEmpty, a rule looks at the value the
// application will use: the variable's value when it is set to something
// other than blanks, else its Default; it skips a variable that has neither.
type Rule struct {
	kind   string // the rule's name in reports: "required", "min-length", …
	detail string // shown after kind when listing rules, e.g. "32"
	envs   []Env  // the environments the rule applies in; nil means all
	warn   bool   // errors become warnings
	always bool   // runs on unset and empty variables too
	typ    string // the value's type for Report accessors: "int", "duration", …; "" leaves it alone
	// prefixes are documented value prefixes a report may show for a secret.
	prefixes []string
	// cross names another variable whose documented prefixes gain crossPrefixes.
	cross         string
	crossPrefixes []string
	check         func(c *checkCtx, v *varState) []finding
}

// finding is what a rule's check returns; the checker adds the variable and
// rule names and renders the value safely.
type finding struct {
	msg  string
	hint string
	warn bool // a warning even when the rule is not marked Warn
}

// In returns a copy of r that applies only in the given environments.
func (r Rule) In(envs ...Env) Rule {
	r.envs = append([]Env(nil), envs...)
	return r
}

// Warn returns a copy of r whose problems are warnings, not errors.
func (r Rule) Warn() Rule {
	r.warn = true
	return r
}

// String describes the rule for listings, such as
// "required (production)" or "min-length 32 (warning)".
func (r Rule) String() string {
	var b strings.Builder
	b.WriteString(r.kind)
	if r.detail != "" {
		b.WriteString(" ")
		b.WriteString(r.detail)
	}
	var notes []string
	for _, e := range r.envs {
		notes = append(notes, string(e))
	}
	if r.warn {
		notes = append(notes, "warning")
	}
	if len(notes) > 0 {
		b.WriteString(" (" + strings.Join(notes, ", ") + ")")
	}
	return b.String()
}

func (r Rule) appliesIn(env Env) bool {
	return r.check != nil && (len(r.envs) == 0 || slices.Contains(r.envs, env))
}
