package sessionstore

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dedw3n/hardening/internal/pgtest"
	"github.com/dedw3n/hardening/internal/testlog"
)

// outerHeaders stands for the middlewares outside the session's: their
// headers must reach the client whatever the session does.
func outerHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Strict-Transport-Security", "max-age=63072000")
		w.Header().Set("Content-Security-Policy", "default-src 'self'")
		w.Header().Set("X-Request-Id", "req-42")
		next.ServeHTTP(w, r)
	})
}

func assertOuterHeaders(t *testing.T, h http.Header, msg string) {
	t.Helper()
	assert.Equal(t, "max-age=63072000", h.Get("Strict-Transport-Security"), msg)
	assert.Equal(t, "default-src 'self'", h.Get("Content-Security-Policy"), msg)
	assert.Equal(t, "req-42", h.Get("X-Request-Id"), msg)
}

// TestTolerantDuringOutage stops PostgreSQL for real: a Tolerant route
// answers with its own response and an empty, unchangeable session, while
// Middleware routes answer 503 with Retry-After, keeping the outer
// middlewares' headers.
func TestTolerantDuringOutage(t *testing.T) {
	srv := pgtest.NewServer(t, pgtest.Options{})
	store := newPG(t, PostgresConfig{URL: srv.CreateDB(t), QueryTimeout: 2 * time.Second})
	waitReady(t, store, 10*time.Second)
	m, err := NewManager(store, Config{Secrets: [][]byte{testSecret}, Cookie: CookieConfig{Insecure: true}, Logger: (&testlog.Buffer{}).Text()})
	require.NoError(t, err)
	page := func(w http.ResponseWriter, r *http.Request) {
		s := FromContext(r.Context())
		cart, _, err := Get[[]item](s, "cart")
		require.NoError(t, err, "reads never fail")
		if s.Err() != nil {
			assert.ErrorIs(t, s.Err(), ErrUnavailable)
			assert.True(t, s.IsNew())
			assert.Empty(t, s.UserID())
			for _, change := range []error{s.Put("k", 1), s.Delete("k"), s.SetUserID("u"), s.RenewToken(), s.Destroy(),
				Update(s, "cart", func(*[]item) error { return nil })} {
				assert.ErrorIs(t, change, ErrUnavailable)
			}
			w.Header().Set("X-Degraded", "sessions")
		}
		fmt.Fprintf(w, "storefront, %d in cart", len(cart))
	}
	add := func(w http.ResponseWriter, r *http.Request) {
		if err := Update(FromContext(r.Context()), "cart", func(c *[]item) error {
			*c = append(*c, item{ProductID: "p", Quantity: 1})
			return nil
		}); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("X-Handler", "yes")
		io.WriteString(w, "added")
	}
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", m.Tolerant(http.HandlerFunc(page)))
	mux.Handle("GET /strict", m.Middleware(http.HandlerFunc(page)))
	mux.Handle("POST /add", m.Middleware(http.HandlerFunc(add)))
	mux.Handle("POST /add-tolerant", m.Tolerant(http.HandlerFunc(add)))
	web := httptest.NewServer(outerHeaders(mux))
	defer web.Close()
	do := func(method, path, cookie string) (*http.Response, string) {
		req, err := http.NewRequestWithContext(t.Context(), method, web.URL+path, nil)
		require.NoError(t, err)
		if cookie != "" {
			req.AddCookie(&http.Cookie{Name: "session", Value: cookie})
		}
		res, err := web.Client().Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		return res, string(b)
	}

	res, _ := do(http.MethodPost, "/add", "")
	require.Equal(t, http.StatusOK, res.StatusCode)
	ck := res.Cookies()[0].Value
	_, body := do(http.MethodGet, "/", ck)
	assert.Equal(t, "storefront, 1 in cart", body)

	require.NoError(t, srv.Stop())
	res, body = do(http.MethodGet, "/", ck)
	assert.Equal(t, http.StatusOK, res.StatusCode, "the handler's own response")
	assert.Equal(t, "storefront, 0 in cart", body)
	assert.Equal(t, "sessions", res.Header.Get("X-Degraded"))
	assert.Empty(t, res.Cookies(), "nothing to save, no cookie")
	assert.Contains(t, res.Header.Values("Vary"), "Cookie")
	assertOuterHeaders(t, res.Header, "tolerant route")

	res, _ = do(http.MethodGet, "/strict", ck)
	assert.Equal(t, http.StatusServiceUnavailable, res.StatusCode, "a Middleware route keeps answering 503")
	assert.Equal(t, "5", res.Header.Get("Retry-After"))
	assertOuterHeaders(t, res.Header, "failed load")

	for _, path := range []string{"/add", "/add-tolerant"} {
		res, body = do(http.MethodPost, path, "")
		assert.Equal(t, http.StatusServiceUnavailable, res.StatusCode, "%s: a change that cannot be saved is never a 200", path)
		assert.Equal(t, "5", res.Header.Get("Retry-After"))
		assert.NotContains(t, body, "added")
		assert.Empty(t, res.Header.Get("X-Handler"), "the handler's headers are dropped")
		assert.Empty(t, res.Cookies())
		assertOuterHeaders(t, res.Header, path+": failed save")
	}

	require.NoError(t, srv.Start())
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		res, body := do(http.MethodGet, "/", ck)
		assert.Equal(c, "storefront, 1 in cart", body)
		assert.Empty(c, res.Header.Get("X-Degraded"))
	}, 10*time.Second, 50*time.Millisecond, "the session is back with the database")
}

