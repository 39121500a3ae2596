package sessionstore

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/dedw3n/hardening/internal/pgtest"
	"github.com/dedw3n/hardening/internal/testlog"
)

// errorLog collects the errors of a test, safe for handlers to add to.
type errorLog struct {
	mu   sync.Mutex // protects errs
	errs []error
}

func (l *errorLog) add(t *testing.T, err error, sentinels ...error) {
	t.Helper()
	require.Error(t, err)
	for _, s := range sentinels {
		require.ErrorIs(t, err, s)
	}
	l.mu.Lock()
	l.errs = append(l.errs, err)
	l.mu.Unlock()
}

// TestOnePrefixPerError walks the package's exported error paths, each
// driven into failure for real (a bad configuration, a bad value, a
// stopped database, a table of another shape): every error says
// "sessionstore:" once, at its start, and errors.Is finds its sentinels.
func TestOnePrefixPerError(t *testing.T) {
	var l errorLog
	configErrors(t, &l)
	sessionErrors(t, &l)
	postgresErrors(t, &l)
	require.GreaterOrEqual(t, len(l.errs), 30)
	for _, err := range l.errs {
		t.Log(err)
		require.True(t, strings.HasPrefix(err.Error(), "sessionstore: "), err.Error())
		require.Equal(t, 1, strings.Count(err.Error(), "sessionstore:"), err.Error())
	}
}

func configErrors(t *testing.T, l *errorLog) {
	store := NewMemoryStore(MemoryConfig{PruneInterval: -1})
	t.Cleanup(func() { store.Close() })
	_, err := NewManager(nil, Config{Secrets: [][]byte{testSecret}})
	l.add(t, err)
	for _, cfg := range []Config{
		{},
		{Secrets: [][]byte{[]byte("short")}},
		{IdleTimeout: -time.Second},
		{IdleTimeout: time.Minute, TouchAfter: time.Hour},
		{Cookie: CookieConfig{HostPrefix: true, Path: "/app"}},
		{Cookie: CookieConfig{Name: "__Secure-s", Insecure: true}},
		{Cookie: CookieConfig{SameSite: http.SameSiteNoneMode, Insecure: true}},
		{Cookie: CookieConfig{Name: "bad name"}},
	} {
		if cfg.Secrets == nil && cfg.IdleTimeout != 0 || cfg.Cookie != (CookieConfig{}) {
			cfg.Secrets = [][]byte{testSecret}
		}
		_, err := NewManager(store, cfg)
		l.add(t, err)
	}
	for _, cfg := range []PostgresConfig{{}, {URL: "postgres://app:pw@host:notaport/db"}} {
		_, err := NewPostgresStore(cfg)
		l.add(t, err)
	}
}

// conflicting is a Store whose saves always meet a concurrent save.
type conflicting struct{ *MemoryStore }

func (conflicting) Save(context.Context, Record, ID) (int64, error) { return 0, ErrConflict }

// sessionErrors drives a Session into each of its refusals.
func sessionErrors(t *testing.T, l *errorLog) {
	var nilSession *Session
	l.add(t, nilSession.Put("k", 1), ErrNoSession)
	_, _, err := Get[int](nilSession, "k")
	l.add(t, err, ErrNoSession)
	l.add(t, nilSession.Err(), ErrNoSession)

	store := NewMemoryStore(MemoryConfig{PruneInterval: -1})
	t.Cleanup(func() { store.Close() })
	_, err = store.Save(t.Context(), Record{ID: idOf([]byte("x")), Version: 3, Expires: time.Now().Add(time.Hour)}, ID{})
	l.add(t, err, ErrConflict)

	storedDataErrors(t, l, store)
	for _, st := range []Store{store, conflicting{store}} {
		m, err := NewManager(st, Config{Secrets: [][]byte{testSecret}, MaxSize: 64, Cookie: CookieConfig{Insecure: true},
			Logger: (&testlog.Buffer{}).Text(),
			ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
				l.add(t, err)
				w.WriteHeader(http.StatusServiceUnavailable)
			}})
		require.NoError(t, err)
		h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s := FromContext(r.Context())
			l.add(t, s.Put("k", strings.Repeat("x", 100)), ErrTooLarge)
			l.add(t, s.Put("k", "nul\x00"), ErrInvalidValue)
			l.add(t, s.Put("k", func() {}))
			l.add(t, Update(s, "\xff", func(v *string) error { *v = "v"; return nil }), ErrInvalidValue)
			l.add(t, s.SetUserID("\x00"), ErrInvalidValue)
			require.NoError(t, s.Put("k", "v"))
			io.WriteString(w, "ok")
			l.add(t, s.Put("k", "late"), ErrCommitted)
		}))
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	}
	require.ErrorIs(t, l.errs[len(l.errs)-2], ErrConflict, "the conflicting store's save, before the late Put")
}

