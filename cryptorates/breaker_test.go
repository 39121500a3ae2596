package cryptorates

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBreakerOpensHalfOpensAndRecovers(t *testing.T) {
	clk, up := newClock(), newUpstream(t)
	up.set(status(503))
	// The cooldown is gobreaker's own timeout, on the real monotonic clock:
	// short, and every step below synchronises on the breaker's state.
	const cooldown = time.Second
	c, logs := newTestClient(t, Config{ColdWait: time.Second, Cooldown: cooldown}, clk, up.URL)

	// Five consecutive failures, each after the minimum interval.
	for i := 1; i <= 5; i++ {
		q := rate(t, c, "bitcoin", "usd")
		require.Equal(t, TierStatic, q.Tier)
		require.EqualValues(t, i, up.calls.Load())
		require.Contains(t, logs.String(), "failure="+strconv.Itoa(i)+"/5")
		if i < 5 {
			require.Equal(t, BreakerClosed, c.Stats().Breaker)
		}
		clk.Add(3 * time.Second)
	}
	require.Equal(t, uint64(1), c.Stats().BreakerTransitions.Open)
	require.NotEqual(t, BreakerClosed, rate(t, c, "bitcoin", "usd").Breaker)
	require.Contains(t, logs.String(), "circuit breaker open")
	require.Contains(t, logs.String(), "cooldown=1s until=")

	// No upstream call while open, however many callers and however much
	// pacing time passes.
	for range 20 {
		clk.Add(7 * time.Second)
		_, err := c.Rates(t.Context())
		require.NoError(t, err)
		idle(t, c)
		if c.Stats().BreakerTransitions.HalfOpen > 0 {
			break // the cooldown ended (a slow machine): the probe below is then the next one
		}
		require.EqualValues(t, 5, up.calls.Load(), "no call while open")
	}

	// After the cooldown: half-open; a failing probe reopens it.
	halfOpen := func() bool { return c.Stats().Breaker == BreakerHalfOpen }
	require.Eventually(t, halfOpen, 10*cooldown, 5*time.Millisecond)
	clk.Add(3 * time.Second)
	before := up.calls.Load()
	concurrently(50, func() { rate(t, c, "bitcoin", "usd") })
	idle(t, c)
	require.Equal(t, before+1, up.calls.Load(), "exactly one half-open probe")
	require.NotEqual(t, BreakerClosed, c.Stats().Breaker)
	opened := c.Stats().BreakerTransitions.Open
	require.GreaterOrEqual(t, opened, uint64(2))

	// Next cooldown over; this time the probe succeeds and closes it.
	require.Eventually(t, halfOpen, 10*cooldown, 5*time.Millisecond)
	clk.Add(3 * time.Second)
	up.set(nil)
	before = up.calls.Load()
	var mu sync.Mutex
	tiers := map[Tier]int{}
	concurrently(50, func() {
		q := rate(t, c, "bitcoin", "usd")
		mu.Lock()
		tiers[q.Tier]++
		mu.Unlock()
	})
	idle(t, c)
	require.Equal(t, before+1, up.calls.Load(), "exactly one half-open probe")
	require.Equal(t, 50, tiers[TierFresh], "waiting callers got the probe's result: %v", tiers)
	require.Equal(t, BreakerClosed, c.Stats().Breaker)

	st := c.Stats()
	assert.Equal(t, Transitions{Open: opened, HalfOpen: opened, Closed: 1}, st.BreakerTransitions)
	assert.Equal(t, uint64(before), st.Failures.Server)
	assert.Equal(t, clk.Now(), st.LastSuccess)
	assert.Equal(t, int(opened), logs.Count("circuit breaker half-open"))
	assert.Equal(t, int(opened)-1, logs.Count("half-open probe failed"))
	assert.Equal(t, 1, logs.Count("circuit breaker closed"))
}

