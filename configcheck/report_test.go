package configcheck

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func badReport() *Report {
	return testRules().Check(Production, Map(with(validProduction(),
		"STRIPE_SECRET_KEY", "sk_test_4eC39HqLyjWDarjtT1zdp7dc",
		"SESSION_SECRET", "changeme",
		"PORT", "http",
		"SESION_SECRET", "x",
	)))
}

func TestReportText(t *testing.T) {
	text := dump(badReport())
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	assert.Equal(t, "configcheck: production: FAILED (5 errors, 1 warning)", lines[0])
	assert.Contains(t, text, "error   PORT [int]: is not an integer (got \"http\")\n        fix: write a whole number such as 10\n")
	assert.Contains(t, text, "error   STRIPE_SECRET_KEY [prefix]: does not start with sk_live_ (got secret, 32 characters, starts with sk_test_)\n")
	assert.Contains(t, text, "error   STRIPE_SECRET_KEY [same-mode]: is a test key (sk_test_) but STRIPE_PUBLISHABLE_KEY is a live key (pk_live_)\n")
	assert.Contains(t, text, "warning SESION_SECRET [unknown]: is not a known variable; did you mean SESSION_SECRET?\n")
	assert.NotContains(t, text, "4eC39")
	assert.NotContains(t, text, "changeme")

	clean := dump(testRules().Check(Production, Map(validProduction())))
	assert.Equal(t, "configcheck: production: OK (0 errors, 0 warnings)\n", clean)
}

func TestReportJSON(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, badReport().WriteJSON(&b))
	var got struct {
		Env      string `json:"env"`
		OK       bool   `json:"ok"`
		Errors   int    `json:"errors"`
		Warnings int    `json:"warnings"`
		Problems []struct {
			Variable, Rule, Severity, Message, Hint string
		} `json:"problems"`
	}
	require.NoError(t, json.Unmarshal(b.Bytes(), &got))
	assert.Equal(t, "production", got.Env)
	assert.False(t, got.OK)
	assert.Equal(t, 5, got.Errors)
	assert.Equal(t, 1, got.Warnings)
	require.Len(t, got.Problems, 6)
	for _, p := range got.Problems {
		assert.NotEmpty(t, p.Variable)
		assert.NotEmpty(t, p.Rule)
		assert.Contains(t, []string{"error", "warning"}, p.Severity)
		assert.NotEmpty(t, p.Message)
		assert.NotEmpty(t, p.Hint)
	}
	assert.Equal(t, "PORT", got.Problems[0].Variable)

	// A clean report has an empty list, not null.
	b.Reset()
	require.NoError(t, testRules().Check(Development, Map(nil)).WriteJSON(&b))
	assert.Contains(t, b.String(), `"problems": []`)
}

func TestReportErrAndFormatting(t *testing.T) {
	rep := badReport()
	err := rep.Err()
	require.Error(t, err)
	assert.Equal(t, "configcheck: production: 5 errors in PORT, SESSION_SECRET, STRIPE_SECRET_KEY", err.Error())
	assert.Equal(t, dump(rep), rep.String())
	assert.Equal(t, dump(rep), fmt.Sprintf("%v", rep))
	assert.Equal(t, "configcheck.Report{configcheck: production: FAILED (5 errors, 1 warning)}", fmt.Sprintf("%#v", rep))
	assert.Equal(t, "error PORT [int]: is not an integer (got \"http\")", rep.Problems[0].String())
}

func TestReportSlog(t *testing.T) {
	var b bytes.Buffer
	slog.New(slog.NewJSONHandler(&b, nil)).Error("config check failed", "report", badReport())
	var got map[string]any
	require.NoError(t, json.Unmarshal(b.Bytes(), &got))
	rep := got["report"].(map[string]any)
	assert.Equal(t, "production", rep["env"])
	assert.Equal(t, false, rep["ok"])
	assert.Equal(t, float64(5), rep["errors"])
	p1 := rep["problem1"].(map[string]any)
	assert.Equal(t, "PORT", p1["variable"])
	assert.Equal(t, "int", p1["rule"])
	assert.Equal(t, "error", p1["severity"])
	assert.NotContains(t, b.String(), "4eC39")
}

