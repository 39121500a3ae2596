package bench

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dedw3n/hardening/cryptorates"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// chaosUpstream is a fake /simple/price that answers each call with an
// outcome drawn from a seeded generator: a good body, 429 with and without
// Retry-After, 500, a timeout (it holds the request until the client gives
// up), truncated JSON and hostile JSON.
type chaosUpstream struct {
	srv   *httptest.Server
	calls atomic.Int64

	mu    sync.Mutex // protects rng and kinds
	rng   *rand.Rand
	kinds map[string]int
}

var chaosKinds = []struct {
	name   string
	weight int
}{
	{"ok", 5}, {"429 Retry-After", 1}, {"429 bare", 2}, {"500", 2}, {"timeout", 1},
	{"truncated JSON", 2}, {"hostile JSON", 3},
}

// hostileBodies are 200 answers a careless client would choke on or,
// worse, serve.
var hostileBodies = []string{
	`{"bitcoin":{"usd":-1,"eur":0,"gbp":1e308}}`,
	`{"bitcoin":{"usd":"95000"},"ethereum":null}`,
	`{"bitcoin":{"usd":9500000000,"eur":0.0001}}`,
	`[1,2,3]`,
	`null`,
	`{"bitcoin":` + strings.Repeat(`{"a":`, 5000) + `1` + strings.Repeat(`}`, 5000) + `}`,
	`{"bitcoin":{"usd":95000}}` + strings.Repeat(" ", 2<<20),
	"\x00\xff\xfe garbage",
	`{"__proto__":{"usd":1},"bitcoin":{"usd":NaN}}`,
}

func newChaosUpstream(t testing.TB, seed uint64) *chaosUpstream {
	t.Helper()
	c := &chaosUpstream{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), kinds: make(map[string]int)}
	static := cryptorates.BuiltinStatic().Rates
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.calls.Add(1)
		c.mu.Lock()
		total := 0
		for _, k := range chaosKinds {
			total += k.weight
		}
		pick := c.rng.IntN(total)
		kind := ""
		for _, k := range chaosKinds {
			if pick < k.weight {
				kind = k.name
				break
			}
			pick -= k.weight
		}
		noise := 1 + (c.rng.Float64()-0.5)/50 // ±1%
		hostile := hostileBodies[c.rng.IntN(len(hostileBodies))]
		cut := c.rng.Float64()
		c.kinds[kind]++
		c.mu.Unlock()

		good := func() string {
			byCoin := map[string][]string{}
			for p, v := range static {
				byCoin[p.Coin] = append(byCoin[p.Coin], fmt.Sprintf("%q:%g", p.Currency, v*noise))
			}
			var parts []string
			for coin, vs := range byCoin {
				parts = append(parts, fmt.Sprintf("%q:{%s,\"last_updated_at\":%d}", coin, strings.Join(vs, ","), time.Now().Unix()))
			}
			return "{" + strings.Join(parts, ",") + "}"
		}
		switch kind {
		case "ok":
			w.Header().Set("Content-Type", "application/json")
			_, _ = fmt.Fprint(w, good())
		case "429 Retry-After":
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
		case "429 bare":
			w.WriteHeader(http.StatusTooManyRequests)
		case "500":
			http.Error(w, "upstream exploded", http.StatusInternalServerError)
		case "timeout":
			select {
			case <-r.Context().Done():
			case <-time.After(3 * time.Second):
			}
		case "truncated JSON":
			b := good()
			_, _ = fmt.Fprint(w, b[:int(cut*float64(len(b)-1))])
		case "hostile JSON":
			_, _ = fmt.Fprint(w, hostile)
		}
	}))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *chaosUpstream) faults() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for k, v := range c.kinds {
		if k != "ok" {
			n += v
		}
	}
	return n
}

