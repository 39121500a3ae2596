package configcheck

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// seedRequired are the variables of the seed's production validator.
var seedRequired = []string{
	"DATABASE_URL", "SESSION_SECRET", "PUBLIC_OBJECT_SEARCH_PATHS", "PRIVATE_OBJECT_DIR",
	"STRIPE_SECRET_KEY", "STRIPE_PUBLISHABLE_KEY", "BREVO_API_KEY",
}

// configTable are the variables of the marketplace's configuration table.
var configTable = []string{
	"PORT", "APP_ENV", "DATABASE_URL", "SESSION_SECRET", "SESSION_SECRET_PREVIOUS",
	"SESSION_TTL", "SESSION_TOUCH_AFTER", "SESSION_PRUNE_INTERVAL",
	"SESSION_POOL_MAX_CONNS", "SESSION_CONNECT_TIMEOUT",
	"DB_MAX_CONNS", "DB_MIN_CONNS", "DB_IDLE_TIMEOUT", "DB_HEALTH_INTERVAL",
	"COINGECKO_BASE_URL", "COINGECKO_API_KEY", "RATES_COINS", "RATES_CURRENCIES",
	"RATES_FRESH", "RATES_ACCEPTABLE", "RATES_FALLBACK",
	"RATES_FAILURE_THRESHOLD", "RATES_COOLDOWN", "RATES_MIN_INTERVAL",
	"PUBLIC_OBJECT_SEARCH_PATHS", "PRIVATE_OBJECT_DIR", "SHUTDOWN_TIMEOUT", "SHUTDOWN_DRAIN_DELAY",
	"LOG_FORMAT", "STRIPE_SECRET_KEY", "STRIPE_PUBLISHABLE_KEY", "BREVO_API_KEY",
}

func TestMarketplaceEverythingMissingProduction(t *testing.T) {
	rep := Marketplace().Check(Production, Map(nil))
	assert.False(t, rep.OK)
	var names []string
	for _, p := range rep.Problems {
		assert.Equal(t, "required", p.Rule)
		assert.Equal(t, SeverityError, p.Severity)
		assert.Contains(t, p.Hint, p.Var+"_FILE")
		names = append(names, p.Var)
	}
	assert.Equal(t, seedRequired, names, "every required variable in one report, in declaration order")
	assert.Equal(t, len(seedRequired), rep.Errors)
	text := dump(rep)
	for _, n := range seedRequired {
		assert.Contains(t, text, n)
	}
	require.Error(t, rep.Err())
	for _, n := range seedRequired {
		assert.Contains(t, rep.Err().Error(), n)
	}
}

func TestMarketplaceEverythingMissingDevelopment(t *testing.T) {
	requireClean(t, Marketplace().Check(Development, Map(nil)))
}

func TestMarketplaceCoversTheConfigurationTable(t *testing.T) {
	rs := Marketplace()
	declared := map[string]Var{}
	for _, v := range rs.Vars {
		declared[v.Name] = v
	}
	for _, n := range configTable {
		v, ok := declared[n]
		if assert.True(t, ok, "%s is declared", n) {
			assert.NotEmpty(t, v.Rules, "%s has rules", n)
		}
	}
	assert.Len(t, declared, len(rs.Vars), "no variable declared twice")
}

func TestMarketplaceValidProductionIsClean(t *testing.T) {
	rep := Marketplace().Check(Production, Map(validProduction()))
	requireClean(t, rep)
	assert.Nil(t, rep.Err())
	assert.True(t, rep.OK)
}

