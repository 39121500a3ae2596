package configcheck

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "secret")
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

func TestFileConvention(t *testing.T) {
	secret := validProduction()["SESSION_SECRET"]

	t.Run("value read from NAME_FILE, one newline removed", func(t *testing.T) {
		m := with(validProduction(), "SESSION_SECRET", "<unset>", "SESSION_SECRET_FILE", writeFile(t, secret+"\n"))
		rep := testRules().Check(Production, Map(m))
		requireClean(t, rep)
		assert.Equal(t, secret, rep.Value("SESSION_SECRET"))
		assert.Equal(t, secret, rep.Secret("SESSION_SECRET").Reveal())
	})
	t.Run("CRLF removed too", func(t *testing.T) {
		m := with(validProduction(), "SESSION_SECRET", "<unset>", "SESSION_SECRET_FILE", writeFile(t, secret+"\r\n"))
		requireClean(t, testRules().Check(Production, Map(m)))
	})
	t.Run("a second newline is whitespace", func(t *testing.T) {
		m := with(validProduction(), "SESSION_SECRET", "<unset>", "SESSION_SECRET_FILE", writeFile(t, secret+"\n\n"))
		rep := testRules().Check(Production, Map(m))
		assert.Equal(t, []got3{{"SESSION_SECRET", "whitespace", E}}, reduce(rep), dump(rep))
	})
	t.Run("NAME_FILE satisfies required", func(t *testing.T) {
		m := with(validProduction(), "BREVO_API_KEY", "<unset>", "BREVO_API_KEY_FILE", writeFile(t, validProduction()["BREVO_API_KEY"]))
		requireClean(t, testRules().Check(Production, Map(m)))
	})
	t.Run("both set", func(t *testing.T) {
		m := with(validProduction(), "SESSION_SECRET_FILE", writeFile(t, secret))
		rep := testRules().Check(Production, Map(m))
		assert.Equal(t, []got3{{"SESSION_SECRET", "file", E}}, reduce(rep), dump(rep))
		assert.Contains(t, rep.Problems[0].Message, "both SESSION_SECRET and SESSION_SECRET_FILE are set")
	})
	t.Run("both set: NAME's own problems are reported too", func(t *testing.T) {
		// The regression: the conflict alone was reported, the rules
		// checked the default, and PORT=http failed again on the next run.
		m := with(validProduction(), "PORT", "http", "PORT_FILE", writeFile(t, "8080\n"))
		rep := testRules().Check(Production, Map(m))
		require.Equal(t, []got3{{"PORT", "file", E}, {"PORT", "int", E}}, reduce(rep), dump(rep))
		assert.Contains(t, rep.Problems[0].Message, "neither is used; the other rules check PORT's value")
		assert.Contains(t, rep.Problems[1].Message, `"http"`)
	})
	t.Run("both set: a secret NAME is judged but not shown", func(t *testing.T) {
		weak := "Zq8v-Lw3kP0x"
		m := with(validProduction(), "SESSION_SECRET", weak, "SESSION_SECRET_FILE", writeFile(t, secret))
		rep := testRules().Check(Production, Map(m))
		assert.Equal(t, []got3{{"SESSION_SECRET", "file", E}, {"SESSION_SECRET", "min-length", E}, {"SESSION_SECRET", "strength", E}}, reduce(rep), dump(rep))
		assert.NotContains(t, dump(rep), weak)
		assert.NotContains(t, dump(rep), secret[:10])
	})
	t.Run("both set: an empty NAME is reported as empty", func(t *testing.T) {
		m := with(validProduction(), "SESSION_SECRET", "", "SESSION_SECRET_FILE", writeFile(t, secret))
		rep := testRules().Check(Production, Map(m))
		assert.Equal(t, []got3{{"SESSION_SECRET", "file", E}, {"SESSION_SECRET", "non-empty", E}}, reduce(rep), dump(rep))
	})
	t.Run("missing file", func(t *testing.T) {
		m := with(validProduction(), "SESSION_SECRET", "<unset>", "SESSION_SECRET_FILE", filepath.Join(t.TempDir(), "nope"))
		rep := testRules().Check(Production, Map(m))
		assert.Equal(t, []got3{{"SESSION_SECRET", "file", E}}, reduce(rep), dump(rep))
		assert.Contains(t, rep.Problems[0].Message, "does not exist")
		assert.Empty(t, rep.Value("SESSION_SECRET"))
	})
	t.Run("empty NAME_FILE", func(t *testing.T) {
		m := with(validProduction(), "SESSION_SECRET", "<unset>", "SESSION_SECRET_FILE", "")
		rep := testRules().Check(Production, Map(m))
		assert.Equal(t, []got3{{"SESSION_SECRET", "file", E}}, reduce(rep), dump(rep))
	})
	t.Run("directory", func(t *testing.T) {
		m := with(validProduction(), "SESSION_SECRET", "<unset>", "SESSION_SECRET_FILE", t.TempDir())
		rep := testRules().Check(Production, Map(m))
		assert.Equal(t, []got3{{"SESSION_SECRET", "file", E}}, reduce(rep), dump(rep))
	})
	t.Run("too large", func(t *testing.T) {
		m := with(validProduction(), "SESSION_SECRET", "<unset>", "SESSION_SECRET_FILE", writeFile(t, strings.Repeat("a", maxFileSize+1)))
		rep := testRules().Check(Production, Map(m))
		assert.Equal(t, []got3{{"SESSION_SECRET", "file", E}}, reduce(rep), dump(rep))
		assert.Contains(t, rep.Problems[0].Message, "64 KiB")
	})
	t.Run("a mistaken secret in NAME_FILE is not shown", func(t *testing.T) {
		m := with(validProduction(), "SESSION_SECRET", "<unset>", "SESSION_SECRET_FILE", secret)
		rep := testRules().Check(Production, Map(m))
		assert.Equal(t, []got3{{"SESSION_SECRET", "file", E}}, reduce(rep), dump(rep))
		assert.NotContains(t, dump(rep), secret[:10])
	})
	t.Run("injected ReadFile", func(t *testing.T) {
		src := Map(with(validProduction(), "SESSION_SECRET", "<unset>", "SESSION_SECRET_FILE", "/run/secrets/session"))
		var asked string
		src.ReadFile = func(p string) ([]byte, error) { asked = p; return []byte(secret), nil }
		requireClean(t, testRules().Check(Production, src))
		assert.Equal(t, "/run/secrets/session", asked)
		src.ReadFile = func(string) ([]byte, error) { return nil, errors.New("boom: " + secret) }
		rep := testRules().Check(Production, src)
		assert.Equal(t, []got3{{"SESSION_SECRET", "file", E}}, reduce(rep))
		assert.NotContains(t, dump(rep), "boom", "read errors are not passed through")
	})
}

