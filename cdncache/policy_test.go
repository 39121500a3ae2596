package cdncache

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDefaultPolicies checks the seed's policies by content type.
func TestDefaultPolicies(t *testing.T) {
	h := New(Config{}, Dir(fixtureDir(t)))
	t.Cleanup(func() { h.Close() })
	srv := serve(t, h)
	c := client(t)
	cases := map[string]string{
		"/img.png":         "public, max-age=86400, stale-while-revalidate=8640",
		"/clip.mp4":        "public, max-age=604800, stale-if-error=86400",
		"/font.woff2":      "public, max-age=2592000, immutable",
		"/plain.css":       "public, max-age=86400, stale-while-revalidate=8640",
		"/app.js":          "public, max-age=86400, stale-while-revalidate=8640",
		"/doc.pdf":         "public, max-age=43200",
		"/a.txt":           "public, max-age=300",
		"/noext":           "public, max-age=300",
		"/sub/deep/f.json": "public, max-age=300",
		"/app.3f2a9c1b.js": "public, max-age=31536000, immutable",
		"/avatars/u1.png":  "public, max-age=86400, stale-while-revalidate=8640",
	}
	for path, want := range cases {
		resp, _ := do(t, c, "GET", srv.URL+path, nil)
		require.Equal(t, 200, resp.StatusCode, path)
		assert.Equal(t, want, resp.Header.Get("Cache-Control"), path)
		assert.Empty(t, resp.Header.Get("CDN-Cache-Control"), path)
		assert.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"))
	}
	// A 304 carries the same policy as the 200 (RFC 9110 §15.4.5).
	resp, _ := do(t, c, "GET", srv.URL+"/clip.mp4", nil)
	resp304, _ := do(t, c, "GET", srv.URL+"/clip.mp4", map[string]string{"If-None-Match": resp.Header.Get("ETag")})
	assert.Equal(t, 304, resp304.StatusCode)
	assert.Equal(t, resp.Header.Get("Cache-Control"), resp304.Header.Get("Cache-Control"))
}

// TestConfiguredPolicies: Types, Prefixes, CDN-Cache-Control, tags and 404s.
func TestConfiguredPolicies(t *testing.T) {
	h := New(Config{
		Types: map[string]Policy{
			"Text/Plain": {MaxAge: time.Minute},
			"image/png":  {MaxAge: 2 * time.Hour, StaleWhileRevalidate: time.Minute},
			"*/*":        {NoStore: true},
		},
		Prefixes: map[string]Policy{
			"/avatars/": {MaxAge: 10 * time.Minute},
			"sub/":      {},
			"sub/deep/": {MaxAge: time.Hour, Immutable: true},
		},
		BrowserMaxAge:  30 * time.Minute,
		Tags:           func(key string) []string { return []string{"obj", "key:" + key, "bad tag", "", "a,b"} },
		TagHeader:      "cache-tag",
		NotFoundMaxAge: 15 * time.Second,
	}, Dir(fixtureDir(t)))
	t.Cleanup(func() { h.Close() })
	srv := serve(t, h)
	c := client(t)
	cases := []struct{ path, cc, cdn string }{
		{"/a.txt", "public, max-age=60", "public, max-age=60"},
		{"/img.png", "public, max-age=1800, stale-while-revalidate=60", "public, max-age=7200, stale-while-revalidate=60"},
		{"/clip.mp4", "public, max-age=1800, stale-if-error=86400", "public, max-age=604800, stale-if-error=86400"},
		{"/font.woff2", "public, max-age=2592000, immutable", "public, max-age=2592000, immutable"},
		{"/noext", "public, max-age=60", "public, max-age=60"}, // sniffed text/plain
		{"/doc.pdf", "public, max-age=1800", "public, max-age=43200"},
		{"/app.3f2a9c1b.js", "public, max-age=31536000, immutable", "public, max-age=31536000, immutable"},
		{"/avatars/u1.png", "public, max-age=600", "public, max-age=600"},
		{"/sub/nested.txt", "public, no-cache", "public, no-cache"},
		{"/sub/deep/f.json", "public, max-age=3600, immutable", "public, max-age=3600, immutable"},
		{"/sub/index.html", "public, no-cache", "public, no-cache"},
		{"/plain.css", "public, max-age=1800, stale-while-revalidate=8640", "public, max-age=86400, stale-while-revalidate=8640"},
	}
	for _, tc := range cases {
		resp, _ := do(t, c, "GET", srv.URL+tc.path, nil)
		require.Equal(t, 200, resp.StatusCode, tc.path)
		assert.Equal(t, tc.cc, resp.Header.Get("Cache-Control"), tc.path)
		assert.Equal(t, tc.cdn, resp.Header.Get("CDN-Cache-Control"), tc.path)
		key := strings.TrimPrefix(tc.path, "/")
		assert.Equal(t, "obj, key:"+key, resp.Header.Get("Cache-Tag"), tc.path)
	}
	resp, _ := do(t, c, "GET", srv.URL+"/missing", nil)
	assert.Equal(t, 404, resp.StatusCode)
	assert.Equal(t, "max-age=15", resp.Header.Get("Cache-Control"), "short, not public")
	assert.Empty(t, resp.Header.Get("Cache-Tag"))
	resp, _ = do(t, c, "GET", srv.URL+"/a.txt", map[string]string{"Range": "bytes=-0"})
	assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"), "416 is no-store")
	assert.Empty(t, resp.Header.Get("Cache-Tag"))
}

