package cdncache

import (
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMiddlewareOverFileServer applies the policy to http.FileServer.
func TestMiddlewareOverFileServer(t *testing.T) {
	h := New(Config{BrowserMaxAge: time.Hour, Tags: func(k string) []string { return []string{"fs"} }})
	srv := serve(t, h.Middleware(http.FileServer(http.Dir(fixtureDir(t)))))
	c := client(t)

	resp, body := do(t, c, "GET", srv.URL+"/clip.mp4", nil)
	require.Equal(t, 200, resp.StatusCode)
	assert.Len(t, body, 3000, "sendfile path still delivers the body")
	assert.Equal(t, "public, max-age=3600, stale-if-error=86400", resp.Header.Get("Cache-Control"))
	assert.Equal(t, "public, max-age=604800, stale-if-error=86400", resp.Header.Get("CDN-Cache-Control"))
	assert.Equal(t, "Accept-Encoding", resp.Header.Get("Vary"))
	assert.Equal(t, "fs", resp.Header.Get("Surrogate-Key"))

	// A 304 from FileServer (If-Modified-Since) gets the same policy by extension.
	resp, _ = do(t, c, "GET", srv.URL+"/clip.mp4", map[string]string{"If-Modified-Since": resp.Header.Get("Last-Modified")})
	require.Equal(t, 304, resp.StatusCode)
	assert.Equal(t, "public, max-age=3600, stale-if-error=86400", resp.Header.Get("Cache-Control"))
	assert.Equal(t, "Accept-Encoding", resp.Header.Get("Vary"))

	// A 206 from FileServer.
	resp, body = do(t, c, "GET", srv.URL+"/a.txt", map[string]string{"Range": "bytes=0-1"})
	require.Equal(t, 206, resp.StatusCode)
	assert.Equal(t, "01", body)
	assert.Equal(t, "public, max-age=300", resp.Header.Get("Cache-Control"))

	resp, _ = do(t, c, "GET", srv.URL+"/missing", nil)
	assert.Equal(t, 404, resp.StatusCode)
	assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
	assert.Empty(t, resp.Header.Get("Surrogate-Key"))
	assert.Equal(t, "Accept-Encoding", resp.Header.Get("Vary"))

	st := h.Stats()
	assert.Equal(t, uint64(1), st.OK)
	assert.Equal(t, uint64(1), st.NotModified)
	assert.Equal(t, uint64(1), st.PartialContent)
	assert.Equal(t, uint64(1), st.ClientErrors)
	assert.Equal(t, int64(3002), st.BytesSent-int64(len("404 page not found\n")))
}

// TestMiddlewareRules checks each rule against a handler that misbehaves.
func TestMiddlewareRules(t *testing.T) {
	type hdrs = map[string]string
	cases := []struct {
		name      string
		cfg       Config
		status    int
		set       hdrs // headers the handler sets
		path      string
		wantCC    string
		wantCDN   string
		wantVary  string
		writeBody bool
	}{
		{name: "handler's own Cache-Control is kept", status: 200, set: hdrs{"Cache-Control": "public, max-age=5"}, path: "/x.png", wantCC: "public, max-age=5"},
		{name: "type from Content-Type when the path has no extension", status: 200, set: hdrs{"Content-Type": "application/pdf"}, path: "/api/report", wantCC: "public, max-age=43200"},
		{name: "implicit 200 from Write gets the policy", status: 0, path: "/x.css", wantCC: "public, max-age=86400, stale-while-revalidate=8640", writeBody: true},
		{name: "500 with a public Cache-Control becomes no-store", status: 500, set: hdrs{"Cache-Control": "public, max-age=86400"}, path: "/x.css", wantCC: "no-store"},
		{name: "403 is no-store", status: 403, path: "/x.png", wantCC: "no-store"},
		{name: "404 short policy", cfg: Config{NotFoundMaxAge: time.Minute}, status: 404, path: "/x", wantCC: "max-age=60"},
		{name: "cookie makes a public response private", status: 200, set: hdrs{"Set-Cookie": "a=b", "Cache-Control": "public, max-age=99"}, path: "/x.png", wantCC: "private, no-store"},
		{name: "cookie drops targeted fields", cfg: Config{BrowserMaxAge: time.Minute}, status: 200, set: hdrs{"Set-Cookie": "a=b", "Surrogate-Control": "max-age=60", "Cloudflare-CDN-Cache-Control": "max-age=60"}, path: "/x.png", wantCC: "private, no-store"},
		{name: "cookie on an error", status: 500, set: hdrs{"Set-Cookie": "a=b"}, path: "/x.png", wantCC: "private, no-store"},
		{name: "cookie in private mode", cfg: Config{Private: true}, status: 200, set: hdrs{"Set-Cookie": "a=b"}, path: "/x.png", wantCC: "private, no-store"},
		{name: "private mode overrides public", cfg: Config{Private: true}, status: 200, set: hdrs{"Cache-Control": "public, max-age=99"}, path: "/x.png", wantCC: "private, no-cache", wantCDN: "no-store"},
		{name: "private mode error", cfg: Config{Private: true}, status: 404, path: "/x.png", wantCC: "no-store", wantCDN: "no-store"},
		{name: "redirect left alone", status: 302, set: hdrs{"Location": "/y"}, path: "/x", wantCC: ""},
		{name: "existing Vary is extended", status: 200, set: hdrs{"Vary": "Origin"}, path: "/x.txt", wantCC: "public, max-age=300", wantVary: "Origin, Accept-Encoding"},
		{name: "Vary * is kept", status: 200, set: hdrs{"Vary": "*"}, path: "/x.txt", wantCC: "public, max-age=300", wantVary: "*"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := New(tc.cfg)
			next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tc.set {
					w.Header().Set(k, v)
				}
				if tc.status != 0 {
					w.WriteHeader(tc.status)
				}
				if tc.writeBody {
					_, _ = w.Write([]byte("body"))
				}
			})
			srv := serve(t, h.Middleware(next))
			resp, _ := do(t, client(t), "GET", srv.URL+tc.path, nil)
			want := tc.status
			if want == 0 {
				want = 200
			}
			require.Equal(t, want, resp.StatusCode)
			assert.Equal(t, tc.wantCC, resp.Header.Get("Cache-Control"))
			assert.Equal(t, tc.wantCDN, resp.Header.Get("CDN-Cache-Control"))
			if _, cookie := tc.set["Set-Cookie"]; cookie {
				assert.Empty(t, resp.Header.Get("Surrogate-Control"))
				assert.Empty(t, resp.Header.Get("Cloudflare-CDN-Cache-Control"))
			}
			vary := tc.wantVary
			if vary == "" {
				vary = "Accept-Encoding"
			}
			assert.Equal(t, vary, joinHeader(resp.Header.Values("Vary")))
		})
	}
}

