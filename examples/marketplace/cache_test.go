package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dedw3n/hardening/internal/pgtest"
)

// TestSessionCacheFleet runs two marketplaces with SESSION_CACHE=on on one
// database: a cart changed on A is seen on B by the same browser at once,
// by another client holding the same cookie within 100 ms, and B's reads
// are answered by its cache.
func TestSessionCacheFleet(t *testing.T) {
	env := []string{"DATABASE_URL=" + pgtest.DB(t), "SESSION_CACHE=on", "COINGECKO_BASE_URL=" + closedURL(t)}
	a := startApp(t, env...)
	b := startApp(t, env...)
	b.client.Jar = a.client.Jar // one browser, two instances behind a load balancer

	code, _, body := a.do("POST", "/api/cart/items", map[string]any{"product_id": "lamp", "quantity": 1})
	require.Equal(t, 200, code, "%s", body)
	var session *http.Cookie
	for _, c := range a.cookies() {
		if c.Value != "" && (session == nil || len(c.Value) > len(session.Value)) {
			session = c // the session cookie, not its short version companion
		}
	}
	require.NotNil(t, session)
	other := func() cartJSON { // another client: the session cookie alone
		req, _ := http.NewRequest("GET", b.url+"/api/cart", nil)
		req.AddCookie(session)
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		var c cartJSON
		require.NoError(t, json.NewDecoder(res.Body).Decode(&c))
		return c
	}
	eventually(t, 10*time.Second, "B answers from its cache", func() bool {
		other()
		_, _, m := b.do("GET", "/metrics", nil)
		return bytes.Contains(m, []byte(`hardening_sessions_cache_reads_total{result="hit"}`)) &&
			!bytes.Contains(m, []byte(`hardening_sessions_cache_reads_total{result="hit"} 0`+"\n"))
	})

	code, hdr, body := a.do("POST", "/api/cart/items", map[string]any{"product_id": "lamp", "quantity": 1})
	require.Equal(t, 200, code, "%s", body)
	changed := time.Now()
	// The change carries the session's version in a companion cookie, even
	// through the metrics adapter's wrapper around the store: that cookie is
	// what makes B's stale copy a miss for this browser.
	require.Contains(t, strings.Join(hdr.Values("Set-Cookie"), "\n"), "session_v=", "no version cookie on a change")
	_, c := b.cart()
	require.Equal(t, 2, quantity(c, "lamp"), "the browser sees its own change on B at once")
	for {
		start := time.Now()
		if quantity(other(), "lamp") == 2 {
			break
		}
		require.Less(t, start.Sub(changed), 100*time.Millisecond, "B served a stale cart too long")
	}
	require.Contains(t, b.out.String(), "read cache on")
}
