package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dedw3n/hardening/internal/pgtest"
)

type cartJSON struct {
	Items []struct {
		ProductID string `json:"product_id"`
		Quantity  int    `json:"quantity"`
	} `json:"items"`
	User *string `json:"user"`
}

type ratesJSON struct {
	Rates []struct {
		Coin       string   `json:"coin"`
		Currency   string   `json:"currency"`
		Value      float64  `json:"value"`
		Tier       string   `json:"tier"`
		Reference  bool     `json:"reference"`
		FetchedAt  *string  `json:"fetched_at"`
		AgeSeconds *float64 `json:"age_seconds"`
	} `json:"rates"`
	Breaker string `json:"breaker"`
}

func (a *proc) cart() (int, cartJSON) {
	a.t.Helper()
	code, _, body := a.do("GET", "/api/cart", nil)
	var c cartJSON
	if code == http.StatusOK {
		require.NoError(a.t, json.Unmarshal(body, &c), "%s", body)
	}
	return code, c
}

func (a *proc) rates() ratesJSON {
	a.t.Helper()
	code, _, body := a.do("GET", "/api/rates", nil)
	require.Equal(a.t, http.StatusOK, code, "%s", body)
	var r ratesJSON
	require.NoError(a.t, json.Unmarshal(body, &r), "%s", body)
	return r
}

func quantity(c cartJSON, id string) int {
	n := 0
	for _, it := range c.Items {
		if it.ProductID == id {
			n += it.Quantity
		}
	}
	return n
}

// hangingUpstream is a rates upstream that takes every request and never
// answers (until the test ends): the app's fetch stays in flight for its
// whole 10 s HTTP timeout. It returns the base URL and a channel that gets a
// value for each request taken.
func hangingUpstream(t *testing.T) (string, <-chan struct{}) {
	taken, release := make(chan struct{}, 64), make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case taken <- struct{}{}:
		default:
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs first: Close waits for the handlers
	return srv.URL + "/api/v3", taken
}

func TestStartsWithNoDatabaseAndNoNetwork(t *testing.T) {
	start := time.Now()
	upstream, taken := hangingUpstream(t)
	a := startApp(t, "COINGECKO_BASE_URL="+upstream)

	code, _, body := a.do("GET", "/", nil)
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, string(body), "Brass desk lamp")
	require.Contains(t, string(body), "reference prices from 1 Jan 2025, live prices unavailable")

	// A fetch is in flight (the upstream took it and holds it): a caller
	// with nothing cached waits the 2 s cold wait, then gets the static
	// tier. Were it held by the fetch instead, it would wait for the app's
	// 10 s HTTP timeout. The bound sits between the two, 4 s above the cold
	// wait for a loaded machine and a subprocess.
	select {
	case <-taken:
	case <-time.After(10 * time.Second):
		t.Fatal("the app made no upstream call")
	}
	asked := time.Now()
	r := a.rates()
	require.Less(t, time.Since(asked), 6*time.Second, "static rates after the 2 s cold wait, not the 10 s fetch")
	require.NotEmpty(t, r.Rates)
	for _, q := range r.Rates {
		assert.Equal(t, "static", q.Tier, "%s/%s", q.Coin, q.Currency)
		assert.True(t, q.Reference, "%s/%s", q.Coin, q.Currency)
		assert.Positive(t, q.Value)
	}
	assert.Less(t, time.Since(start), 20*time.Second)

	code, _, body = a.do("POST", "/api/cart/items", map[string]any{"product_id": "mug", "quantity": 2})
	require.Equal(t, http.StatusOK, code, "%s", body)
	_, c := a.cart()
	require.Equal(t, 2, quantity(c, "mug"), "in-memory sessions keep the cart")
	require.Nil(t, c.User)
	require.Contains(t, a.out.String(), "DATABASE_URL", "one warning names the missing database")
}

