package cryptorates

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dedw3n/hardening/internal/testlog"
)

// t0 is the fake clock's start: second-aligned, so HTTP-dates are exact.
var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// fakeClock is an injectable clock that only moves when told.
type fakeClock struct{ ns atomic.Int64 }

func newClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(t0.UnixNano())
	return c
}

func (c *fakeClock) Now() time.Time        { return time.Unix(0, c.ns.Load()).UTC() }
func (c *fakeClock) Add(d time.Duration)   { c.ns.Add(int64(d)) }
func (c *fakeClock) Since0() time.Duration { return c.Now().Sub(t0) }
func (c *fakeClock) Set(d time.Duration)   { c.ns.Store(t0.Add(d).UnixNano()) }

// basePrices are the test upstream's usd prices; eur and gbp are derived.
var basePrices = map[string]float64{"bitcoin": 60000, "ethereum": 3000, "solana": 150, "polkadot": 7, "avalanche-2": 35}

// upstream is a real HTTP upstream whose behaviour a test swaps at will.
type upstream struct {
	*httptest.Server
	calls   atomic.Int64
	handler atomic.Pointer[http.HandlerFunc]
	factor  atomic.Pointer[float64] // multiplies every price
	headers atomic.Pointer[http.Header]
}

func newUpstream(t testing.TB) *upstream {
	t.Helper()
	u := &upstream{}
	u.setFactor(1)
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.calls.Add(1)
		h := r.Header.Clone()
		u.headers.Store(&h)
		if f := u.handler.Load(); f != nil {
			(*f)(w, r)
			return
		}
		u.ok(w, r)
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) setFactor(f float64) { u.factor.Store(&f) }

// set swaps the behaviour; nil restores the healthy one.
func (u *upstream) set(f http.HandlerFunc) {
	if f == nil {
		u.handler.Store(nil)
		return
	}
	u.handler.Store(&f)
}

// ok answers like CoinGecko for the ids and currencies asked.
func (u *upstream) ok(w http.ResponseWriter, r *http.Request) {
	if !strings.HasSuffix(r.URL.Path, "/simple/price") || r.URL.Query().Get("include_last_updated_at") != "true" {
		http.NotFound(w, r)
		return
	}
	out := map[string]map[string]float64{}
	for _, coin := range strings.Split(r.URL.Query().Get("ids"), ",") {
		base, ok := basePrices[coin]
		if !ok {
			continue // CoinGecko leaves unknown ids out
		}
		m := map[string]float64{"last_updated_at": float64(t0.Unix() - 30)}
		for _, cur := range strings.Split(r.URL.Query().Get("vs_currencies"), ",") {
			m[cur] = base * fx[cur] * *u.factor.Load()
		}
		out[coin] = m
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

var fx = map[string]float64{"usd": 1, "eur": 0.9, "gbp": 0.8}

func status(code int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { http.Error(w, `{"error":"x"}`, code) }
}

func body(s string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(s))
	}
}

// hang blocks until the client gives up (or the test ends).
func hang(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }

// refusedURL is an address nothing listens on.
func refusedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return "http://" + addr
}

// newTestClient builds a client on cfg with the test's clock, upstream and
// log; it is closed at the end of the test.
func newTestClient(t *testing.T, cfg Config, clk *fakeClock, baseURL string) (*Client, *testlog.Buffer) {
	t.Helper()
	logs := &testlog.Buffer{}
	if cfg.BaseURL == "" {
		cfg.BaseURL = baseURL
	}
	cfg.Now = clk.Now
	cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if cfg.ColdWait == 0 {
		cfg.ColdWait = 5 * time.Second
	}
	if cfg.HTTPTimeout == 0 {
		cfg.HTTPTimeout = 5 * time.Second
	}
	c, err := New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c, logs
}

// idle waits until the client's worker has no round running or pending.
func idle(t *testing.T, c *Client) {
	t.Helper()
	require.Eventually(t, func() bool { return c.rounds.Load() == c.kicked.Load() },
		10*time.Second, time.Millisecond)
}

// rate calls Rate and requires no error.
func rate(t *testing.T, c *Client, coin, cur string) Quote {
	t.Helper()
	q, err := c.Rate(t.Context(), coin, cur)
	require.NoError(t, err)
	return q
}

func contextWithTimeout(t *testing.T, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(t.Context(), d)
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
