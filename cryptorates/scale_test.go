package cryptorates

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// catalogue is a fake upstream for many coins: it refuses a URL longer than
// maxURL with 414, like a proxy with a request-line limit, prices every
// coin it is asked for, and answers 500 for coins in failing.
type catalogue struct {
	*httptest.Server
	maxURL  int
	calls   atomic.Int64
	refused atomic.Int64
	mu      sync.Mutex
	failing map[string]bool // protected by mu
	factor  float64         // protected by mu
}

func newCatalogue(t *testing.T, maxURL int) *catalogue {
	cat := &catalogue{maxURL: maxURL, factor: 1}
	cat.Server = httptest.NewServer(http.HandlerFunc(cat.serve))
	t.Cleanup(cat.Close)
	return cat
}

func (cat *catalogue) serve(w http.ResponseWriter, r *http.Request) {
	cat.calls.Add(1)
	if len("http://"+r.Host+r.RequestURI) > cat.maxURL {
		cat.refused.Add(1)
		http.Error(w, "URI too long", http.StatusRequestURITooLong)
		return
	}
	cat.mu.Lock()
	defer cat.mu.Unlock()
	out := map[string]map[string]float64{}
	for _, coin := range strings.Split(r.URL.Query().Get("ids"), ",") {
		if cat.failing[coin] {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		m := map[string]float64{}
		for _, cur := range strings.Split(r.URL.Query().Get("vs_currencies"), ",") {
			m[cur] = float64(len(coin)+len(cur)) * cat.factor
		}
		out[coin] = m
	}
	_ = json.NewEncoder(w).Encode(out)
}

// catalogueConfig is 500 coins with ids of CoinGecko's usual length and
// 30 currencies, with no static table.
func catalogueConfig() Config {
	cfg := Config{Static: StaticTable{Rates: map[Pair]float64{}}}
	for i := range 500 {
		cfg.Coins = append(cfg.Coins, fmt.Sprintf("wrapped-token-%03d", i))
	}
	for i := range 30 {
		cfg.Currencies = append(cfg.Currencies, fmt.Sprintf("cur%02d", i))
	}
	return cfg
}

// Issue 18 item 3: 500 coins × 30 currencies against upstreams that refuse
// long URLs. The refresh makes as few calls as the URL limit allows, none
// refused, and every pair is served fresh.
func TestCatalogueScaleSplitsByURLLength(t *testing.T) {
	for _, limit := range []int{8000, 2048} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			cat := newCatalogue(t, limit)
			cfg := catalogueConfig()
			cfg.MaxURLLength = limit
			c, _ := newTestClient(t, cfg, newClock(), cat.URL)

			qs, err := c.Rates(t.Context())
			require.NoError(t, err)
			require.Len(t, qs, 500*30)
			for _, q := range qs {
				require.Equal(t, TierFresh, q.Tier, "%s/%s", q.Coin, q.Currency)
			}
			// The fewest calls: the ids and their commas, over what one URL
			// has room for.
			head := len(cat.URL + "/simple/price?ids=")
			tail := len("&vs_currencies=" + strings.Join(cfg.Currencies, ",") + "&include_last_updated_at=true")
			room := limit - head - tail
			want := (500*len("wrapped-token-000,") + room - 1) / room
			require.EqualValues(t, want, cat.calls.Load(), "upstream calls per refresh")
			require.Zero(t, cat.refused.Load())
			t.Logf("500 coins × 30 currencies, URL limit %d: %d upstream calls per refresh", limit, cat.calls.Load())
		})
	}
}

// An upstream with a lower limit than MaxURLLength answers 414: a
// configuration error, logged as such, and the static tier (here none)
// stands.
func TestURLTooLongIsAConfigurationError(t *testing.T) {
	cat := newCatalogue(t, 4096)
	c, logs := newTestClient(t, catalogueConfig(), newClock(), cat.URL)
	_, err := c.Rate(t.Context(), "wrapped-token-000", "cur00")
	require.ErrorIs(t, err, ErrUnknownPair)
	require.Equal(t, int64(1), cat.refused.Load(), "the refresh stops at the first refused call")
	require.Equal(t, uint64(1), c.Stats().Failures.Status)
	require.Contains(t, logs.String(), "lower MaxURLLength")
}

