package dbpool

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dedw3n/hardening/internal/pgtest"
)

// BenchmarkAcquireSelect1 compares acquire + SELECT 1 + release through
// dbpool (p.Pool() on every iteration) with a raw pgxpool of the same size
// on the same server, in the same run. dbpool adds nothing on this path:
// Pool() returns the *pgxpool.Pool itself and dbpool installs no acquire or
// release hook, so the ratio should be 1 within noise.
//
// Measured 2026-11-29 on the shared 2-core dev VM (other engineers' test
// runs going on), go test -run='^$' -bench=. -count=6 ./dbpool/, compared
// with benchstat (ratio = pgxpool sec/op ÷ dbpool sec/op; target ≥ 0.97):
//
//	                         pgxpool        dbpool         ratio
//	AcquireSelect1           60.56µs ± 46%  49.43µs ± 42%  1.23  (p=0.093, not significant)
//	AcquireSelect1Parallel   29.95µs ± 51%  27.93µs ± 60%  1.07  (p=0.818, not significant)
//	allocs/op, B/op          6, 370         6, 370         equal
//
// The machine's noise (±40-60% within a run) swamps any difference. Four
// other runs (interleaved processes, either order) gave point estimates
// from 0.86 to 1.33, most of them 0.86-0.95, none significant against
// dbpool (the one p<0.05 result, 1.33 parallel, was in its favour). Pooling
// the four runs made after the warm-up fix (n=30 per side): serial 0.98
// (50.81µs vs 51.70µs ± 13%, p=0.56), parallel 0.95 (26.38µs vs 27.70µs
// ± 13%, p=0.32). By construction the ratio is 1: both sub-benchmarks run
// the same pgxpool code (no tracer, PrepareConn or AfterRelease hook; the
// only config differences, lifetimes and connect timeout, change no branch
// on the acquire/release path). On a quiet machine, the same comparison in
// the bench module (bench/run.sh, parallel, MaxConns 4, 6 × 1 s) measured
// dbpool 12.73 µs vs pgxpool 12.78 µs per op: ratio 1.00, equal allocations.
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

// benchPools opens a dbpool and a raw pgxpool with the same size on one
// fresh database.
func benchPools(b *testing.B) (*Pool, *pgxpool.Pool) {
	b.Helper()
	dsn := pgtest.DB(b)
	ctx := context.Background()
	p, err := New(ctx, dsn, Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = p.Close(context.Background()) })
	raw, err := pgxpool.New(ctx, dsn+"&pool_max_conns=10&pool_min_conns=2")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(raw.Close)
	// Warm both up before timing: MinConns connections open in the
	// background, and their allocations must not land in the other
	// pool's measurement.
	for _, pool := range []*pgxpool.Pool{p.Pool(), raw} {
		for pool.Stat().IdleConns() < 2 {
			time.Sleep(10 * time.Millisecond)
		}
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
