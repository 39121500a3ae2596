package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dedw3n/hardening/cryptorates"
	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/sony/gobreaker/v2"
	"golang.org/x/time/rate"
)

// peerRates is what a user would assemble from gobreaker and golang-lru to
// do cryptorates' job: an LRU of last good values with their fetch time,
// served while younger than fresh; on a miss or a stale value, one upstream
// call through the breaker, paced by golang.org/x/time/rate to the same
// minimum interval as ours, and the stale value (if any) when it fails or
// the limiter says wait. It has no request coalescing and no Retry-After.
type peerRates struct {
	base   string
	client *http.Client
	fresh  time.Duration
	cache  *lru.Cache[cryptorates.Pair, peerPrice]
	cb     *gobreaker.CircuitBreaker[map[string]map[string]float64]
	pace   *rate.Limiter
	coins  string
	currs  string
}

type peerPrice struct {
	value     float64
	fetchedAt time.Time
}

func newPeerRates(base string, fresh, cooldown, minInterval time.Duration, threshold uint32) *peerRates {
	cache, _ := lru.New[cryptorates.Pair, peerPrice](1024)
	return &peerRates{
		base:   base,
		client: &http.Client{Timeout: 10 * time.Second},
		fresh:  fresh,
		cache:  cache,
		cb: gobreaker.NewCircuitBreaker[map[string]map[string]float64](gobreaker.Settings{
			Name:        "rates",
			Timeout:     cooldown,
			ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= threshold },
		}),
		pace:  rate.NewLimiter(rate.Every(minInterval), 1),
		coins: "bitcoin,ethereum,solana,polkadot,avalanche-2",
		currs: "usd,eur,gbp",
	}
}

func (p *peerRates) fetch(ctx context.Context) (map[string]map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet,
		p.base+"/simple/price?"+url.Values{"ids": {p.coins}, "vs_currencies": {p.currs}}.Encode(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil, fmt.Errorf("upstream: %s", resp.Status)
	}
	var m map[string]map[string]float64
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&m); err != nil {
		return nil, err
	}
	return m, nil
}

func (p *peerRates) Rate(ctx context.Context, coin, currency string) (float64, error) {
	key := cryptorates.Pair{Coin: coin, Currency: currency}
	cached, ok := p.cache.Get(key)
	if ok && time.Since(cached.fetchedAt) < p.fresh {
		return cached.value, nil
	}
	if !p.pace.Allow() {
		if ok {
			return cached.value, nil
		}
		return 0, fmt.Errorf("no rate for %s/%s yet", coin, currency)
	}
	m, err := p.cb.Execute(func() (map[string]map[string]float64, error) { return p.fetch(ctx) })
	if err != nil {
		if ok {
			return cached.value, nil
		}
		return 0, err
	}
	now := time.Now()
	for c, byCur := range m {
		for cur, v := range byCur {
			p.cache.Add(cryptorates.Pair{Coin: c, Currency: cur}, peerPrice{value: v, fetchedAt: now})
		}
	}
	if v, ok := m[coin][currency]; ok {
		return v, nil
	}
	if ok {
		return cached.value, nil
	}
	return 0, fmt.Errorf("no rate for %s/%s", coin, currency)
}

// ratesUpstream answers /simple/price with good prices until storm is set,
// then with 429 and Retry-After: 1 to everything; it counts calls.
type ratesUpstream struct {
	srv   *httptest.Server
	calls atomic.Int64
	storm atomic.Bool
}

func newRatesUpstream(b *testing.B) *ratesUpstream {
	u := &ratesUpstream{}
	static := cryptorates.BuiltinStatic().Rates
	byCoin := map[string][]string{}
	for p, v := range static {
		byCoin[p.Coin] = append(byCoin[p.Coin], fmt.Sprintf("%q:%g", p.Currency, v))
	}
	var parts []string
	for coin, vs := range byCoin {
		parts = append(parts, fmt.Sprintf("%q:{%s}", coin, strings.Join(vs, ",")))
	}
	body := "{" + strings.Join(parts, ",") + "}"
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.calls.Add(1)
		if u.storm.Load() {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, body)
	}))
	b.Cleanup(u.srv.Close)
	return u
}

// rater is the common face of both implementations.
type rater func(ctx context.Context, coin, currency string) (float64, error)

func newRater(b *testing.B, impl, base string, fresh, cooldown time.Duration) (rater, func()) {
	switch impl {
	case "ours":
		c, err := cryptorates.New(cryptorates.Config{
			BaseURL: base, Fresh: fresh, Acceptable: time.Hour, Fallback: 2 * time.Hour,
			Cooldown: cooldown, FailureThreshold: 5, MinInterval: benchMinInterval, Logger: discardLogger(),
		})
		if err != nil {
			b.Fatal(err)
		}
		return func(ctx context.Context, coin, currency string) (float64, error) {
			q, err := c.Rate(ctx, coin, currency)
			return q.Value, err
		}, func() { _ = c.Close() }
	case "gobreaker+lru":
		p := newPeerRates(base, fresh, cooldown, benchMinInterval, 5)
		return p.Rate, func() { p.client.CloseIdleConnections() }
	}
	b.Fatalf("unknown impl %q", impl)
	return nil, nil
}

var rateImpls = []string{"ours", "gobreaker+lru"}

// benchMinInterval paces upstream calls in both implementations alike.
const benchMinInterval = 100 * time.Millisecond

// BenchmarkRatesHit measures a cached hit (a fresh value for one pair),
// from parallel callers.
func BenchmarkRatesHit(b *testing.B) {
	for _, impl := range rateImpls {
		b.Run("impl="+impl, func(b *testing.B) {
			up := newRatesUpstream(b)
			rate, closeFn := newRater(b, impl, up.srv.URL, time.Hour, time.Second)
			defer closeFn()
			ctx := context.Background()
			for range 50 { // until the first fetch is in
				if v, err := rate(ctx, "bitcoin", "usd"); err == nil && v > 0 {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := rate(ctx, "bitcoin", "usd"); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkRatesStorm serves rates from parallel callers while the
// upstream answers every call with 429 (Retry-After: 1) and values are past
// fresh (50 ms); both have a breaker opening after 5 consecutive failures
// with a 1 s cooldown and pace upstream calls to one per 100 ms. The metric upstream-calls/s is what each sends the
// rate-limited upstream; errors counts calls that got no value.
func BenchmarkRatesStorm(b *testing.B) {
	for _, impl := range rateImpls {
		b.Run("impl="+impl, func(b *testing.B) {
			up := newRatesUpstream(b)
			rate, closeFn := newRater(b, impl, up.srv.URL, 50*time.Millisecond, time.Second)
			defer closeFn()
			ctx := context.Background()
			for range 50 {
				if v, err := rate(ctx, "bitcoin", "usd"); err == nil && v > 0 {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			time.Sleep(60 * time.Millisecond) // past fresh
			up.storm.Store(true)
			up.calls.Store(0)
			var errs atomic.Int64
			b.ReportAllocs()
			b.SetParallelism(4)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := rate(ctx, "bitcoin", "usd"); err != nil {
						errs.Add(1)
					}
					time.Sleep(100 * time.Microsecond) // callers with other work to do
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(up.calls.Load())/b.Elapsed().Seconds(), "upstream-calls/s")
			b.ReportMetric(float64(errs.Load()), "errors")
		})
	}
}