func TestRetryAfter(t *testing.T) {
	cases := []struct {
		name   string
		header func(now time.Time) string
	}{
		{"seconds", func(time.Time) string { return "120" }},
		{"http-date", func(now time.Time) string { return now.Add(120 * time.Second).Format(http.TimeFormat) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clk, up := newClock(), newUpstream(t)
			up.set(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", tc.header(clk.Now()))
				http.Error(w, "slow down", http.StatusTooManyRequests)
			})
			c, logs := newTestClient(t, Config{ColdWait: time.Second}, clk, up.URL)

			require.Equal(t, TierStatic, rate(t, c, "bitcoin", "usd").Tier)
			require.EqualValues(t, 1, up.calls.Load())
			require.Contains(t, logs.String(), "retry_after=")
			up.set(nil)
			for _, at := range []time.Duration{3 * time.Second, 30 * time.Second, 119 * time.Second} {
				clk.Set(at)
				rate(t, c, "bitcoin", "usd")
				idle(t, c)
				require.EqualValues(t, 1, up.calls.Load(), "no call %v in, before Retry-After", at)
			}
			clk.Set(120 * time.Second)
			require.Equal(t, TierFresh, rate(t, c, "bitcoin", "usd").Tier)
			require.EqualValues(t, 2, up.calls.Load())
			require.Equal(t, uint64(1), c.Stats().Failures.RateLimited)
		})
	}
}

func TestRetryAfterParsing(t *testing.T) {
	now := t0
	cases := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"0", now, true},
		{" 30 ", now.Add(30 * time.Second), true},
		{now.Add(time.Hour).Format(http.TimeFormat), now.Add(time.Hour), true},
		{"Sunday, 01-Feb-26 12:00:00 GMT", time.Date(2026, 2, 1, 12, 0, 0, 0, time.UTC), true}, // RFC 850
		{"", time.Time{}, false},
		{"-5", time.Time{}, false},
		{"soon", time.Time{}, false},
		{"1.5", time.Time{}, false},
		{"99999999999999999999x", time.Time{}, false},
		{"+5", time.Time{}, false},
	}
	for _, tc := range cases {
		got, ok := parseRetryAfter(tc.in, now)
		require.Equal(t, tc.ok, ok, "%q", tc.in)
		require.True(t, tc.want.Equal(got), "%q: got %v, want %v", tc.in, got, tc.want)
	}
	// A huge delay does not overflow: more digits than a uint64 holds is
	// the longest delay, not an absent one.
	for _, huge := range []string{"18446744073709551615", "99999999999999999999", strings.Repeat("9", 400)} {
		got, ok := parseRetryAfter(huge, now)
		require.True(t, ok, "%.30s", huge)
		require.True(t, got.After(now.Add(100*365*24*time.Hour)), "%.30s: got %v", huge, got)
	}
}

// A Retry-After too long for a uint64 was taken for no Retry-After: the
// client called again after MinInterval instead of waiting MaxRetryAfter.
func TestHugeRetryAfterIsCappedNotIgnored(t *testing.T) {
	for _, huge := range []string{"18446744073709551615", "99999999999999999999"} {
		t.Run(huge, func(t *testing.T) {
			clk, up := newClock(), newUpstream(t)
			up.set(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", huge)
				w.WriteHeader(http.StatusTooManyRequests)
			})
			c, _ := newTestClient(t, Config{ColdWait: time.Second, MaxRetryAfter: 10 * time.Minute}, clk, up.URL)
			rate(t, c, "bitcoin", "usd")
			up.set(nil)
			for _, at := range []time.Duration{10 * time.Second, 9 * time.Minute} {
				clk.Set(at)
				rate(t, c, "bitcoin", "usd")
				idle(t, c)
				require.EqualValues(t, 1, up.calls.Load(), "no call %v in, before the capped Retry-After", at)
			}
			clk.Set(10 * time.Minute)
			require.Equal(t, TierFresh, rate(t, c, "bitcoin", "usd").Tier, "Retry-After capped by MaxRetryAfter")
		})
	}
}

func TestAuthErrorsAreConfigurationErrors(t *testing.T) {
	for _, code := range []int{401, 403} {
		clk, up := newClock(), newUpstream(t)
		up.set(status(code))
		const key = "CG-secret-key-value"
		c, logs := newTestClient(t, Config{APIKey: key, ColdWait: time.Second, FailureThreshold: 2}, clk, up.URL)
		require.Equal(t, TierStatic, rate(t, c, "bitcoin", "usd").Tier)
		clk.Add(3 * time.Second)
		rate(t, c, "bitcoin", "usd")
		out := logs.String()
		require.Contains(t, out, "level=ERROR")
		require.Contains(t, out, "configuration error")
		require.NotContains(t, out, key, "the key never reaches the log")
		require.Equal(t, uint64(2), c.Stats().Failures.Auth)
		require.Equal(t, BreakerOpen, c.Stats().Breaker, "auth failures count towards the breaker")
		require.Equal(t, key, (*up.headers.Load()).Get("x-cg-demo-api-key"))
	}
}

func concurrently(n int, f func()) {
	var wg sync.WaitGroup
	for range n {
		wg.Go(f)
	}
	wg.Wait()
}
