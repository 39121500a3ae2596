package bench

import (
	"context"
	"testing"

	"github.com/dedw3n/hardening/dbpool"
	"github.com/dedw3n/hardening/internal/pgtest"
	"github.com/jackc/pgx/v5/pgxpool"
)

// BenchmarkPool acquires a connection, runs SELECT 1 and releases it, from
// parallel callers, through a dbpool.Pool and through a raw pgxpool.Pool
// with the same MaxConns (4) on the same database.
func BenchmarkPool(b *testing.B) {
	dsn := pgtest.DB(b)
	ctx := context.Background()
	for _, impl := range []string{"dbpool", "pgxpool"} {
		b.Run("impl="+impl, func(b *testing.B) {
			var pool *pgxpool.Pool
			switch impl {
			case "dbpool":
				p, err := dbpool.New(ctx, dsn, dbpool.Config{MaxConns: 4, MinConns: 4, Logger: discardLogger()})
				if err != nil {
					b.Fatal(err)
				}
				defer func() { _ = p.Close(ctx) }()
				pool = p.Pool()
			case "pgxpool":
				pc, err := pgxpool.ParseConfig(dsn)
				if err != nil {
					b.Fatal(err)
				}
				pc.MaxConns, pc.MinConns = 4, 4
				p, err := pgxpool.NewWithConfig(ctx, pc)
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
			b.SetParallelism(2)
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