// TestFaultRatesChaos hammers two cryptorates clients for 3 s while their
// upstreams answer with seeded chaos. The client with the built-in static
// table must never return an error; the one without a static tier must
// never return an error for a pair it once served (Fallback is 1 h, so a
// tier holds the value from then on). Neither may call its upstream more
// than elapsed/MinInterval + 1 times, and no Rate may take much longer than
// ColdWait.
func TestFaultRatesChaos(t *testing.T) {
	const (
		run         = 3 * time.Second
		minInterval = 50 * time.Millisecond
		coldWait    = 100 * time.Millisecond
		rateBound   = coldWait + 400*time.Millisecond
		callers     = 4
	)
	for _, tc := range []struct {
		name   string
		static cryptorates.StaticTable
		seed   uint64
	}{
		{"static table", cryptorates.StaticTable{}, 42},
		{"no static tier", cryptorates.StaticTable{Rates: map[cryptorates.Pair]float64{}}, 43},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := newChaosUpstream(t, tc.seed)
			start := time.Now()
			client, err := cryptorates.New(cryptorates.Config{
				BaseURL:          up.srv.URL,
				Fresh:            100 * time.Millisecond,
				Acceptable:       300 * time.Millisecond,
				Fallback:         time.Hour,
				Static:           tc.static,
				FailureThreshold: 3,
				Cooldown:         100 * time.Millisecond,
				MinInterval:      minInterval,
				HTTPTimeout:      150 * time.Millisecond,
				ColdWait:         coldWait,
				Logger:           discardLogger(),
			})
			require.NoError(t, err)
			pairs := []cryptorates.Pair{}
			for p := range cryptorates.BuiltinStatic().Rates {
				pairs = append(pairs, p)
			}

			var (
				mu        sync.Mutex // protects the fields below
				served    = map[cryptorates.Pair]bool{}
				requests  int
				badErrors []string
				maxLat    time.Duration
				lats      []time.Duration
				tiers     = map[cryptorates.Tier]int{}
			)
			ctx, cancel := context.WithTimeout(context.Background(), run)
			defer cancel()
			var wg sync.WaitGroup
			for i := range callers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					rng := rand.New(rand.NewPCG(tc.seed, uint64(i)))
					for ctx.Err() == nil {
						p := pairs[rng.IntN(len(pairs))]
						t0 := time.Now()
						q, err := client.Rate(context.Background(), p.Coin, p.Currency)
						lat := time.Since(t0)
						mu.Lock()
						requests++
						maxLat = max(maxLat, lat)
						lats = append(lats, lat)
						switch {
						case err == nil:
							served[p] = true
							tiers[q.Tier]++
							if q.Value <= 0 {
								badErrors = append(badErrors, fmt.Sprintf("%v: served %v", p, q.Value))
							}
						case served[p] || tc.static.Rates == nil:
							badErrors = append(badErrors, fmt.Sprintf("%v: %v while a tier held a value", p, err))
						case !errors.Is(err, cryptorates.ErrUnknownPair):
							badErrors = append(badErrors, fmt.Sprintf("%v: unexpected error %v", p, err))
						}
						mu.Unlock()
						time.Sleep(time.Millisecond)
					}
				}()
			}
			wg.Wait()
			require.NoError(t, client.Close())
			elapsed := time.Since(start)
			calls := up.calls.Load()
			budget := int64(elapsed/minInterval) + 1
			stats := client.Stats()

			assert.Empty(t, badErrors, "errors or bad values while a tier held a value")
			assert.LessOrEqual(t, calls, budget, "upstream calls over %v with MinInterval %v", elapsed, minInterval)
			assert.LessOrEqual(t, maxLat, rateBound, "slowest Rate")
			assert.Positive(t, up.faults(), "the chaos upstream injected no fault")
			assert.NotZero(t, stats.Failures.RateLimited+stats.Failures.Server+stats.Failures.Timeout+stats.Failures.Invalid, "the client saw no failure")
			t.Logf("%d Rate calls, %d upstream calls (budget %d), %d chaos answers %v, tiers %v, breaker opened %d times, max Rate latency %v",
				requests, calls, budget, up.faults(), up.kinds, tiers, stats.BreakerTransitions.Open, maxLat)
			record(faultFigure{
				Test: "TestFaultRatesChaos/" + tc.name, Fault: "seeded upstream chaos (429 ± Retry-After, 500, timeout, truncated and hostile JSON)",
				Injected: up.faults(), Requests: requests, Acked: -1, MaxLatency: maxLat, P99: p99(lats), Bound: rateBound,
				Note: fmt.Sprintf("%d upstream calls in %.1f s against a budget of %d (elapsed/MinInterval + 1, MinInterval 50 ms); errors while a tier held a value: %d; quotes by tier %v; breaker opened %d times.",
					calls, elapsed.Seconds(), budget, len(badErrors), tiers, stats.BreakerTransitions.Open),
			})
		})
	}
}

func p99(lats []time.Duration) time.Duration {
	if len(lats) == 0 {
		return 0
	}
	s := slices.Clone(lats)
	slices.Sort(s)
	return s[len(s)*99/100]
}
