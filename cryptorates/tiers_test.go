package cryptorates

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTierProgressionWithFailingUpstream(t *testing.T) {
	clk, up := newClock(), newUpstream(t)
	c, logs := newTestClient(t, Config{FailureThreshold: 1000}, clk, up.URL)

	q := rate(t, c, "bitcoin", "usd")
	require.Equal(t, TierFresh, q.Tier)
	require.Equal(t, 60000.0, q.Value)
	require.Equal(t, t0, q.FetchedAt)
	require.Equal(t, t0.Add(-30*time.Second), q.UpdatedAt, "the upstream's last_updated_at")
	require.Equal(t, BreakerClosed, q.Breaker)
	require.EqualValues(t, 1, up.calls.Load())

	up.set(status(500))
	steps := []struct {
		at    time.Duration
		want  Tier
		value float64
	}{
		{4 * time.Minute, TierFresh, 60000},
		{5 * time.Minute, TierFresh, 60000},
		{6 * time.Minute, TierAcceptable, 60000},
		{15 * time.Minute, TierAcceptable, 60000},
		{20 * time.Minute, TierFallback, 60000},
		{60 * time.Minute, TierFallback, 60000},
		{61 * time.Minute, TierStatic, 93500},
		{300 * time.Minute, TierStatic, 93500},
	}
	for _, s := range steps {
		clk.Set(s.at)
		for range 50 { // many requests per stage: one log line per change
			q = rate(t, c, "bitcoin", "usd")
			require.Equal(t, s.want, q.Tier, "at %v", s.at)
			require.Equal(t, s.value, q.Value, "at %v", s.at)
		}
		idle(t, c)
		if s.want == TierStatic {
			require.Equal(t, builtinAsOf, q.FetchedAt)
			require.Equal(t, clk.Now().Sub(builtinAsOf), q.Age)
		} else {
			require.Equal(t, s.at, q.Age)
		}
	}
	// Every stale stage made background refreshes, none more than paced.
	calls := up.calls.Load()
	assert.Greater(t, calls, int64(1))
	assert.LessOrEqual(t, calls, int64(1+len(steps)))

	st := c.Stats()
	assert.Equal(t, uint64(calls-1), st.Failures.Server)
	assert.Equal(t, uint64(1+2*50), st.Served.Fresh)
	assert.Equal(t, uint64(100), st.Served.Acceptable)
	assert.Equal(t, uint64(100), st.Served.Fallback)
	assert.Equal(t, uint64(100), st.Served.Static)
	assert.Equal(t, t0, st.LastFetched)

	assert.Equal(t, 1, logs.Count("tier=acceptable"), logs.String())
	assert.Equal(t, 1, logs.Count("tier=fallback"), logs.String())
	assert.Equal(t, 1, logs.Count("tier=static"), logs.String())

	// Recovery: the next refresh succeeds and the fresh tier is back, logged once.
	up.set(nil)
	clk.Add(time.Minute)
	q = rate(t, c, "bitcoin", "usd") // static, and starts a refresh
	idle(t, c)
	for range 10 {
		q = rate(t, c, "bitcoin", "usd")
	}
	require.Equal(t, TierFresh, q.Tier)
	assert.Equal(t, 1, logs.Count("serving fresh rates again"))
}

func TestColdCallerWaitsAtMostColdWait(t *testing.T) {
	clk, up := newClock(), newUpstream(t)
	up.set(hang)
	c, _ := newTestClient(t, Config{ColdWait: 100 * time.Millisecond, HTTPTimeout: time.Minute}, clk, up.URL)

	start := time.Now()
	q := rate(t, c, "ethereum", "eur")
	require.Less(t, time.Since(start), 5*time.Second, "bounded by ColdWait, not the hanging upstream")
	require.Equal(t, TierStatic, q.Tier)
	require.Equal(t, 3236.0, q.Value)

	// A context that ends first ends the wait too.
	c2, _ := newTestClient(t, Config{ColdWait: time.Minute, HTTPTimeout: time.Minute}, newClock(), up.URL)
	ctx, cancel := contextWithTimeout(t, 50*time.Millisecond)
	defer cancel()
	q, err := c2.Rate(ctx, "ethereum", "usd")
	require.NoError(t, err)
	require.Equal(t, TierStatic, q.Tier)
}

