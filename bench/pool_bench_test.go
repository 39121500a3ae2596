package bench

import (
	"context"
	"testing"

	"github.com/dedw3n/hardening/dbpool"
	"github.com/dedw3n/hardening/internal/pgtest"
	"github.com/jackc/pgx/v5/pgxpool"
)

// BenchmarkPool measures what dbpool adds, as a user meets it: dbpool.New
// with its zero Config (MaxConns 10, MinConns 2, the health monitor running)
// against pgxpool.New with pgx's defaults (MaxConns max(4, NumCPU), no
// minimum, no monitor), on the same database under the same load: acquire,
// SELECT 1, release from 4×GOMAXPROCS parallel callers. The two differ in
// their settings (pool size above all), not on the acquire path, where
// dbpool installs no hook; the ratio shows what those settings are worth
// under contention, not an overhead.
func BenchmarkPool(b *testing.B) {
	dsn := pgtest.DB(b)
	ctx := context.Background()
	for _, impl := range []string{"dbpool", "pgxpool"} {
		b.Run("impl="+impl, func(b *testing.B) {
			var pool *pgxpool.Pool
			switch impl {
			case "dbpool":
				p, err := dbpool.New(ctx, dsn, dbpool.Config{Logger: discardLogger()})
				if err != nil {
					b.Fatal(err)
				}
				defer func() { _ = p.Close(ctx) }()
				pool = p.Pool()
			case "pgxpool":
				p, err := pgxpool.New(ctx, dsn)
				if err != nil {
					b.Fatal(err)
				}
				defer p.Close()
				pool = p
			}
			for range 8 { // warm: connections open, statements prepared
				if _, err := pool.Exec(ctx, "SELECT 1"); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.SetParallelism(4)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				var one int
				for pb.Next() {
					c, err := pool.Acquire(ctx)
					if err != nil {
						b.Error(err)
						return
					}
					err = c.QueryRow(ctx, "SELECT 1").Scan(&one)
					c.Release()
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
