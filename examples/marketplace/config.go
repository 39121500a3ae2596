package main

import (
	"math"
	"slices"
	"time"

	"github.com/dedw3n/hardening/configcheck"
	"github.com/dedw3n/hardening/cryptorates"
	"github.com/dedw3n/hardening/dbpool"
)

// config is the server's configuration, mapped from a clean configcheck
// report: rules() declares every variable with its type, default and checks
// once, and check-config, the start-up gate and configFrom all read that one
// declaration. `marketplace check-config --list` prints it.
type config struct {
	Port       int
	Production bool
	LogJSON    bool

	DatabaseURL      string // "" means in-memory sessions and no pool
	DBMaxConns       int32
	DBMinConns       int32
	DBIdleTimeout    time.Duration
	DBHealthInterval time.Duration
	DBPooler         dbpool.Pooler // applies to every pool
	SessionTable     string
	RatesTable       string

	SessionSecrets        []string // the first signs; all verify
	SessionTTL            time.Duration
	SessionTouchAfter     time.Duration
	SessionPruneInterval  time.Duration
	SessionPoolMaxConns   int32
	SessionConnectTimeout time.Duration
	SessionCache          bool   // the store's read cache
	SessionCacheListenURL string // a direct URL for its LISTEN; "" means DATABASE_URL

	CoinGeckoBaseURL      string
	CoinGeckoAPIKey       string
	RatesCoins            []string
	RatesCurrencies       []string
	RatesFresh            time.Duration
	RatesAcceptable       time.Duration
	RatesFallback         time.Duration
	RatesFailureThreshold int
	RatesCooldown         time.Duration
	RatesMinInterval      time.Duration

	PublicObjectPaths []string
	PrivateObjectDir  string

	ShutdownTimeout    time.Duration
	ShutdownDrainDelay time.Duration
}

// configFrom maps a report without errors onto the server's configuration.
// Nothing here can fail: the rules have checked every value it reads.
func configFrom(rep *configcheck.Report) config {
	c := config{
		Port:       rep.Int("PORT"),
		Production: rep.Value("APP_ENV") == string(configcheck.Production),
		LogJSON:    rep.Value("LOG_FORMAT") == "json",

		DatabaseURL:      rep.Secret("DATABASE_URL").Reveal(),
		DBMaxConns:       int32(rep.Int("DB_MAX_CONNS")),
		DBMinConns:       int32(rep.Int("DB_MIN_CONNS")),
		DBIdleTimeout:    rep.Duration("DB_IDLE_TIMEOUT"),
		DBHealthInterval: rep.Duration("DB_HEALTH_INTERVAL"),
		SessionTable:     rep.Value("SESSION_TABLE"),
		RatesTable:       rep.Value("RATES_TABLE"),

		SessionTTL:            rep.Duration("SESSION_TTL"),
		SessionTouchAfter:     rep.Duration("SESSION_TOUCH_AFTER"),
		SessionPruneInterval:  rep.Duration("SESSION_PRUNE_INTERVAL"),
		SessionPoolMaxConns:   int32(rep.Int("SESSION_POOL_MAX_CONNS")),
		SessionConnectTimeout: rep.Duration("SESSION_CONNECT_TIMEOUT"),
		SessionCache:          rep.Value("SESSION_CACHE") == "on",
		SessionCacheListenURL: rep.Secret("SESSION_CACHE_LISTEN_URL").Reveal(),

		CoinGeckoBaseURL:      rep.URL("COINGECKO_BASE_URL").String(),
		CoinGeckoAPIKey:       rep.Secret("COINGECKO_API_KEY").Reveal(),
		RatesCoins:            rep.List("RATES_COINS"),
		RatesCurrencies:       rep.List("RATES_CURRENCIES"),
		RatesFresh:            rep.Duration("RATES_FRESH"),
		RatesAcceptable:       rep.Duration("RATES_ACCEPTABLE"),
		RatesFallback:         rep.Duration("RATES_FALLBACK"),
		RatesFailureThreshold: rep.Int("RATES_FAILURE_THRESHOLD"),
		RatesCooldown:         rep.Duration("RATES_COOLDOWN"),
		RatesMinInterval:      rep.Duration("RATES_MIN_INTERVAL"),

		PublicObjectPaths: rep.List("PUBLIC_OBJECT_SEARCH_PATHS"),
		PrivateObjectDir:  rep.Value("PRIVATE_OBJECT_DIR"),

		ShutdownTimeout:    rep.Duration("SHUTDOWN_TIMEOUT"),
		ShutdownDrainDelay: rep.Duration("SHUTDOWN_DRAIN_DELAY"),
	}
	_ = c.DBPooler.UnmarshalText([]byte(rep.Value("DB_POOLER"))) // checked by OneOf
	for _, name := range []string{"SESSION_SECRET", "SESSION_SECRET_PREVIOUS"} {
		if s := rep.Secret(name).Reveal(); s != "" {
			c.SessionSecrets = append(c.SessionSecrets, s)
		}
	}
	return c
}

