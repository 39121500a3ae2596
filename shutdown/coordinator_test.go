package shutdown

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHooksRunInReverseRegistrationOrder(t *testing.T) {
	c := New(Config{Logger: discard})
	var mu sync.Mutex
	var got []string
	for _, name := range []string{"pool", "store", "cache"} {
		c.Register(name, func(context.Context) error {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, name)
			return nil
		})
	}
	r, err := c.Shutdown(context.Background())
	require.NoError(t, err)
	assert.Equal(t, []string{"cache", "store", "pool"}, got)
	require.Len(t, r.Hooks, 3)
	for i, want := range []string{"cache", "store", "pool"} {
		assert.Equal(t, want, r.Hooks[i].Name)
		assert.NoError(t, r.Hooks[i].Err)
		assert.False(t, r.Hooks[i].TimedOut)
	}
	assert.Equal(t, "call", r.Trigger)
}

func TestZeroCoordinatorUsesDefaults(t *testing.T) {
	var c Coordinator
	c.cfg.Logger = discard // a zero Coordinator logs to slog.Default; keep test output clean
	ran := false
	c.Register("only", func(ctx context.Context) error {
		ran = true
		deadline, ok := ctx.Deadline()
		require.True(t, ok, "a hook's context must carry its share as a deadline")
		// The only hook gets the whole default budget.
		assert.Greater(t, time.Until(deadline), DefaultTimeout-time.Second)
		return nil
	})
	_, err := c.Shutdown(context.Background())
	require.NoError(t, err)
	assert.True(t, ran)
	assert.True(t, c.Draining())
	select {
	case <-c.Done():
	default:
		t.Fatal("Done not closed after Shutdown returned")
	}
}

// A hook that hangs, ignoring its context, is cut off at the end of its
// share; the hook after it still runs with its reserve, even if the clock
// says the hanging one took an hour.
func TestHangingHookTimesOutAndLaterHooksRun(t *testing.T) {
	logger, logs := newLogger()
	const budget = 600 * time.Millisecond
	const reserve = budget / 6 // 3 hooks
	clock := newClock()
	c := New(Config{Timeout: budget, Now: clock.Now, Logger: logger})
	release := make(chan struct{})
	defer close(release) // let the abandoned hook's goroutine end before goleak looks

	laterRan := false
	c.Register("database", func(context.Context) error { // registered first, runs last
		laterRan = true
		return nil
	})
	c.Register("stuck", func(context.Context) error {
		clock.Advance(time.Hour)
		<-release // ignores its context
		return nil
	})
	c.Register("first", func(context.Context) error { return nil })

	r, err := c.Shutdown(context.Background())
	require.Error(t, err)
	require.Len(t, r.Hooks, 3)

	assert.Equal(t, "first", r.Hooks[0].Name)
	assert.NoError(t, r.Hooks[0].Err)
	assert.Equal(t, budget-2*reserve, r.Hooks[0].Share)

	stuck := r.Hooks[1]
	assert.Equal(t, "stuck", stuck.Name)
	assert.True(t, stuck.TimedOut, "the hanging hook must be reported as timed out")
	assert.ErrorIs(t, stuck.Err, context.DeadlineExceeded)
	assert.Equal(t, budget-reserve, stuck.Share, "it may not take the reserve of the hook after it")

	assert.True(t, laterRan, "the hook after the stuck one must still run")
	assert.Equal(t, "database", r.Hooks[2].Name)
	assert.Equal(t, reserve, r.Hooks[2].Share, "the later hook keeps its reserve")
	assert.NoError(t, r.Hooks[2].Err)
	assert.False(t, r.Hooks[2].TimedOut)

	assert.ErrorContains(t, err, `hook "stuck" timed out`)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, 1, r.TimedOut())

	st := c.Stats()
	assert.Equal(t, uint64(1), st.HookTimeouts)
	assert.Equal(t, uint64(1), st.HookErrors)
	assert.Equal(t, uint64(1), st.Shutdowns)
	require.NotNil(t, st.LastReport)
	assert.Len(t, st.LastReport.Hooks, 3)

	out := logs.String()
	assert.Contains(t, out, "shutdown: hook timed out")
	assert.Contains(t, out, "hook=stuck")
	assert.Contains(t, out, "timed_out=true")
	assert.Contains(t, out, "shutdown: complete")
}

