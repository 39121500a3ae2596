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
	checks := p.Health(context.Background()).Checks
	select {
	case <-p.monitorDone:
	default:
		t.Fatal("the monitor goroutine still runs after Close")
	}
	assert.Equal(t, checks, p.Health(context.Background()).Checks)
	_, err = p.Pool().Exec(context.Background(), "SELECT 1")
	assert.Error(t, err, "a closed pool refuses queries")
}