func joinHeader(vs []string) string {
	out := ""
	for i, v := range vs {
		if i > 0 {
			out += ", "
		}
		out += v
	}
	return out
}

// TestMiddlewareFlush: a streaming handler can still flush.
func TestMiddlewareFlush(t *testing.T) {
	h := New(Config{})
	srv := serve(t, h.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("a"))
		w.(http.Flusher).Flush()
		assert.NoError(t, http.NewResponseController(w).Flush())
		_, _ = w.Write([]byte("b"))
	})))
	resp, body := do(t, client(t), "GET", srv.URL+"/s.txt", nil)
	assert.Equal(t, "ab", body)
	assert.Equal(t, "public, max-age=300", resp.Header.Get("Cache-Control"))
}

// TestStats counts each kind of response.
func TestStats(t *testing.T) {
	h := settled(New(Config{}, Dir(fixtureDir(t))))
	t.Cleanup(func() { h.Close() })
	srv := serve(t, h)
	c := client(t)
	E := contentETag(fixtureText)
	do(t, c, "GET", srv.URL+"/a.txt", nil)                                     // 200, 100 bytes, miss
	do(t, c, "GET", srv.URL+"/a.txt", map[string]string{"If-None-Match": E})   // 304, saves 100, hit
	do(t, c, "GET", srv.URL+"/a.txt", map[string]string{"Range": "bytes=0-9"}) // 206, 10 bytes, hit
	do(t, c, "GET", srv.URL+"/a.txt", map[string]string{"Range": "bytes=-0"})  // 416, hit
	do(t, c, "GET", srv.URL+"/nope", nil)                                      // 404
	do(t, c, "HEAD", srv.URL+"/a.txt", nil)                                    // 200, 0 bytes, hit
	st := h.Stats()
	assert.Equal(t, uint64(2), st.OK)
	assert.Equal(t, uint64(1), st.NotModified)
	assert.Equal(t, uint64(1), st.PartialContent)
	assert.Equal(t, uint64(2), st.ClientErrors)
	assert.Equal(t, uint64(0), st.ServerErrors)
	assert.Equal(t, int64(100+10+len("Requested Range Not Satisfiable\n")+len("Not Found\n")), st.BytesSent)
	assert.Equal(t, int64(100), st.BytesSaved)
	assert.Equal(t, uint64(1), st.ETagMisses)
	assert.Equal(t, uint64(4), st.ETagHits)
}

