package configcheck

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

const (
	E = SeverityError
	W = SeverityWarning
)

// TestRuleKinds runs every rule kind in both environments against values
// that pass and values that fail.
func TestRuleKinds(t *testing.T) {
	stripe := Prefix(Prefixes{Accept: []string{"sk_live_"}}, Prefixes{Accept: []string{"sk_test_"}, Warn: []string{"sk_live_"}})
	cases := []struct {
		name  string
		rules []Rule
		env   Env
		value string // "<unset>" leaves X unset
		want  []got3
	}{
		{"required unset production", []Rule{Required().In(Production)}, Production, "<unset>", []got3{{"X", "required", E}}},
		{"required unset development", []Rule{Required().In(Production)}, Development, "<unset>", nil},
		{"required everywhere unset development", []Rule{Required()}, Development, "<unset>", []got3{{"X", "required", E}}},
		{"required set", []Rule{Required()}, Production, "v", nil},
		{"required set empty passes required", []Rule{Required()}, Production, "", nil},
		{"non-empty empty", []Rule{NonEmpty()}, Development, "", []got3{{"X", "non-empty", E}}},
		{"non-empty blanks", []Rule{NonEmpty()}, Production, "  \t", []got3{{"X", "non-empty", E}}},
		{"non-empty unset", []Rule{NonEmpty()}, Production, "<unset>", nil},
		{"min-length short", []Rule{MinLen(5)}, Production, "abcd", []got3{{"X", "min-length", E}}},
		{"min-length runes", []Rule{MinLen(5)}, Production, "ééééé", nil},
		{"min-length unset is optional", []Rule{MinLen(5)}, Production, "<unset>", nil},
		{"prefix live in production", []Rule{stripe}, Production, "sk_live_abc", nil},
		{"prefix test in production", []Rule{stripe}, Production, "sk_test_abc", []got3{{"X", "prefix", E}}},
		{"prefix test in development", []Rule{stripe}, Development, "sk_test_abc", nil},
		{"prefix live in development warns", []Rule{stripe}, Development, "sk_live_abc", []got3{{"X", "prefix", W}}},
		{"prefix none in development", []Rule{stripe}, Development, "pk_test_abc", []got3{{"X", "prefix", E}}},
		{"prefix no expectation", []Rule{Prefix(Prefixes{Accept: []string{"a"}}, Prefixes{})}, Development, "zzz", nil},
		{"prefix warn rule", []Rule{Prefix(Prefixes{Accept: []string{"a"}}, Prefixes{}).Warn()}, Production, "zzz", []got3{{"X", "prefix", W}}},
		{"one-of ok", []Rule{OneOf("text", "json")}, Production, "json", nil},
		{"one-of bad", []Rule{OneOf("text", "json")}, Development, "JSON", []got3{{"X", "one-of", E}}},
		{"int ok", []Rule{IntBetween(math.MinInt, math.MaxInt)}, Production, "-12", nil},
		{"int bad", []Rule{IntBetween(math.MinInt, math.MaxInt)}, Production, "12a", []got3{{"X", "int", E}}},
		{"int below", []Rule{IntBetween(1, 65535)}, Production, "0", []got3{{"X", "int", E}}},
		{"int above", []Rule{IntBetween(1, 65535)}, Development, "65536", []got3{{"X", "int", E}}},
		{"duration ok", []Rule{DurationBetween(math.MinInt64, math.MaxInt64)}, Production, "1h30m", nil},
		{"duration no unit", []Rule{DurationBetween(math.MinInt64, math.MaxInt64)}, Production, "30", []got3{{"X", "duration", E}}},
		{"duration below", []Rule{DurationBetween(time.Second, time.Hour)}, Production, "10ms", []got3{{"X", "duration", E}}},
		{"duration above", []Rule{DurationBetween(time.Second, time.Hour)}, Development, "2h", []got3{{"X", "duration", E}}},
		{"bool ok", []Rule{Bool()}, Production, "TRUE", nil},
		{"bool bad", []Rule{Bool()}, Production, "yes", []got3{{"X", "bool", E}}},
		{"url ok", []Rule{URL("https")}, Production, "https://api.example.com/v3", nil},
		{"url relative", []Rule{URL()}, Production, "/api/v3", []got3{{"X", "url", E}}},
		{"url scheme", []Rule{URL("https")}, Production, "ftp://example.com", []got3{{"X", "url", E}}},
		{"list ok", []Rule{List()}, Production, "usd,eur,gbp", nil},
		{"list empty item", []Rule{List()}, Production, "usd,,gbp", []got3{{"X", "list", E}}},
		{"list duplicate", []Rule{List()}, Production, "usd,eur,usd", []got3{{"X", "list", W}}},
		{"path-list ok", []Rule{PathList()}, Production, "/a,/b/c", nil},
		{"path-list relative", []Rule{PathList()}, Production, "/a,b", []got3{{"X", "path-list", E}}},
		{"path-list trailing comma", []Rule{PathList()}, Production, "/a,", []got3{{"X", "path-list", E}}},
		{"path-list unclean and spaced", []Rule{PathList()}, Development, "/a/../b, /c", []got3{{"X", "path-list", W}, {"X", "path-list", W}}},
		{"path-list duplicate", []Rule{PathList()}, Production, "/a,/a/", []got3{{"X", "path-list", W}, {"X", "path-list", W}}},
		{"path relative", []Rule{Path()}, Production, "srv/private", []got3{{"X", "path", E}}},
		{"trimmed newline", []Rule{Trimmed()}, Production, "abc\n", []got3{{"X", "whitespace", E}}},
		{"trimmed inner newline", []Rule{Trimmed()}, Production, "ab\ncd", []got3{{"X", "whitespace", E}}},
		{"trimmed control", []Rule{Trimmed()}, Production, "ab\x01cd", []got3{{"X", "whitespace", E}}},
		{"trimmed ok", []Rule{Trimmed()}, Production, "abcd", nil},
		{"strength ok", []Rule{Strong()}, Production, "q3Jx9Vb0sK2mN7wR4tY8uZ1aC6dE5fG0", nil},
		{"strength hex key ok", []Rule{Strong()}, Production, "9f86d081884c7d659a2feaa0c55ad015", nil},
		{"strength changeme", []Rule{Strong()}, Production, "changeme-changeme-changeme-123456", []got3{{"X", "strength", E}}},
		{"strength secret", []Rule{Strong()}, Development, "secret", []got3{{"X", "strength", E}}},
		{"strength keyboard cat", []Rule{Strong()}, Production, "Keyboard Cat Keyboard Cat Keyboard Cat", []got3{{"X", "strength", E}}},
		{"strength repeated", []Rule{Strong()}, Production, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", []got3{{"X", "strength", E}}},
		{"strength pattern", []Rule{Strong()}, Production, "abc1abc1abc1abc1abc1abc1abc1abc1", []got3{{"X", "strength", E}}},
		{"strength sequence", []Rule{Strong()}, Production, "abcdefghijklmnopqrstuvwxyz012345", []got3{{"X", "strength", E}}},
		{"strength low entropy", []Rule{Strong()}, Production, "aabbaabbabababbbaaabbbabababaabbabab", []got3{{"X", "strength", E}}},
		{"in restricts", []Rule{MinLen(10).In(Production)}, Development, "short", nil},
		{"warn lowers", []Rule{MinLen(10).Warn()}, Production, "short", []got3{{"X", "min-length", W}}},
		{"zero rule checks nothing", []Rule{{}}, Production, "x", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rs := &RuleSet{Vars: []Var{{Name: "X", Rules: tc.rules}}}
			m := map[string]string{}
			if tc.value != "<unset>" {
				m["X"] = tc.value
			}
			rep := rs.Check(tc.env, Map(m))
			want := tc.want
			if want == nil {
				want = []got3{}
			}
			assert.Equal(t, want, reduce(rep), "report:\n%s", dump(rep))
			for _, p := range rep.Problems {
				assert.NotEmpty(t, p.Message)
				assert.NotEmpty(t, p.Hint, "every problem has a fix hint: %s", p)
			}
		})
	}
}

