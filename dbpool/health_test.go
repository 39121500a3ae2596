package dbpool

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dedw3n/hardening/internal/pgtest"
)

func TestHealthFailsWhenServerStopsAndRecovers(t *testing.T) {
	s := pgtest.NewServer(t, pgtest.Options{})
	const pw = "h34lth-pw-x"
	dsn := "postgres://postgres:" + pw + "@" + s.Addr() + "/postgres?sslmode=disable"
	log, logs := testLogger()
	cfg := fastConfig(log)
	cfg.HealthCheckPeriod = 200 * time.Millisecond
	p := mustNew(t, dsn, cfg)
	ctx := context.Background()

	waitFor(t, 5*time.Second, "a periodic check", func() bool { return p.Report().Checks >= 2 })
	require.Equal(t, StateHealthy, p.Report().State)

	require.NoError(t, s.Stop())
	stoppedAt := time.Now()
	// The first check that starts after the stop must see it.
	var r Report
	// The report changes before the line is logged (outside the lock): wait for both.
	waitFor(t, 10*time.Second, "a check started after the stop", func() bool {
		r = p.Report()
		return r.CheckedAt.After(stoppedAt) && len(logs.Lines(`"msg":"database health check failed"`)) > 0
	})
	assert.Equal(t, StateUnhealthy, r.State, "report: %+v", r)
	assert.False(t, r.Ready())
	assert.GreaterOrEqual(t, r.ConsecutiveFailures, 1)
	assert.GreaterOrEqual(t, r.Failures, int64(1))
	assert.NotEmpty(t, r.LastError)
	assert.Less(t, r.LastSuccess, stoppedAt)

	failed := logs.Lines(`"level":"ERROR"`, `"msg":"database health check failed"`)
	require.NotEmpty(t, failed, "logs:\n%s", logs)
	for _, field := range []string{`"component":"dbpool"`, `"latency_ms":`, `"total":`, `"idle":`, `"acquired":`,
		`"constructing":`, `"empty_acquire_waits":`, `"consecutive_failures":`, `"err":`} {
		assert.Contains(t, failed[0], field)
	}

	// Same pool, no help: it recovers once the server is back.
	require.NoError(t, s.Start())
	// The report changes before the line is logged (outside the lock): wait for both.
	waitFor(t, 15*time.Second, "recovery", func() bool {
		return p.Report().State == StateHealthy && len(logs.Lines(`"msg":"database health recovered"`)) > 0
	})
	r = p.Report()
	assert.Equal(t, 0, r.ConsecutiveFailures)
	assert.NotEmpty(t, r.LastError, "the last error is kept after recovery")
	var one int
	require.NoError(t, p.Pool().QueryRow(ctx, "SELECT 1").Scan(&one))
	assert.NotContains(t, logs.String(), pw)
}

func TestSlowChecksAreLogged(t *testing.T) { forTargets(t, testSlowChecksAreLogged) }

func testSlowChecksAreLogged(t *testing.T, target pgtest.Target) {
	dsn := target.DB(t)
	tests := []struct {
		name       string
		warn, err  time.Duration
		level, msg string
	}{
		{"above WarnLatency", time.Nanosecond, -1, "WARN", "database health check slow"},
		{"above ErrorLatency", time.Nanosecond, time.Nanosecond, "ERROR", "database health check very slow"},
		{"above ErrorLatency, warning off", -1, time.Nanosecond, "ERROR", "database health check very slow"},
		{"above ErrorLatency, below WarnLatency", time.Hour, time.Nanosecond, "ERROR", "database health check very slow"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log, logs := testLogger()
			cfg := targetConfig(target, log)
			cfg.WarnLatency, cfg.ErrorLatency = tt.warn, tt.err
			p := mustNew(t, dsn, cfg)
			waitFor(t, 5*time.Second, "a slow check", func() bool {
				return len(logs.Lines(`"level":"`+tt.level+`"`, `"msg":"`+tt.msg+`"`)) > 0
			})
			r := p.Report()
			assert.Equal(t, StateDegraded, r.State)
			assert.True(t, r.Ready(), "slow is still ready")
			assert.Positive(t, r.Latency)
		})
	}
}

func TestWarnsWhenAcquiresKeepWaiting(t *testing.T) { forTargets(t, testWarnsWhenAcquiresKeepWaiting) }

