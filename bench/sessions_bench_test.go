package bench

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alexedwards/scs/pgxstore"
	"github.com/alexedwards/scs/v2"
	"github.com/dedw3n/hardening/internal/pgtest"
	"github.com/dedw3n/hardening/sessionstore"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// benchSessionCount is how many sessions the parallel clients share.
const benchSessionCount = 64

// sessionStack is one implementation's HTTP server over its session store.
type sessionStack struct {
	srv   *httptest.Server
	pool  *pgxpool.Pool
	close func()
}

// warm opens every connection of the stack's pool with a SELECT 1, so the
// timed part starts on a warm pool without a single session read or write.
func (s *sessionStack) warm(b *testing.B) {
	b.Helper()
	ctx := context.Background()
	conns := make([]*pgxpool.Conn, s.pool.Config().MaxConns)
	for i := range conns {
		c, err := s.pool.Acquire(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Exec(ctx, "SELECT 1"); err != nil {
			b.Fatal(err)
		}
		conns[i] = c
	}
	for _, c := range conns {
		c.Release()
	}
}

// newSessionStack builds impl ("ours", "cached": ours with the read cache
// on, or "scs") on a fresh pool of dsn with
// the same handler: GET /read reads the integer "n", POST /write
// increments it.
func newSessionStack(b *testing.B, impl, dsn string) *sessionStack {
	b.Helper()
	ctx := context.Background()
	pc, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		b.Fatal(err)
	}
	pc.MaxConns = 8
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		b.Fatal(err)
	}
	mux := http.NewServeMux()
	var (
		mw      func(http.Handler) http.Handler
		cleanup = func() {}
	)
	switch impl {
	case "ours", "cached":
		store, err := sessionstore.NewPostgresStore(sessionstore.PostgresConfig{Pool: pool, PruneInterval: -1, Logger: discardLogger(),
			Cache: sessionstore.CacheConfig{Enabled: impl == "cached"}})
		if err != nil {
			b.Fatal(err)
		}
		mgr, err := sessionstore.NewManager(store, sessionstore.Config{
			Secrets: [][]byte{testSecret}, Cookie: sessionstore.CookieConfig{Insecure: true}, Logger: discardLogger(),
		})
		if err != nil {
			b.Fatal(err)
		}
		wctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		for mgr.Ready(wctx) != nil && wctx.Err() == nil {
			time.Sleep(20 * time.Millisecond)
		}
		mux = counterMux()
		mw = mgr.Middleware
		cleanup = func() { _ = store.Close() }
	case "scs":
		if _, err := pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS sessions (token TEXT PRIMARY KEY, data BYTEA NOT NULL, expiry TIMESTAMPTZ NOT NULL);
			CREATE INDEX IF NOT EXISTS sessions_expiry_idx ON sessions (expiry)`); err != nil {
			b.Fatal(err)
		}
		sm := scs.New()
		sm.Store = pgxstore.NewWithCleanupInterval(pool, 0)
		sm.Lifetime = 30 * 24 * time.Hour
		sm.IdleTimeout = 7 * 24 * time.Hour
		sm.Cookie.Secure = false
		mux.HandleFunc("GET /read", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, strconv.Itoa(sm.GetInt(r.Context(), "n")))
		})
		mux.HandleFunc("POST /write", func(w http.ResponseWriter, r *http.Request) {
			n := sm.GetInt(r.Context(), "n") + 1
			sm.Put(r.Context(), "n", n)
			_, _ = io.WriteString(w, strconv.Itoa(n))
		})
		mw = sm.LoadAndSave
	default:
		b.Fatalf("unknown impl %q", impl)
	}
	srv := httptest.NewServer(mw(mux))
	return &sessionStack{srv: srv, pool: pool, close: func() {
		srv.Close()
		cleanup()
		pool.Close()
	}}
}

// tableWrites returns the rows inserted, updated and deleted in the
// database's user tables as PostgreSQL counts them (see settledCount).
func tableWrites(b *testing.B, dsn string) int64 {
	return settledCount(b, dsn, `SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0)::bigint FROM pg_stat_user_tables`, 0)
}

// settledCount reads a cumulative statistic of the database with query (in
// the simple protocol: one transaction per read) until it stops moving.
// Backends flush their statistics when they exit, so callers close their
// pools first. own is what each read adds to the statistic itself; the
// result leaves out every read's own but the last's, which shows only in
// the next call.
func settledCount(b *testing.B, dsn, query string, own int64) int64 {
	b.Helper()
	ctx := context.Background()
	read := func() int64 {
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close(ctx)
		var n int64
		if err := conn.QueryRow(ctx, query, pgx.QueryExecModeSimpleProtocol).Scan(&n); err != nil {
			b.Fatal(err)
		}
		return n
	}
	last, stable, reads := read(), 0, 1
	for stable < 3 {
		time.Sleep(60 * time.Millisecond)
		n := read()
		reads++
		if n-last <= own { // nothing but our own previous read
			stable++
		} else {
			stable = 0
		}
		last = n
	}
	return last - own*int64(reads-1)
}

func newBenchClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, MaxIdleConns: 64, DisableCompression: true}}
}

func do(b *testing.B, c *http.Client, method, url, cookieName, cookie string) *http.Response {
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		b.Fatal(err)
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookieName+"="+cookie)
	}
	resp, err := c.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("%s %s: %s", method, url, resp.Status)
	}
	return resp
}

// establish creates benchSessionCount sessions through stack (a POST
// /write each) and returns their "session" cookie values.
func establish(b *testing.B, stack *sessionStack) []string {
	client := newBenchClient()
	defer client.CloseIdleConnections()
	cookies := make([]string, benchSessionCount)
	for i := range cookies {
		resp := do(b, client, http.MethodPost, stack.srv.URL+"/write", "", "")
		for _, c := range resp.Cookies() {
			if c.Name == "session" {
				cookies[i] = c.Value
			}
		}
		if cookies[i] == "" {
			b.Fatal("no session cookie set")
		}
	}
	return cookies
}

// runWorkload is the timed part: 8 keep-alive clients (wireConn), each on
// one of the sessions, reading it; with writes, every 20th request changes
// it. The clients keep sending the cookie they started with.
func runWorkload(b *testing.B, url string, cookies []string, writes bool) {
	var next atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		cookie := http.Header{"Cookie": {"session=" + cookies[int(next.Add(1))%len(cookies)]}}
		read := wireRequest(b, http.MethodGet, url+"/read", cookie)
		write := wireRequest(b, http.MethodPost, url+"/write", cookie)
		conn := dialWire(b, url)
		for i := 0; pb.Next(); i++ {
			req := read
			if writes && i%20 == 19 {
				req = write
			}
			if status, _, _, err := conn.do(req); err != nil || status != http.StatusOK {
				b.Errorf("status %d, err %v", status, err)
				return
			}
		}
	})
}

// BenchmarkSessions runs the same workload through sessionstore and through
// scs with pgxstore (IdleTimeout set, as people use it), over real HTTP with
// keep-alive clients on the same PostgreSQL: 64 established sessions,
// 95% requests that read the session, 5% that change it. Metrics: req/s and
// writes/1000req, the latter counted by PostgreSQL itself
// (pg_stat_user_tables n_tup_ins+n_tup_upd+n_tup_del).
func BenchmarkSessions(b *testing.B) {
	for _, impl := range []string{"ours", "scs"} {
		b.Run("impl="+impl, func(b *testing.B) {
			dsn := pgtest.DB(b)
			// Establish the sessions, then close everything so that the
			// set-up's writes are flushed to the statistics.
			stack := newSessionStack(b, impl, dsn)
			cookies := establish(b, stack)
			stack.close()
			before := tableWrites(b, dsn)

			stack = newSessionStack(b, impl, dsn)
			// Both pools start warm; the warm-up touches no session, so every
			// write PostgreSQL counts from here on is the workload's.
			stack.warm(b)
			runWorkload(b, stack.srv.URL, cookies, true)
			b.StopTimer()
			elapsed := b.Elapsed()
			stack.close()
			writes := tableWrites(b, dsn) - before
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
			b.ReportMetric(float64(writes)*1000/float64(b.N), "writes/1000req")
		})
	}
}