func TestCartInputErrors(t *testing.T) {
	a := startApp(t, "COINGECKO_BASE_URL="+closedURL(t))
	cases := []struct {
		name string
		body any
		want int
	}{
		{"unknown product", map[string]any{"product_id": "nope", "quantity": 1}, 404},
		{"zero quantity", map[string]any{"product_id": "mug", "quantity": 0}, 400},
		{"quantity 100", map[string]any{"product_id": "mug", "quantity": 100}, 400},
		{"malformed JSON", `{"product_id":`, 400},
		{"a value then a closing bracket", `{"product_id":"mug","quantity":1}]`, 400},
		{"a value then another", `{"product_id":"mug","quantity":1} {}`, 400},
		{"trailing junk over 1 MiB", `{"product_id":"mug","quantity":1} "` + strings.Repeat("a", 1<<20) + `"`, 413},
		{"body over 1 MiB", `{"product_id":"` + strings.Repeat("a", 1<<20+10) + `","quantity":1}`, 413},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, h, body := a.do("POST", "/api/cart/items", tc.body)
			require.Equal(t, tc.want, code, "%s", body)
			require.Contains(t, h.Get("Content-Type"), "application/json")
			var e struct{ Error string }
			require.NoError(t, json.Unmarshal(body, &e))
			require.NotEmpty(t, e.Error)
		})
	}
	_, c := a.cart()
	require.Empty(t, c.Items, "rejected requests change nothing")
}

func TestLoginKeepsCartAndRenewsToken(t *testing.T) {
	a := startApp(t, "COINGECKO_BASE_URL="+closedURL(t))
	code, _, _ := a.do("POST", "/api/cart/items", map[string]any{"product_id": "lamp", "quantity": 1})
	require.Equal(t, 200, code)
	u := a.cookies()
	require.NotEmpty(t, u)
	before := u[0].Value

	code, _, body := a.do("POST", "/login", map[string]any{"user": "ada"})
	require.Equal(t, 200, code, "%s", body)
	_, c := a.cart()
	require.NotNil(t, c.User)
	require.Equal(t, "ada", *c.User)
	require.Equal(t, 1, quantity(c, "lamp"))
	after := a.cookies()[0].Value
	require.NotEqual(t, before, after, "login renews the session token")

	// The old token no longer works: a client presenting it gets an empty session.
	req, _ := http.NewRequest("GET", a.url+"/api/cart", nil)
	req.AddCookie(&http.Cookie{Name: u[0].Name, Value: before})
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	var old cartJSON
	require.NoError(t, json.NewDecoder(res.Body).Decode(&old))
	res.Body.Close()
	require.Empty(t, old.Items)
	require.Nil(t, old.User)

	code, _, _ = a.do("POST", "/logout", nil)
	require.Equal(t, 200, code)
	_, c = a.cart()
	require.Empty(t, c.Items)
	require.Nil(t, c.User)
}

func TestDatabaseDownAtStart(t *testing.T) {
	db := pgtest.NewServer(t, pgtest.Options{Stopped: true})
	a := startApp(t,
		"DATABASE_URL="+db.URL(),
		"COINGECKO_BASE_URL="+closedURL(t),
		"DB_HEALTH_INTERVAL=200ms",
	)
	code, _, _ := a.do("GET", "/healthz", nil)
	require.Equal(t, 200, code)
	code, _, body := a.do("GET", "/readyz", nil)
	require.Equal(t, http.StatusServiceUnavailable, code, "%s", body)
	require.NotContains(t, string(body), db.Addr(), "the readiness body never shows the DSN")
	require.NotContains(t, string(body), "postgres://")
	code, h, _ := a.do("POST", "/api/cart/items", map[string]any{"product_id": "mug", "quantity": 1})
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.NotEmpty(t, h.Get("Retry-After"))

	require.NoError(t, db.Start())
	eventually(t, 30*time.Second, "ready once the database is up", func() bool {
		code, _, _ := a.do("GET", "/readyz", nil)
		return code == 200
	})
	code, _, body = a.do("POST", "/api/cart/items", map[string]any{"product_id": "mug", "quantity": 3})
	require.Equal(t, 200, code, "%s", body)
	_, c := a.cart()
	require.Equal(t, 3, quantity(c, "mug"))
}