func TestCrossRules(t *testing.T) {
	stripe := func() *RuleSet {
		return &RuleSet{Vars: []Var{
			{Name: "SK", Secret: true, Rules: []Rule{StripeKeyPair("PK")}},
			{Name: "PK", Secret: true},
		}}
	}
	cases := []struct {
		name string
		rs   *RuleSet
		env  Env
		m    map[string]string
		want []got3
	}{
		{"same mode live", stripe(), Production, map[string]string{"SK": "sk_live_a", "PK": "pk_live_b"}, nil},
		{"same mode test", stripe(), Development, map[string]string{"SK": "sk_test_a", "PK": "pk_test_b"}, nil},
		{"mixed modes", stripe(), Development, map[string]string{"SK": "sk_test_a", "PK": "pk_live_b"}, []got3{{"SK", "same-mode", E}}},
		{"mixed modes production", stripe(), Production, map[string]string{"SK": "sk_live_a", "PK": "pk_test_b"}, []got3{{"SK", "same-mode", E}}},
		{"other unset", stripe(), Production, map[string]string{"SK": "sk_live_a"}, nil},
		{"unknown mode left to prefix rules", stripe(), Production, map[string]string{"SK": "rk_live_a", "PK": "pk_test_b"}, nil},
	}
	paths := func() *RuleSet {
		return &RuleSet{Vars: []Var{
			{Name: "PUB", Rules: []Rule{PathList()}},
			{Name: "PRIV", Rules: []Rule{Path(), Disjoint("PUB")}},
		}}
	}
	cases = append(cases, []struct {
		name string
		rs   *RuleSet
		env  Env
		m    map[string]string
		want []got3
	}{
		{"disjoint", paths(), Production, map[string]string{"PUB": "/srv/pub,/srv/shared", "PRIV": "/srv/priv"}, nil},
		{"sibling with common prefix", paths(), Production, map[string]string{"PUB": "/srv/pub", "PRIV": "/srv/pub-private"}, nil},
		{"same dir", paths(), Production, map[string]string{"PUB": "/srv/a,/srv/priv/", "PRIV": "/srv/priv"}, []got3{{"PUB", "path-list", W}, {"PRIV", "disjoint", E}}},
		{"private inside public", paths(), Development, map[string]string{"PUB": "/srv", "PRIV": "/srv/priv"}, []got3{{"PRIV", "disjoint", E}}},
		{"public inside private", paths(), Production, map[string]string{"PUB": "/srv/priv/pub", "PRIV": "/srv/priv"}, []got3{{"PRIV", "disjoint", E}}},
	}...)
	order := func() *RuleSet {
		return &RuleSet{Vars: []Var{
			{Name: "MIN", Rules: []Rule{NotAbove("MAX")}},
			{Name: "MAX", Default: "10"},
			{Name: "FRESH", Rules: []Rule{NotAbove("STALE")}},
			{Name: "STALE", Default: "15m"},
			{Name: "PREV", Secret: true, Rules: []Rule{Differs("CUR").Warn()}},
			{Name: "CUR", Secret: true},
		}}
	}
	cases = append(cases, []struct {
		name string
		rs   *RuleSet
		env  Env
		m    map[string]string
		want []got3
	}{
		{"order ok", order(), Production, map[string]string{"MIN": "2", "MAX": "5", "FRESH": "5m"}, nil},
		{"order above set", order(), Production, map[string]string{"MIN": "6", "MAX": "5"}, []got3{{"MIN", "order", E}}},
		{"order above default", order(), Development, map[string]string{"MIN": "11"}, []got3{{"MIN", "order", E}}},
		{"order durations", order(), Production, map[string]string{"FRESH": "20m"}, []got3{{"FRESH", "order", E}}},
		{"order unparsable left alone", order(), Production, map[string]string{"MIN": "x"}, nil},
		{"differs", order(), Production, map[string]string{"PREV": "same-value", "CUR": "same-value"}, []got3{{"PREV", "differs", W}}},
		{"differs ok", order(), Production, map[string]string{"PREV": "old-value", "CUR": "new-value"}, nil},
	}...)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rep := tc.rs.Check(tc.env, Map(tc.m))
			want := tc.want
			if want == nil {
				want = []got3{}
			}
			assert.Equal(t, want, reduce(rep), "report:\n%s", dump(rep))
		})
	}
}

// TestHugeValues keeps pathological values fast and their reports short.
func TestHugeValues(t *testing.T) {
	big := strings.Repeat("a", 120_000) + "b"
	commas := strings.Repeat(",", 60_000)
	paths := strings.Repeat("/srv/x,", 20_000)
	rs := &RuleSet{Vars: []Var{
		{Name: "S", Secret: true, Rules: []Rule{Strong(), MinLen(32), Trimmed()}},
		{Name: "L", Rules: []Rule{List()}},
		{Name: "P", Rules: []Rule{PathList()}},
		{Name: "Q", Rules: []Rule{PathList(), Disjoint("P")}},
	}}
	rep := rs.Check(Production, Map(map[string]string{"S": big, "L": commas, "P": paths, "Q": paths}))
	assert.Len(t, find(rep, "S", "strength"), 1)
	assert.Len(t, find(rep, "L", "list"), maxFindings+1)
	assert.Len(t, find(rep, "Q", "disjoint"), maxFindings+1)
	assert.Contains(t, find(rep, "L", "list")[maxFindings].Message, "more problems of this kind")
}
