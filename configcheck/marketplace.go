package configcheck

import (
	"math"
	"time"
)

// Marketplace returns the rule set of the example marketplace server
// (examples/marketplace): the variables of the seed's production validator,
// required in production, and every variable of the server's configuration
// table, optional everywhere with the defaults shown. Each call returns a new
// RuleSet, which the caller may extend.
func Marketplace() *RuleSet {
	const (
		positive = time.Nanosecond
		forever  = time.Duration(math.MaxInt64)
	)
	dur := func(name, def string, lo time.Duration, extra ...Rule) Var {
		return Var{Name: name, Default: def, Rules: append([]Rule{DurationBetween(lo, forever)}, extra...)}
	}
	count := func(name, def string, lo int64, extra ...Rule) Var {
		return Var{Name: name, Default: def, Rules: append([]Rule{IntBetween(lo, math.MaxInt32)}, extra...)}
	}
	strength := func() []Rule {
		return []Rule{MinLen(32), Strong(), Trimmed()}
	}
	return &RuleSet{
		Prefixes: []string{
			"APP_", "DATABASE_", "SESSION_", "DB_", "COINGECKO_", "RATES_",
			"PUBLIC_OBJECT_", "PRIVATE_OBJECT_", "SHUTDOWN_", "LOG_", "STRIPE_", "BREVO_",
		},
		Vars: []Var{
			{Name: "APP_ENV", Default: "development", Rules: []Rule{OneOf("development", "production")}},
			{Name: "PORT", Default: "8080", Rules: []Rule{IntBetween(1, 65535)}},
			{
				Name: "DATABASE_URL", Secret: true,
				Hint:  "a PostgreSQL URL such as postgres://app:PASSWORD@db.internal:5432/app?sslmode=verify-full; unset in development means in-memory sessions",
				Rules: []Rule{Required().In(Production), NonEmpty(), Trimmed(), PostgresDSN()},
			},
			{
				Name: "SESSION_SECRET", Secret: true,
				Hint:  "generate one with: openssl rand -base64 48",
				Rules: append([]Rule{Required().In(Production), NonEmpty()}, strength()...),
			},
			{
				Name: "SESSION_SECRET_PREVIOUS", Secret: true,
				Hint:  "the previous SESSION_SECRET, kept during a rotation; unset it afterwards",
				Rules: append(strength(), Differs("SESSION_SECRET").Warn()),
			},
			dur("SESSION_TTL", "168h", positive),
			dur("SESSION_TOUCH_AFTER", "2h", 0, NotAbove("SESSION_TTL")),
			dur("SESSION_PRUNE_INTERVAL", "6h", positive),
			count("SESSION_POOL_MAX_CONNS", "5", 1),
			dur("SESSION_CONNECT_TIMEOUT", "20s", positive),
			count("DB_MAX_CONNS", "10", 1),
			count("DB_MIN_CONNS", "2", 0, NotAbove("DB_MAX_CONNS")),
			dur("DB_IDLE_TIMEOUT", "30s", positive),
			dur("DB_HEALTH_INTERVAL", "30s", positive),
			{
				Name: "DB_POOLER", Default: "auto", Rules: []Rule{OneOf("auto", "none", "transaction")},
				Hint: "transaction behind PgBouncer in transaction mode; auto detects Neon's -pooler hosts and Supabase's port 6543",
			},
			{Name: "SESSION_TABLE", Default: "sessions", Rules: []Rule{NonEmpty()}},
			{Name: "RATES_TABLE", Default: "cryptorates_snapshot", Rules: []Rule{NonEmpty()}},
			{Name: "COINGECKO_BASE_URL", Default: "https://api.coingecko.com/api/v3", Rules: []Rule{URL("https", "http")}},
			{Name: "COINGECKO_API_KEY", Secret: true, Rules: []Rule{Trimmed()}},
			{Name: "RATES_COINS", Default: "bitcoin,ethereum,solana,polkadot,avalanche-2", Rules: []Rule{List()}},
			{Name: "RATES_CURRENCIES", Default: "usd,eur,gbp", Rules: []Rule{List()}},
			dur("RATES_FRESH", "5m", positive, NotAbove("RATES_ACCEPTABLE")),
			dur("RATES_ACCEPTABLE", "15m", positive, NotAbove("RATES_FALLBACK")),
			dur("RATES_FALLBACK", "60m", positive),
			count("RATES_FAILURE_THRESHOLD", "5", 1),
			dur("RATES_COOLDOWN", "5m", positive),
			dur("RATES_MIN_INTERVAL", "3s", 0),
			{
				Name:  "PUBLIC_OBJECT_SEARCH_PATHS",
				Hint:  "comma-separated absolute directories served under /objects/public/",
				Rules: []Rule{Required().In(Production), NonEmpty(), PathList()},
			},
			{
				Name:  "PRIVATE_OBJECT_DIR",
				Hint:  "an absolute directory served under /objects/private/ to logged-in sessions",
				Rules: []Rule{Required().In(Production), NonEmpty(), Path(), Disjoint("PUBLIC_OBJECT_SEARCH_PATHS")},
			},
			dur("SHUTDOWN_TIMEOUT", "10s", positive),
			dur("SHUTDOWN_DRAIN_DELAY", "0s", 0, NotAbove("SHUTDOWN_TIMEOUT")),
			{Name: "LOG_FORMAT", Default: "text", Rules: []Rule{OneOf("text", "json")}},
			{
				Name: "STRIPE_SECRET_KEY", Secret: true,
				Hint: "from the Stripe dashboard, Developers → API keys",
				Rules: []Rule{
					Required().In(Production), NonEmpty(), Trimmed(),
					Prefix(Prefixes{Accept: []string{"sk_live_"}}, Prefixes{Accept: []string{"sk_test_"}, Warn: []string{"sk_live_"}}),
					SameMode("STRIPE_PUBLISHABLE_KEY",
						Mode{Name: "live", Prefix: "sk_live_", OtherPrefix: "pk_live_"},
						Mode{Name: "test", Prefix: "sk_test_", OtherPrefix: "pk_test_"}),
				},
			},
			{
				Name: "STRIPE_PUBLISHABLE_KEY", Secret: true,
				Hint: "from the Stripe dashboard, Developers → API keys",
				Rules: []Rule{
					Required().In(Production), NonEmpty(), Trimmed(),
					Prefix(Prefixes{Accept: []string{"pk_live_"}}, Prefixes{Accept: []string{"pk_test_"}, Warn: []string{"pk_live_"}}),
				},
			},
			{
				Name: "BREVO_API_KEY", Secret: true,
				Hint: "from Brevo, SMTP & API → API keys",
				Rules: []Rule{
					Required().In(Production), NonEmpty(), Trimmed(),
					Prefix(Prefixes{Accept: []string{"xkeysib-"}}, Prefixes{Accept: []string{"xkeysib-"}}).Warn(),
				},
			},
		},
	}
}