func TestDatabaseOutageWhileServing(t *testing.T) {
	db := pgtest.NewServer(t, pgtest.Options{})
	env := []string{
		"DATABASE_URL=" + db.URL(),
		"COINGECKO_BASE_URL=" + closedURL(t),
		"DB_HEALTH_INTERVAL=200ms",
	}
	a := startApp(t, env...)
	eventually(t, 20*time.Second, "ready", func() bool { c, _, _ := a.do("GET", "/readyz", nil); return c == 200 })
	code, _, body := a.do("POST", "/api/cart/items", map[string]any{"product_id": "chair", "quantity": 2})
	require.Equal(t, 200, code, "%s", body)

	code, _, body = a.do("GET", "/", nil)
	require.Equal(t, 200, code)
	require.Contains(t, string(body), `id="cart-count">2<`)

	require.NoError(t, db.Stop())
	code, _, body = a.do("GET", "/", nil)
	require.Equal(t, 200, code, "the storefront renders without the session: %s", body)
	require.Contains(t, string(body), `id="sessions-down"`)
	require.NotContains(t, string(body), `id="cart-count"`)
	require.Contains(t, string(body), `class="product"`, "products are listed")
	for _, r := range []struct{ method, path string }{{"GET", "/api/cart"}, {"POST", "/login"}, {"POST", "/logout"}} {
		code, h, body := a.do(r.method, r.path, map[string]any{"user": "zoe"})
		require.Equal(t, http.StatusServiceUnavailable, code, "%s %s during the outage", r.method, r.path)
		require.NotEmpty(t, h.Get("Retry-After"))
		require.Contains(t, h.Get("Content-Type"), "application/json", "%s %s: %s", r.method, r.path, body)
		var e struct{ Error string }
		require.NoError(t, json.Unmarshal(body, &e))
		require.NotEmpty(t, e.Error)
	}
	code, h, _ := a.do("GET", "/api/cart", nil)
	require.Equal(t, http.StatusServiceUnavailable, code, "an outage is a 503, not an empty cart")
	require.NotEmpty(t, h.Get("Retry-After"))
	code, _, _ = a.do("POST", "/api/cart/items", map[string]any{"product_id": "chair", "quantity": 1})
	require.Equal(t, http.StatusServiceUnavailable, code, "a write that cannot be saved is never a 200")
	eventually(t, 10*time.Second, "readiness reflects the outage", func() bool {
		c, _, _ := a.do("GET", "/readyz", nil)
		return c == http.StatusServiceUnavailable
	})

	require.NoError(t, db.Start())
	eventually(t, 30*time.Second, "the same process recovers", func() bool {
		c, _, _ := a.do("GET", "/api/cart", nil)
		return c == 200
	})
	_, c := a.cart()
	require.Equal(t, 2, quantity(c, "chair"), "the cart written before the outage is intact")

	// A restart of the server process itself keeps carts too.
	jar := a.client.Jar
	a.stop()
	b := startApp(t, env...)
	b.client.Jar = jar
	eventually(t, 20*time.Second, "restarted process ready", func() bool { c, _, _ := b.do("GET", "/readyz", nil); return c == 200 })
	_, c = b.cart()
	require.Equal(t, 2, quantity(c, "chair"), "the cart survives a restart of the server")
}

func TestUpstream429Storm(t *testing.T) {
	up := newUpstream(t)
	a := startApp(t,
		"COINGECKO_BASE_URL="+up.URL(),
		"RATES_FRESH=1s", "RATES_ACCEPTABLE=1m", "RATES_FALLBACK=2m",
		"RATES_FAILURE_THRESHOLD=3", "RATES_COOLDOWN=1m", "RATES_MIN_INTERVAL=50ms",
	)
	eventually(t, 10*time.Second, "fresh rates from the upstream", func() bool {
		r := a.rates()
		return len(r.Rates) > 0 && r.Rates[0].Tier == "fresh"
	})

	up.mode.Store("429")
	eventually(t, 30*time.Second, "the breaker opens under the 429 storm", func() bool {
		time.Sleep(100 * time.Millisecond) // let the fresh tier age and refreshes fail
		return a.rates().Breaker == "open"
	})
	calls := up.calls.Load()
	for i := 0; i < 30; i++ {
		r := a.rates()
		require.Equal(t, "open", r.Breaker)
		for _, q := range r.Rates {
			require.Contains(t, []string{"acceptable", "fallback"}, q.Tier, "served from the cache tiers")
			require.Positive(t, q.Value)
		}
		time.Sleep(30 * time.Millisecond)
	}
	require.Equal(t, calls, up.calls.Load(), "no upstream calls during the cooldown")
}