// TestSurrogateKey: the default tag header is space separated.
func TestSurrogateKey(t *testing.T) {
	h := New(Config{Tags: func(string) []string { return []string{"static", "v2"} }}, FS(staticFS(t)))
	resp, _ := do(t, client(t), "GET", serve(t, h).URL+"/hello.txt", nil)
	assert.Equal(t, "static v2", resp.Header.Get("Surrogate-Key"))
}

// TestPrivateMode: nothing is ever public or storable by a shared cache.
func TestPrivateMode(t *testing.T) {
	h := New(Config{
		Private:       true,
		Types:         map[string]Policy{"*/*": {MaxAge: time.Hour}},
		Prefixes:      map[string]Policy{"": {MaxAge: time.Hour}},
		BrowserMaxAge: time.Minute,
		Tags:          func(string) []string { return []string{"t"} },
	}, Dir(fixtureDir(t)))
	t.Cleanup(func() { h.Close() })
	srv := serve(t, h)
	c := client(t)
	type hdrs = map[string]string
	reqs := []struct {
		path   string
		hdr    hdrs
		status int
	}{
		{"/a.txt", nil, 200},
		{"/app.3f2a9c1b.js", nil, 200},
		{"/font.woff2", nil, 200},
		{"/a.txt", hdrs{"Range": "bytes=0-1"}, 206},
		{"/a.txt", hdrs{"If-None-Match": contentETag(fixtureText)}, 304},
		{"/plain.css", hdrs{"Accept-Encoding": "gzip"}, 200},
		{"/missing", nil, 404},
		{"/a.txt", hdrs{"Range": "bytes=500-"}, 416},
		{"/a.txt", hdrs{"If-Match": `"x"`}, 412},
	}
	for _, r := range reqs {
		resp, _ := do(t, c, "GET", srv.URL+r.path, r.hdr)
		require.Equal(t, r.status, resp.StatusCode, r.path)
		cc := resp.Header.Get("Cache-Control")
		assert.NotContains(t, cc, "public", r.path)
		assert.True(t, cc == "private, no-cache" || cc == "no-store", "%s: %q", r.path, cc)
		assert.Equal(t, "no-store", resp.Header.Get("CDN-Cache-Control"), r.path)
		assert.Empty(t, resp.Header.Get("Surrogate-Key"), r.path)
		assert.Equal(t, "Accept-Encoding", resp.Header.Get("Vary"))
	}
}

