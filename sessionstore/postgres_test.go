package sessionstore

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dedw3n/hardening/internal/pgtest"
	"github.com/dedw3n/hardening/internal/testlog"
)

// newPG returns a PostgresStore on url, closed at the end of the test, and
// waits until it is initialised.
func newPG(t *testing.T, cfg PostgresConfig) *PostgresStore {
	t.Helper()
	if cfg.PruneInterval == 0 {
		cfg.PruneInterval = -1
	}
	if cfg.Logger == nil {
		cfg.Logger = (&testlog.Buffer{}).Text()
	}
	s, err := NewPostgresStore(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

func waitReady(t *testing.T, s interface{ Ready(context.Context) error }, within time.Duration) {
	t.Helper()
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.NoError(c, s.Ready(context.Background()))
	}, within, 50*time.Millisecond)
}

// targetConfig returns a config on a fresh database of the target, told
// when it is behind the transaction pooler.
func targetConfig(t *testing.T, target pgtest.Target) PostgresConfig {
	cfg := PostgresConfig{URL: target.DB(t)}
	if target.Pooled {
		cfg.Pooler = PoolerTransaction
	}
	return cfg
}

func pgBackend(target pgtest.Target) backend {
	return backend{"postgres " + target.Name, func(t *testing.T) Store {
		s := newPG(t, targetConfig(t, target))
		waitReady(t, s, 10*time.Second)
		return s
	}}
}

// TestPostgres runs the behavioural suite on PostgreSQL, directly and
// through PgBouncer in transaction mode.
func TestPostgres(t *testing.T) {
	for _, target := range pgtest.Targets() {
		t.Run(target.Name, func(t *testing.T) { runSuite(t, pgBackend(target)) })
	}
}

// connect opens a connection that works directly and through a
// transaction pooler (no named prepared statements).
func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	cc, err := pgx.ParseConfig(url)
	require.NoError(t, err)
	cc.DefaultQueryExecMode = pgx.QueryExecModeExec
	conn, err := pgx.ConnectConfig(t.Context(), cc)
	require.NoError(t, err)
	return conn
}

func exec(t *testing.T, url, sql string, args ...any) {
	t.Helper()
	conn := connect(t, url)
	defer conn.Close(context.Background())
	_, err := conn.Exec(t.Context(), sql, args...)
	require.NoError(t, err)
}

func queryInt(t *testing.T, url, sql string, args ...any) int {
	t.Helper()
	conn := connect(t, url)
	defer conn.Close(context.Background())
	var n int
	require.NoError(t, conn.QueryRow(t.Context(), sql, args...).Scan(&n))
	return n
}

// validCookie returns a correctly signed cookie for a session that does not
// exist: it forces a store lookup.
func validCookie(a *app) string {
	tok := newToken()
	return a.m.codec.encode(tok[:])
}

func TestPostgresColdStart(t *testing.T) {
	srv := pgtest.NewServer(t, pgtest.Options{Stopped: true})
	const password = "hunter2-do-not-log"
	url := strings.Replace(srv.URL(), "postgres@", "postgres:"+password+"@", 1)
	logs := &testlog.Buffer{}
	store := newPG(t, PostgresConfig{URL: url, Logger: logs.Text(), ConnectTimeout: time.Second})
	a := newApp(t, store, Config{})
	require.ErrorIs(t, a.m.Ready(t.Context()), ErrNotReady)

	probe := validCookie(a)
	started := make(chan error, 1)
	go func() {
		time.Sleep(3 * time.Second) // the database comes up 3 s after the service
		started <- srv.Start()
	}()
	seen := 0
	for deadline := time.Now().Add(2500 * time.Millisecond); time.Now().Before(deadline); {
		for _, res := range []response{
			a.do(t, http.MethodGet, "/get", probe),
			a.do(t, http.MethodPost, "/add?id=early", ""),
		} {
			require.Equal(t, http.StatusServiceUnavailable, res.status, res.body)
			assert.Equal(t, "5", res.header.Get("Retry-After"))
			assert.Nil(t, res.cookie, "no cookie for an unsaved session")
			seen++
		}
		time.Sleep(100 * time.Millisecond)
	}
	assert.Greater(t, seen, 10)
	res := a.do(t, http.MethodGet, "/get", "")
	assert.Equal(t, http.StatusOK, res.status, "a request needing no store is served")

	require.NoError(t, <-started)
	waitReady(t, a.m, 20*time.Second)
	st := a.m.Stats()
	assert.GreaterOrEqual(t, st.InitAttempts, uint64(3), "initialised through retries")
	assert.Positive(t, st.Errors)

	ck := a.newSession(t)
	assert.Equal(t, []item{{"first", 1}}, a.get(t, ck).Cart)

	out := logs.String() + a.logs.String()
	assert.Contains(t, out, "initialisation failed")
	assert.Contains(t, out, "attempt=2")
	assert.Contains(t, out, "sessionstore: initialised")
	assert.NotContains(t, out, password)
	assert.NotContains(t, out, probe)
	assert.NotContains(t, out, ck)
	assert.NotContains(t, out, probe[:42], "no token in logs")
}

