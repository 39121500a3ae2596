package configcheck

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

// got3 is a problem reduced to what tests compare.
type got3 struct {
	Var, Rule string
	Sev       Severity
}

func (g got3) String() string { return fmt.Sprintf("%s %s %s", g.Sev, g.Var, g.Rule) }

func reduce(rep *Report) []got3 {
	out := []got3{}
	for _, p := range rep.Problems {
		out = append(out, got3{p.Var, p.Rule, p.Severity})
	}
	return out
}

// find returns the problems of one variable and rule.
func find(rep *Report, name, rule string) []Problem {
	var out []Problem
	for _, p := range rep.Problems {
		if p.Var == name && (rule == "" || p.Rule == rule) {
			out = append(out, p)
		}
	}
	return out
}

// validProduction is a complete, clean production configuration.
func validProduction() map[string]string {
	return map[string]string{
		"APP_ENV":                    "production",
		"DATABASE_URL":               "postgres://app:Zq8v-Lw3kP0x@db.internal:5432/app?sslmode=verify-full&pool_max_conns=20",
		"SESSION_SECRET":             "q3Jx9Vb0sK2mN7wR4tY8uZ1aC6dE5fG0hI3jL9oP2rS7",
		"PUBLIC_OBJECT_SEARCH_PATHS": "/srv/objects/public,/srv/shared/public",
		"PRIVATE_OBJECT_DIR":         "/srv/objects/private",
		"STRIPE_SECRET_KEY":          "sk_live_51HxAbCdEfGhIjKlMnOpQrStUvWx",
		"STRIPE_PUBLISHABLE_KEY":     "pk_live_51HxZyXwVuTsRqPoNmLkJiHgFeDc",
		"BREVO_API_KEY":              "xkeysib-0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d-Qw3Er5Ty",
	}
}

func with(m map[string]string, kv ...string) map[string]string {
	c := make(map[string]string, len(m)+len(kv)/2)
	for k, v := range m {
		c[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "<unset>" {
			delete(c, kv[i])
			continue
		}
		c[kv[i]] = kv[i+1]
	}
	return c
}

func dump(rep *Report) string {
	var b strings.Builder
	_ = rep.WriteText(&b)
	return b.String()
}

func requireClean(t *testing.T, rep *Report) {
	t.Helper()
	if len(rep.Problems) != 0 {
		t.Fatalf("want no problems, got:\n%s", dump(rep))
	}
}

// seedRequired are the variables testRules requires in production.
var seedRequired = []string{
	"DATABASE_URL", "SESSION_SECRET", "PUBLIC_OBJECT_SEARCH_PATHS", "PRIVATE_OBJECT_DIR",
	"STRIPE_SECRET_KEY", "STRIPE_PUBLISHABLE_KEY", "BREVO_API_KEY",
}

// testRules is a service's rule set using every kind of rule, the fixture
// of this package's tests (the marketplace's own lives in its example).
func testRules() *RuleSet {
	const forever = time.Duration(math.MaxInt64)
	dur := func(name, def string, more ...Rule) Var {
		return Var{Name: name, Default: def, Rules: append([]Rule{DurationBetween(time.Nanosecond, forever)}, more...)}
	}
	req := func(more ...Rule) []Rule { return append([]Rule{Required().In(Production), NonEmpty()}, more...) }
	strong := []Rule{MinLen(32), Strong(), Trimmed()}
	return &RuleSet{
		EnvVar:   "APP_ENV",
		Prefixes: []string{"APP_", "DATABASE_", "SESSION_", "DB_", "RATES_", "STRIPE_", "BREVO_"},
		Vars: []Var{
			{Name: "APP_ENV", Default: "development", Rules: []Rule{OneOf("development", "production")}},
			{Name: "PORT", Default: "8080", Rules: []Rule{IntBetween(1, 65535)}},
			{Name: "DATABASE_URL", Secret: true, Hint: "a PostgreSQL URL", Rules: req(Trimmed(), PostgresDSN())},
			{Name: "SESSION_SECRET", Secret: true, Hint: "generate one with: openssl rand -base64 48",
				Rules: append(req(RequiredIf("SESSION_SECRET_PREVIOUS")), strong...)},
			{Name: "SESSION_SECRET_PREVIOUS", Secret: true, Rules: append(strong, Differs("SESSION_SECRET").Warn())},
			dur("SESSION_TTL", "168h"),
			dur("SESSION_TOUCH_AFTER", "2h", Below("SESSION_TTL")),
			{Name: "DB_MAX_CONNS", Default: "10", Rules: []Rule{IntBetween(1, math.MaxInt32)}},
			{Name: "DB_MIN_CONNS", Default: "2", Rules: []Rule{IntBetween(0, math.MaxInt32), NotAbove("DB_MAX_CONNS")}},
			{Name: "RATES_BASE_URL", Default: "https://rates.example/api", Rules: []Rule{URL("https", "http")}},
			{Name: "RATES_API_KEY", Secret: true, Rules: []Rule{Trimmed()}},
			{Name: "RATES_COINS", Default: "bitcoin,ethereum", Rules: []Rule{List()}},
			dur("RATES_FRESH", "5m", NotAbove("RATES_ACCEPTABLE")),
			dur("RATES_ACCEPTABLE", "15m"),
			{Name: "RATES_DEBUG", Default: "false", Rules: []Rule{Bool()}},
			{Name: "PUBLIC_OBJECT_SEARCH_PATHS", Rules: req(PathList())},
			{Name: "PRIVATE_OBJECT_DIR", Rules: req(Path(), Disjoint("PUBLIC_OBJECT_SEARCH_PATHS"))},
			{Name: "STRIPE_SECRET_KEY", Secret: true, Rules: req(Trimmed(), StripeKey("sk"), StripeKeyPair("STRIPE_PUBLISHABLE_KEY"))},
			{Name: "STRIPE_PUBLISHABLE_KEY", Secret: true, Rules: req(Trimmed(), StripeKey("pk"))},
			{Name: "BREVO_API_KEY", Secret: true, Rules: req(Trimmed(), BrevoKey())},
		},
	}
}
