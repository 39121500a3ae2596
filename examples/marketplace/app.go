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
	"slices"
	"strconv"

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

// newApp wires every package, in the order below: database, sessions,
// rates, objects, metrics. Shutdown hooks run newest first, so each part is
// registered before the parts that use it: the pool closes last.
func newApp(ctx context.Context, cfg config, log *slog.Logger) (*app, error) {
	a := &app{cfg: cfg, log: log, registry: prometheus.NewRegistry()}
	a.coord = shutdown.New(shutdown.Config{
		Timeout:    cfg.ShutdownTimeout,
		DrainDelay: cfg.ShutdownDrainDelay,
		Logger:     log.With("component", "shutdown"),
	})
	_ = a.coord.CheckGrace(0) // warns when drain delay + budget exceed Kubernetes' 30 s

	store, err := a.openStore()
	if err != nil {
		return nil, err
	}
	if err := a.startSessions(store); err != nil {
		return nil, err
	}
	if err := a.startRates(); err != nil {
		return nil, err
	}
	if err := a.openObjects(); err != nil {
		return nil, err
	}
	if a.page, err = template.ParseFS(assets, "assets/templates/index.html"); err != nil {
		return nil, err
	}
	a.registry.MustRegister(
		metrics.Shutdown(a.coord.Stats, a.coord.Readiness()),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return a, nil
}

// openStore opens the database pool and the session store on it, or, without
// DATABASE_URL, a memory store and no pool.
func (a *app) openStore() (sessionstore.Store, error) {
	cfg, log := a.cfg, a.log
	if cfg.DatabaseURL == "" {
		log.Warn("DATABASE_URL is not set: sessions are kept in memory and lost at restart; no database pool")
		mem := sessionstore.NewMemoryStore(sessionstore.MemoryConfig{PruneInterval: cfg.SessionPruneInterval, Logger: log})
		a.coord.Register("session store", func(context.Context) error { return mem.Close() })
		return mem, nil
	}
	db, err := openDatabase(cfg, log.With("component", "dbpool"), metrics.PoolTracer(a.registry))
	if err != nil {
		return nil, err
	}
	a.db = db
	a.coord.Register("database pool", a.db.pool.Close) // within the hook's budget
	a.coord.AddCheck("database", a.db.check)
	a.coord.AddCheck("rates table", a.db.checkRates)
	a.registry.MustRegister(metrics.DBPool(a.db.pool.Stats))

	// The session store has its own small pool: a busy application pool
	// never starves logins, and the reverse.
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
	return pg, nil
}

// startSessions makes the session manager on store, with its readiness
// check and metrics.
func (a *app) startSessions(store sessionstore.Store) error {
	secrets, err := sessionSecrets(a.cfg, a.log)
	if err != nil {
		return err
	}
	store = metrics.SessionStore(a.registry, store)
	a.sessions, err = sessionstore.NewManager(store, sessionstore.Config{
		Secrets:      secrets,
		IdleTimeout:  a.cfg.SessionTTL,
		TouchAfter:   a.cfg.SessionTouchAfter,
		Cookie:       sessionstore.CookieConfig{Insecure: !a.cfg.Production},
		Logger:       a.log.With("component", "sessions"),
		ErrorHandler: sessionError,
	})
	if err != nil {
		return fmt.Errorf("sessions: %w", err)
	}
	a.coord.AddCheck("sessions", a.sessionsReady)
	a.registry.MustRegister(metrics.Sessions(a.sessions, store))
	return nil
}

// sessionsReady is the sessions' readiness check. The readiness body is
// public: it says what is wrong, not where the database lives (driver
// errors name its host and user).
func (a *app) sessionsReady(ctx context.Context) error {
	err := a.sessions.Ready(ctx)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sessionstore.ErrTableShape):
		return fmt.Errorf("session table %q exists with other columns (another library's, such as scs or connect-pg-simple): set SESSION_TABLE to another name", a.cfg.SessionTable)
	case errors.Is(err, sessionstore.ErrNotReady):
		return errors.New("session store not initialised: database unreachable")
	}
	return errors.New("session store unavailable")
}