func TestProcessEnvironmentIsTheDefault(t *testing.T) {
	t.Setenv("CONFIGCHECK_TEST_PORT", "not-a-port")
	t.Setenv("CONFIGCHECK_TEST_PROT", "1")
	rs := &RuleSet{Prefixes: []string{"CONFIGCHECK_TEST_"}, Vars: []Var{{Name: "CONFIGCHECK_TEST_PORT", Rules: []Rule{IntBetween(math.MinInt, math.MaxInt)}}}}
	rep := rs.Check(Development, Source{})
	assert.Equal(t, []got3{
		{"CONFIGCHECK_TEST_PORT", "int", E},
		{"CONFIGCHECK_TEST_PROT", "unknown", W},
	}, reduce(rep), dump(rep))

	// A Lookup without Names checks values but cannot list typos.
	rep = rs.Check(Development, Source{Lookup: os.LookupEnv})
	assert.Equal(t, []got3{{"CONFIGCHECK_TEST_PORT", "int", E}}, reduce(rep))
}

func TestParseEnvValues(t *testing.T) {
	for in, want := range map[string]struct {
		env Env
		ok  bool
	}{
		"": {Development, true}, "development": {Development, true}, "production": {Production, true},
		"prod": {Production, false}, "Production": {Production, false}, "staging": {Production, false},
	} {
		env, ok := parseEnv(in)
		assert.Equal(t, want.env, env, in)
		assert.Equal(t, want.ok, ok, in)
	}
	// Check treats anything but Development as Production.
	rs := &RuleSet{Vars: []Var{{Name: "X", Rules: []Rule{Required().In(Production)}}}}
	assert.Len(t, rs.Check("staging", Map(nil)).Problems, 1)
	assert.Equal(t, Production, rs.Check("", Map(nil)).Env)
}
