package main

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dedw3n/hardening/configcheck"
)

// validProduction is a complete, clean production configuration.
func validProduction(t *testing.T) map[string]string {
	dir := t.TempDir()
	return map[string]string{
		"APP_ENV":                    "production",
		"DATABASE_URL":               "postgres://app:Zq8v-Lw3kP0x@db.internal:5432/app?sslmode=verify-full&pool_max_conns=20",
		"SESSION_SECRET":             "q3Jx9Vb0sK2mN7wR4tY8uZ1aC6dE5fG0hI3jL9oP2rS7",
		"PUBLIC_OBJECT_SEARCH_PATHS": filepath.Join(dir, "public"),
		"PRIVATE_OBJECT_DIR":         filepath.Join(dir, "private"),
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

func check(m map[string]string) *configcheck.Report { return rules().Load(configcheck.Map(m)) }

// problems reduces a report to "variable rule" pairs.
func problems(rep *configcheck.Report) []string {
	out := []string{}
	for _, p := range rep.Problems {
		out = append(out, p.Var+" "+p.Rule)
	}
	return out
}

// TestConfigDefaults: with nothing set, every value is the default the
// rule set declares, and each one is what the packages document.
func TestConfigDefaults(t *testing.T) {
	rep := check(nil)
	require.True(t, rep.OK, rep.String())
	c := configFrom(rep)
	require.Equal(t, 8080, c.Port)
	require.False(t, c.Production)
	require.False(t, c.LogJSON)
	require.Empty(t, c.DatabaseURL)
	require.Empty(t, c.SessionSecrets)
	require.Equal(t, []time.Duration{168 * time.Hour, 2 * time.Hour, 6 * time.Hour, 20 * time.Second},
		[]time.Duration{c.SessionTTL, c.SessionTouchAfter, c.SessionPruneInterval, c.SessionConnectTimeout})
	require.Equal(t, int32(5), c.SessionPoolMaxConns)
	require.False(t, c.SessionCache, "SESSION_CACHE is off by default")
	require.Equal(t, []int32{10, 2}, []int32{c.DBMaxConns, c.DBMinConns})
	require.Equal(t, []time.Duration{30 * time.Second, 30 * time.Second}, []time.Duration{c.DBIdleTimeout, c.DBHealthInterval})
	require.Equal(t, "https://api.coingecko.com/api/v3", c.CoinGeckoBaseURL)
	require.Equal(t, []string{"bitcoin", "ethereum", "solana", "polkadot", "avalanche-2"}, c.RatesCoins)
	require.Equal(t, []string{"usd", "eur", "gbp"}, c.RatesCurrencies)
	require.Equal(t, []time.Duration{5 * time.Minute, 15 * time.Minute, 60 * time.Minute, 5 * time.Minute, 3 * time.Second},
		[]time.Duration{c.RatesFresh, c.RatesAcceptable, c.RatesFallback, c.RatesCooldown, c.RatesMinInterval})
	require.Equal(t, 5, c.RatesFailureThreshold)
	require.Nil(t, c.PublicObjectPaths)
	require.Empty(t, c.PrivateObjectDir)
	require.Equal(t, 10*time.Second, c.ShutdownTimeout)
	require.Equal(t, time.Duration(0), c.ShutdownDrainDelay)
}

// TestConfigMapsEveryValue sets every variable and reads it back typed.
func TestConfigMapsEveryValue(t *testing.T) {
	m := with(validProduction(t), "PORT", "0", "LOG_FORMAT", "json", "SESSION_SECRET_PREVIOUS", "Vb0sK2mN7wR4tY8uZ1aC6dE5fG0hI3jL9oP2rS7q3Jx",
		"SESSION_TTL", "1h", "SESSION_TOUCH_AFTER", "59m", "DB_MAX_CONNS", "7", "DB_MIN_CONNS", "7",
		"RATES_COINS", " bitcoin , dogecoin", "COINGECKO_BASE_URL", "http://127.0.0.1:9/api/v3",
		"RATES_MIN_INTERVAL", "1ns", "SHUTDOWN_DRAIN_DELAY", "10s")
	rep := check(m)
	require.True(t, rep.OK, rep.String())
	c := configFrom(rep)
	assert.Equal(t, 0, c.Port)
	assert.True(t, c.Production)
	assert.True(t, c.LogJSON)
	assert.Equal(t, m["DATABASE_URL"], c.DatabaseURL)
	assert.Equal(t, []string{m["SESSION_SECRET"], m["SESSION_SECRET_PREVIOUS"]}, c.SessionSecrets)
	assert.Equal(t, []time.Duration{time.Hour, 59 * time.Minute}, []time.Duration{c.SessionTTL, c.SessionTouchAfter})
	assert.Equal(t, []int32{7, 7}, []int32{c.DBMaxConns, c.DBMinConns})
	assert.Equal(t, []string{"bitcoin", "dogecoin"}, c.RatesCoins)
	assert.Equal(t, "http://127.0.0.1:9/api/v3", c.CoinGeckoBaseURL)
	assert.Equal(t, time.Nanosecond, c.RatesMinInterval)
	assert.Equal(t, []string{m["PUBLIC_OBJECT_SEARCH_PATHS"]}, c.PublicObjectPaths)
	assert.Equal(t, m["PRIVATE_OBJECT_DIR"], c.PrivateObjectDir)
	assert.Equal(t, 10*time.Second, c.ShutdownDrainDelay)
}

func TestConfigNameFile(t *testing.T) {
	secret := validProduction(t)["SESSION_SECRET"]
	path := filepath.Join(t.TempDir(), "session")
	require.NoError(t, os.WriteFile(path, []byte(secret+"\n"), 0o600))
	rep := check(with(validProduction(t), "SESSION_SECRET", "<unset>", "SESSION_SECRET_FILE", path))
	require.True(t, rep.OK, rep.String())
	assert.Equal(t, []string{secret}, configFrom(rep).SessionSecrets)
}

func TestConfigEverythingMissingProduction(t *testing.T) {
	rep := check(map[string]string{"APP_ENV": "production"})
	assert.Equal(t, []string{
		"SESSION_SECRET required", "DATABASE_URL required", "PUBLIC_OBJECT_SEARCH_PATHS required", "PRIVATE_OBJECT_DIR required",
	}, problems(rep), "every required variable in one report, and no key the server does not use")
}

// TestConfigBadValues sets every variable to a malformed value and expects
// a problem for each, all in one report.
func TestConfigBadValues(t *testing.T) {
	bad := map[string]string{
		"PORT": "eighty", "APP_ENV": "prod", "DATABASE_URL": "postgres://a:b@host:notaport/db",
		"SESSION_SECRET": "changeme", "SESSION_SECRET_PREVIOUS": "short",
		"SESSION_TTL": "7d", "SESSION_TOUCH_AFTER": "0s", "SESSION_PRUNE_INTERVAL": "0s",
		"SESSION_POOL_MAX_CONNS": "0", "SESSION_CONNECT_TIMEOUT": "20",
		"DB_MAX_CONNS": "ten", "DB_MIN_CONNS": "-1", "DB_IDLE_TIMEOUT": "x", "DB_HEALTH_INTERVAL": "0",
		"DB_POOLER": "session", "SESSION_TABLE": "Sessions; DROP", "RATES_TABLE": "1rates",
		"SESSION_CACHE": "yes", "SESSION_CACHE_LISTEN_URL": "postgres://a:b@host:notaport/db",
		"COINGECKO_BASE_URL": "api.coingecko.com", "COINGECKO_API_KEY": " key ",
		"RATES_COINS": "bit coin", "RATES_CURRENCIES": "usd,",
		"RATES_FRESH": "fresh", "RATES_ACCEPTABLE": "15", "RATES_FALLBACK": "-60m",
		"RATES_FAILURE_THRESHOLD": "0", "RATES_COOLDOWN": "soon", "RATES_MIN_INTERVAL": "0s",
		"PUBLIC_OBJECT_SEARCH_PATHS": "public", "PRIVATE_OBJECT_DIR": "private",
		"SHUTDOWN_TIMEOUT": "10", "SHUTDOWN_DRAIN_DELAY": "later", "LOG_FORMAT": "xml",
		"CHECKOUT": "paypal", "STRIPE_SECRET_KEY": "sk_test_abc", "STRIPE_PUBLISHABLE_KEY": "pk_test_abc",
		"ORDER_EMAILS": "smtp", "BREVO_API_KEY": "brevo",
	}
	rs := rules()
	require.Len(t, bad, len(rs.Vars), "one bad value per declared variable")
	rep := rs.Check(configcheck.Production, configcheck.Map(bad))
	seen := map[string]bool{}
	for _, p := range rep.Problems {
		seen[p.Var] = true
	}
	for _, v := range rs.Vars {
		assert.True(t, seen[v.Name], "%s is reported; report:\n%s", v.Name, rep)
	}
}

// TestConfigFeatureKeys: production demands the Stripe and Brevo keys only
// when the feature that uses them is switched on.
func TestConfigFeatureKeys(t *testing.T) {
	prod := validProduction(t)
	assert.Empty(t, problems(check(prod)))
	assert.Equal(t, []string{"STRIPE_SECRET_KEY required", "STRIPE_PUBLISHABLE_KEY required"},
		problems(check(with(prod, "CHECKOUT", "stripe"))))
	assert.Equal(t, []string{"BREVO_API_KEY required"}, problems(check(with(prod, "ORDER_EMAILS", "brevo"))))

	live := with(prod, "CHECKOUT", "stripe", "STRIPE_SECRET_KEY", "sk_live_51HxAbCdEfGhIjKlMnOpQrStUvWx",
		"STRIPE_PUBLISHABLE_KEY", "pk_live_51HxZyXwVuTsRqPoNmLkJiHgFeDc")
	assert.Empty(t, problems(check(live)))
	assert.Equal(t, []string{"STRIPE_SECRET_KEY prefix", "STRIPE_SECRET_KEY same-mode"},
		problems(check(with(live, "STRIPE_SECRET_KEY", "sk_test_51HxAbCdEfGhIjKlMnOpQrStUvWx"))), "the pair checks stay")
	dev := with(live, "APP_ENV", "development")
	assert.Equal(t, []string{"STRIPE_SECRET_KEY prefix", "STRIPE_PUBLISHABLE_KEY prefix"}, problems(check(dev)), "live keys warn in development")
	assert.True(t, check(dev).OK)
}

func TestConfigSessionSecret(t *testing.T) {
	for name, v := range map[string]string{
		"placeholder": "changeme", "short": "q3Jx9Vb0sK2mN7wR", "repeated": strings.Repeat("x", 40),
		"trailing space": "q3Jx9Vb0sK2mN7wR4tY8uZ1aC6dE5fG0hI3jL9oP2rS7 ", "your-secret": "your-session-secret-goes-here-please-1234",
	} {
		rep := check(with(validProduction(t), "SESSION_SECRET", v))
		assert.False(t, rep.OK, name)
		for _, p := range rep.Problems {
			assert.Equal(t, "SESSION_SECRET", p.Var, name)
		}
	}
	prev := "Vb0sK2mN7wR4tY8uZ1aC6dE5fG0hI3jL9oP2rS7q3Jx"
	assert.Equal(t, []string{"SESSION_SECRET required"}, problems(check(map[string]string{"SESSION_SECRET_PREVIOUS": prev})),
		"a previous secret without a current one, in development too")
}

func TestConfigOrderRules(t *testing.T) {
	rep := check(map[string]string{
		"DB_MIN_CONNS": "12", "RATES_FRESH": "20m", "SHUTDOWN_DRAIN_DELAY": "30s", "SESSION_TTL": "1h",
	})
	assert.Equal(t, []string{"SHUTDOWN_DRAIN_DELAY order", "SESSION_TOUCH_AFTER order", "DB_MIN_CONNS order", "RATES_FRESH order"},
		problems(rep), rep.String())
	assert.Contains(t, rep.String(), `"2h" (the default) is not less than SESSION_TTL ("1h")`)
	assert.Contains(t, rep.String(), `DB_MAX_CONNS (default "10")`)
}

// TestConfigAppEnv: APP_ENV accepts exactly development and production; any
// other value is one error, checked strictly as production.
func TestConfigAppEnv(t *testing.T) {
	for _, env := range []string{"test", "staging", "prod", "Production", " production"} {
		rep := check(with(validProduction(t), "APP_ENV", env))
		assert.Equal(t, []string{"APP_ENV one-of"}, problems(rep), env)
		assert.Equal(t, configcheck.Production, rep.Env, env)
	}
	assert.Equal(t, configcheck.Development, check(map[string]string{"APP_ENV": ""}).Env)
}

func TestConfigIntsFitInt32(t *testing.T) {
	rep := check(map[string]string{"DB_MAX_CONNS": "2147483648", "SESSION_POOL_MAX_CONNS": "2147483647", "DB_MIN_CONNS": "1"})
	assert.Equal(t, []string{"DB_MAX_CONNS int"}, problems(rep))
	assert.Equal(t, int32(math.MaxInt32), configFrom(check(map[string]string{"SESSION_POOL_MAX_CONNS": "2147483647"})).SessionPoolMaxConns)
}

// TestDBMinConnsZeroMeansNone: DB_MIN_CONNS=0 gives a pool that keeps no
// idle connection (dbpool reads a MinConns of 0 as its default of 2).
func TestDBMinConnsZeroMeansNone(t *testing.T) {
	rep := check(map[string]string{"DATABASE_URL": fmt.Sprintf("postgres://app@127.0.0.1:%d/app?sslmode=disable", freePort(t)), "DB_MIN_CONNS": "0"})
	require.True(t, rep.OK, rep.String())
	db, err := openDatabase(configFrom(rep), slog.New(slog.DiscardHandler), nil)
	require.NoError(t, err)
	defer db.pool.Close(context.Background())
	assert.Equal(t, int32(0), db.pool.Pool().Config().MinConns)
}

// TestEqualTableNamesGetAFixThatWorks: RATES_TABLE and SESSION_TABLE naming
// one table is an error whose fix must help: "set RATES_TABLE to the old
// value after a rotation, or unset it" was the advice for a rotated secret,
// and unsetting RATES_TABLE keeps a default equal to SESSION_TABLE. The
// rotation advice stays for SESSION_SECRET_PREVIOUS.
func TestEqualTableNamesGetAFixThatWorks(t *testing.T) {
	for _, env := range []map[string]string{
		{"SESSION_TABLE": "cryptorates_snapshot"},
		{"RATES_TABLE": "sessions"},
		{"SESSION_TABLE": "shop", "RATES_TABLE": "shop"},
	} {
		var out, errOut strings.Builder
		code := rules().Command(nil, configcheck.Map(env), &out, &errOut)
		require.Equal(t, 1, code, "%v: %s%s", env, out.String(), errOut.String())
		assert.Contains(t, out.String(), "fix: give RATES_TABLE a value other than SESSION_TABLE's", env)
		assert.NotContains(t, out.String(), "rotation", env)
	}
	prev := "q3Jx9Vb0sK2mN7wR4tY8uZ1aC6dE5fG0hI3jL9oP2rS7"
	rep := check(map[string]string{"SESSION_SECRET": prev, "SESSION_SECRET_PREVIOUS": prev})
	assert.Contains(t, rep.String(), "set SESSION_SECRET_PREVIOUS to the old value after a rotation, or unset it")
}
