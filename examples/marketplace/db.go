package main

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dedw3n/hardening/cryptorates"
	"github.com/dedw3n/hardening/dbpool"
)

// errNoDatabase answers while the pool has not connected yet.
var errNoDatabase = errors.New("database: not connected yet")

// database is the application's pool. It connects in the background, so a
// database that is down at start does not stop the process from serving
// (readiness says 503 until it connects; see newApp).
type database struct {
	pool   atomic.Pointer[dbpool.Pool]
	cancel context.CancelFunc
	done   chan struct{}
}

// configure is passed to dbpool.Config.Configure (the metrics' acquire tracer).
func openDatabase(cfg config, log *slog.Logger, configure func(*pgxpool.Config)) *database {
	ctx, cancel := context.WithCancel(context.Background())
	d := &database{cancel: cancel, done: make(chan struct{})}
	pcfg := dbpool.Config{
		MaxConns:          cfg.DBMaxConns,
		MinConns:          cfg.DBMinConns,
		MaxConnIdleTime:   cfg.DBIdleTimeout,
		HealthCheckPeriod: cfg.DBHealthInterval,
		Logger:            log,
		Configure:         configure,
	}
	go func() {
		defer close(d.done)
		// dbpool.New retries with backoff within its budget; past it, keep
		// trying at a calm pace until the database appears or we shut down.
		for {
			p, err := dbpool.New(ctx, cfg.DatabaseURL, pcfg)
			if err == nil {
				d.pool.Store(p)
				log.Info("database pool connected")
				return
			}
			log.Warn("database pool not connected yet; retrying", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(2 * time.Second):
			}
		}
	}()
	return d
}

// check is the readiness check: the monitor's verdict plus a live ping, so
// an outage shows within the readiness cache's second.
func (d *database) check(ctx context.Context) error {
	p := d.pool.Load()
	if p == nil {
		return errNoDatabase
	}
	if h := p.Health(ctx); !h.Ready() {
		return errors.New("database: " + h.State.String())
	}
	// The readiness body is public: driver errors name the host and user.
	if err := p.Pool().Ping(ctx); err != nil {
		return errors.New("database: unreachable")
	}
	return nil
}

func (d *database) stats() dbpool.Stats {
	if p := d.pool.Load(); p != nil {
		return p.Stats()
	}
	return dbpool.Stats{}
}

// close stops the connector and closes the pool within the hook's budget.
func (d *database) close(ctx context.Context) error {
	d.cancel()
	<-d.done
	if p := d.pool.Load(); p != nil {
		return p.Close(ctx)
	}
	return nil
}

// ratesState shares the rates snapshot through the pool once it connects;
// until then the rates client works alone (its SharedErrors counts that).
func (d *database) ratesState() cryptorates.SharedState {
	return &lazyRatesState{db: d}
}

type lazyRatesState struct {
	db    *database
	once  sync.Once
	state *cryptorates.PostgresState
}

func (l *lazyRatesState) get() (*cryptorates.PostgresState, error) {
	p := l.db.pool.Load()
	if p == nil {
		return nil, errNoDatabase
	}
	l.once.Do(func() { l.state = cryptorates.NewPostgresState(p.Pool(), "marketplace") })
	return l.state, nil
}

func (l *lazyRatesState) Load(ctx context.Context) (cryptorates.Snapshot, error) {
	s, err := l.get()
	if err != nil {
		return cryptorates.Snapshot{}, err
	}
	return s.Load(ctx)
}

func (l *lazyRatesState) Exclusive(ctx context.Context, fn func(cryptorates.Snapshot) (cryptorates.Snapshot, bool)) (bool, error) {
	s, err := l.get()
	if err != nil {
		return false, err
	}
	return s.Exclusive(ctx, fn)
}
