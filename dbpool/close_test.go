package dbpool

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dedw3n/hardening/internal/pgtest"
)

func TestCloseWithHeldConnectionReturnsAtDeadline(t *testing.T) {
	forTargets(t, testCloseWithHeldConnectionReturnsAtDeadline)
}

func testCloseWithHeldConnectionReturnsAtDeadline(t *testing.T, target pgtest.Target) {
	log, logs := testLogger()
	p, err := New(context.Background(), target.DB(t), targetConfig(target, log))
	require.NoError(t, err)
	conn, err := p.Pool().Acquire(context.Background())
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err = p.Close(ctx)
	require.Error(t, err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "dbpool: close: 1 connection(s) still acquired")
	assert.NotNil(t, ctx.Err(), "Close returned at the deadline, not before")
	assert.NotEmpty(t, logs.Lines(`"level":"ERROR"`, `"msg":"close timed out`, `"acquired":1`))

	// Releasing lets the close finish; Close again waits for it, so that
	// nothing is left running for goleak.
	conn.Release()
	require.NoError(t, p.Close(context.Background()))
	select {
	case <-p.closed:
	default:
		t.Fatal("pgxpool's Close has not returned")
	}
}

func TestCloseIsIdempotentAndStopsTheMonitor(t *testing.T) {
	forTargets(t, testCloseIsIdempotentAndStopsTheMonitor)
}

func testCloseIsIdempotentAndStopsTheMonitor(t *testing.T, target pgtest.Target) {
	p, err := New(context.Background(), target.DB(t), targetConfig(target, nil))
	require.NoError(t, err)
	require.NoError(t, p.Close(context.Background()))
	require.NoError(t, p.Close(context.Background()))
	checks := p.Report().Checks
	select {
	case <-p.monitorDone:
	default:
		t.Fatal("the monitor goroutine still runs after Close")
	}
	assert.Equal(t, checks, p.Report().Checks)
	_, err = p.Pool().Exec(context.Background(), "SELECT 1")
	assert.Error(t, err, "a closed pool refuses queries")
}

// TestCloseSaysWhatIsBeingOpened: Close of a pool from Start whose
// connection attempts hang (a compute stuck while waking) says at its
// deadline that connections are being opened, not only "0 acquired":
// pgxpool's Close waits for attempts in flight.
func TestCloseSaysWhatIsBeingOpened(t *testing.T) {
	addr := holdingServer(t, time.Time{})
	log, logs := testLogger()
	cfg := fastConfig(log)
	cfg.ConnectTimeout, cfg.MinConns = 2*time.Second, 2
	p, err := Start("postgres://app@"+addr+"/shop?sslmode=disable", cfg)
	require.NoError(t, err)
	// Start's own attempt ends with Close; pgxpool's top-ups to MinConns
	// (at least one of two in flight) run to their timeout.
	waitFor(t, 5*time.Second, "top-ups in flight", func() bool { return p.Stats().ConstructingConns >= 2 })

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err = p.Close(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Regexp(t, `dbpool: close: 0 connection\(s\) still acquired, [1-9]\d* being opened`, err.Error())
	assert.NotEmpty(t, logs.Lines(`"msg":"close timed out`, `"constructing":`))
	require.NoError(t, p.Close(context.Background()), "the attempts end within ConnectTimeout")
}