func TestHookThatHonoursItsContextIsReportedTimedOut(t *testing.T) {
	c := New(Config{Timeout: 50 * time.Millisecond, Logger: discard})
	c.Register("slow", func(ctx context.Context) error {
		<-ctx.Done()
		return ctx.Err()
	})
	r, err := c.Shutdown(context.Background())
	require.Error(t, err)
	assert.True(t, r.Hooks[0].TimedOut)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestHookErrorsAreJoinedWithNames(t *testing.T) {
	c := New(Config{Logger: discard})
	errPool := errors.New("pool: close failed")
	errStore := errors.New("store: flush failed")
	c.Register("pool", func(context.Context) error { return errPool })
	c.Register("ok", func(context.Context) error { return nil })
	c.Register("store", func(context.Context) error { return errStore })
	r, err := c.Shutdown(context.Background())
	require.Error(t, err)
	assert.ErrorIs(t, err, errPool)
	assert.ErrorIs(t, err, errStore)
	assert.ErrorContains(t, err, `hook "pool": pool: close failed`)
	assert.ErrorContains(t, err, `hook "store": store: flush failed`)
	assert.False(t, r.Hooks[0].TimedOut)
	assert.Equal(t, uint64(2), c.Stats().HookErrors)
	assert.Equal(t, uint64(0), c.Stats().HookTimeouts)
}

func TestPanickingHookIsReportedAndTheSequenceGoesOn(t *testing.T) {
	c := New(Config{Logger: discard})
	ran := false
	c.Register("after", func(context.Context) error { ran = true; return nil })
	c.Register("boom", func(context.Context) error { panic("kaboom") })
	c.Register("nil", nil)
	r, err := c.Shutdown(context.Background())
	require.Error(t, err)
	assert.True(t, ran)
	assert.ErrorContains(t, r.Hooks[0].Err, "nil hook")
	assert.ErrorContains(t, r.Hooks[1].Err, "panic: kaboom")
}

func TestShutdownRunsOnceAndLaterCallsShareTheReport(t *testing.T) {
	c := New(Config{Logger: discard})
	calls := 0
	c.Register("once", func(context.Context) error { calls++; return errors.New("x") })

	var wg sync.WaitGroup
	reports := make([]Report, 4)
	for i := range reports {
		wg.Go(func() { reports[i], _ = c.Shutdown(context.Background()) })
	}
	wg.Wait()
	assert.Equal(t, 1, calls)
	for _, r := range reports {
		require.Len(t, r.Hooks, 1)
		assert.EqualError(t, r.Hooks[0].Err, "x")
	}
	// A caller's copy is its own.
	reports[0].Hooks[0].Name = "changed"
	assert.Equal(t, "once", c.Stats().LastReport.Hooks[0].Name)
}

func TestSecondShutdownCallHonoursItsContext(t *testing.T) {
	c := New(Config{Logger: discard})
	entered := make(chan struct{})
	release := make(chan struct{})
	c.Register("slow", func(context.Context) error {
		close(entered)
		<-release
		return nil
	})
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = c.Shutdown(context.Background())
	}()
	<-entered
	assert.Equal(t, "slow", c.Stats().Step)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.Shutdown(ctx)
	assert.ErrorIs(t, err, context.Canceled)
	close(release)
	<-done
	assert.Empty(t, c.Stats().Step)
}

func TestRegisterAfterStartIsIgnoredWithAWarning(t *testing.T) {
	logger, logs := newLogger()
	c := New(Config{Logger: logger})
	_, err := c.Shutdown(context.Background())
	require.NoError(t, err)
	ran := false
	c.Register("late", func(context.Context) error { ran = true; return nil })
	r, _ := c.Shutdown(context.Background())
	assert.False(t, ran)
	assert.Empty(t, r.Hooks)
	assert.Contains(t, logs.String(), "hook registered after shutdown started")
}

func TestDrainDelayMarksDrainingFirst(t *testing.T) {
	c := New(Config{DrainDelay: 500 * time.Millisecond, Logger: discard})
	sawDraining := false
	c.Register("hook", func(context.Context) error {
		sawDraining = c.Draining()
		return nil
	})
	go func() { _, _ = c.Shutdown(context.Background()) }()
	require.Eventually(t, func() bool { return c.Stats().Step == stepDrain }, time.Second, time.Millisecond)
	assert.True(t, c.Draining())
	<-c.Done()
	assert.True(t, sawDraining)
	r := c.Stats().LastReport
	require.NotNil(t, r)
	assert.GreaterOrEqual(t, r.DrainDelay, 500*time.Millisecond)
}

