package configcheck

import (
	"fmt"
	"strings"
	"testing"
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