// TestCookieNeverPublic: a cookie set by an outer middleware makes the
// response private.
func TestCookieNeverPublic(t *testing.T) {
	h := New(Config{BrowserMaxAge: time.Minute, Tags: func(string) []string { return []string{"t"} }}, Dir(fixtureDir(t)))
	t.Cleanup(func() { h.Close() })
	session := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "sid", Value: "s3cr3t"})
		h.ServeHTTP(w, r)
	})
	srv := serve(t, session)
	c := client(t)
	for _, hdr := range []map[string]string{nil, {"Range": "bytes=0-1"}, {"If-None-Match": contentETag(fixtureText)}} {
		resp, _ := do(t, c, "GET", srv.URL+"/a.txt", hdr)
		assert.Equal(t, "private, no-store", resp.Header.Get("Cache-Control"))
		assert.Empty(t, resp.Header.Get("CDN-Cache-Control"))
		assert.Empty(t, resp.Header.Get("Surrogate-Key"))
		assert.NotEmpty(t, resp.Header.Get("Set-Cookie"))
	}
}

// cookieAtWriteHeader is an outer middleware that adds its cookie when the
// response header is written, as sessionstore does after a touch.
type cookieAtWriteHeader struct {
	http.ResponseWriter
	done bool
}

func (w *cookieAtWriteHeader) WriteHeader(code int) {
	if !w.done {
		w.done = true
		http.SetCookie(w, &http.Cookie{Name: "sid", Value: "s3cr3t"})
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *cookieAtWriteHeader) Write(b []byte) (int, error) {
	if !w.done {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// TestCookieSetAtWriteHeaderInsideMiddlewareNeverPublic is the regression
// test for a cookie added when the response starts, by a middleware between
// cdncache's Middleware and the file server: the policy is applied when the
// header is written, so it sees the cookie.
func TestCookieSetAtWriteHeaderInsideMiddlewareNeverPublic(t *testing.T) {
	h := New(Config{BrowserMaxAge: time.Minute, Tags: func(string) []string { return []string{"static"} }})
	fileServer := http.FileServer(http.Dir(fixtureDir(t)))
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fileServer.ServeHTTP(&cookieAtWriteHeader{ResponseWriter: w}, r)
	})
	srv := serve(t, h.Middleware(inner))
	c := client(t)
	for _, hdr := range []map[string]string{nil, {"Range": "bytes=0-1"}} {
		resp, _ := do(t, c, "GET", srv.URL+"/a.txt", hdr)
		assert.NotEmpty(t, resp.Header.Get("Set-Cookie"))
		assert.Equal(t, "private, no-store", resp.Header.Get("Cache-Control"))
		assert.Empty(t, resp.Header.Get("CDN-Cache-Control"))
		assert.Empty(t, resp.Header.Get("Surrogate-Key"))
	}
}

func TestPolicyString(t *testing.T) {
	assert.Equal(t, "public, no-cache", Policy{}.String())
	assert.Equal(t, "no-store", Policy{NoStore: true, MaxAge: time.Hour}.String())
	assert.Equal(t, "public, max-age=86400, stale-while-revalidate=8640", Policy{MaxAge: 24 * time.Hour, StaleWhileRevalidate: 8640 * time.Second}.String())
	assert.Equal(t, "public, max-age=1, stale-if-error=2, immutable", Policy{MaxAge: time.Second, StaleIfError: 2 * time.Second, Immutable: true}.String())
}

func TestFingerprinted(t *testing.T) {
	yes := []string{"app.3f2a9c1b.js", "a/b/logo-8d1e0c4fa7.svg", "main.0123456789ABCDEF.css", "3f2a9c1b.js",
		"chunk.3f2a9c1b.min.js", "font-d41d8cd98f00b204e9800998ecf8427e.woff2"}
	no := []string{"app.js", "IMG-20240101.jpg", "facebook.png", "deadbeef.png", "report-2024.pdf", "app.3f2a9c1.js",
		"Mixed3f2A9c1b.js", "x.3f2a9c1b", "3f2a9c1b", "a.3f2a9c1bAbCd.js", strings.Repeat("a1", 40) + ".js"}
	for _, k := range yes {
		assert.True(t, isFingerprinted(k), k)
	}
	for _, k := range no {
		assert.False(t, isFingerprinted(k), k)
	}
	// A custom detector replaces the default.
	h := New(Config{Fingerprinted: func(key string) bool { return strings.HasPrefix(key, "build/") }})
	assert.Equal(t, "public, max-age=31536000, immutable", h.pol.forObject("build/x.css", "text/css").cc)
	assert.Equal(t, "public, max-age=86400, stale-while-revalidate=8640", h.pol.forObject("app.3f2a9c1b.css", "text/css").cc)
}
