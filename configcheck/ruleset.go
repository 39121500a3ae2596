package configcheck

import (
	"fmt"
	"strings"
)

// Var declares one variable, its default and the rules it must satisfy. Its
// type, for the typed accessors of [Report], is that of its typed rule
// ([IntBetween], [DurationBetween], [Bool], [URL], [List], [PathList]), else
// a string.
type Var struct {
	// Name is the variable's name, such as "SESSION_SECRET". NAME_FILE is
	// accepted for every variable (see FileSuffix).
	Name string

	// Secret marks the value as secret: reports, errors and logs show only
	// its length and which documented prefix it starts with.
	Secret bool

	// Default is the value the application uses when the variable is unset
	// or blank. The rules check it like a set value, and the accessors of
	// [Report] return it. The default is "" (no default).
	Default string

	// Hint tells how to fix a problem with the variable, such as
	// "generate one with: openssl rand -base64 48". It is appended to the
	// report of every problem the variable has. The default is "" (only the
	// rules' own hints).
	Hint string

	// Rules are checked in order; every problem is reported.
	Rules []Rule
}

// typ is the variable's type: that of its first typed rule, else "string".
func (v *Var) typ() string {
	for _, r := range v.Rules {
		if r.typ != "" {
			return r.typ
		}
	}
	return "string"
}

// RuleSet is a declarative list of variables and their rules. The zero
// RuleSet knows no variables and reports nothing.
type RuleSet struct {
	// Vars are the known variables, reported and listed in this order.
	Vars []Var

	// EnvVar names the variable that selects the environment, such as
	// "APP_ENV", for [RuleSet.Load] and [RuleSet.Command]: "production" or
	// "development", unset or empty meaning development, and any other value
	// checked as production (strictly, never leniently). Declare it among
	// Vars with OneOf("development", "production") so that such a value is
	// reported. The default ("") means development.
	EnvVar string

	// Prefixes are the application's variable prefixes, such as "SESSION_".
	// A set variable that is not known but starts with one of them, or that
	// is one or two edits away from a known name, is reported as a warning
	// (a likely typo); names and prefixes are compared in any case, so
	// app_env is reported as a misspelling of APP_ENV. The default (nil)
	// reports only near misses.
	Prefixes []string
}

// varState is one variable during a check.
type varState struct {
	spec      *Var
	res       resolved
	value     string // what the rules check: the value when present, else the default
	defaulted bool   // value is the default
	prefixes  []string
	// scrubFor, when set by a rule, are the parts of a secret value that must
	// not appear in any report text (a DSN's password: its option names may).
	// Nil means the whole value.
	scrubFor []string
}

func (v *varState) name() string { return v.spec.Name }

// present reports whether the variable has a value to check: set to
// something besides blanks, or defaulted.
func (v *varState) present() bool { return v.value != "" && (v.defaulted || v.setNonBlank()) }

func (v *varState) setNonBlank() bool {
	return v.res.set && v.res.fileErr == "" && strings.TrimSpace(v.res.value) != ""
}

// describe renders the value for a report: quoted for plain variables, a
// length and documented prefix class for secrets.
func (v *varState) describe() string {
	d := quoteValue(v.value)
	if v.spec.Secret {
		d = describeSecret(v.value, v.prefixes)
	}
	if v.defaulted {
		d += ", the default"
	}
	return d
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

// Load checks the variables of src in the environment named by EnvVar (read
// from src too): the one call a service makes at start-up. It returns the
// report, whose accessors give the typed values when it is OK.
func (rs *RuleSet) Load(src Source) *Report {
	return rs.Check(rs.env(src), src)
}

// env is the environment EnvVar selects in src.
func (rs *RuleSet) env(src Source) Env {
	if rs.EnvVar == "" {
		return Development
	}
	env, _ := parseEnv(src.resolve(rs.EnvVar).value) // a bad value is checked strictly and reported by its rule
	return env
}

// Check reads every variable from src and checks every rule for env. Any env
// other than Development is checked as Production. It returns the report of
// every problem found; it never stops at the first.
func (rs *RuleSet) Check(env Env, src Source) *Report {
	if env != Development {
		env = Production
	}
	c := &checkCtx{env: env, vars: make(map[string]*varState, len(rs.Vars))}
	states := rs.resolve(c, src)
	rep := &Report{Env: env, Problems: []Problem{}, vars: make(map[string]loaded, len(states))}
	for _, st := range states {
		rep.vars[st.name()] = loaded{spec: st.spec, value: newSecret(st.value, st.prefixes)}
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

// resolve reads every variable, applies defaults and gathers the documented
// prefixes of secret values, including those other variables' rules name.
func (rs *RuleSet) resolve(c *checkCtx, src Source) []*varState {
	states := make([]*varState, 0, len(rs.Vars))
	for i := range rs.Vars {
		spec := &rs.Vars[i]
		st := &varState{spec: spec, res: src.resolve(spec.Name)}
		st.value = st.res.value
		if !st.setNonBlank() {
			st.value, st.defaulted = spec.Default, spec.Default != ""
		}
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
	return states
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
			msg: fmt.Sprintf("both %s and %s%s are set, so neither is used; the other rules check %s's value, and the file %s%s names is not read",
				name, name, FileSuffix, name, name, FileSuffix),
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