// The wait window is read from Config.Now: the warning comes on the first
// check with too many waits after the clock has moved a whole window, not
// after some real time that a slow machine may stretch.
func testWarnsWhenAcquiresKeepWaiting(t *testing.T, target pgtest.Target) {
	log, logs := testLogger()
	clk := newTestClock()
	cfg := targetConfig(target, log)
	cfg.Now = clk.Now
	cfg.MaxConns = 1
	cfg.WaitThreshold = 2
	cfg.WaitWindow = time.Hour
	p := mustNew(t, target.DB(t), cfg)

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				_, _ = p.Pool().Exec(ctx, "SELECT pg_sleep(0.002)")
			}
		}()
	}
	clk.tick(t, p, time.Minute) // a check during contention, within the window
	assert.Empty(t, logs.Lines(`"msg":"acquires keep waiting`), "warned before a whole window")
	waitFor(t, 10*time.Second, "the waiting warning", func() bool {
		// Each check now spans a whole window of the clock, so the first
		// one with too many waits warns, whatever the contention before.
		clk.Add(time.Hour)
		return len(logs.Lines(`"level":"WARN"`, `"msg":"acquires keep waiting`)) > 0 &&
			p.Report().AcquiresWaiting
	})
	cancel()
	wg.Wait()
	w := logs.Lines(`"msg":"acquires keep waiting`)[0]
	assert.Contains(t, w, `"waits_in_period":`)
	assert.Contains(t, w, `"max_conns":1`)

	waitFor(t, 10*time.Second, "the waiting to stop", func() bool { return !p.Report().AcquiresWaiting })
}

func TestScaleToZeroReportsIdle(t *testing.T) { forTargets(t, testScaleToZeroReportsIdle) }

// The quiet period is read from Config.Now: an hour of it passes without
// waiting an hour, the report's times are the clock's, and "no probe while
// idle" is counted over checks the test waits for one by one.
func testScaleToZeroReportsIdle(t *testing.T, target pgtest.Target) {
	log, logs := testLogger()
	clk := newTestClock()
	cfg := targetConfig(target, log)
	cfg.Now = clk.Now
	cfg.ScaleToZero = true
	cfg.QuietPeriod = time.Hour
	cfg.MaxConnIdleTime = 200 * time.Millisecond
	p := mustNew(t, target.DB(t), cfg)
	assert.Equal(t, int32(0), p.Pool().Config().MinConns)

	waitFor(t, 10*time.Second, "periodic checks", func() bool { return p.Report().Checks >= 3 })
	r := p.Report()
	assert.Equal(t, StateHealthy, r.State, "the clock has not moved: not quiet yet")
	assert.Equal(t, clk.Now(), r.LastSuccess)

	clk.Add(time.Hour)
	waitFor(t, 10*time.Second, "idle", func() bool {
		return p.Report().State == StateIdle && len(logs.Lines(`"level":"INFO"`, `idle/suspended`)) > 0
	})
	r = p.Report()
	assert.True(t, r.Ready(), "idle is ready, not unhealthy")
	assert.Equal(t, clk.Now(), r.IdleSince)
	checks := r.Checks

	// No probes while idle, so the pool drains to zero connections.
	waitFor(t, 10*time.Second, "the pool to drain", func() bool { return p.Stats().TotalConns == 0 })
	for range 3 {
		clk.tick(t, p, time.Minute)
	}
	r = p.Report()
	assert.Equal(t, StateIdle, r.State)
	assert.Equal(t, checks, r.Checks, "no synthetic probe while idle")
	assert.Empty(t, logs.Lines(`"level":"ERROR"`))

	// Application traffic wakes the monitor up.
	_, err := p.Pool().Exec(context.Background(), "SELECT 1")
	require.NoError(t, err)
	// The report changes before the line is logged (outside the lock): wait for both.
	waitFor(t, 10*time.Second, "probes to resume", func() bool {
		r := p.Report()
		return r.State == StateHealthy && r.Checks > checks &&
			len(logs.Lines(`"msg":"application traffic resumed: health checks resumed"`)) > 0
	})
}