func TestContextCutsTheBudget(t *testing.T) {
	c := New(Config{DrainDelay: time.Hour, Logger: discard})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	called := false
	c.Register("late", func(context.Context) error { called = true; return nil })
	r, err := c.Shutdown(ctx) // must not wait an hour
	require.Error(t, err)
	assert.Less(t, r.DrainDelay, time.Hour)
	require.Len(t, r.Hooks, 1)
	assert.False(t, called, "with no budget left the hook is not called")
	assert.True(t, r.Hooks[0].TimedOut, "no budget left: the hook is reported as timed out")
	assert.Equal(t, time.Duration(0), r.Hooks[0].Share)
	assert.ErrorIs(t, err, context.Canceled)
}

func TestContextCancelledMidSequence(t *testing.T) {
	c := New(Config{Logger: discard})
	ctx, cancel := context.WithCancel(context.Background())
	called := false
	c.Register("never", func(context.Context) error { called = true; return nil })
	c.Register("cancels", func(hctx context.Context) error {
		cancel()
		<-hctx.Done()
		return hctx.Err()
	})
	r, err := c.Shutdown(ctx)
	require.Error(t, err)
	require.Len(t, r.Hooks, 2)
	assert.True(t, r.Hooks[0].TimedOut)
	assert.ErrorIs(t, r.Hooks[0].Err, context.Canceled)
	assert.True(t, r.Hooks[1].TimedOut)
	assert.False(t, called)
}

func TestHookErrorsAreSanitizedInTheLog(t *testing.T) {
	logger, logs := newLogger()
	c := New(Config{Logger: logger})
	c.Register("pool", func(context.Context) error {
		return errors.New("close postgres://app:s3cr3tpw@db/market: password=hunter2hunter2 rejected")
	})
	_, err := c.Shutdown(context.Background())
	require.Error(t, err, "the caller still gets the hook's own error")
	out := logs.String()
	assert.Contains(t, out, "shutdown: hook failed")
	assert.NotContains(t, out, "s3cr3tpw")
	assert.NotContains(t, out, "hunter2hunter2")
}

// The first hook (the HTTP server, draining slow downloads) may use most of
// the budget, every later hook keeps its reserve, and the time a hook does
// not use flows to the hooks after it. The shares are computed on the
// injected clock, so they are exact; the hooks return at once, far within
// the real timers of their shares.
func TestFirstHookMayUseMostOfTheBudgetLaterHooksKeepTheirReserve(t *testing.T) {
	const budget = 10 * time.Second
	const reserve = budget / 10 // 5 hooks: half the budget in 5 equal reserves
	clock := newClock()
	c := New(Config{Timeout: budget, Now: clock.Now, Logger: discard})
	var ran []string
	for _, name := range []string{"pool", "store", "cache", "rates"} {
		c.Register(name, func(context.Context) error {
			ran = append(ran, name)
			return nil
		})
	}
	c.Register("server", func(ctx context.Context) error {
		clock.Advance(budget - 4*reserve) // it drains for its whole share (asserted below)
		return nil
	})
	r, err := c.Shutdown(context.Background())
	require.NoError(t, err)
	require.Len(t, r.Hooks, 5)
	want := []struct {
		name  string
		share time.Duration
	}{
		{"server", budget - 4*reserve}, // all but the reserves of the 4 hooks after it
		{"rates", reserve},             // what is left: exactly its reserve
		{"cache", 2 * reserve},         // rates used none of its share
		{"store", 3 * reserve},
		{"pool", 4 * reserve},
	}
	for i, w := range want {
		h := r.Hooks[i]
		assert.Equal(t, w.name, h.Name)
		assert.Equal(t, w.share, h.Share, "%s's share", h.Name)
		assert.False(t, h.TimedOut, h.Name)
	}
	assert.Equal(t, budget-4*reserve, r.Hooks[0].Duration, "durations are measured on the clock too")
	assert.Equal(t, budget-4*reserve, r.Duration)
	assert.Equal(t, []string{"rates", "cache", "store", "pool"}, ran)
}
