package bench

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/dedw3n/hardening/internal/pgtest"
	"github.com/dedw3n/hardening/sessionstore"
)

// counterMux is the benchmark's handler: GET /read reads the integer "n",
// POST /write increments it.
func counterMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /read", func(w http.ResponseWriter, r *http.Request) {
		n, _, _ := sessionstore.Get[int](sessionstore.FromContext(r.Context()), "n")
		_, _ = io.WriteString(w, strconv.Itoa(n))
	})
	mux.HandleFunc("POST /write", func(w http.ResponseWriter, r *http.Request) {
		s := sessionstore.FromContext(r.Context())
		if err := sessionstore.Update(s, "n", func(n *int) error { *n++; return nil }); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		n, _, _ := sessionstore.Get[int](s, "n")
		_, _ = io.WriteString(w, strconv.Itoa(n))
	})
	return mux
}

// newBareStack is the handler alone, with no session library: the ceiling.
func newBareStack() *sessionStack {
	var n atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("GET /read", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, strconv.FormatInt(n.Load(), 10))
	})
	mux.HandleFunc("POST /write", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "session", Value: "bare"})
		_, _ = io.WriteString(w, strconv.FormatInt(n.Add(1), 10))
	})
	srv := httptest.NewServer(mux)
	return &sessionStack{srv: srv, close: srv.Close}
}

// transactions returns the transactions PostgreSQL counted in the
// database (pg_stat_database xact_commit + xact_rollback), every statement
// outside an explicit transaction counting as one, the stack's start,
// LISTEN and heartbeats included (see settledCount).
func transactions(b *testing.B, dsn string) int64 {
	const own = 2 // a connection's start and its query each count as one
	return settledCount(b, dsn, `SELECT (xact_commit + xact_rollback)::bigint FROM pg_stat_database WHERE datname = current_database()`, own)
}

// BenchmarkSessionCache runs BenchmarkSessions' workload (64 sessions, 8
// keep-alive clients) with sessionstore's read cache on, beside the bare
// handler (no session library) and scs + pgxstore with sliding expiry
// (IdleTimeout set), at 95% and 100% reads. queries/1000req counts the
// transactions PostgreSQL saw (pg_stat_database), the stack's start,
// heartbeats and LISTEN included.
func BenchmarkSessionCache(b *testing.B) {
	for _, reads := range []int{95, 100} {
		for _, impl := range []string{"cached", "bare", "scs"} {
			b.Run("reads="+strconv.Itoa(reads)+"%/impl="+impl, func(b *testing.B) {
				benchCacheCase(b, impl, reads)
			})
		}
	}
}

func benchCacheCase(b *testing.B, impl string, reads int) {
	dsn := pgtest.DB(b)
	open := func() *sessionStack {
		if impl == "bare" {
			return newBareStack()
		}
		return newSessionStack(b, impl, dsn)
	}
	stack := open()
	cookies := establish(b, stack)
	stack.close()
	// Backends report their counts when they exit: count from here, with
	// everything closed, to the end with everything closed again. The
	// second stack's start (DDL, LISTEN, the first load of each session)
	// is therefore included.
	before := transactions(b, dsn)

	stack = open()
	client := newBenchClient()
	for _, c := range cookies { // untimed: warm connections and (for the cache) the heartbeat
		do(b, client, http.MethodGet, stack.srv.URL+"/read", "session", c)
	}
	client.CloseIdleConnections()
	runWorkload(b, stack.srv.URL, cookies, reads < 100)
	b.StopTimer()
	elapsed := b.Elapsed()
	stack.close()
	queries := transactions(b, dsn) - before - 2
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
	b.ReportMetric(float64(queries)*1000/float64(b.N), "queries/1000req")
}
