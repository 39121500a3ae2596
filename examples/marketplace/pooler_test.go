package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dedw3n/hardening/internal/pgtest"
)

// The marketplace behind PgBouncer in transaction mode (DB_POOLER says so:
// 127.0.0.1 is no host name auto recognises): 12 clients mixing cart reads
// and adds all get 200, and every acknowledged add is in the cart.
func TestBehindPgBouncer(t *testing.T) {
	a := startApp(t,
		"DATABASE_URL="+pgtest.PooledDB(t),
		"DB_POOLER=transaction",
		"COINGECKO_BASE_URL="+closedURL(t),
		"DB_HEALTH_INTERVAL=200ms",
		"SESSION_PRUNE_INTERVAL=1s",
	)
	eventually(t, 20*time.Second, "ready", func() bool { c, _, _ := a.do("GET", "/readyz", nil); return c == 200 })

	const clients, rounds = 12, 50
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []string
	for c := range clients {
		wg.Go(func() {
			jar, _ := cookiejar.New(nil)
			hc := &http.Client{Jar: jar, Timeout: 10 * time.Second}
			added := 0
			for i := range rounds {
				var code int
				var body []byte
				if i%2 == 0 {
					code, body = send(hc, "POST", a.url+"/api/cart/items", map[string]any{"product_id": "mug", "quantity": 1})
					if code == 200 {
						added++
					}
				} else {
					code, body = send(hc, "GET", a.url+"/api/cart", nil)
				}
				if code != 200 {
					mu.Lock()
					failures = append(failures, fmt.Sprintf("client %d request %d: %d %s", c, i, code, body))
					mu.Unlock()
				}
			}
			code, body := send(hc, "GET", a.url+"/api/cart", nil)
			var cart struct {
				Items []struct {
					ProductID string `json:"product_id"`
					Quantity  int    `json:"quantity"`
				} `json:"items"`
			}
			if code != 200 || json.Unmarshal(body, &cart) != nil || len(cart.Items) != 1 || cart.Items[0].Quantity != added {
				mu.Lock()
				failures = append(failures, fmt.Sprintf("client %d: %d acknowledged adds, cart %d %s", c, added, code, body))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	assert.Empty(t, failures, "every request answered 200, every acknowledged add stored")
	assert.NotContains(t, a.out.String(), "42P05", "no prepared statement clash")
}

func send(hc *http.Client, method, url string, body any) (int, []byte) {
	var r io.Reader
	if body != nil {
		j, _ := json.Marshal(body)
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, url, r)
	if err != nil {
		return 0, []byte(err.Error())
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := hc.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

// A database that already holds scs's sessions table and another
// program's cryptorates_snapshot: readiness says so in plain words and
// names SESSION_TABLE and RATES_TABLE; with them set, it works.
func TestSessionsTableOfAnotherLibrary(t *testing.T) {
	url := pgtest.DB(t)
	conn, err := pgx.Connect(t.Context(), url)
	require.NoError(t, err)
	_, err = conn.Exec(t.Context(), pgtest.SCSTable+"; CREATE TABLE cryptorates_snapshot (id serial PRIMARY KEY, payload text)")
	require.NoError(t, err)
	require.NoError(t, conn.Close(t.Context()))

	env := []string{"DATABASE_URL=" + url, "COINGECKO_BASE_URL=" + closedURL(t)}
	a := startApp(t, env...)
	eventually(t, 20*time.Second, "readiness names the table", func() bool {
		c, _, body := a.do("GET", "/readyz", nil)
		return c == http.StatusServiceUnavailable && bytes.Contains(body, []byte("SESSION_TABLE"))
	})
	_, _, body := a.do("GET", "/readyz", nil)
	assert.Contains(t, string(body), "scs")
	assert.Contains(t, string(body), "RATES_TABLE")
	assert.Contains(t, a.out.String(), "token, data, expiry")
	a.stop()

	b := startApp(t, append(env, "SESSION_TABLE=shop_sessions", "RATES_TABLE=shop_rates")...)
	eventually(t, 20*time.Second, "ready with another table", func() bool { c, _, _ := b.do("GET", "/readyz", nil); return c == 200 })
}