// TestScaleToZeroOutageIsNotReady: with ScaleToZero, failing application
// queries are traffic. An outage while the pool is idle wakes the monitor
// (the report was "idle", ready, for as long as the database was down, since
// a failed acquire moves no pgxpool counter), and an unhealthy pool whose
// queries keep failing never turns idle.
func TestScaleToZeroOutageIsNotReady(t *testing.T) {
	s := pgtest.NewServer(t, pgtest.Options{})
	log, _ := testLogger()
	clk := newTestClock()
	cfg := fastConfig(log)
	cfg.Now, cfg.ScaleToZero, cfg.QuietPeriod = clk.Now, true, time.Minute
	cfg.ConnectTimeout = time.Second
	p := mustNew(t, s.URL(), cfg)
	waitFor(t, 10*time.Second, "checks", func() bool { return p.Report().Checks >= 2 })
	clk.tick(t, p, time.Minute)
	require.Equal(t, StateIdle, p.Report().State)

	require.NoError(t, s.Stop())
	failing := func() {
		_, err := p.Pool().Exec(context.Background(), "SELECT 1")
		require.Error(t, err)
	}
	failing()
	clk.tick(t, p, 30*time.Second)
	r := p.Report()
	assert.Equal(t, StateUnhealthy, r.State, "%+v", r)
	assert.False(t, r.Ready())

	for range 3 { // past the quiet period, the application still trying
		failing()
		clk.tick(t, p, 30*time.Second)
	}
	assert.Equal(t, StateUnhealthy, p.Report().State)
	require.NoError(t, s.Start())
}

func TestStatsSnapshot(t *testing.T) { forTargets(t, testStatsSnapshot) }

func testStatsSnapshot(t *testing.T, target pgtest.Target) {
	cfg := targetConfig(target, nil)
	cfg.HealthCheckPeriod = time.Hour // no probe holds a connection between the snapshots
	p := mustNew(t, target.DB(t), cfg)
	ctx := context.Background()
	before := p.Stats()
	conn, err := p.Pool().Acquire(ctx)
	require.NoError(t, err)
	during := p.Stats()
	conn.Release()

	assert.Equal(t, int32(10), during.MaxConns)
	assert.Equal(t, int32(1), during.AcquiredConns-before.AcquiredConns)
	assert.Greater(t, during.AcquireCount, before.AcquireCount)
	assert.GreaterOrEqual(t, during.NewConnsCount, int64(1))
	assert.Equal(t, StateHealthy, during.Health.State)
	assert.GreaterOrEqual(t, during.Health.Checks, int64(1))
}

func TestReportJSON(t *testing.T) {
	b, err := json.Marshal(Report{State: StateIdle, Checks: 3})
	require.NoError(t, err)
	assert.Contains(t, string(b), `"state":"idle"`)
	assert.Contains(t, string(b), `"checks":3`)
	assert.NotContains(t, string(b), "idle_since", "zero IdleSince is omitted")
	for s, want := range map[State]string{StateUnknown: "unknown", StateHealthy: "healthy", StateDegraded: "degraded",
		StateUnhealthy: "unhealthy", StateIdle: "idle", StateConnecting: "connecting", State(42): "unknown"} {
		assert.Equal(t, want, s.String())
	}
	assert.False(t, Report{}.Ready())
}

func TestExhaustedPoolFailsTheCheck(t *testing.T) { forTargets(t, testExhaustedPoolFailsTheCheck) }

func testExhaustedPoolFailsTheCheck(t *testing.T, target pgtest.Target) {
	log, logs := testLogger()
	cfg := targetConfig(target, log)
	cfg.MaxConns = 1
	cfg.HealthCheckTimeout = 100 * time.Millisecond
	p := mustNew(t, target.DB(t), cfg)
	ctx := context.Background()
	conn, err := p.Pool().Acquire(ctx)
	require.NoError(t, err)

	waitFor(t, 10*time.Second, "a failed check", func() bool {
		return p.Report().State == StateUnhealthy && len(logs.Lines(`pool exhausted`)) > 0
	})
	assert.Contains(t, p.Report().LastError, "pool exhausted: all 1 connections acquired")
	assert.NotEmpty(t, logs.Lines(`"level":"ERROR"`, `pool exhausted`, `"acquired":1`))

	conn.Release()
	waitFor(t, 10*time.Second, "recovery", func() bool { return p.Report().State == StateHealthy })
}

// testClock is a Config.Now that moves only when told.
type testClock struct {
	mu sync.Mutex // protects t
	t  time.Time
}

func newTestClock() *testClock { return &testClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *testClock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// tick moves the clock by d and waits for the monitor's report at the new
// time: one check has run since.
func (c *testClock) tick(t *testing.T, p *Pool, d time.Duration) {
	t.Helper()
	c.Add(d)
	now := c.Now()
	waitFor(t, 10*time.Second, "a check at "+now.String(), func() bool { return p.Report().CheckedAt.Equal(now) })
}