func TestPostgresOutage(t *testing.T) {
	srv := pgtest.NewServer(t, pgtest.Options{})
	store := newPG(t, PostgresConfig{URL: srv.CreateDB(t), QueryTimeout: 2 * time.Second})
	waitReady(t, store, 10*time.Second)
	a := newApp(t, store, Config{})
	var cookies []string
	for i := range 10 {
		res := a.do(t, http.MethodPost, fmt.Sprintf("/add?id=p%d", i), "")
		require.Equal(t, http.StatusOK, res.status)
		cookies = append(cookies, res.cookie.Value)
	}

	require.NoError(t, srv.Stop())
	for i, ck := range cookies {
		res := a.do(t, http.MethodGet, "/get", ck)
		assert.Equal(t, http.StatusServiceUnavailable, res.status, "read %d during the outage", i)
		assert.Nil(t, res.cookie)
		res = a.do(t, http.MethodPost, "/add?id=lost", ck)
		assert.Equal(t, http.StatusServiceUnavailable, res.status, "never 200 for an unsaved write")
		assert.NotContains(t, res.body, "added", "the handler's response is not sent")
	}
	res := a.do(t, http.MethodPost, "/add?id=new", "")
	assert.Equal(t, http.StatusServiceUnavailable, res.status)
	assert.Nil(t, res.cookie)
	assert.ErrorIs(t, a.m.Ready(t.Context()), ErrNotReady)
	checkFailedSaveReplacesResponse(t, store)

	require.NoError(t, srv.Start())
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.Equal(c, http.StatusOK, a.do(t, http.MethodGet, "/get", cookies[0]).status)
	}, 10*time.Second, 50*time.Millisecond, "the same store recovers by itself")
	for i, ck := range cookies {
		st := a.get(t, ck)
		assert.False(t, st.New, "session %d survived", i)
		assert.Equal(t, []item{{fmt.Sprintf("p%d", i), 1}}, st.Cart, "nothing lost, nothing overwritten")
	}
	require.NoError(t, a.m.Ready(t.Context()))
}

func TestPostgresUnmodifiedRequestsWriteNothing(t *testing.T) {
	url := pgtest.DB(t)
	store := newPG(t, PostgresConfig{URL: url})
	waitReady(t, store, 10*time.Second)
	exec(t, url, `CREATE TABLE write_count (n int NOT NULL); INSERT INTO write_count VALUES (0);
CREATE FUNCTION count_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN UPDATE write_count SET n = n + 1; RETURN NULL; END $$;
CREATE TRIGGER count_writes AFTER INSERT OR UPDATE OR DELETE ON sessions FOR EACH ROW EXECUTE FUNCTION count_write();`)
	writes := func() int { return queryInt(t, url, "SELECT n FROM write_count") }

	a := newApp(t, store, Config{})
	ck := a.newSession(t)
	require.Equal(t, 1, writes())
	for range 100 {
		a.clock.Add(time.Minute) // 100 min: inside the 2 h touch-after
		res := a.do(t, http.MethodGet, "/get", ck)
		require.Equal(t, http.StatusOK, res.status)
		require.Nil(t, res.cookie)
	}
	assert.Equal(t, 1, writes(), "100 unmodified requests: zero writes in the database")
	assert.Equal(t, uint64(1), a.m.Stats().Writes)
	assert.Equal(t, uint64(100), a.m.Stats().Hits)

	a.clock.Add(30 * time.Minute)
	res := a.do(t, http.MethodGet, "/get", ck)
	require.NotNil(t, res.cookie)
	assert.Equal(t, 2, writes(), "past touch-after: one touch")
	exec(t, url, "SELECT pg_stat_force_next_flush()")
	assert.Equal(t, 1, queryInt(t, url, `SELECT count(*) FROM sessions WHERE data = '{"cart":[{"product_id":"first","quantity":1}]}'::jsonb`),
		"the touch did not rewrite the data")
}

