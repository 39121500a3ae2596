package bench

import (
	"context"
	"testing"
	"time"

	"github.com/dedw3n/hardening/internal/pgtest"
	"github.com/dedw3n/hardening/sessionstore"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Session fault bounds. QueryTimeout bounds each store operation and
// ConnectTimeout each new connection; a request makes a load and a save, so
// its latency is bounded by about 2×(connect+query) whatever the network does.
const (
	faultQueryTimeout   = time.Second
	faultConnectTimeout = time.Second
	sessionLatencyBound = 2*(faultQueryTimeout+faultConnectTimeout) + 2*time.Second
	toxicRecoveryBound  = 5 * time.Second
	restartRecoverBound = 10 * time.Second
	sessionWorkers      = 6
)

// TestFaultSessionsToxics runs the session middleware over a PostgresStore
// whose connections go through toxiproxy, and injects one toxic at a time
// under concurrent HTTP load: latency, bandwidth, reset_peer, limit_data
// (connections cut mid-query) and a blackhole (timeout toxic). Afterwards
// every acknowledged write must be in the table, no request may have been
// slower than sessionLatencyBound, and writes must succeed again within
// toxicRecoveryBound of each toxic's removal.
func TestFaultSessionsToxics(t *testing.T) {
	dsn := pgtest.DB(t)
	u, err := parseURL(dsn)
	require.NoError(t, err)
	proxy := newProxy(t, u.Host)
	app := newSessionApp(t, sessionstore.PostgresConfig{
		URL:            replaceHost(t, dsn, proxy.Listen),
		QueryTimeout:   faultQueryTimeout,
		ConnectTimeout: faultConnectTimeout,
		PruneInterval:  -1,
		Logger:         discardLogger(),
	})
	require.NoError(t, waitReady(app, 15*time.Second))

	// held adds tx, keeps it for hold, then removes it.
	held := func(tx toxic, hold time.Duration) func() error {
		return func() error {
			addToxic(t, proxy, tx)
			time.Sleep(hold)
			removeToxic(t, proxy, tx.Name)
			return nil
		}
	}
	faults := []sessionFault{
		{"latency 150±50 ms", held(toxic{Name: "latency", Type: "latency", Stream: "downstream", Attributes: map[string]any{"latency": 150, "jitter": 50}}, 1500*time.Millisecond)},
		{"bandwidth 4 KB/s", held(toxic{Name: "bandwidth", Type: "bandwidth", Stream: "downstream", Attributes: map[string]any{"rate": 4}}, 1500*time.Millisecond)},
		{"reset_peer mid-query", held(toxic{Name: "reset", Type: "reset_peer", Stream: "downstream", Attributes: map[string]any{"timeout": 20}}, 1500*time.Millisecond)},
		{"limit_data 600 B", held(toxic{Name: "limit", Type: "limit_data", Stream: "downstream", Attributes: map[string]any{"bytes": 600}}, 1500*time.Millisecond)},
		{"blackhole (timeout 0)", held(toxic{Name: "blackhole", Type: "timeout", Stream: "upstream", Attributes: map[string]any{"timeout": 0}}, 2500*time.Millisecond)},
	}
	runSessionFaults(t, "TestFaultSessionsToxics", app, dsn, faults, 300*time.Millisecond, toxicRecoveryBound,
		"sessionstore PostgresStore (QueryTimeout 1 s, ConnectTimeout 1 s) behind toxiproxy; 6 HTTP workers alternating writes and reads, 3 ms apart; "+
			"each toxic is held 1.5 s (blackhole 2.5 s), then removed; recovery is the time from removal to the first acknowledged write of a new session.")
}

// TestFaultSessionsRestart restarts, kills and stops PostgreSQL under
// concurrent HTTP load through the session middleware (no proxy).
func TestFaultSessionsRestart(t *testing.T) {
	srv := pgtest.NewServer(t, pgtest.Options{})
	// pgtest keeps commits synchronous (as production does), so a crash of
	// the server loses no acknowledged commit; fsync is off, which matters
	// only if the machine itself crashes.
	dsn := srv.CreateDB(t)
	app := newSessionApp(t, sessionstore.PostgresConfig{
		URL:            dsn,
		QueryTimeout:   faultQueryTimeout,
		ConnectTimeout: faultConnectTimeout,
		PruneInterval:  -1,
		Logger:         discardLogger(),
	})
	require.NoError(t, waitReady(app, 15*time.Second))

	// down stops the server with stop, keeps it down for d, starts it again.
	down := func(stop func() error, d time.Duration) func() error {
		return func() error {
			if err := stop(); err != nil {
				return err
			}
			time.Sleep(d)
			return srv.Start()
		}
	}
	faults := []sessionFault{
		{"restart (fast shutdown)", srv.Restart},
		{"kill (immediate, crash) then start", down(srv.Kill, 300*time.Millisecond)},
		{"stop, 1 s down, start", down(srv.Stop, time.Second)},
	}
	runSessionFaults(t, "TestFaultSessionsRestart", app, dsn, faults, 500*time.Millisecond, restartRecoverBound,
		"dedicated PostgreSQL cluster (pgtest.NewServer, synchronous commits as in production, fsync off), stopped and started for real under 6 HTTP workers; "+
			"recovery is measured from the moment the server accepts connections again (Start/Restart returned) to the first acknowledged write.")
}

// sessionFault is one fault caused under load: inject causes it and returns
// once it is over (the toxic removed, the server accepting connections).
type sessionFault struct {
	name   string
	inject func() error
}

// runSessionFaults drives sessionWorkers HTTP workers through app while it
// injects each fault in turn (settle apart), then checks every acknowledged
// write against the table at dsn, asserts the latency and recovery bounds,
// and records the figures for RELIABILITY.md.
func runSessionFaults(t *testing.T, test string, app *sessionApp, dsn string, faults []sessionFault, settle, recBound time.Duration, note string) {
	t.Helper()
	l := newLoad(app)
	ctx, cancel := context.WithCancel(context.Background())
	wait := l.run(ctx, sessionWorkers)
	defer func() { cancel(); wait() }()
	time.Sleep(500 * time.Millisecond) // baseline traffic

	type phaseFigures struct {
		from, to time.Time
		recovery time.Duration
	}
	got := make([]phaseFigures, len(faults))
	for i, f := range faults {
		l.phase.Store(f.name)
		got[i].from = time.Now()
		require.NoError(t, f.inject(), f.name)
		got[i].recovery = l.probe(t, recBound)
		got[i].to = time.Now()
		l.phase.Store("after " + f.name)
		t.Logf("%s: recovered in %v", f.name, got[i].recovery)
		time.Sleep(settle)
	}
	cancel()
	wait()

	acked, lost := l.verify(t, dsn)
	all := l.window(time.Time{}, time.Now().Add(time.Hour))
	assert.LessOrEqual(t, all.max, sessionLatencyBound, "slowest request")
	assert.Zero(t, l.transportErrors(), "requests without an HTTP answer")
	assert.Zero(t, l.switches, "200 answers that silently changed a worker's session")
	for i, f := range faults {
		w := l.window(got[i].from, got[i].to)
		assert.LessOrEqual(t, got[i].recovery, recBound, f.name)
		record(faultFigure{
			Test: test, Fault: f.name, Injected: 1,
			Requests: w.requests, Acked: acked[f.name], Lost: lost[f.name],
			MaxLatency: w.max, P99: w.p99, Bound: sessionLatencyBound,
			Recovery: got[i].recovery, RecBound: recBound,
		})
	}
	total, totalLost := 0, 0
	for p, n := range acked {
		total += n
		totalLost += lost[p]
	}
	record(faultFigure{
		Test: test, Fault: "whole run (incl. baseline and between faults)", Injected: len(faults),
		Requests: all.requests, Acked: total, Lost: totalLost, MaxLatency: all.max, P99: all.p99, Bound: sessionLatencyBound,
		Note: note,
	})
}

// waitReady waits until the store has created its table.
func waitReady(app *sessionApp, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	for {
		err := app.mgr.Ready(ctx)
		if err == nil || ctx.Err() != nil {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestFaultSessionsPgBouncerRestart restarts PgBouncer (transaction mode)
// in front of PostgreSQL under concurrent HTTP load through the session
// middleware: clients reconnect, and nothing acknowledged is lost.
func TestFaultSessionsPgBouncerRestart(t *testing.T) {
	srv := pgtest.NewServer(t, pgtest.Options{})
	bouncer := pgtest.NewBouncer(t, srv)
	dsn := srv.CreateDB(t)
	app := newSessionApp(t, sessionstore.PostgresConfig{
		URL:            bouncer.Via(dsn),
		Pooler:         sessionstore.PoolerTransaction,
		QueryTimeout:   faultQueryTimeout,
		ConnectTimeout: faultConnectTimeout,
		PruneInterval:  -1,
		Logger:         discardLogger(),
	})
	require.NoError(t, waitReady(app, 15*time.Second))
	down := func(d time.Duration) func() error {
		return func() error {
			if err := bouncer.Stop(); err != nil {
				return err
			}
			time.Sleep(d)
			return bouncer.Start()
		}
	}
	faults := []sessionFault{
		{"PgBouncer restart (immediate shutdown)", bouncer.Restart},
		{"PgBouncer stopped 1 s, then started", down(time.Second)},
	}
	runSessionFaults(t, "TestFaultSessionsPgBouncerRestart", app, dsn, faults, 500*time.Millisecond, restartRecoverBound,
		"sessionstore PostgresStore (Pooler transaction) through PgBouncer 1.18 in transaction mode (pgtest.NewBouncer), restarted with SIGTERM under 6 HTTP workers; "+
			"acknowledged writes are checked against the table directly; recovery is measured from PgBouncer listening again to the first acknowledged write.")
}
