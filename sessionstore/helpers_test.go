package sessionstore

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dedw3n/hardening/internal/testlog"
)

var testSecret = []byte("0123456789abcdef0123456789abcdef")

// clock is a settable clock for tests.
type clock struct {
	mu sync.Mutex // protects t
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// item is a cart line, as the example marketplace stores them.
type item struct {
	ProductID string `json:"product_id"`
	Quantity  int    `json:"quantity"`
}

// app is the test application: a few handlers over a Manager.
type app struct {
	m     *Manager
	srv   *httptest.Server
	clock *clock
	logs  *testlog.Buffer
	// gate, when set, is called by /add and /put after the session is
	// loaded (setGate).
	gate atomic.Pointer[func()]
}

func newApp(t *testing.T, store Store, cfg Config) *app {
	t.Helper()
	a := &app{clock: newClock(), logs: &testlog.Buffer{}}
	if cfg.Secrets == nil {
		cfg.Secrets = [][]byte{testSecret}
	}
	if cfg.Now == nil {
		cfg.Now = a.clock.Now
	}
	cfg.Cookie.Insecure = true
	cfg.Logger = a.logs.Text()
	m, err := NewManager(store, cfg)
	require.NoError(t, err)
	a.m = m
	mux := http.NewServeMux()
	mux.HandleFunc("GET /get", func(w http.ResponseWriter, r *http.Request) {
		s := FromContext(r.Context())
		cart, _, err := Get[[]item](s, "cart")
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		name, _, _ := Get[string](s, "name")
		json.NewEncoder(w).Encode(map[string]any{"cart": cart, "name": name, "user": s.UserID(), "new": s.IsNew()})
	})
	mux.HandleFunc("POST /add", func(w http.ResponseWriter, r *http.Request) {
		s := FromContext(r.Context())
		if g := a.gate.Load(); g != nil {
			(*g)()
		}
		id := r.FormValue("id")
		err := Update(s, "cart", func(c *[]item) error {
			*c = append(*c, item{ProductID: id, Quantity: 1})
			return nil
		})
		if err != nil {
			http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
			return
		}
		io.WriteString(w, "added")
	})
	mux.HandleFunc("POST /put", func(w http.ResponseWriter, r *http.Request) {
		s := FromContext(r.Context())
		if g := a.gate.Load(); g != nil {
			(*g)()
		}
		if err := s.Put(r.FormValue("k"), r.FormValue("v")); err != nil {
			http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
			return
		}
		io.WriteString(w, "ok")
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		s := FromContext(r.Context())
		assert.NoError(t, s.RenewToken())
		assert.NoError(t, s.SetUserID(r.FormValue("user")))
		assert.NoError(t, s.Put("name", r.FormValue("user")))
		io.WriteString(w, "welcome")
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		assert.NoError(t, FromContext(r.Context()).Destroy())
		io.WriteString(w, "bye")
	})
	mux.HandleFunc("POST /stream", func(w http.ResponseWriter, r *http.Request) {
		s := FromContext(r.Context())
		assert.NoError(t, s.Put("streamed", true))
		io.WriteString(w, "first ")
		w.(http.Flusher).Flush()
		err := s.Put("late", true)
		io.WriteString(w, "late put: ")
		if err != nil {
			io.WriteString(w, "refused")
		}
	})
	a.srv = httptest.NewServer(m.Middleware(mux))
	t.Cleanup(a.srv.Close)
	return a
}

// response is what a test request got back.
type response struct {
	status int
	body   string
	header http.Header
	cookie *http.Cookie // the session cookie set, if any
}

// do sends a request carrying cookie (the session cookie's value, or "").
func (a *app) do(t *testing.T, method, path, cookie string) response {
	t.Helper()
	var body io.Reader
	if i := strings.IndexByte(path, '?'); i >= 0 && method == http.MethodPost {
		body = strings.NewReader(path[i+1:])
		path = path[:i]
	}
	req, err := http.NewRequestWithContext(context.Background(), method, a.srv.URL+path, body)
	require.NoError(t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: a.m.cfg.Cookie.Name, Value: cookie})
	}
	res, err := a.srv.Client().Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	out := response{status: res.StatusCode, body: string(b), header: res.Header}
	for _, c := range res.Cookies() {
		if c.Name == a.m.cfg.Cookie.Name {
			out.cookie = c
		}
	}
	return out
}

// state decodes a /get response.
type state struct {
	Cart []item `json:"cart"`
	Name string `json:"name"`
	User string `json:"user"`
	New  bool   `json:"new"`
}

func (a *app) get(t *testing.T, cookie string) state {
	t.Helper()
	res := a.do(t, http.MethodGet, "/get", cookie)
	require.Equal(t, http.StatusOK, res.status, res.body)
	var st state
	require.NoError(t, json.Unmarshal([]byte(res.body), &st))
	return st
}

// login posts to /add so that a session exists, and returns its cookie.
func (a *app) newSession(t *testing.T) string {
	t.Helper()
	res := a.do(t, http.MethodPost, "/add?id=first", "")
	require.Equal(t, http.StatusOK, res.status, res.body)
	require.NotNil(t, res.cookie, "a modified new session sets its cookie")
	return res.cookie.Value
}

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }

func mustRequest(t *testing.T, cookie string) *http.Request {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	return req
}

// setGate sets (or with nil clears) the function /add and /put call.
func (a *app) setGate(f func()) {
	if f == nil {
		a.gate.Store(nil)
		return
	}
	a.gate.Store(&f)
}