// TestWritersKeepResponseController: through the session's writer,
// http.ResponseController reaches the server's writer (deadlines, full
// duplex, flush, hijack), for a Tolerant route as for Middleware.
func TestWritersKeepResponseController(t *testing.T) {
	store := NewMemoryStore(MemoryConfig{PruneInterval: -1})
	defer store.Close()
	m, err := NewManager(store, Config{Secrets: [][]byte{testSecret}, Cookie: CookieConfig{Insecure: true}, Logger: (&testlog.Buffer{}).Text()})
	require.NoError(t, err)
	var runs atomic.Uint64 // the client retries a GET whose connection closed
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		runs.Add(1)
		rc := http.NewResponseController(w)
		if r.URL.Query().Has("hijack") {
			assert.NoError(t, FromContext(r.Context()).Put("k", 1))
			conn, _, err := rc.Hijack()
			if assert.NoError(t, err) {
				conn.Close()
			}
			return
		}
		assert.NoError(t, rc.SetReadDeadline(time.Now().Add(time.Minute)))
		assert.NoError(t, rc.SetWriteDeadline(time.Now().Add(time.Minute)))
		assert.NoError(t, rc.EnableFullDuplex())
		assert.NoError(t, FromContext(r.Context()).Put("k", 1))
		io.WriteString(w, "chunk")
		assert.NoError(t, rc.Flush())
	})
	for name, mw := range map[string]func(http.Handler) http.Handler{"Middleware": m.Middleware, "Tolerant": m.Tolerant} {
		srv := httptest.NewServer(mw(h))
		res, err := srv.Client().Get(srv.URL)
		require.NoError(t, err, name)
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		assert.Equal(t, "chunk", string(b), name)
		assert.Len(t, res.Cookies(), 1, "%s: saved before the flush", name)
		_, err = srv.Client().Get(srv.URL + "?hijack")
		assert.Error(t, err, "%s: the connection was hijacked and closed", name)
		srv.Close()
	}
	assert.Equal(t, runs.Load(), m.Stats().Writes, "every request's session saved, the hijacked ones before the hijack")
}

// TestWriterKeepsSendfile: a file served behind the middleware reaches the
// connection through ReadFrom, after the session is committed.
func TestWriterKeepsSendfile(t *testing.T) {
	store := NewMemoryStore(MemoryConfig{PruneInterval: -1})
	defer store.Close()
	m, err := NewManager(store, Config{Secrets: [][]byte{testSecret}, Cookie: CookieConfig{Insecure: true}, Logger: (&testlog.Buffer{}).Text()})
	require.NoError(t, err)
	body := strings.Repeat("0123456789abcdef", 64<<10)
	path := filepath.Join(t.TempDir(), "big.txt")
	require.NoError(t, os.WriteFile(path, []byte(body), 0o600))
	var readerFrom atomic.Bool
	srv := httptest.NewServer(m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, ok := w.(io.ReaderFrom)
		readerFrom.Store(ok)
		assert.NoError(t, FromContext(r.Context()).Put("seen", true))
		http.ServeFile(w, r, path)
	})))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	require.NoError(t, err)
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	assert.True(t, readerFrom.Load(), "the session writer hides ReadFrom")
	assert.True(t, body == string(got), "got %d bytes, want %d", len(got), len(body))
	assert.NotEmpty(t, resp.Header.Values("Set-Cookie"), "the session was committed before the body")
}