func TestUnknownPairs(t *testing.T) {
	clk, up := newClock(), newUpstream(t)
	c, _ := newTestClient(t, Config{}, clk, up.URL)

	_, err := c.Rate(t.Context(), "dogecoin", "usd")
	require.ErrorIs(t, err, ErrUnknownPair)
	require.Contains(t, err.Error(), "dogecoin")
	require.Zero(t, up.calls.Load(), "an unconfigured pair never reaches the upstream")

	_, err = c.Rate(t.Context(), "bitcoin", "jpy")
	require.ErrorIs(t, err, ErrUnknownPair)

	// Case and spaces do not matter.
	q := rate(t, c, " Bitcoin", "USD")
	require.Equal(t, TierFresh, q.Tier)
	require.Equal(t, "bitcoin", q.Coin)

	// A configured pair the upstream never supplies and the static table
	// lacks is unknown too, after the wait.
	c2, _ := newTestClient(t, Config{Coins: []string{"bitcoin", "newcoin"}, Currencies: []string{"usd"}}, newClock(), up.URL)
	_, err = c2.Rate(t.Context(), "newcoin", "usd")
	require.ErrorIs(t, err, ErrUnknownPair)
	q = rate(t, c2, "bitcoin", "usd")
	require.Equal(t, TierFresh, q.Tier, "the other coin of the response is kept")
}

func TestRatesBatch(t *testing.T) {
	clk, up := newClock(), newUpstream(t)
	c, _ := newTestClient(t, Config{}, clk, up.URL)

	all, err := c.Rates(t.Context())
	require.NoError(t, err)
	require.Len(t, all, 15)
	for _, q := range all {
		require.Equal(t, TierFresh, q.Tier, "%s/%s", q.Coin, q.Currency)
		require.InDelta(t, basePrices[q.Coin]*fx[q.Currency], q.Value, 1e-9)
	}
	require.EqualValues(t, 1, up.calls.Load(), "one call refreshes every pair")

	qs, err := c.Rates(t.Context(), Pair{"solana", "gbp"}, Pair{"nope", "usd"}, Pair{"polkadot", "usd"})
	require.ErrorIs(t, err, ErrUnknownPair)
	require.Contains(t, err.Error(), "nope")
	require.Len(t, qs, 2)
	assert.Equal(t, "solana", qs[0].Coin)
	assert.Equal(t, "polkadot", qs[1].Coin)
}

func TestStaticTableConfigurable(t *testing.T) {
	clk := newClock()
	asOf := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	c, _ := newTestClient(t, Config{
		Coins: []string{"bitcoin"}, Currencies: []string{"chf"},
		Static:   StaticTable{AsOf: asOf, Rates: map[Pair]float64{{"bitcoin", "chf"}: 80000}},
		ColdWait: 50 * time.Millisecond,
	}, clk, refusedURL(t))
	q := rate(t, c, "bitcoin", "chf")
	require.Equal(t, TierStatic, q.Tier)
	require.Equal(t, 80000.0, q.Value)
	require.Equal(t, asOf, q.FetchedAt)

	// An empty table turns the static tier off.
	c2, _ := newTestClient(t, Config{Static: StaticTable{Rates: map[Pair]float64{}}, ColdWait: 50 * time.Millisecond},
		newClock(), refusedURL(t))
	_, err := c2.Rate(t.Context(), "bitcoin", "usd")
	require.True(t, errors.Is(err, ErrUnknownPair))
}

func TestCloseStopsBackgroundRefresh(t *testing.T) {
	clk, up := newClock(), newUpstream(t)
	c, _ := newTestClient(t, Config{HTTPTimeout: time.Hour}, clk, up.URL)
	rate(t, c, "bitcoin", "usd")

	up.set(hang)
	clk.Add(10 * time.Minute)
	require.Equal(t, TierAcceptable, rate(t, c, "bitcoin", "usd").Tier) // starts a hanging refresh
	require.Eventually(t, func() bool { return up.calls.Load() == 2 }, 5*time.Second, time.Millisecond)

	var wg sync.WaitGroup
	for range 2 { // concurrent and repeated Close
		wg.Go(func() { require.NoError(t, c.Close()) })
	}
	wg.Wait()
	require.NoError(t, c.Close())
	require.Equal(t, Failures{}, c.Stats().Failures, "a call aborted by Close is no upstream failure")
	select {
	case <-c.done:
	default:
		t.Fatal("worker still running after Close")
	}

	// Still serving after Close, never calling.
	clk.Add(time.Hour)
	q := rate(t, c, "bitcoin", "usd")
	require.Equal(t, TierStatic, q.Tier)
	require.EqualValues(t, 2, up.calls.Load())
}