// TestMiddlewarePolicyFollowsTheCleanedPath is the regression test for
// issue 12 item 7: spellings of a private path that http.FileServer cleans
// into it were served with the public policy.
func TestMiddlewarePolicyFollowsTheCleanedPath(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"private/report.txt": "secret figures", "public/note.txt": "hello"})
	h := New(Config{Prefixes: map[string]Policy{"private/": {NoStore: true}}})
	srv := serve(t, h.Middleware(http.FileServer(http.Dir(dir))))
	c := client(t)
	cases := []struct {
		path     string
		wantCC   string
		wantBody string
	}{
		{"/private/report.txt", "no-store", "secret figures"},
		{"//private/report.txt", "no-store", "secret figures"},
		{"/./private/report.txt", "no-store", "secret figures"},
		{"/public/../private/report.txt", "no-store", "secret figures"},
		{"/public/%2e%2e/private/report.txt", "no-store", "secret figures"},
		{"/public/%2E%2E/private/report.txt", "no-store", "secret figures"},
		{"/public/..%2fprivate/report.txt", "no-store", "secret figures"},
		{"/private//report.txt", "no-store", "secret figures"},
		{"/%70rivate/report.txt", "no-store", "secret figures"},
		{"/public/note.txt", "public, max-age=300", "hello"},
		{"/private/../public/note.txt", "public, max-age=300", "hello"},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			req, err := http.NewRequest("GET", srv.URL, nil)
			require.NoError(t, err)
			req.URL.Opaque = "//" + req.URL.Host + tc.path // absolute form, path sent as written
			resp, err := c.Do(req)
			require.NoError(t, err)
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Equal(t, tc.wantBody, string(body), "the file server serves this file")
			assert.Equal(t, tc.wantCC, resp.Header.Get("Cache-Control"))
		})
	}
	// A directory keeps its trailing slash: its listing takes the prefix's policy.
	resp, _ := do(t, c, "GET", srv.URL+"/private/", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
}

func TestPolicyKey(t *testing.T) {
	for in, want := range map[string]string{
		"/": "", "": "", "/a": "a", "a": "a", "//a//b": "a/b", "/a/": "a/", "/a/../": "", "/../../a": "a", "/a/./b/": "a/b/",
	} {
		assert.Equal(t, want, policyKey(in), in)
	}
}

// TestMiddlewareDropsEveryTargetedField: an error, and any response in
// private mode, keeps no field that tells a CDN to store it, whichever CDN
// it names (RFC 9213 targeted fields such as Cloudflare-CDN-Cache-Control,
// Surrogate-Control) nor a purge tag, whatever the handler set.
func TestMiddlewareDropsEveryTargetedField(t *testing.T) {
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cloudflare-CDN-Cache-Control", "max-age=86400")
		w.Header().Set("Surrogate-Control", "max-age=86400")
		w.Header().Set("Cache-Tag", "account")
		if r.URL.Path == "/fail" {
			http.Error(w, "database down", http.StatusInternalServerError)
			return
		}
		_, _ = w.Write([]byte("account page"))
	})
	for _, tc := range []struct {
		name, path string
		cfg        Config
		status     int
	}{
		{"error, public mode", "/fail", Config{}, 500},
		{"200, private mode", "/ok", Config{Private: true}, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := New(tc.cfg)
			t.Cleanup(func() { h.Close() })
			resp, _ := do(t, client(t), "GET", serve(t, h.Middleware(inner)).URL+tc.path, nil)
			require.Equal(t, tc.status, resp.StatusCode)
			for _, k := range []string{"Cloudflare-CDN-Cache-Control", "Surrogate-Control", "Cache-Tag"} {
				assert.Empty(t, resp.Header.Values(k), k)
			}
			assert.NotContains(t, resp.Header.Get("Cache-Control"), "public")
		})
	}
}
