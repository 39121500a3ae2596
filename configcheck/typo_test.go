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