func TestReportValuesAndSecret(t *testing.T) {
	rep := testRules().Check(Production, Map(validProduction()))
	assert.Equal(t, "8080", rep.Value("PORT"), "unset: the default")
	assert.Equal(t, "/srv/objects/private", rep.Value("PRIVATE_OBJECT_DIR"))

	s := rep.Secret("STRIPE_SECRET_KEY")
	assert.Equal(t, validProduction()["STRIPE_SECRET_KEY"], s.Reveal())
	assert.Equal(t, "[secret, 36 characters, starts with sk_live_]", s.String())
	assert.Equal(t, s.String(), fmt.Sprintf("%v", s))
	assert.Equal(t, s.String(), fmt.Sprintf("%#v", s))
	assert.Equal(t, `"[secret, 36 characters, starts with sk_live_]"`, fmt.Sprintf("%q", s))
	j, err := json.Marshal(s)
	require.NoError(t, err)
	assert.Equal(t, `"[secret, 36 characters, starts with sk_live_]"`, string(j))
	assert.Equal(t, "[secret, 44 characters]", rep.Secret("SESSION_SECRET").String())

	var zero Secret
	assert.Equal(t, "", zero.Reveal())
	assert.Equal(t, "[secret: unset]", zero.String())
	assert.Equal(t, "[secret, empty]", rep.Secret("RATES_API_KEY").String())
}

func TestScrubSafetyNet(t *testing.T) {
	// A rule that (wrongly) quotes a secret value is caught by the scrubber.
	leaky := Rule{kind: "leaky", check: func(_ *checkCtx, v *varState) []finding {
		return one("value is "+v.res.value, "try "+v.res.value[2:12])
	}}
	rs := &RuleSet{Vars: []Var{{Name: "K", Secret: true, Rules: []Rule{leaky, Prefix(Prefixes{Accept: []string{"sk_"}}, Prefixes{})}}}}
	rep := rs.Check(Production, Map(map[string]string{"K": "sk_1234567890abcdef"}))
	require.Len(t, rep.Problems, 1)
	assert.Contains(t, rep.Problems[0].Message, "withheld")
	assert.Contains(t, rep.Problems[0].Hint, "withheld")
	assert.NotContains(t, dump(rep), "1234567890")
}

func TestWriteList(t *testing.T) {
	var b strings.Builder
	require.NoError(t, testRules().WriteList(&b))
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	require.Len(t, lines, 1+len(testRules().Vars), "a header and one line per variable")
	assert.Regexp(t, `^VARIABLE +TYPE +DEFAULT +SECRET +RULES$`, lines[0])
	for i, v := range testRules().Vars {
		assert.True(t, strings.HasPrefix(lines[i+1], v.Name+" "), lines[i+1])
	}
	out := b.String()
	assert.Regexp(t, `\nPORT +int +8080 +- +int 1\.\.65535\n`, out)
	assert.Regexp(t, `\nSESSION_TTL +duration +168h +- +duration > 0\n`, out)
	assert.Regexp(t, `\nRATES_COINS +list +bitcoin,ethereum +- +list\n`, out)
	assert.Regexp(t, `\nRATES_BASE_URL +url +https://rates.example/api +- +url https\|http\n`, out)
	assert.Regexp(t, `\nRATES_DEBUG +bool +false +- +bool\n`, out)
	assert.Regexp(t, `\nSESSION_SECRET +string +- +yes +required \(production\); non-empty; required if SESSION_SECRET_PREVIOUS is set; min-length 32; strength; whitespace\n`, out)
	assert.Contains(t, out, "prefix production sk_live_; development sk_test_, warn sk_live_")
}
