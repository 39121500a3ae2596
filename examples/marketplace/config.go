package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/dedw3n/hardening/dbpool"
)

// config is the server's configuration, read from the environment.
// Every field's default is the seed's; a malformed value is a start-up error
// naming its variable, never a silent default.
type config struct {
	Port       int
	Production bool
	LogJSON    bool

	DatabaseURL      string // "" means in-memory sessions and no pool
	DBMaxConns       int32
	DBPooler         dbpool.Pooler // DB_POOLER: auto, none or transaction; applies to every pool
	SessionTable     string        // SESSION_TABLE: the sessions table's name
	RatesTable       string        // RATES_TABLE: the rates snapshot table's name
	DBMinConns       int32
	DBIdleTimeout    time.Duration
	DBHealthInterval time.Duration

	SessionSecrets        []string // the first signs; all verify
	SessionTTL            time.Duration
	SessionTouchAfter     time.Duration
	SessionPruneInterval  time.Duration
	SessionPoolMaxConns   int32
	SessionConnectTimeout time.Duration
	SessionCache          bool   // SESSION_CACHE: off (default) or on, the store's read cache
	SessionCacheListenURL string // SESSION_CACHE_LISTEN_URL: direct URL for its LISTEN, needed behind a transaction pooler

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

// envReader reads typed values and collects every problem, so that one
// start-up reports all malformed variables at once.
type envReader struct {
	lookup func(string) (string, bool)
	errs   []error
}

func (r *envReader) str(name, def string) string {
	if v, ok := r.lookup(name); ok && v != "" {
		return v
	}
	return def
}

func (r *envReader) int(name string, def, min, max int) int {
	v, ok := r.lookup(name)
	if !ok || v == "" {
		return def
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < min || n > max {
		r.errs = append(r.errs, fmt.Errorf("%s: want an integer in %d..%d, got %q", name, min, max, v))
		return def
	}
	return n
}

func (r *envReader) duration(name string, def time.Duration, allowZero bool) time.Duration {
	v, ok := r.lookup(name)
	if !ok || v == "" {
		return def
	}
	d, err := time.ParseDuration(strings.TrimSpace(v))
	if err != nil || d < 0 || (d == 0 && !allowZero) {
		r.errs = append(r.errs, fmt.Errorf("%s: want a positive Go duration such as 30s or 2h, got %q", name, v))
		return def
	}
	return d
}

func (r *envReader) list(name, def string) []string {
	var out []string
	for _, s := range strings.Split(r.str(name, def), ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// loadConfig reads the configuration through lookup (os.LookupEnv in main).
func loadConfig(lookup func(string) (string, bool)) (config, error) {
	r := &envReader{lookup: lookup}
	var c config
	c.Port = r.int("PORT", 8080, 0, 65535)
	switch env := r.str("APP_ENV", "development"); env {
	case "production":
		c.Production = true
	case "development", "test":
	default:
		r.errs = append(r.errs, fmt.Errorf("APP_ENV: want production or development, got %q", env))
	}
	switch f := r.str("LOG_FORMAT", "text"); f {
	case "json":
		c.LogJSON = true
	case "text":
	default:
		r.errs = append(r.errs, fmt.Errorf("LOG_FORMAT: want text or json, got %q", f))
	}

	c.DatabaseURL = r.str("DATABASE_URL", "")
	c.DBMaxConns = int32(r.int("DB_MAX_CONNS", 10, 1, 10000))
	c.DBMinConns = int32(r.int("DB_MIN_CONNS", 2, 0, 10000))
	c.DBIdleTimeout = r.duration("DB_IDLE_TIMEOUT", 30*time.Second, false)
	c.DBHealthInterval = r.duration("DB_HEALTH_INTERVAL", 30*time.Second, false)
	if err := c.DBPooler.UnmarshalText([]byte(r.str("DB_POOLER", "auto"))); err != nil {
		r.errs = append(r.errs, fmt.Errorf("DB_POOLER: %w", err))
	}
	c.SessionTable = r.str("SESSION_TABLE", "sessions")
	c.RatesTable = r.str("RATES_TABLE", "cryptorates_snapshot")
	if c.DBMinConns > c.DBMaxConns {
		r.errs = append(r.errs, fmt.Errorf("DB_MIN_CONNS (%d) must not exceed DB_MAX_CONNS (%d)", c.DBMinConns, c.DBMaxConns))
	}

	// Secret values are never echoed into errors.
	if s := r.str("SESSION_SECRET", ""); s != "" {
		c.SessionSecrets = append(c.SessionSecrets, s)
	}
	if s := r.str("SESSION_SECRET_PREVIOUS", ""); s != "" {
		if len(c.SessionSecrets) == 0 {
			r.errs = append(r.errs, errors.New("SESSION_SECRET_PREVIOUS is set but SESSION_SECRET is not"))
		}
		c.SessionSecrets = append(c.SessionSecrets, s)
	}
	c.SessionTTL = r.duration("SESSION_TTL", 168*time.Hour, false)
	c.SessionTouchAfter = r.duration("SESSION_TOUCH_AFTER", 2*time.Hour, false)
	c.SessionPruneInterval = r.duration("SESSION_PRUNE_INTERVAL", 6*time.Hour, false)
	c.SessionPoolMaxConns = int32(r.int("SESSION_POOL_MAX_CONNS", 5, 1, 1000))
	c.SessionConnectTimeout = r.duration("SESSION_CONNECT_TIMEOUT", 20*time.Second, false)
	switch v := r.str("SESSION_CACHE", "off"); v {
	case "on":
		c.SessionCache = true
	case "off":
	default:
		r.errs = append(r.errs, fmt.Errorf("SESSION_CACHE: want off or on, got %q", v))
	}
	c.SessionCacheListenURL = r.str("SESSION_CACHE_LISTEN_URL", "")

	c.CoinGeckoBaseURL = r.str("COINGECKO_BASE_URL", "")
	c.CoinGeckoAPIKey = r.str("COINGECKO_API_KEY", "")
	c.RatesCoins = r.list("RATES_COINS", "bitcoin,ethereum,solana,polkadot,avalanche-2")
	c.RatesCurrencies = r.list("RATES_CURRENCIES", "usd,eur,gbp")
	c.RatesFresh = r.duration("RATES_FRESH", 5*time.Minute, false)
	c.RatesAcceptable = r.duration("RATES_ACCEPTABLE", 15*time.Minute, false)
	c.RatesFallback = r.duration("RATES_FALLBACK", 60*time.Minute, false)
	if !(c.RatesFresh <= c.RatesAcceptable && c.RatesAcceptable <= c.RatesFallback) {
		r.errs = append(r.errs, errors.New("RATES_FRESH <= RATES_ACCEPTABLE <= RATES_FALLBACK must hold"))
	}
	c.RatesFailureThreshold = r.int("RATES_FAILURE_THRESHOLD", 5, 1, 1000)
	c.RatesCooldown = r.duration("RATES_COOLDOWN", 5*time.Minute, false)
	c.RatesMinInterval = r.duration("RATES_MIN_INTERVAL", 3*time.Second, false)

	c.PublicObjectPaths = r.list("PUBLIC_OBJECT_SEARCH_PATHS", "")
	c.PrivateObjectDir = r.str("PRIVATE_OBJECT_DIR", "")

	c.ShutdownTimeout = r.duration("SHUTDOWN_TIMEOUT", 10*time.Second, false)
	c.ShutdownDrainDelay = r.duration("SHUTDOWN_DRAIN_DELAY", 0, true)

	if len(r.errs) > 0 {
		return c, fmt.Errorf("configuration: %w", errors.Join(r.errs...))
	}
	return c, nil
}