func TestSIGTERMUnderLoad(t *testing.T) {
	dir := t.TempDir()
	big := make([]byte, 16<<20)
	for i := range big {
		big[i] = byte(i)
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "big.bin"), big, 0o644))
	a := startApp(t,
		"COINGECKO_BASE_URL="+closedURL(t),
		"PUBLIC_OBJECT_SEARCH_PATHS="+dir,
		"SHUTDOWN_TIMEOUT=8s", "SHUTDOWN_DRAIN_DELAY=1s",
	)

	// Slow downloads in flight when SIGTERM arrives.
	const downloads = 4
	var wg sync.WaitGroup
	results := make(chan error, downloads)
	started := make(chan struct{}, downloads)
	for i := 0; i < downloads; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := http.Get(a.url + "/objects/public/big.bin")
			if err != nil {
				results <- err
				return
			}
			defer res.Body.Close()
			started <- struct{}{}
			n, buf := 0, make([]byte, 64<<10)
			for {
				m, err := res.Body.Read(buf)
				n += m
				if err == io.EOF {
					break
				}
				if err != nil {
					results <- err
					return
				}
				time.Sleep(10 * time.Millisecond) // about 6 MiB/s: the download outlasts the drain delay
			}
			if n != len(big) {
				results <- fmt.Errorf("downloaded %d of %d bytes", n, len(big))
				return
			}
			results <- nil
		}()
	}
	for i := 0; i < downloads; i++ {
		<-started
	}
	sent := time.Now()
	require.NoError(t, a.cmd.Process.Signal(syscall.SIGTERM))
	eventually(t, 2*time.Second, "readiness turns 503 while draining", func() bool {
		c, _, _ := a.do("GET", "/readyz", nil)
		return c == http.StatusServiceUnavailable
	})
	wg.Wait()
	close(results)
	for err := range results {
		require.NoError(t, err, "in-flight downloads complete")
	}
	select {
	case <-a.done:
	case <-time.After(10 * time.Second):
		t.Fatal("no exit within SHUTDOWN_TIMEOUT")
	}
	require.Equal(t, 0, a.exit)
	require.Less(t, time.Since(sent), 10*time.Second)
}

// TestConcurrentAddsAnswerTheSavedCart: two tabs adding to one cart at once.
// When an add is replayed on the cart another tab saved meanwhile, its
// answer is the cart as stored, the other tab's item included: every add
// of one item answers a different total, and the last is the final cart.
func TestConcurrentAddsAnswerTheSavedCart(t *testing.T) {
	a := startApp(t, "COINGECKO_BASE_URL="+closedURL(t))
	code, _, body := a.do("POST", "/api/cart/items", map[string]any{"product_id": "mug", "quantity": 1})
	require.Equal(t, http.StatusOK, code, "%s", body)
	const tabs, adds = 2, 100
	var mu sync.Mutex
	answered := map[int]int{} // lamp total in an answer → answers
	var wg sync.WaitGroup
	for range tabs {
		wg.Go(func() {
			for range adds {
				code, _, body := a.do("POST", "/api/cart/items", map[string]any{"product_id": "lamp", "quantity": 1})
				var c cartJSON
				if !assert.Equal(t, http.StatusOK, code, "%s", body) || !assert.NoError(t, json.Unmarshal(body, &c)) {
					continue
				}
				mu.Lock()
				answered[quantity(c, "lamp")]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	_, c := a.cart()
	require.Equal(t, tabs*adds, quantity(c, "lamp"), "every acknowledged add counts")
	for total, n := range answered {
		assert.Equal(t, 1, n, "%d answers said %d lamps: an answer showed a cart that was never stored", n, total)
	}
	require.Len(t, answered, tabs*adds)
}

// TestStorefrontPricesLiveWithoutUSDInRatesCurrencies: the catalog is priced
// in US dollars, so the storefront converts with the coin/usd rates. With
// RATES_CURRENCIES=eur,gbp (check-config passes it) and a healthy upstream,
// those rates must still be fetched: the page says "live" and prices the
// lamp at the upstream's bitcoin rate, not at the static table's.
func TestStorefrontPricesLiveWithoutUSDInRatesCurrencies(t *testing.T) {
	up := newUpstream(t)
	a := startApp(t, "COINGECKO_BASE_URL="+up.URL(), "RATES_CURRENCIES=eur,gbp")
	eventually(t, 10*time.Second, "the storefront shows live prices", func() bool {
		_, _, body := a.do("GET", "/", nil)
		return strings.Contains(string(body), `id="rates-status">live<`)
	})
	code, _, body := a.do("GET", "/api/products", nil)
	require.Equal(t, http.StatusOK, code)
	var got struct {
		Products []struct {
			ID     string             `json:"id"`
			Prices map[string]float64 `json:"prices"`
		} `json:"products"`
	}
	require.NoError(t, json.Unmarshal(body, &got), "%s", body)
	require.Equal(t, "lamp", got.Products[0].ID)
	require.InEpsilon(t, 89.0/60000, got.Products[0].Prices["bitcoin"], 1e-9, "priced at the upstream's bitcoin/usd")
}
