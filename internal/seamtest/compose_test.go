package seamtest

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dedw3n/hardening/cdncache"
	"github.com/dedw3n/hardening/sessionstore"
	"github.com/stretchr/testify/require"
)

// clock is a settable clock for sessionstore, so that a test reaches the
// touch interval without waiting.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// staticDir holds a.txt (text, compressible size) and logo.svg.
func staticDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.txt"), bytes.Repeat([]byte("0123456789"), 200), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "logo.svg"), []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`), 0o644))
	return dir
}

// newSessions returns a session manager over a memory store on clk.
func newSessions(t *testing.T, clk *clock) *sessionstore.Manager {
	t.Helper()
	store := sessionstore.NewMemoryStore(sessionstore.MemoryConfig{Now: clk.Now})
	t.Cleanup(func() { store.Close() })
	m, err := sessionstore.NewManager(store, sessionstore.Config{
		Secrets: [][]byte{bytes.Repeat([]byte("k"), 32)},
		Now:     clk.Now,
		Cookie:  sessionstore.CookieConfig{Insecure: true},
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	require.NoError(t, err)
	return m
}

// withAction does to the request's session what its X-Act header names;
// none does nothing (a read, or a touch once the session is old enough).
// A header, not the URL, so that a cache's key is the same for every
// visitor.
func withAction(t *testing.T, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := sessionstore.FromContext(r.Context())
		var err error
		switch r.Header.Get("X-Act") {
		case "put":
			err = s.Put("cart", []string{"x"})
		case "login":
			if err = s.SetUserID("u1"); err == nil {
				err = s.RenewToken()
			}
		case "renew":
			err = s.RenewToken()
		case "destroy":
			err = s.Destroy()
		}
		if err != nil {
			t.Errorf("session action: %v", err)
		}
		next.ServeHTTP(w, r)
	})
}

// composition is one way to stack the two packages.
type composition struct {
	name  string
	build func(sessions *sessionstore.Manager, cdn *cdncache.Handler, files http.Handler, act func(http.Handler) http.Handler) http.Handler
}

var compositions = []composition{
	{"sessions(cdn.Handler)", func(s *sessionstore.Manager, cdn *cdncache.Handler, _ http.Handler, act func(http.Handler) http.Handler) http.Handler {
		return s.Middleware(act(cdn))
	}},
	{"sessions(cdn.Middleware(FileServer))", func(s *sessionstore.Manager, cdn *cdncache.Handler, files http.Handler, act func(http.Handler) http.Handler) http.Handler {
		return s.Middleware(cdn.Middleware(act(files)))
	}},
	{"cdn.Middleware(sessions(FileServer))", func(s *sessionstore.Manager, cdn *cdncache.Handler, files http.Handler, act func(http.Handler) http.Handler) http.Handler {
		return cdn.Middleware(s.Middleware(act(files)))
	}},
	{"cdn.Middleware(sessions(cdn.Handler))", func(s *sessionstore.Manager, cdn *cdncache.Handler, _ http.Handler, act func(http.Handler) http.Handler) http.Handler {
		return cdn.Middleware(s.Middleware(act(cdn)))
	}},
}

// get sends one request with the given cookie header, session action and
// extra headers.
func get(t *testing.T, c *http.Client, method, url, cookie, act string, hdr map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	require.NoError(t, err)
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	if act != "" {
		req.Header.Set("X-Act", act)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// sessionCookie returns "name=value" of the response's session cookie.
func sessionCookie(t *testing.T, resp *http.Response) string {
	t.Helper()
	for _, c := range resp.Cookies() {
		if c.Name == "session" && c.Value != "" {
			return c.Name + "=" + c.Value
		}
	}
	t.Fatalf("no session cookie (status %d)", resp.StatusCode)
	return ""
}

func serve(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func newClient(t *testing.T) *http.Client {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	t.Cleanup(c.CloseIdleConnections)
	return c
}