// A refresh whose second call fails keeps the first call's values and,
// for the second's pairs, the last good value and its tier; the refresh
// spends the budget of the calls it made.
func TestHalfFailedRefreshKeepsLastGoodValues(t *testing.T) {
	cat := newCatalogue(t, 8000)
	clk := newClock()
	c, _ := newTestClient(t, catalogueConfig(), clk, cat.URL)
	require.Len(t, c.batches, 2)
	_, err := c.Rates(t.Context())
	require.NoError(t, err)
	require.EqualValues(t, 2, cat.calls.Load())

	first, second := c.batches[0].coins[0], c.batches[1].coins[0]
	cat.mu.Lock()
	cat.failing = map[string]bool{second: true}
	cat.factor = 1.1
	cat.mu.Unlock()
	clk.Add(6 * time.Minute)
	rate(t, c, first, "cur00") // stale: starts the refresh
	idle(t, c)
	require.EqualValues(t, 4, cat.calls.Load())

	q1, q2 := rate(t, c, first, "cur00"), rate(t, c, second, "cur00")
	assert.Equal(t, TierFresh, q1.Tier)
	assert.InDelta(t, float64(len(first)+5)*1.1, q1.Value, 1e-9)
	assert.Equal(t, TierAcceptable, q2.Tier, "the failed batch keeps its last good value and tier")
	assert.InDelta(t, float64(len(second)+5), q2.Value, 1e-9)
	assert.Equal(t, uint64(1), c.Stats().Failures.Server)

	// Two calls spent two intervals: nothing before 6 s, whoever asks.
	for _, at := range []time.Duration{3 * time.Second, 5 * time.Second} {
		clk.Set(6*time.Minute + at)
		rate(t, c, second, "cur00")
		idle(t, c)
		require.EqualValues(t, 4, cat.calls.Load(), "at +%v", at)
	}
	clk.Set(6*time.Minute + 6*time.Second)
	rate(t, c, second, "cur00")
	idle(t, c)
	require.EqualValues(t, 6, cat.calls.Load())
}

func TestBatchesRespectMaxCoinsPerCall(t *testing.T) {
	cfg := catalogueConfig()
	cfg.MaxCoinsPerCall = 120
	cfg, err := cfg.withDefaults()
	require.NoError(t, err)
	bs, err := batches(cfg)
	require.NoError(t, err)
	require.Len(t, bs, 5)
	var all []string
	for _, b := range bs {
		require.LessOrEqual(t, len(b.coins), 120)
		require.LessOrEqual(t, len(b.url), cfg.MaxURLLength)
		all = append(all, b.coins...)
	}
	require.Equal(t, cfg.Coins, all, "every coin once, in order")
}

// A fleet sharing one state makes one batched refresh per budget: two
// clients, two calls per refresh, and no call from either until the two
// intervals the refresh spent are over.
func TestBatchedRefreshSpendsTheFleetsBudget(t *testing.T) {
	cat := newCatalogue(t, 8000)
	clk, shared := newClock(), NewMemoryState()
	cfg := catalogueConfig()
	cfg.Shared = shared
	cfg.Fresh, cfg.Acceptable, cfg.Fallback = time.Second, time.Hour, time.Hour
	a, _ := newTestClient(t, cfg, clk, cat.URL)
	b, _ := newTestClient(t, cfg, clk, cat.URL)
	coin := cfg.Coins[499]

	require.Equal(t, TierFresh, rate(t, a, coin, "cur29").Tier)
	require.Equal(t, TierFresh, rate(t, b, coin, "cur29").Tier, "b serves a's refresh")
	require.EqualValues(t, 2, cat.calls.Load(), "one refresh of two calls for the fleet")

	// Stale after a second, but the refresh spent two intervals of 3 s.
	for _, at := range []time.Duration{2 * time.Second, 3 * time.Second, 5 * time.Second} {
		clk.Set(at)
		for _, c := range []*Client{a, b} {
			rate(t, c, coin, "cur29")
			idle(t, c)
		}
		require.EqualValues(t, 2, cat.calls.Load(), "at +%v", at)
	}
	clk.Set(6 * time.Second)
	for _, c := range []*Client{a, b, a, b} {
		rate(t, c, coin, "cur29")
		idle(t, c)
	}
	require.EqualValues(t, 4, cat.calls.Load(), "one refresh between the two")
	require.Equal(t, TierFresh, rate(t, b, coin, "cur29").Tier)
}
