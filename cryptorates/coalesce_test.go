package cryptorates

import (
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestThousandColdCallersMakeOneCall(t *testing.T) {
	clk, up := newClock(), newUpstream(t)
	release := make(chan struct{})
	up.set(func(w http.ResponseWriter, r *http.Request) {
		<-release // hold the call until every caller is in
		up.ok(w, r)
	})
	c, _ := newTestClient(t, Config{ColdWait: 30 * time.Second}, clk, up.URL)

	const n = 1000
	var started sync.WaitGroup
	started.Add(n)
	var fresh atomic.Int64
	var wg sync.WaitGroup
	coins := []string{"bitcoin", "ethereum", "solana", "polkadot", "avalanche-2"}
	for i := range n {
		wg.Go(func() {
			started.Done()
			q, err := c.Rate(t.Context(), coins[i%len(coins)], "usd")
			assert.NoError(t, err)
			if q.Tier == TierFresh {
				fresh.Add(1)
			}
		})
	}
	started.Wait()
	require.Eventually(t, func() bool { return up.calls.Load() == 1 }, 10*time.Second, time.Millisecond)
	close(release)
	wg.Wait()
	require.EqualValues(t, 1, up.calls.Load())
	require.EqualValues(t, n, fresh.Load(), "every caller got the one call's values")
}

func TestUpstreamCallsBoundedUnderLoad(t *testing.T) {
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
	}{
		{"failing upstream", status(500)},
		{"healthy upstream, 1s fresh", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk, up := newClock(), newUpstream(t)
			var mu sync.Mutex
			var at []time.Duration // clock time of each call
			up.set(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				at = append(at, clk.Since0())
				mu.Unlock()
				if tc.handler != nil {
					tc.handler(w, r)
					return
				}
				up.ok(w, r)
			})
			c, _ := newTestClient(t, Config{
				Fresh: time.Second, Acceptable: time.Hour, Fallback: time.Hour,
				FailureThreshold: 1 << 30, ColdWait: 5 * time.Millisecond,
			}, clk, up.URL)

			// Each clock step, four concurrent callers ask for every rate and
			// the step ends when all four have their answers.
			const span = 30 * time.Second
			for clk.Since0() < span {
				clk.Add(250 * time.Millisecond)
				concurrently(4, func() {
					_, err := c.Rates(t.Context())
					assert.NoError(t, err)
				})
			}
			idle(t, c)
			calls := up.calls.Load()
			t.Logf("%d upstream calls in %v of clock time", calls, span)
			require.LessOrEqual(t, calls, int64(span/(3*time.Second))+1, "at most one call per MinInterval")
			require.Greater(t, calls, int64(1), "the load did drive refreshes")
			mu.Lock()
			defer mu.Unlock()
			t.Logf("calls seen by the upstream at clock times %v", at)
		})
	}
}
