package configcheck

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func loadRules() *RuleSet {
	return &RuleSet{Vars: []Var{
		{Name: "I", Default: "8080", Rules: []Rule{IntBetween(0, 65535)}},
		{Name: "D", Default: "1h30m", Rules: []Rule{DurationBetween(time.Second, 24*time.Hour)}},
		{Name: "B", Default: "true", Rules: []Rule{Bool()}},
		{Name: "U", Default: "https://api.example/v3", Rules: []Rule{URL("https")}},
		{Name: "L", Default: "a, b", Rules: []Rule{List()}},
		{Name: "P", Default: "/srv/a,/srv/b", Rules: []Rule{PathList()}},
		{Name: "S", Default: "text", Rules: []Rule{OneOf("text", "json")}},
		{Name: "K", Secret: true, Rules: []Rule{MinLen(8)}},
		{Name: "N", Rules: []Rule{IntBetween(0, 9)}}, // no default
	}}
}

// TestLoadDefaults: unset and blank variables read as their defaults, typed.
func TestLoadDefaults(t *testing.T) {
	for name, m := range map[string]map[string]string{
		"unset": nil,
		"blank": {"I": "", "D": " ", "B": "", "U": "", "L": "", "P": "", "S": "", "K": "", "N": ""},
	} {
		t.Run(name, func(t *testing.T) {
			rep := loadRules().Load(Map(m))
			require.True(t, rep.OK, rep.String())
			assert.Equal(t, Development, rep.Env)
			assert.Equal(t, 8080, rep.Int("I"))
			assert.Equal(t, 90*time.Minute, rep.Duration("D"))
			assert.True(t, rep.Bool("B"))
			assert.Equal(t, "https://api.example/v3", rep.URL("U").String())
			assert.Equal(t, []string{"a", "b"}, rep.List("L"))
			assert.Equal(t, []string{"/srv/a", "/srv/b"}, rep.List("P"))
			assert.Equal(t, "text", rep.Value("S"))
			assert.Equal(t, "", rep.Secret("K").Reveal())
			assert.Equal(t, 0, rep.Int("N"), "no value and no default: the zero value")
		})
	}
}

// TestLoadSetValues: set values (NAME_FILE included) win over defaults.
func TestLoadSetValues(t *testing.T) {
	rep := loadRules().Load(Map(map[string]string{
		"I": "0", "D": "2s", "B": "0", "U": "https://other.example", "L": "x,,y ", "P": "/p", "S": "json",
		"K_FILE": writeFile(t, "k3y-value-long\n"), "N": "9",
	}))
	assert.Equal(t, []got3{{"L", "list", E}}, reduce(rep), "the empty list item is reported")
	assert.Equal(t, 0, rep.Int("I"))
	assert.Equal(t, 2*time.Second, rep.Duration("D"))
	assert.False(t, rep.Bool("B"))
	assert.Equal(t, "other.example", rep.URL("U").Host)
	assert.Equal(t, []string{"x", "y"}, rep.List("L"))
	assert.Equal(t, []string{"/p"}, rep.List("P"))
	assert.Equal(t, "json", rep.Value("S"))
	assert.Equal(t, "k3y-value-long", rep.Secret("K").Reveal())
	assert.Equal(t, 9, rep.Int("N"))
}

// TestLoadAfterErrors: a value that does not parse reads as the default,
// or the zero value without one; the report says why.
func TestLoadAfterErrors(t *testing.T) {
	rep := loadRules().Load(Map(map[string]string{"I": "http", "D": "7d", "B": "yes", "N": "x"}))
	assert.False(t, rep.OK)
	assert.Equal(t, 8080, rep.Int("I"))
	assert.Equal(t, 90*time.Minute, rep.Duration("D"))
	assert.True(t, rep.Bool("B"))
	assert.Equal(t, 0, rep.Int("N"))
}

// TestLoadDefaultsAreChecked: a default is checked like a set value, so a
// default that breaks a rule (or conflicts with another variable's value)
// fails the check instead of surprising the service.
func TestLoadDefaultsAreChecked(t *testing.T) {
	rs := &RuleSet{Vars: []Var{
		{Name: "TTL", Default: "1h", Rules: []Rule{DurationBetween(time.Second, 24*time.Hour)}},
		{Name: "TOUCH", Default: "2h", Rules: []Rule{DurationBetween(time.Second, 24*time.Hour), Below("TTL")}},
		{Name: "BAD", Default: "ten", Rules: []Rule{IntBetween(0, 9)}},
	}}
	rep := rs.Check(Development, Map(nil))
	assert.Equal(t, []got3{{"TOUCH", "order", E}, {"BAD", "int", E}}, reduce(rep))
	assert.Contains(t, rep.String(), `"2h" (the default) is not less than TTL (default "1h")`)
	assert.Contains(t, rep.String(), `is not an integer (got "ten", the default)`)
}

// TestLoadEnvVar: EnvVar selects the environment; an unknown value is
// checked as production and reported once by its rule.
func TestLoadEnvVar(t *testing.T) {
	rs := &RuleSet{EnvVar: "APP_ENV", Vars: []Var{
		{Name: "APP_ENV", Default: "development", Rules: []Rule{OneOf("development", "production")}},
		{Name: "KEY", Rules: []Rule{Required().In(Production)}},
	}}
	for env, want := range map[string]Env{"": Development, "development": Development, "production": Production, "test": Production} {
		m := map[string]string{"KEY": "k"}
		if env != "" {
			m["APP_ENV"] = env
		}
		assert.Equal(t, want, rs.Load(Map(m)).Env, env)
	}
	assert.Equal(t, []got3{{"APP_ENV", "one-of", E}}, reduce(rs.Load(Map(map[string]string{"APP_ENV": "test", "KEY": "k"}))))
	assert.Equal(t, Production, rs.Load(Map(map[string]string{"APP_ENV_FILE": writeFile(t, "production")})).Env, "NAME_FILE applies")
}

// TestLoadProgrammingErrorsPanic: an undeclared name or an accessor of
// another type panics, naming the variable but no value.
func TestLoadProgrammingErrorsPanic(t *testing.T) {
	rep := loadRules().Load(Map(map[string]string{"K": "secret-value-123"}))
	assert.PanicsWithValue(t, "configcheck: NOPE is not declared in the rule set", func() { rep.Value("NOPE") })
	assert.PanicsWithValue(t, "configcheck: K is declared as string, not int", func() { rep.Int("K") })
	assert.PanicsWithValue(t, "configcheck: I is declared as int, not duration", func() { rep.Duration("I") })
	assert.PanicsWithValue(t, "configcheck: S is declared as string, not list", func() { rep.List("S") })
	assert.PanicsWithValue(t, "configcheck: L is declared as list, not bool", func() { rep.Bool("L") })
	assert.PanicsWithValue(t, "configcheck: D is declared as duration, not url", func() { rep.URL("D") })
}