// postgresErrors stops the database under a store, and gives another a
// table of another shape.
func postgresErrors(t *testing.T, l *errorLog) {
	srv := pgtest.NewServer(t, pgtest.Options{})
	url := srv.CreateDB(t)
	conn, err := pgx.Connect(t.Context(), url)
	require.NoError(t, err)
	_, err = conn.Exec(t.Context(), "CREATE TABLE other (id int)")
	require.NoError(t, err)
	require.NoError(t, conn.Close(t.Context()))
	shaped := newPG(t, PostgresConfig{URL: url, Table: "other"})
	require.Eventually(t, func() bool { return !shaped.retrying.Load() }, 10*time.Second, 10*time.Millisecond,
		"the background initialisation stops")
	l.add(t, shaped.Ready(t.Context()), ErrTableShape)

	store := newPG(t, PostgresConfig{URL: url, QueryTimeout: 2 * time.Second, ConnectTimeout: time.Second})
	waitReady(t, store, 10*time.Second)
	m, err := NewManager(store, Config{Secrets: [][]byte{testSecret}, Cookie: CookieConfig{Insecure: true},
		Logger: (&testlog.Buffer{}).Text()})
	require.NoError(t, err)
	put := httptest.NewRecorder()
	m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.NoError(t, FromContext(r.Context()).Put("k", "v"))
	})).ServeHTTP(put, httptest.NewRequest("GET", "/", nil))
	cookie := put.Result().Cookies()[0]

	require.NoError(t, srv.Stop())
	ctx := t.Context()
	l.add(t, m.Ready(ctx))
	_, err = m.ListUser(ctx, "u")
	l.add(t, err)
	l.add(t, m.Revoke(ctx, idOf([]byte("x"))))
	_, err = m.RevokeUser(ctx, "u", ID{})
	l.add(t, err)
	_, _, err = store.Load(ctx, idOf([]byte("x")))
	l.add(t, err)
	_, _, err = store.Prune(ctx)
	l.add(t, err)

	req := httptest.NewRequest("GET", "/", nil)
	req.AddCookie(cookie)
	m.Tolerant(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := FromContext(r.Context())
		l.add(t, s.Err(), ErrUnavailable)
		l.add(t, s.Put("k", "v"), ErrUnavailable)
	})).ServeHTTP(httptest.NewRecorder(), req)

	// An uninitialised store on a stopped database: not ready.
	down := newPG(t, PostgresConfig{URL: url, QueryTimeout: time.Second, ConnectTimeout: time.Second})
	l.add(t, down.Ready(ctx), ErrNotReady)
	_, _, err = down.Load(ctx, idOf([]byte("x")))
	l.add(t, err, ErrNotReady)
}

// storedDataErrors changes sessions whose stored data another program
// left unusable: an array, and a number beyond PostgreSQL's numeric.
func storedDataErrors(t *testing.T, l *errorLog, store Store) {
	m, err := NewManager(store, Config{Secrets: [][]byte{testSecret}, Cookie: CookieConfig{Insecure: true}})
	require.NoError(t, err)
	now := time.Now()
	for _, data := range []string{`[1]`, `{"n":1e999999}`} {
		token := newToken()
		_, err := store.Save(t.Context(), Record{ID: idOf(token[:]), Data: []byte(data), Created: now, Touched: now,
			Expires: now.Add(time.Hour), Deadline: now.Add(time.Hour)}, ID{})
		require.NoError(t, err)
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.AddCookie(&http.Cookie{Name: "session", Value: m.codec.encode(token[:])})
		m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			l.add(t, FromContext(r.Context()).Put("m", 1), ErrInvalidValue)
		})).ServeHTTP(httptest.NewRecorder(), r)
	}
}