// TestMarketplaceBadValues sets every variable of the table to a malformed
// value and expects one problem per variable, all in one report.
func TestMarketplaceBadValues(t *testing.T) {
	bad := map[string]string{
		"PORT": "eighty", "APP_ENV": "prod", "DATABASE_URL": "postgres://a:b@host:notaport/db",
		"SESSION_SECRET": "changeme", "SESSION_SECRET_PREVIOUS": "short",
		"SESSION_TTL": "7d", "SESSION_TOUCH_AFTER": "-1s", "SESSION_PRUNE_INTERVAL": "0s",
		"SESSION_POOL_MAX_CONNS": "0", "SESSION_CONNECT_TIMEOUT": "20",
		"DB_MAX_CONNS": "ten", "DB_MIN_CONNS": "-1", "DB_IDLE_TIMEOUT": "x", "DB_HEALTH_INTERVAL": "0",
		"COINGECKO_BASE_URL": "api.coingecko.com", "COINGECKO_API_KEY": " key ",
		"RATES_COINS": "bitcoin,,ethereum", "RATES_CURRENCIES": "usd,",
		"RATES_FRESH": "fresh", "RATES_ACCEPTABLE": "15", "RATES_FALLBACK": "-60m",
		"RATES_FAILURE_THRESHOLD": "0", "RATES_COOLDOWN": "soon", "RATES_MIN_INTERVAL": "-3s",
		"PUBLIC_OBJECT_SEARCH_PATHS": "public", "PRIVATE_OBJECT_DIR": "private",
		"SHUTDOWN_TIMEOUT": "10", "SHUTDOWN_DRAIN_DELAY": "later", "LOG_FORMAT": "xml",
		"STRIPE_SECRET_KEY": "sk_test_abc", "STRIPE_PUBLISHABLE_KEY": "pk_test_abc", "BREVO_API_KEY": "brevo",
	}
	require.ElementsMatch(t, configTable, keys(bad))
	rep := Marketplace().Check(Production, Map(bad))
	seen := map[string]bool{}
	for _, p := range rep.Problems {
		seen[p.Var] = true
	}
	for _, n := range configTable {
		assert.True(t, seen[n], "%s is reported; report:\n%s", n, dump(rep))
	}
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestMarketplaceStripePerEnvironment(t *testing.T) {
	dev := with(validProduction(), "APP_ENV", "development",
		"STRIPE_SECRET_KEY", "sk_test_51HxAbCdEfGhIjKlMnOp", "STRIPE_PUBLISHABLE_KEY", "pk_test_51HxZyXwVuTsRqPo")
	requireClean(t, Marketplace().Check(Development, Map(dev)))

	rep := Marketplace().Check(Production, Map(dev))
	assert.Len(t, find(rep, "STRIPE_SECRET_KEY", "prefix"), 1)
	assert.Len(t, find(rep, "STRIPE_PUBLISHABLE_KEY", "prefix"), 1)
	assert.Contains(t, find(rep, "STRIPE_SECRET_KEY", "prefix")[0].Message, "starts with sk_test_")

	live := Marketplace().Check(Development, Map(validProduction()))
	assert.Equal(t, []got3{
		{"STRIPE_SECRET_KEY", "prefix", W},
		{"STRIPE_PUBLISHABLE_KEY", "prefix", W},
	}, reduce(live), dump(live))
	assert.True(t, live.OK, "warnings do not fail the check")

	mixed := Marketplace().Check(Development, Map(with(dev, "STRIPE_PUBLISHABLE_KEY", "pk_live_51HxZyXwVuTsRqPo")))
	assert.Len(t, find(mixed, "STRIPE_SECRET_KEY", "same-mode"), 1, dump(mixed))
}

func TestMarketplaceSessionSecret(t *testing.T) {
	cases := map[string]string{
		"placeholder":    "changeme",
		"short":          "q3Jx9Vb0sK2mN7wR",
		"repeated":       strings.Repeat("x", 40),
		"trailing space": "q3Jx9Vb0sK2mN7wR4tY8uZ1aC6dE5fG0hI3jL9oP2rS7 ",
		"newline":        "q3Jx9Vb0sK2mN7wR4tY8uZ1aC6dE5fG0hI3jL9oP2rS7\n",
		"your-secret":    "your-session-secret-goes-here-please-1234",
	}
	for name, v := range cases {
		t.Run(name, func(t *testing.T) {
			rep := Marketplace().Check(Production, Map(with(validProduction(), "SESSION_SECRET", v)))
			assert.False(t, rep.OK)
			assert.NotEmpty(t, find(rep, "SESSION_SECRET", ""), dump(rep))
			for _, p := range rep.Problems {
				assert.Equal(t, "SESSION_SECRET", p.Var, dump(rep))
			}
		})
	}
	rep := Marketplace().Check(Production, Map(with(validProduction(), "SESSION_SECRET_PREVIOUS", validProduction()["SESSION_SECRET"])))
	assert.Equal(t, []got3{{"SESSION_SECRET_PREVIOUS", "differs", W}}, reduce(rep))
}

func TestMarketplaceObjectPaths(t *testing.T) {
	rep := Marketplace().Check(Production, Map(with(validProduction(),
		"PUBLIC_OBJECT_SEARCH_PATHS", "/srv/objects", "PRIVATE_OBJECT_DIR", "/srv/objects/private")))
	assert.Equal(t, []got3{{"PRIVATE_OBJECT_DIR", "disjoint", E}}, reduce(rep))
}

func TestMarketplaceOrderRules(t *testing.T) {
	rep := Marketplace().Check(Development, Map(map[string]string{
		"DB_MIN_CONNS": "12", "RATES_FRESH": "20m", "SHUTDOWN_DRAIN_DELAY": "30s", "SESSION_TOUCH_AFTER": "200h",
	}))
	assert.Equal(t, []got3{
		{"SESSION_TOUCH_AFTER", "order", E},
		{"DB_MIN_CONNS", "order", E},
		{"RATES_FRESH", "order", E},
		{"SHUTDOWN_DRAIN_DELAY", "order", E},
	}, reduce(rep), dump(rep))
	assert.Contains(t, find(rep, "DB_MIN_CONNS", "order")[0].Message, `DB_MAX_CONNS (default "10")`)
}
