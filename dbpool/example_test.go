package dbpool_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/dedw3n/hardening/dbpool"
)

// New gives up after its budget with an error that names the server and
// never the password.
func ExampleNew_unreachable() {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close() // nothing listens there now

	dsn := "postgres://shop:hunter2@" + addr + "/shop?sslmode=disable"
	_, err := dbpool.New(context.Background(), dsn, dbpool.Config{
		ConnectBudget: 300 * time.Millisecond,
		Logger:        slog.New(slog.DiscardHandler),
	})
	fmt.Println("failed:", err != nil)
	fmt.Println("names the server:", strings.Contains(err.Error(), addr))
	fmt.Println("shows the password:", strings.Contains(err.Error(), "hunter2"))
	// Output:
	// failed: true
	// names the server: true
	// shows the password: false
}

// Start returns at once, even with the database down, and connects in the
// background; until it has, the readiness check says so.
func ExampleStart() {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close() // the database is not up yet

	db, err := dbpool.Start("postgres://shop@"+addr+"/shop?sslmode=disable", dbpool.Config{
		Pooler: dbpool.PoolerTransaction, // behind PgBouncer in transaction mode, say
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		fmt.Println(err) // only a bad configuration fails here
		return
	}
	defer db.Close(context.Background())
	h := db.Health(context.Background())
	fmt.Println(h.State, h.Ready())
	fmt.Println(db.Pool().Config().ConnConfig.DefaultQueryExecMode)
	// Output:
	// connecting false
	// exec
}

// A readiness endpoint accepts traffic while the pool is healthy, slow or
// idle (scale to zero), and refuses it while checks fail.
func ExampleReport_Ready() {
	for _, s := range []dbpool.State{dbpool.StateHealthy, dbpool.StateDegraded, dbpool.StateIdle, dbpool.StateUnhealthy} {
		fmt.Println(s, dbpool.Report{State: s}.Ready())
	}
	// Output:
	// healthy true
	// degraded true
	// idle true
	// unhealthy false
}

// Typical use: open at boot, query through pgx directly, expose health and
// close within the shutdown deadline. (Not run: it needs a database.)
func Example() {
	ctx := context.Background()
	db, err := dbpool.New(ctx, "postgres://app:secret@ep-name-123456-pooler.eu-central-1.aws.neon.tech/shop", dbpool.Config{
		ScaleToZero: true, // let Neon suspend after a quiet spell
	})
	if err != nil {
		slog.Error("database unavailable", "err", err) // names the host, never the password
		return
	}
	var n int
	_ = db.Pool().QueryRow(ctx, "SELECT count(*) FROM products").Scan(&n)

	report := db.Health(ctx) // for /readyz: report.Ready()
	stats := db.Stats()      // for metrics
	fmt.Println(report.State, stats.TotalConns)

	shutdownCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_ = db.Close(shutdownCtx)
}