// rules is the marketplace's rule set: every variable the server reads, in
// the order `check-config --list` shows them.
func rules() *configcheck.RuleSet {
	return &configcheck.RuleSet{
		Vars:   slices.Concat(serverVars(), sessionVars(), databaseVars(), ratesVars(), objectVars(), paymentVars()),
		EnvVar: "APP_ENV",
		Prefixes: []string{
			"APP_", "DATABASE_", "SESSION_", "DB_", "COINGECKO_", "RATES_", "PUBLIC_OBJECT_",
			"PRIVATE_OBJECT_", "SHUTDOWN_", "LOG_", "STRIPE_", "BREVO_", "ORDER_",
		},
	}
}

const forever = time.Duration(math.MaxInt64)

// duration declares a duration of at least lo. Where the package reading
// it takes 0 for "use my default", lo is positive: 0 would not mean zero.
func duration(name, def string, lo time.Duration, more ...configcheck.Rule) configcheck.Var {
	return configcheck.Var{Name: name, Default: def,
		Rules: append([]configcheck.Rule{configcheck.DurationBetween(lo, forever)}, more...)}
}

// count declares an integer of at least lo that fits an int32.
func count(name, def string, lo int, more ...configcheck.Rule) configcheck.Var {
	return configcheck.Var{Name: name, Default: def,
		Rules: append([]configcheck.Rule{configcheck.IntBetween(lo, math.MaxInt32)}, more...)}
}

const positive = time.Nanosecond

func serverVars() []configcheck.Var {
	return []configcheck.Var{
		{Name: "APP_ENV", Default: "development", Hint: "production turns on every production rule",
			Rules: []configcheck.Rule{configcheck.OneOf("development", "production")}},
		{Name: "PORT", Default: "8080", Hint: "0 picks a free port",
			Rules: []configcheck.Rule{configcheck.IntBetween(0, 65535)}},
		{Name: "LOG_FORMAT", Default: "text", Rules: []configcheck.Rule{configcheck.OneOf("text", "json")}},
		duration("SHUTDOWN_TIMEOUT", "10s", positive),
		duration("SHUTDOWN_DRAIN_DELAY", "0s", 0, configcheck.NotAbove("SHUTDOWN_TIMEOUT")),
	}
}

func sessionVars() []configcheck.Var {
	strong := func(more ...configcheck.Rule) []configcheck.Rule {
		return append(more, configcheck.NonEmpty(), configcheck.MinLen(32), configcheck.Strong(), configcheck.Trimmed())
	}
	return []configcheck.Var{
		{Name: "SESSION_SECRET", Secret: true, Hint: "generate one with: openssl rand -base64 48",
			Rules: strong(configcheck.Required().In(configcheck.Production), configcheck.RequiredIf("SESSION_SECRET_PREVIOUS"))},
		{Name: "SESSION_SECRET_PREVIOUS", Secret: true,
			Hint:  "the previous SESSION_SECRET, kept during a rotation; unset it afterwards",
			Rules: strong(configcheck.Differs("SESSION_SECRET").Warn())},
		duration("SESSION_TTL", "168h", positive),
		duration("SESSION_TOUCH_AFTER", "2h", positive, configcheck.Below("SESSION_TTL")),
		duration("SESSION_PRUNE_INTERVAL", "6h", positive),
		count("SESSION_POOL_MAX_CONNS", "5", 1),
		duration("SESSION_CONNECT_TIMEOUT", "20s", positive),
		{Name: "SESSION_CACHE", Default: "off", Hint: "on keeps sessions in memory, invalidated by LISTEN/NOTIFY; it keeps a serverless database awake",
			Rules: []configcheck.Rule{configcheck.OneOf("off", "on")}},
		{Name: "SESSION_CACHE_LISTEN_URL", Secret: true, Hint: "a direct (not pooled) URL of the same database, for LISTEN behind a transaction pooler",
			Rules: []configcheck.Rule{configcheck.NonEmpty(), configcheck.Trimmed(), configcheck.PostgresDSN()}},
	}
}

func databaseVars() []configcheck.Var {
	return []configcheck.Var{
		{Name: "DATABASE_URL", Secret: true,
			Hint: "a PostgreSQL URL such as postgres://app:PASSWORD@db.internal:5432/app?sslmode=verify-full; unset in development means in-memory sessions",
			Rules: []configcheck.Rule{configcheck.Required().In(configcheck.Production), configcheck.NonEmpty(),
				configcheck.Trimmed(), configcheck.PostgresDSN()}},
		count("DB_MAX_CONNS", "10", 1),
		count("DB_MIN_CONNS", "2", 0, configcheck.NotAbove("DB_MAX_CONNS")),
		duration("DB_IDLE_TIMEOUT", "30s", positive),
		duration("DB_HEALTH_INTERVAL", "30s", positive),
		{Name: "DB_POOLER", Default: "auto", Hint: "transaction for PgBouncer in transaction mode, RDS Proxy or Supavisor; auto detects Neon's and Supabase's pooled hosts",
			Rules: []configcheck.Rule{configcheck.OneOf("auto", "none", "transaction")}},
		{Name: "SESSION_TABLE", Default: "sessions", Hint: "another name when a table of that name belongs to another program",
			Rules: []configcheck.Rule{identifier}},
		{Name: "RATES_TABLE", Default: "cryptorates_snapshot", Hint: "another name when a table of that name belongs to another program",
			Rules: []configcheck.Rule{identifier, configcheck.Differs("SESSION_TABLE")}},
	}
}