func TestPostgresPruneOneInstanceAtATime(t *testing.T) {
	for _, target := range pgtest.Targets() {
		t.Run(target.Name, func(t *testing.T) { testPruneOneInstanceAtATime(t, target) })
	}
}

func testPruneOneInstanceAtATime(t *testing.T, target pgtest.Target) {
	cfg := targetConfig(t, target)
	url := cfg.URL
	cfg.PruneBatch = 100
	s1 := newPG(t, cfg)
	s2 := newPG(t, cfg)
	waitReady(t, s1, 10*time.Second)
	waitReady(t, s2, 10*time.Second)
	const expired, live = 3000, 10
	exec(t, url, `INSERT INTO sessions (id, data, created, touched, expires, deadline)
SELECT sha256(i::text::bytea), '{}', now() - interval '2 days', now() - interval '2 days', now() - interval '1 day', now() + interval '1 day'
FROM generate_series(1, $1::int) i`, expired)
	exec(t, url, `INSERT INTO sessions (id, data, created, touched, expires, deadline)
SELECT sha256(('live' || i)::bytea), '{}', now(), now(), now() + interval '1 day', now() + interval '2 days'
FROM generate_series(1, $1::int) i`, live)

	// Another instance holds the lock, in a transaction: both skip.
	conn := connect(t, url)
	tx, err := conn.Begin(t.Context())
	require.NoError(t, err)
	_, err = tx.Exec(t.Context(), "SELECT pg_advisory_xact_lock($1)", s1.pruneKey)
	require.NoError(t, err)
	for _, s := range []*PostgresStore{s1, s2} {
		n, ran, err := s.Prune(t.Context())
		require.NoError(t, err)
		assert.False(t, ran)
		assert.Zero(t, n)
	}
	require.NoError(t, tx.Commit(t.Context()))
	require.NoError(t, conn.Close(t.Context()))

	var wg sync.WaitGroup
	var n [2]int
	var ran [2]bool
	start := make(chan struct{})
	for i, s := range []*PostgresStore{s1, s2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			var err error
			n[i], ran[i], err = s.Prune(t.Context())
			assert.NoError(t, err)
		}()
	}
	close(start)
	wg.Wait()
	assert.Equal(t, expired, n[0]+n[1])
	assert.True(t, n[0] == 0 || n[1] == 0, "only one instance deleted: %v", n)
	assert.True(t, ran[0] || ran[1])
	assert.Equal(t, live, queryInt(t, url, "SELECT count(*) FROM sessions"))
	assert.Equal(t, uint64(expired), s1.Stats().Pruned+s2.Stats().Pruned)
	// The lock was released: pruning works again.
	_, ran[0], err = s1.Prune(t.Context())
	require.NoError(t, err)
	assert.True(t, ran[0])
	assertNoAdvisoryLocks(t, url)
}

// assertNoAdvisoryLocks checks that no backend of url's database holds an
// advisory lock: none may outlive its transaction.
func assertNoAdvisoryLocks(t *testing.T, url string) {
	t.Helper()
	assert.Zero(t, queryInt(t, url, `SELECT count(*) FROM pg_locks
WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`),
		"advisory locks left held")
}

func TestPostgresPruneLoop(t *testing.T) {
	url := pgtest.DB(t)
	logs := &testlog.Buffer{}
	s := newPG(t, PostgresConfig{URL: url, PruneInterval: 30 * time.Millisecond, Logger: logs.Text()})
	waitReady(t, s, 10*time.Second)
	exec(t, url, `INSERT INTO sessions (id, created, touched, expires, deadline)
VALUES (sha256('x'), now(), now(), now() - interval '1 s', now())`)
	// The counter moves before the log line is written: wait for both.
	require.Eventually(t, func() bool {
		return s.Stats().Pruned == 1 && strings.Contains(logs.String(), "count=1")
	}, 10*time.Second, 10*time.Millisecond, "one expired session pruned and logged with its count")
	require.NoError(t, s.Close())
	require.NoError(t, s.Close(), "Close is idempotent")
}

