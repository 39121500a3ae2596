package main

import (
	"context"
	"crypto/rand"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/dedw3n/hardening/cdncache"
	"github.com/dedw3n/hardening/cryptorates"
	"github.com/dedw3n/hardening/examples/marketplace/metrics"
	"github.com/dedw3n/hardening/sessionstore"
	"github.com/dedw3n/hardening/shutdown"
)

//go:embed assets/static assets/templates
var assets embed.FS

// app holds the server's parts, wired once at start-up.
type app struct {
	cfg      config
	log      *slog.Logger
	coord    *shutdown.Coordinator
	db       *database // nil without DATABASE_URL
	sessions *sessionstore.Manager
	rates    *cryptorates.Client
	static   *cdncache.Handler
	public   *cdncache.Handler // nil without PUBLIC_OBJECT_SEARCH_PATHS
	private  *cdncache.Handler // nil without PRIVATE_OBJECT_DIR
	page     *template.Template
	registry *prometheus.Registry
}

// newApp wires every package. Shutdown hooks run newest first, so each part
// is registered before the parts that use it: the pool closes last.
func newApp(ctx context.Context, cfg config, log *slog.Logger) (*app, error) {
	a := &app{cfg: cfg, log: log, registry: prometheus.NewRegistry()}
	a.coord = shutdown.New(shutdown.Config{
		Timeout:    cfg.ShutdownTimeout,
		DrainDelay: cfg.ShutdownDrainDelay,
		Logger:     log.With("component", "shutdown"),
	})
	_ = a.coord.CheckGrace(0) // warns when drain delay + budget exceed Kubernetes' 30 s

	var store sessionstore.Store
	if cfg.DatabaseURL == "" {
		log.Warn("DATABASE_URL is not set: sessions are kept in memory and lost at restart; no database pool")
		mem := sessionstore.NewMemoryStore(sessionstore.MemoryConfig{PruneInterval: cfg.SessionPruneInterval, Logger: log})
		a.coord.Register("session store", func(context.Context) error { return mem.Close() })
		a.registry.MustRegister(metrics.New("session_store", func() any { return mem.Stats() }))
		store = mem
	} else {
		db, err := openDatabase(cfg, log.With("component", "dbpool"))
		if err != nil {
			return nil, err
		}
		a.db = db
		a.coord.Register("database pool", a.db.close)
		a.coord.AddCheck("database", a.db.check)
		a.coord.AddCheck("rates table", a.db.checkRates)
		a.registry.MustRegister(metrics.New("dbpool", func() any { return a.db.stats() },
			"acquire_count", "canceled_acquire_count", "empty_acquire_count", "new_conns_count",
			"max_lifetime_destroy_count", "max_idle_destroy_count", "health_checks", "health_failures"))

		// The session store has its own small pool (the seed's fix): a busy
		// application pool never starves logins, and the reverse.
		pg, err := sessionstore.NewPostgresStore(sessionstore.PostgresConfig{
			URL:            cfg.DatabaseURL,
			Pooler:         cfg.DBPooler,
			Table:          cfg.SessionTable,
			MaxConns:       cfg.SessionPoolMaxConns,
			ConnectTimeout: cfg.SessionConnectTimeout,
			PruneInterval:  cfg.SessionPruneInterval,
			Cache:          sessionstore.CacheConfig{Enabled: cfg.SessionCache, ListenURL: cfg.SessionCacheListenURL},
			Logger:         log.With("component", "sessionstore"),
		})
		if err != nil {
			return nil, err
		}
		a.coord.Register("session store", func(context.Context) error { return pg.Close() })
		a.registry.MustRegister(metrics.New("session_store", func() any { return pg.Stats() }, cacheCounters...))
		store = pg
	}

	secrets, err := sessionSecrets(cfg, log)
	if err != nil {
		return nil, err
	}
	a.sessions, err = sessionstore.NewManager(store, sessionstore.Config{
		Secrets:     secrets,
		IdleTimeout: cfg.SessionTTL,
		TouchAfter:  cfg.SessionTouchAfter,
		Cookie:      sessionstore.CookieConfig{Insecure: !cfg.Production},
		Logger:      log.With("component", "sessions"),
	})
	if err != nil {
		return nil, fmt.Errorf("sessions: %w", err)
	}
	a.coord.AddCheck("sessions", func(ctx context.Context) error {
		// The readiness body is public: say what is wrong, not where the
		// database lives (driver errors name its host and user).
		if err := a.sessions.Ready(ctx); err != nil {
			if errors.Is(err, sessionstore.ErrTableShape) {
				return fmt.Errorf("session table %q exists with other columns (another library's, such as scs or connect-pg-simple): set SESSION_TABLE to another name", cfg.SessionTable)
			}
			if errors.Is(err, sessionstore.ErrNotReady) {
				return errors.New("session store not initialised: database unreachable")
			}
			return errors.New("session store unavailable")
		}
		return nil
	})
	a.registry.MustRegister(metrics.New("sessions", func() any { return a.sessions.Stats() },
		append([]string{"loads", "hits", "misses", "writes", "touches", "rejected_cookies", "errors", "conflicts", "init_attempts", "pruned"},
			cacheCounters...)...))

	rcfg := cryptorates.Config{
		BaseURL:          cfg.CoinGeckoBaseURL,
		APIKey:           cfg.CoinGeckoAPIKey,
		Coins:            cfg.RatesCoins,
		Currencies:       cfg.RatesCurrencies,
		Fresh:            cfg.RatesFresh,
		Acceptable:       cfg.RatesAcceptable,
		Fallback:         cfg.RatesFallback,
		FailureThreshold: cfg.RatesFailureThreshold,
		Cooldown:         cfg.RatesCooldown,
		MinInterval:      cfg.RatesMinInterval,
		Logger:           log.With("component", "cryptorates"),
	}
	if a.db != nil {
		// A fleet shares one upstream budget through the database, and a
		// restart starts from the last snapshot instead of static rates.
		rcfg.Shared = a.db.rates
	}
	if a.rates, err = cryptorates.New(rcfg); err != nil {
		return nil, fmt.Errorf("rates: %w", err)
	}
	a.coord.Register("rates client", func(context.Context) error { return a.rates.Close() })
	a.registry.MustRegister(metrics.New("rates", func() any { return a.rates.Stats() },
		"upstream_calls", "shared_reads", "shared_errors",
		"failures_network", "failures_timeout", "failures_server", "failures_rate_limited", "failures_auth",
		"failures_status", "failures_invalid",
		"breaker_transitions_open", "breaker_transitions_half_open", "breaker_transitions_closed",
		"served_fresh", "served_acceptable", "served_fallback", "served_static"))

	staticFS, err := fs.Sub(assets, "assets/static")
	if err != nil {
		return nil, err
	}
	a.static = a.cdn("static", cdncache.Config{Logger: log}, cdncache.FS(staticFS))
	if len(cfg.PublicObjectPaths) > 0 {
		srcs := make([]cdncache.Source, len(cfg.PublicObjectPaths))
		for i, dir := range cfg.PublicObjectPaths {
			srcs[i] = cdncache.Dir(dir)
		}
		a.public = a.cdn("public", cdncache.Config{Logger: log}, srcs...)
	}
	if cfg.PrivateObjectDir != "" {
		a.private = a.cdn("private", cdncache.Config{Private: true, Logger: log}, cdncache.Dir(cfg.PrivateObjectDir))
	}

	if a.page, err = template.ParseFS(assets, "assets/templates/index.html"); err != nil {
		return nil, err
	}
	a.registry.MustRegister(
		metrics.New("shutdown", func() any { return a.coord.Stats() },
			"shutdowns", "hook_timeouts", "hook_errors", "probes", "probe_failures", "check_runs", "check_cache_hits"),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return a, nil
}

// cdn makes an object handler, closed at shutdown and exported to metrics.
func (a *app) cdn(name string, cfg cdncache.Config, srcs ...cdncache.Source) *cdncache.Handler {
	h := cdncache.New(cfg, srcs...)
	a.coord.Register("cdn "+name, func(context.Context) error { return h.Close() })
	a.registry.MustRegister(metrics.New("cdn_"+name, func() any { return h.Stats() },
		"ok", "partial_content", "not_modified", "client_errors", "server_errors", "bytes_sent", "bytes_saved", "e_tag_hits", "e_tag_misses"))
	return h
}

// sessionSecrets returns the cookie keys: SESSION_SECRET signs, and
// SESSION_SECRET_PREVIOUS still verifies. Development without a secret gets
// a random one per process (sessions end at restart, which is said once).
func sessionSecrets(cfg config, log *slog.Logger) ([][]byte, error) {
	if len(cfg.SessionSecrets) == 0 {
		if cfg.Production {
			return nil, fmt.Errorf("SESSION_SECRET is required in production")
		}
		log.Warn("SESSION_SECRET is not set: using a random secret, so sessions end when the process restarts")
		return [][]byte{[]byte(rand.Text() + rand.Text())}, nil
	}
	out := make([][]byte, len(cfg.SessionSecrets))
	for i, s := range cfg.SessionSecrets {
		out[i] = []byte(s)
	}
	return out, nil
}

// serve runs the HTTP server under the shutdown coordinator until SIGINT or
// SIGTERM, then drains and closes everything in order.
func (a *app) serve() error {
	srv := &http.Server{
		Addr:              net.JoinHostPort("", strconv.Itoa(a.cfg.Port)),
		Handler:           a.routes(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", srv.Addr)
	if err != nil {
		_, _ = a.coord.Shutdown(context.Background()) // release what start-up opened
		return err
	}
	stop := a.coord.HandleSignals()
	defer stop()
	a.log.Info("marketplace listening", "addr", ln.Addr().String(), "production", a.cfg.Production,
		"database", a.db != nil)
	return a.coord.Serve(srv, ln)
}

// cacheCounters are the session cache's monotonic Stats fields.
var cacheCounters = []string{"cache_hits", "cache_misses", "cache_invalidations", "cache_bypassed", "cache_reconnects"}
