package configcheck

import (
	"fmt"
	"io"
	"strings"
)

// Var declares one variable and the rules it must satisfy.
type Var struct {
	// Name is the variable's name, such as "SESSION_SECRET". NAME_FILE is
	// accepted for every variable (see FileSuffix).
	Name string

	// Secret marks the value as secret: reports, errors and logs show only
	// its length and which documented prefix it starts with (the prefixes
	// named by its Prefix and SameMode rules, "postgres://" for PostgresDSN).
	Secret bool

	// Default is the value the application uses when the variable is unset.
	// It is shown in listings and used by cross-variable rules (NotAbove)
	// when the variable is unset. The default is "" (no default).
	Default string

	// Hint tells how to fix a problem with the variable, such as
	// "generate one with: openssl rand -base64 48". It is appended to the
	// report of every problem the variable has. The default is "" (only the
	// rules' own hints).
	Hint string

	// Rules are checked in order; every problem is reported.
	Rules []Rule
}

// RuleSet is a declarative list of variables and their rules. The zero
// RuleSet knows no variables and reports nothing.
type RuleSet struct {
	// Vars are the known variables, reported in this order.
	Vars []Var

	// Prefixes are the application's variable prefixes, such as "SESSION_".
	// A set variable that is not known but starts with one of them, or that
	// is one or two edits away from a known name, is reported as a warning
	// (a likely typo). The default (nil) reports only near misses.
	Prefixes []string
}

// WriteRules lists the variables and their rules, one variable per line, for
// documentation and `check-config --rules`.
func (rs *RuleSet) WriteRules(w io.Writer) error {
	width := 0
	for _, v := range rs.Vars {
		width = max(width, len(v.Name))
	}
	for _, v := range rs.Vars {
		var parts []string
		if v.Secret {
			parts = append(parts, "secret")
		}
		for _, r := range v.Rules {
			if r.check != nil {
				parts = append(parts, r.String())
			}
		}
		if v.Default != "" {
			parts = append(parts, fmt.Sprintf("default %s", v.Default))
		}
		if _, err := fmt.Fprintf(w, "%-*s  %s\n", width, v.Name, strings.Join(parts, "; ")); err != nil {
			return err
		}
	}
	return nil
}

// varState is one variable during a check.
type varState struct {
	spec     *Var
	res      resolved
	prefixes []string // documented prefixes of a secret value
	// scrubFor, when set by a rule, are the parts of a secret value that must
	// not appear in any report text (a DSN's password: its option names may).
	// Nil means the whole value.
	scrubFor []string
}

func (v *varState) name() string { return v.spec.Name }

// present reports whether the variable holds something besides blanks.
func (v *varState) present() bool {
	return v.res.set && v.res.fileErr == "" && !v.res.conflict && strings.TrimSpace(v.res.value) != ""
}

// describe renders the value for a report: quoted for plain variables, a
// length and documented prefix class for secrets.
func (v *varState) describe() string {
	if v.spec.Secret {
		return describeSecret(v.res.value, v.prefixes)
	}
	return quoteValue(v.res.value)
}

// quoteValue quotes a non-secret value, shortened to keep lines readable.
func quoteValue(s string) string {
	const maxRunes = 80
	if r := []rune(s); len(r) > maxRunes {
		return fmt.Sprintf("%q…", string(r[:maxRunes]))
	}
	return fmt.Sprintf("%q", s)
}

// checkCtx is the state shared by the rules of one check.
type checkCtx struct {
	env  Env
	vars map[string]*varState
}

// other returns the state of another variable, or nil if it is not declared.
func (c *checkCtx) other(name string) *varState { return c.vars[name] }

// Check reads every variable from src and checks every rule for env. Any env
// other than Development is checked as Production. It returns the report of
// every problem found; it never stops at the first.
func (rs *RuleSet) Check(env Env, src Source) *Report {
	if env != Development {
		env = Production
	}
	c := &checkCtx{env: env, vars: make(map[string]*varState, len(rs.Vars))}
	states := make([]*varState, 0, len(rs.Vars))
	for i := range rs.Vars {
		spec := &rs.Vars[i]
		st := &varState{spec: spec, res: src.resolve(spec.Name)}
		for _, r := range spec.Rules {
			st.prefixes = append(st.prefixes, r.prefixes...)
		}
		c.vars[spec.Name] = st
		states = append(states, st)
	}
	for _, st := range states {
		for _, r := range st.spec.Rules {
			if o := c.vars[r.cross]; o != nil {
				o.prefixes = append(o.prefixes, r.crossPrefixes...)
			}
		}
	}

	rep := &Report{Env: env, Problems: []Problem{}, values: make(map[string]Secret, len(states))}
	for _, st := range states {
		if st.res.set && st.res.fileErr == "" {
			rep.values[st.name()] = newSecret(st.res.value, st.prefixes)
		}
		rep.add(st, "file", checkFile(st))
		for _, r := range st.spec.Rules {
			if !r.appliesIn(env) || (!r.always && !st.present()) {
				continue
			}
			fs := capFindings(r.check(c, st))
			if r.warn {
				for i := range fs {
					fs[i].warn = true
				}
			}
			rep.add(st, r.kind, fs)
		}
	}
	rep.Problems = append(rep.Problems, rs.typos(src)...)
	rep.scrub(states)
	rep.count()
	return rep
}

// maxFindings bounds the problems one rule reports for one variable: a list
// of ten thousand empty entries is one problem told a few times, not ten
// thousand lines.
const maxFindings = 10

func capFindings(fs []finding) []finding {
	if len(fs) <= maxFindings {
		return fs
	}
	more := len(fs) - maxFindings
	fs = append(fs[:maxFindings:maxFindings], finding{
		msg:  fmt.Sprintf("has %d more problems of this kind", more),
		hint: "fix the problems above, then run the check again",
	})
	return fs
}

// checkFile reports NAME_FILE conflicts and unreadable files.
func checkFile(st *varState) []finding {
	name := st.name()
	switch {
	case st.res.conflict:
		return []finding{{
			msg:  fmt.Sprintf("both %s and %s%s are set", name, name, FileSuffix),
			hint: fmt.Sprintf("unset one of them: %s%s reads the value from a file (Docker and Kubernetes secrets), %s holds it directly", name, FileSuffix, name),
		}}
	case st.res.fileErr != "":
		return []finding{{
			msg:  fmt.Sprintf("%s%s %s", name, FileSuffix, st.res.fileErr),
			hint: fmt.Sprintf("point %s%s at a readable file holding the value, or set %s instead", name, FileSuffix, name),
		}}
	}
	return nil
}