func TestPostgresSchemaTableQuoting(t *testing.T) {
	url := pgtest.DB(t)
	store := newPG(t, PostgresConfig{URL: url, Schema: `app "sessions"`, Table: `s; DROP TABLE x; --`})
	waitReady(t, store, 10*time.Second)
	a := newApp(t, store, Config{})
	ck := a.newSession(t)
	assert.Equal(t, []item{{"first", 1}}, a.get(t, ck).Cart)
	assert.Equal(t, 1, queryInt(t, url, `SELECT count(*) FROM "app ""sessions"""."s; DROP TABLE x; --"`))
	assert.Equal(t, 3, queryInt(t, url, `SELECT count(*) FROM pg_indexes WHERE schemaname = 'app "sessions"' AND indexname LIKE 's; DROP%'`))
}

func TestPostgresConcurrentInitAndCallerPool(t *testing.T) {
	url := pgtest.DB(t)
	pool, err := pgxpool.New(t.Context(), url)
	require.NoError(t, err)
	defer pool.Close()
	var stores []*PostgresStore
	for range 4 {
		stores = append(stores, newPG(t, PostgresConfig{Pool: pool}))
	}
	for _, s := range stores {
		waitReady(t, s, 10*time.Second)
	}
	require.NoError(t, stores[0].Close())
	require.NoError(t, pool.Ping(t.Context()), "a caller's pool is not closed by the store")

	// The table disappears (a restored database): the store initialises again.
	s := stores[1]
	exec(t, url, "DROP TABLE sessions")
	a := newApp(t, s, Config{})
	res := a.do(t, http.MethodGet, "/get", validCookie(a))
	assert.Equal(t, http.StatusServiceUnavailable, res.status)
	ck := a.newSession(t)
	assert.Equal(t, []item{{"first", 1}}, a.get(t, ck).Cart)
}

func TestPostgresConfigErrors(t *testing.T) {
	_, err := NewPostgresStore(PostgresConfig{})
	assert.Error(t, err)
	_, err = NewPostgresStore(PostgresConfig{URL: "postgres://u:secretpw@host:notaport/db"})
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "secretpw")

	// A store on an unreachable server: errors name no password either.
	srv := pgtest.NewServer(t, pgtest.Options{Stopped: true})
	url := strings.Replace(srv.URL(), "postgres@", "postgres:pw-secret-123@", 1)
	s := newPG(t, PostgresConfig{URL: url, InitTimeout: time.Millisecond})
	_, _, err = s.Load(t.Context(), ID{})
	require.Error(t, err)
	assert.True(t, errors.Is(err, ErrNotReady))
	assert.NotContains(t, err.Error(), "pw-secret-123")

	// The background retries give up after the floor of 3 attempts; the
	// failure is not cached: once the server is up, the next operation
	// initialises the store.
	require.Eventually(t, func() bool { return !s.retrying.Load() }, 10*time.Second, 10*time.Millisecond)
	assert.Equal(t, uint64(3), s.Stats().InitAttempts)
	require.ErrorIs(t, s.Ready(t.Context()), ErrNotReady, "an operation tries again, and fails while the server is down")
	assert.Equal(t, uint64(4), s.Stats().InitAttempts)
	require.NoError(t, srv.Start())
	require.NoError(t, s.Ready(t.Context()))
	_, found, err := s.Load(t.Context(), ID{})
	require.NoError(t, err)
	assert.False(t, found)
}

// checkFailedSaveReplacesResponse runs while the database is down: the
// handler's response (headers and body) is replaced by the configured
// error handler, and the handler's writes fail.
func checkFailedSaveReplacesResponse(t *testing.T, store Store) {
	var writeErr error
	m, err := NewManager(store, Config{
		Secrets: [][]byte{testSecret},
		Logger:  (&testlog.Buffer{}).Text(),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			assert.Error(t, err)
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte("custom"))
		},
	})
	require.NoError(t, err)
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		assert.NoError(t, FromContext(r.Context()).Put("k", "v"))
		w.Header().Set("X-Handler", "yes")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.WriteHeader(http.StatusCreated)
		_, writeErr = w.Write([]byte("saved!"))
	}))
	rec := newRecorder()
	h.ServeHTTP(rec, mustRequest(t, ""))
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.Equal(t, "custom", rec.Body.String())
	assert.Empty(t, rec.Header().Get("X-Handler"))
	assert.Empty(t, rec.Header().Get("Cache-Control"))
	assert.Empty(t, rec.Header().Values("Set-Cookie"))
	assert.ErrorIs(t, writeErr, errNotSaved)
}
