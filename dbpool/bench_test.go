package dbpool

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dedw3n/hardening/internal/pgtest"
)

// BenchmarkAcquireSelect1 measures what dbpool adds, as a user meets it:
// acquire + SELECT 1 + release through dbpool.New with its zero Config
// (MaxConns 10, MinConns 2, health monitor running) against pgxpool.New
// with pgx's defaults (MaxConns max(4, NumCPU), no minimum, no monitor), on
// the same server in the same run. dbpool installs no acquire or release
// hook, so serially the two should match within noise; under parallel
// load the difference is what the settings are worth. Compare with
// benchstat: go test -run='^$' -bench=. -count=6 ./dbpool/.
func BenchmarkAcquireSelect1(b *testing.B) {
	p, raw := benchPools(b)
	b.Run("dbpool", func(b *testing.B) { acquireSelect1(b, func() *pgxpool.Pool { return p.Pool() }) })
	b.Run("pgxpool", func(b *testing.B) { acquireSelect1(b, func() *pgxpool.Pool { return raw }) })
}

// BenchmarkAcquireSelect1Parallel is the same under RunParallel
// (GOMAXPROCS goroutines sharing the pool).
func BenchmarkAcquireSelect1Parallel(b *testing.B) {
	p, raw := benchPools(b)
	b.Run("dbpool", func(b *testing.B) { acquireSelect1Parallel(b, func() *pgxpool.Pool { return p.Pool() }) })
	b.Run("pgxpool", func(b *testing.B) { acquireSelect1Parallel(b, func() *pgxpool.Pool { return raw }) })
}

// benchPools opens a dbpool and a raw pgxpool, each with its defaults, on
// one fresh database.
func benchPools(b *testing.B) (*Pool, *pgxpool.Pool) {
	b.Helper()
	dsn := pgtest.DB(b)
	ctx := context.Background()
	p, err := New(ctx, dsn, Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = p.Close(context.Background()) })
	raw, err := pgxpool.New(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(raw.Close)
	// Warm both up before timing: MinConns connections open in the
	// background, and their allocations must not land in the other
	// pool's measurement.
	for p.Pool().Stat().IdleConns() < 2 { // dbpool's MinConns open in the background
		time.Sleep(10 * time.Millisecond)
	}
	for _, pool := range []*pgxpool.Pool{p.Pool(), raw} {
		for range 10 {
			if err := selectOne(ctx, pool); err != nil {
				b.Fatal(err)
			}
		}
	}
	return p, raw
}

func acquireSelect1(b *testing.B, pool func() *pgxpool.Pool) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := selectOne(ctx, pool()); err != nil {
			b.Fatal(err)
		}
	}
}

func acquireSelect1Parallel(b *testing.B, pool func() *pgxpool.Pool) {
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := selectOne(ctx, pool()); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func selectOne(ctx context.Context, pool *pgxpool.Pool) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	var one int
	return conn.QueryRow(ctx, "SELECT 1").Scan(&one)
}
