package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dedw3n/hardening/cryptorates"
	"github.com/dedw3n/hardening/dbpool"
)

// database is the application's pool. dbpool.Start connects in the
// background, so a database that is down at start does not stop the
// process from serving (readiness says 503 until it connects).
type database struct {
	pool  *dbpool.Pool
	rates *cryptorates.PostgresState
}

// configure is passed to dbpool.Config.Configure (the metrics' acquire tracer).
func openDatabase(cfg config, log *slog.Logger, configure func(*pgxpool.Config)) (*database, error) {
	p, err := dbpool.Start(cfg.DatabaseURL, dbpool.Config{
		MaxConns:          cfg.DBMaxConns,
		MinConns:          cmp.Or(cfg.DBMinConns, -1), // DB_MIN_CONNS=0 is none; dbpool reads 0 as its default
		MaxConnIdleTime:   cfg.DBIdleTimeout,
		HealthCheckPeriod: cfg.DBHealthInterval,
		Pooler:            cfg.DBPooler,
		Logger:            log,
		Configure:         configure,
	})
	if err != nil {
		return nil, err
	}
	// A fleet shares one upstream budget through the database, and a
	// restart starts from the last snapshot instead of static rates.
	rates := cryptorates.NewPostgresState(p.Pool(), cryptorates.PostgresStateConfig{Name: "marketplace", Table: cfg.RatesTable})
	return &database{pool: p, rates: rates}, nil
}

// check is the readiness check: the monitor's verdict plus a live ping, so
// an outage shows within the readiness cache's second.
func (d *database) check(ctx context.Context) error {
	if h := d.pool.Report(); !h.Ready() {
		return errors.New("database: " + h.State.String())
	}
	// The readiness body is public: driver errors name the host and user.
	if err := d.pool.Pool().Ping(ctx); err != nil {
		return errors.New("database: unreachable")
	}
	return nil
}

// checkRates is the readiness check of the rates table: a table of that
// name with other columns is said plainly; other errors are the database
// check's business.
func (d *database) checkRates(ctx context.Context) error {
	if _, err := d.rates.Load(ctx); errors.Is(err, cryptorates.ErrTableShape) {
		return fmt.Errorf("rates table %q exists with other columns (another program's?): set RATES_TABLE to another name", d.rates.Table())
	}
	return nil
}