// startRates makes the rates client; with a database, a fleet shares one
// upstream budget through it, and a restart starts from the last snapshot
// instead of static rates.
func (a *app) startRates() error {
	cfg := a.cfg
	rcfg := cryptorates.Config{
		BaseURL:          cfg.CoinGeckoBaseURL,
		APIKey:           cfg.CoinGeckoAPIKey,
		Coins:            cfg.RatesCoins,
		Currencies:       withCatalogCurrency(cfg.RatesCurrencies),
		Fresh:            cfg.RatesFresh,
		Acceptable:       cfg.RatesAcceptable,
		Fallback:         cfg.RatesFallback,
		FailureThreshold: cfg.RatesFailureThreshold,
		Cooldown:         cfg.RatesCooldown,
		MinInterval:      cfg.RatesMinInterval,
		HTTPClient:       &http.Client{Transport: metrics.Upstream(a.registry, nil)},
		Logger:           a.log.With("component", "cryptorates"),
	}
	if a.db != nil {
		rcfg.Shared = a.db.rates
	}
	var err error
	if a.rates, err = cryptorates.New(rcfg); err != nil {
		return fmt.Errorf("rates: %w", err)
	}
	a.coord.Register("rates client", func(context.Context) error { return a.rates.Close() })
	a.registry.MustRegister(metrics.Rates(a.rates.Stats))
	return nil
}

// catalogCurrency is the currency of the catalog's prices: the storefront
// and /api/products convert them with the coin/usd rates.
const catalogCurrency = "usd"

// withCatalogCurrency is currencies with catalogCurrency added when missing:
// without it the storefront would show the static table's prices for ever,
// with a healthy upstream (RATES_CURRENCIES=eur,gbp).
func withCatalogCurrency(currencies []string) []string {
	if slices.Contains(currencies, catalogCurrency) {
		return currencies
	}
	return append(slices.Clip(currencies), catalogCurrency)
}

// openObjects makes the object handlers: the embedded static assets, and
// the public and private object directories when configured.
func (a *app) openObjects() error {
	staticFS, err := fs.Sub(assets, "assets/static")
	if err != nil {
		return err
	}
	a.static = a.cdn("static", cdncache.Config{Logger: a.log}, cdncache.FS(staticFS))
	if len(a.cfg.PublicObjectPaths) > 0 {
		srcs := make([]cdncache.Source, len(a.cfg.PublicObjectPaths))
		for i, dir := range a.cfg.PublicObjectPaths {
			srcs[i] = cdncache.Dir(dir)
		}
		a.public = a.cdn("public", cdncache.Config{Logger: a.log}, srcs...)
	}
	if a.cfg.PrivateObjectDir != "" {
		a.private = a.cdn("private", cdncache.Config{Private: true, Logger: a.log}, cdncache.Dir(a.cfg.PrivateObjectDir))
	}
	return nil
}

// cdn makes an object handler, closed at shutdown and exported to metrics.
func (a *app) cdn(name string, cfg cdncache.Config, srcs ...cdncache.Source) *cdncache.Handler {
	h := cdncache.New(cfg, srcs...)
	a.coord.Register("cdn "+name, func(context.Context) error { return h.Close() })
	a.registry.MustRegister(metrics.CDN(name, h.Stats))
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
// SIGTERM, then drains and closes everything in order. The coordinator's
// Serve gives the server its slow-client timeouts (header and body read
// deadlines, idle timeout, a 60 s send progress deadline).
func (a *app) serve() error {
	srv := &http.Server{
		Addr:     net.JoinHostPort("", strconv.Itoa(a.cfg.Port)),
		Handler:  a.routes(),
		ErrorLog: slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
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
