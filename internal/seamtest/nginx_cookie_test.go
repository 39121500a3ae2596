package seamtest

import (
	"net/http"
	"testing"
	"time"

	"github.com/dedw3n/hardening/cdncache"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestNginxNeverHandsOneVisitorsCookieToAnother puts a real shared cache,
// nginx's proxy_cache, in front of sessionstore and cdncache composed in
// both orders, with BrowserMaxAge and purge tags: a visitor whose session
// is touched, renewed or created gets a cookie, and a second client asking
// for the same object through the same cache never receives it. A public
// object without a cookie is cached (a HIT), so the cache is really on.
func TestNginxNeverHandsOneVisitorsCookieToAnother(t *testing.T) {
	dir := staticDir(t)
	for _, comp := range compositions {
		t.Run(comp.name, func(t *testing.T) {
			clk := newClock()
			sessions := newSessions(t, clk)
			cdn := cdncache.New(cdncache.Config{BrowserMaxAge: time.Minute, Tags: func(string) []string { return []string{"static"} }}, cdncache.Dir(dir))
			t.Cleanup(func() { cdn.Close() })
			origin := serve(t, comp.build(sessions, cdn, http.FileServer(http.Dir(dir)), func(h http.Handler) http.Handler { return withAction(t, h) }))
			ngx := startFronts(t, origin.URL)
			c := newClient(t)

			for _, front := range []string{ngx.stock, ngx.cdn} {
				// The cache works: a response without a cookie is stored.
				get(t, c, "GET", front+"/logo.svg", "", "", nil)
				resp := get(t, c, "GET", front+"/logo.svg", "", "", nil)
				assert.Equal(t, "HIT", resp.Header.Get("X-Cache-Status"), front)
			}
			cases := []struct {
				name string
				path string // each case asks for an object of its own, so that nothing was cached before
				act  string
				idle time.Duration
			}{
				{"new session", "/a.txt?n=1", "put", 0},
				{"touch", "/a.txt?n=2", "", 3 * time.Hour},
				{"renew", "/a.txt?n=3", "renew", 0},
			}
			for _, front := range []string{ngx.stock, ngx.cdn} {
				for _, tc := range cases {
					cookie := sessionCookie(t, get(t, c, "GET", origin.URL+"/logo.svg", "", "put", nil))
					clk.Advance(tc.idle)
					first := get(t, c, "GET", front+tc.path, cookie, tc.act, nil)
					require.Equal(t, http.StatusOK, first.StatusCode)
					given := first.Header.Values("Set-Cookie")
					require.NotEmpty(t, given, "%s %s: the first visitor gets a cookie", front, tc.name)

					second := get(t, c, "GET", front+tc.path, "", "", nil)
					if n := len(second.Header.Values("Set-Cookie")); n > 0 { // never print a cookie's value
						t.Errorf("%s %s: the second visitor got %d cookie(s) (cache %s)", front, tc.name, n, second.Header.Get("X-Cache-Status"))
					}
					assert.NotEqual(t, "HIT", second.Header.Get("X-Cache-Status"), "%s %s", front, tc.name)
				}
			}
		})
	}
}
