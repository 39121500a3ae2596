package seamtest

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/dedw3n/hardening/cdncache"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// purgeTagFields are the tag fields cdncache sends in these tests
// (TagHeader: the default, Cloudflare's, and a name of the user's own).
var purgeTagFields = []string{"Surrogate-Key", "Cache-Tag", "X-Purge-Key"}

// assertNotSharedStorable fails when a response that sets a cookie could be
// stored by a shared cache, or still carries purge tags.
func assertNotSharedStorable(t *testing.T, what string, h http.Header) {
	t.Helper()
	if storable, why := sharedStorable(h); storable {
		t.Errorf("%s: sets a cookie and a shared cache may store it (%s)", what, why)
	}
	d, err := parseCacheControl(h.Get("Cache-Control"))
	if assert.NoError(t, err, what) {
		_, private := d["private"]
		_, noStore := d["no-store"]
		assert.True(t, private && noStore, "%s: Cache-Control %q", what, h.Get("Cache-Control"))
	}
	for _, k := range purgeTagFields {
		assert.Empty(t, h.Values(k), "%s: purge tag %s", what, k)
	}
}

// TestTouchedSessionOverCDNMiddlewareIsNotStorable is the regression test
// for issue 12 item 1 as observed: sessions.Middleware(cdn.Middleware(
// http.FileServer)) with BrowserMaxAge and Tags, after 3 h idle (a touch),
// answered a static file with Set-Cookie beside a public CDN-Cache-Control
// and a Surrogate-Key.
func TestTouchedSessionOverCDNMiddlewareIsNotStorable(t *testing.T) {
	clk := newClock()
	sessions := newSessions(t, clk)
	dir := staticDir(t)
	cdn := cdncache.New(cdncache.Config{BrowserMaxAge: time.Hour, Tags: func(string) []string { return []string{"static"} }})
	srv := serve(t, sessions.Middleware(withAction(t, cdn.Middleware(http.FileServer(http.Dir(dir))))))
	c := newClient(t)

	cookie := sessionCookie(t, get(t, c, "GET", srv.URL+"/a.txt", "", "put", nil))
	clk.Advance(3 * time.Hour)
	resp := get(t, c, "GET", srv.URL+"/a.txt", cookie, "", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NotEmpty(t, resp.Header.Values("Set-Cookie"), "the touch reissues the cookie")
	assertNotSharedStorable(t, "touched", resp.Header)
}

// request is one kind of request for a static object.
type request struct {
	name   string
	method string
	path   string
	hdr    map[string]string
}

var requests = []request{
	{"200", "GET", "/a.txt", nil},
	{"gzip", "GET", "/a.txt", map[string]string{"Accept-Encoding": "gzip"}},
	{"206", "GET", "/a.txt", map[string]string{"Range": "bytes=0-9"}},
	{"304", "GET", "/logo.svg", map[string]string{"If-None-Match": "*", "If-Modified-Since": "Mon, 01 Jan 2000 00:00:00 GMT"}},
	{"HEAD", "HEAD", "/logo.svg", nil},
	{"404", "GET", "/missing.txt", nil},
}

// sessionStep is what a request does to the session of its client.
type sessionStep struct {
	name     string
	existing bool          // the client has a live session
	idle     time.Duration // time since its last write, before the request
	act      string        // withAction's X-Act
	cookie   bool          // the response must set a cookie
}

var sessionSteps = []sessionStep{
	{name: "new visitor reads", act: "", cookie: false},
	{name: "new session", act: "put", cookie: true},
	{name: "read", existing: true, act: "", cookie: false},
	{name: "touch", existing: true, idle: 3 * time.Hour, act: "", cookie: true},
	{name: "change", existing: true, act: "put", cookie: true},
	{name: "renew", existing: true, act: "renew", cookie: true},
	{name: "login", existing: true, idle: 3 * time.Hour, act: "login", cookie: true},
	{name: "destroy", existing: true, act: "destroy", cookie: true},
}

// TestNoResponseSettingACookieIsSharedStorable is the property of issue 12
// item 1: for every composition of sessionstore and cdncache, every caching
// option that adds a cache field (BrowserMaxAge's CDN split, Tags under
// either header, Private), every session step (new, touch, change, renew,
// login, destroy) and every kind of response (200, compressed, 206, 304,
// HEAD, 404), a response that sets a cookie is not storable by any shared
// cache (RFC 9111 Cache-Control, RFC 9213 targeted fields) and carries no
// purge tag.
func TestNoResponseSettingACookieIsSharedStorable(t *testing.T) {
	dir := staticDir(t)
	tags := func(string) []string { return []string{"static", "v1"} }
	var configs []cdncache.Config
	for _, browser := range []time.Duration{0, time.Minute} {
		for _, tagHeader := range []string{"none", "", "Cache-Tag", "X-Purge-Key"} {
			for _, private := range []bool{false, true} {
				cfg := cdncache.Config{BrowserMaxAge: browser, Private: private, NotFoundMaxAge: time.Minute}
				if tagHeader != "none" {
					cfg.Tags, cfg.TagHeader = tags, tagHeader
				}
				configs = append(configs, cfg)
			}
		}
	}
	withCookie := map[string]int{}
	for _, comp := range compositions {
		for _, cfg := range configs {
			name := fmt.Sprintf("%s/browser=%v,tags=%q/%v,private=%v", comp.name, cfg.BrowserMaxAge, cfg.TagHeader, cfg.Tags != nil, cfg.Private)
			t.Run(name, func(t *testing.T) {
				clk := newClock()
				sessions := newSessions(t, clk)
				cdn := cdncache.New(cfg, cdncache.Dir(dir))
				t.Cleanup(func() { cdn.Close() })
				srv := serve(t, comp.build(sessions, cdn, http.FileServer(http.Dir(dir)), func(h http.Handler) http.Handler { return withAction(t, h) }))
				c := newClient(t)
				for _, step := range sessionSteps {
					for _, rq := range requests {
						what := step.name + " " + rq.name
						cookie := ""
						if step.existing {
							cookie = sessionCookie(t, get(t, c, "GET", srv.URL+"/logo.svg", "", "put", nil))
							clk.Advance(step.idle)
						}
						resp := get(t, c, rq.method, srv.URL+rq.path, cookie, step.act, rq.hdr)
						_, sets := resp.Header["Set-Cookie"]
						assert.Equal(t, step.cookie, sets, "%s: status %d, %d Set-Cookie", what, resp.StatusCode, len(resp.Header.Values("Set-Cookie")))
						if sets {
							withCookie[step.name]++
							assertNotSharedStorable(t, what+fmt.Sprintf(" (%d)", resp.StatusCode), resp.Header)
						}
					}
				}
			})
		}
	}
	for _, step := range sessionSteps {
		if step.cookie {
			assert.Positive(t, withCookie[step.name], "no response of step %q set a cookie: the test checked nothing", step.name)
		}
	}
}

// TestNonCanonicalSetCookieKeyIsSeen: a handler that writes its header map
// directly (w.Header()["set-cookie"]) still sends the cookie, as written;
// the response is private, no-store all the same.
func TestNonCanonicalSetCookieKeyIsSeen(t *testing.T) {
	cdn := cdncache.New(cdncache.Config{BrowserMaxAge: time.Minute})
	t.Cleanup(func() { cdn.Close() })
	srv := serve(t, cdn.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["set-cookie"] = []string{"sid=abc; Path=/; HttpOnly"}
		w.Header().Set("Content-Type", "text/css")
		_, _ = w.Write([]byte("body{}"))
	})))
	resp := get(t, newClient(t), "GET", srv.URL+"/app.css", "", "", nil)
	require.NotEmpty(t, resp.Header.Values("Set-Cookie"))
	assertNotSharedStorable(t, "lower-case set-cookie", resp.Header)
}
