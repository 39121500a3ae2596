package configcheck

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestTypos(t *testing.T) {
	m := with(validProduction(),
		"SESION_SECRET", "x", // one deletion: suggested
		"DATABSE_URL", "x", // transposition: suggested
		"STRIPE_SECRET_KY", "sk_live_zzz", // under a prefix and close
		"SESSION_SECRET_FIEL", "/run/x", // close to a _FILE name
		"DB_PASSWORD", "x", // under a prefix, nothing close
		"PROT", "8080", // short names allow one edit only: PROT→PORT is one transposition
		"HOST", "0.0.0.0", // two edits from PORT: not reported
		"HOME", "/root", "PATH", "/bin", "LANG", "C", // ordinary environment
		"RATES_COIN", "bitcoin",
	)
	rep := testRules().Check(Production, Map(m))
	assert.Equal(t, []got3{
		{"DATABSE_URL", "unknown", W},
		{"DB_PASSWORD", "unknown", W},
		{"PROT", "unknown", W},
		{"RATES_COIN", "unknown", W},
		{"SESION_SECRET", "unknown", W},
		{"SESSION_SECRET_FIEL", "unknown", W},
		{"STRIPE_SECRET_KY", "unknown", W},
	}, reduce(rep), dump(rep))
	assert.True(t, rep.OK, "typos are warnings")
	msgs := map[string]string{}
	for _, p := range rep.Problems {
		msgs[p.Var] = p.Message
	}
	assert.Contains(t, msgs["SESION_SECRET"], "did you mean SESSION_SECRET?")
	assert.Contains(t, msgs["DATABSE_URL"], "did you mean DATABASE_URL?")
	assert.Contains(t, msgs["STRIPE_SECRET_KY"], "did you mean STRIPE_SECRET_KEY?")
	assert.Contains(t, msgs["SESSION_SECRET_FIEL"], "did you mean SESSION_SECRET_FILE?")
	assert.Contains(t, msgs["PROT"], "did you mean PORT?")
	assert.Contains(t, msgs["RATES_COIN"], "did you mean RATES_COINS?")
	assert.Contains(t, msgs["DB_PASSWORD"], "prefix DB_")
	assert.NotContains(t, dump(rep), "sk_live_zzz", "values of unknown variables are never shown")
}

// TestTyposInAnyCase is the regression test of lower-case names passing
// unnoticed: app_env=production in an env file was not APP_ENV, so the
// check ran in development and said nothing of it.
func TestTyposInAnyCase(t *testing.T) {
	m := with(validProduction(),
		"app_env", "production", // case only
		"Session_Secret", "x", // case only, mixed
		"database_url_file", "/run/x", // a _FILE name, case only
		"stripe_secret_ky", "sk_live_zzz", // case and one edit
		"db_password", "x", // the prefix DB_ in lower case
		"http_proxy", "x", "no_proxy", "x", "home", "/root", "path", "/bin", "term", "xterm", "pwd", "/", // unrelated
	)
	rep := testRules().Check(Production, Map(m))
	assert.Equal(t, []got3{
		{"Session_Secret", "unknown", W},
		{"app_env", "unknown", W},
		{"database_url_file", "unknown", W},
		{"db_password", "unknown", W},
		{"stripe_secret_ky", "unknown", W},
	}, reduce(rep), dump(rep))
	msgs := map[string]string{}
	for _, p := range rep.Problems {
		msgs[p.Var] = p.Message
	}
	assert.Contains(t, msgs["app_env"], "(names are case-sensitive); did you mean APP_ENV?")
	assert.Contains(t, msgs["Session_Secret"], "did you mean SESSION_SECRET?")
	assert.Contains(t, msgs["database_url_file"], "did you mean DATABASE_URL_FILE?")
	assert.Contains(t, msgs["stripe_secret_ky"], "did you mean STRIPE_SECRET_KEY?")
	assert.Contains(t, msgs["db_password"], "prefix DB_")
	assert.NotContains(t, dump(rep), "sk_live_zzz", "values of unknown variables are never shown")

	t.Run("in the process environment", func(t *testing.T) {
		t.Setenv("configcheck_test_port", "1")
		rs := &RuleSet{Vars: []Var{{Name: "CONFIGCHECK_TEST_PORT"}}}
		rep := rs.Check(Development, Source{})
		if assert.Equal(t, []got3{{"configcheck_test_port", "unknown", W}}, reduce(rep), dump(rep)) {
			assert.Contains(t, rep.Problems[0].Message, "did you mean CONFIGCHECK_TEST_PORT?")
		}
	})
	t.Run("a known name declared in lower case", func(t *testing.T) {
		rs := &RuleSet{Vars: []Var{{Name: "app_env"}}}
		rep := rs.Check(Development, Map(map[string]string{"APP_ENV": "x", "app_env": "y"}))
		if assert.Equal(t, []got3{{"APP_ENV", "unknown", W}}, reduce(rep), dump(rep)) {
			assert.Contains(t, rep.Problems[0].Message, "did you mean app_env?")
		}
	})
}

func TestTypoNamesAreQuoted(t *testing.T) {
	rs := &RuleSet{Prefixes: []string{"APP_"}, Vars: []Var{{Name: "APP_ENV"}}}
	rep := rs.Check(Development, Map(map[string]string{"APP_\x1b[31mRED": "x"}))
	if assert.Len(t, rep.Problems, 1) {
		assert.Equal(t, `"APP_\x1b[31mRED"`, rep.Problems[0].Var)
	}
}

func TestEditDistance(t *testing.T) {
	cases := []struct {
		a, b string
		want int
	}{
		{"PORT", "PORT", 0}, {"PORT", "PROT", 1}, {"PORT", "POR", 1}, {"PORT", "HOST", 2},
		{"SESSION_SECRET", "SESION_SECRET", 1}, {"DATABASE_URL", "DATABSE_URL", 1},
		{"ABC", "XYZUVW", 3}, {"", "ABC", 3},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, editDistance(tc.a, tc.b, 3, new([]int)), "%s %s", tc.a, tc.b)
	}
}