// identifier is a PostgreSQL table name that needs no quoting.
var identifier = configcheck.Match(`^[a-z_][a-z0-9_]{0,62}$`, "a lower-case SQL identifier (letters, digits, '_')")

// ids is what cryptorates accepts as coin and currency ids.
var ids = configcheck.Match(`^[\s,]*[A-Za-z0-9._-]*(\s*,\s*[A-Za-z0-9._-]*)*\s*$`,
	"a comma-separated list of ids (letters, digits, '.', '_', '-')")

func ratesVars() []configcheck.Var {
	return []configcheck.Var{
		{Name: "COINGECKO_BASE_URL", Default: cryptorates.DefaultBaseURL, Rules: []configcheck.Rule{configcheck.URL("https", "http")}},
		{Name: "COINGECKO_API_KEY", Secret: true, Rules: []configcheck.Rule{configcheck.Trimmed()}},
		{Name: "RATES_COINS", Default: "bitcoin,ethereum,solana,polkadot,avalanche-2", Rules: []configcheck.Rule{configcheck.List(), ids}},
		{Name: "RATES_CURRENCIES", Default: "usd,eur,gbp", Hint: "usd is fetched too when missing: the catalog is priced in it",
			Rules: []configcheck.Rule{configcheck.List(), ids}},
		duration("RATES_FRESH", "5m", positive, configcheck.NotAbove("RATES_ACCEPTABLE")),
		duration("RATES_ACCEPTABLE", "15m", positive, configcheck.NotAbove("RATES_FALLBACK")),
		duration("RATES_FALLBACK", "60m", positive),
		count("RATES_FAILURE_THRESHOLD", "5", 1),
		duration("RATES_COOLDOWN", "5m", positive),
		duration("RATES_MIN_INTERVAL", "3s", positive),
	}
}

func objectVars() []configcheck.Var {
	return []configcheck.Var{
		{Name: "PUBLIC_OBJECT_SEARCH_PATHS", Hint: "comma-separated absolute directories served under /objects/public/",
			Rules: []configcheck.Rule{configcheck.Required().In(configcheck.Production), configcheck.NonEmpty(), configcheck.PathList()}},
		{Name: "PRIVATE_OBJECT_DIR", Hint: "an absolute directory served under /objects/private/ to logged-in sessions",
			Rules: []configcheck.Rule{configcheck.Required().In(configcheck.Production), configcheck.NonEmpty(),
				configcheck.Path(), configcheck.Disjoint("PUBLIC_OBJECT_SEARCH_PATHS")}},
	}
}

// paymentVars are the switches of the features that use third-party keys:
// a key is required only when its feature is on. The server does not
// implement either feature yet; the switches keep production from demanding
// keys nothing reads.
func paymentVars() []configcheck.Var {
	stripe := configcheck.RequiredIf("CHECKOUT", "stripe")
	const stripeHint = "from the Stripe dashboard, Developers → API keys"
	return []configcheck.Var{
		{Name: "CHECKOUT", Default: "none", Hint: "stripe requires STRIPE_SECRET_KEY and STRIPE_PUBLISHABLE_KEY",
			Rules: []configcheck.Rule{configcheck.OneOf("none", "stripe")}},
		{Name: "STRIPE_SECRET_KEY", Secret: true, Hint: stripeHint,
			Rules: []configcheck.Rule{stripe, configcheck.NonEmpty(), configcheck.Trimmed(),
				configcheck.StripeKey("sk"), configcheck.StripeKeyPair("STRIPE_PUBLISHABLE_KEY")}},
		{Name: "STRIPE_PUBLISHABLE_KEY", Hint: stripeHint,
			Rules: []configcheck.Rule{stripe, configcheck.NonEmpty(), configcheck.Trimmed(), configcheck.StripeKey("pk")}},
		{Name: "ORDER_EMAILS", Default: "none", Hint: "brevo requires BREVO_API_KEY",
			Rules: []configcheck.Rule{configcheck.OneOf("none", "brevo")}},
		{Name: "BREVO_API_KEY", Secret: true, Hint: "from Brevo, SMTP & API → API keys",
			Rules: []configcheck.Rule{configcheck.RequiredIf("ORDER_EMAILS", "brevo"), configcheck.NonEmpty(),
				configcheck.Trimmed(), configcheck.BrevoKey()}},
	}
}
