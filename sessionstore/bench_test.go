package sessionstore

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/dedw3n/hardening/internal/pgtest"
	"github.com/dedw3n/hardening/internal/testlog"
)

// queryCounter is a pgx tracer counting the queries sent.
type queryCounter struct{ n atomic.Int64 }

func (q *queryCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	q.n.Add(1)
	return ctx
}

func (q *queryCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// benchStores returns the two backends and, for each, a function counting
// the queries (store lookups and writes) made so far.
func benchStores(b *testing.B) map[string]struct {
	store   Store
	queries func() int64
} {
	mem := NewMemoryStore(MemoryConfig{PruneInterval: -1})
	b.Cleanup(func() { mem.Close() })
	pc, err := pgxpool.ParseConfig(pgtest.DB(b))
	require.NoError(b, err)
	qc := &queryCounter{}
	pc.ConnConfig.Tracer = qc
	pool, err := pgxpool.NewWithConfig(b.Context(), pc)
	require.NoError(b, err)
	b.Cleanup(pool.Close)
	pg, err := NewPostgresStore(PostgresConfig{Pool: pool, PruneInterval: -1, Logger: (&testlog.Buffer{}).Text()})
	require.NoError(b, err)
	b.Cleanup(func() { pg.Close() })
	require.Eventually(b, func() bool { return pg.Ready(b.Context()) == nil }, 10*time.Second, 10*time.Millisecond)
	return map[string]struct {
		store   Store
		queries func() int64
	}{
		"memory":   {mem, nil},
		"postgres": {pg, qc.n.Load},
	}
}

func benchManager(b *testing.B, store Store) *Manager {
	m, err := NewManager(store, Config{Secrets: [][]byte{testSecret}, Logger: (&testlog.Buffer{}).Text()})
	require.NoError(b, err)
	return m
}

// sessionCookie creates a session holding a cart and returns its Cookie
// header.
func sessionCookie(b *testing.B, m *Manager) string {
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.NoError(b, FromContext(r.Context()).Put("cart", []item{{"p1", 2}, {"p2", 1}}))
		require.NoError(b, FromContext(r.Context()).Put("name", "alice"))
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	c := rec.Result().Cookies()
	require.Len(b, c, 1)
	return c[0].Name + "=" + c[0].Value
}

func runBench(b *testing.B, name string, queriesPerOp int64, h func(m *Manager) http.Handler, cookie func(m *Manager) string) {
	for backend, s := range benchStores(b) {
		b.Run(name+"/"+backend, func(b *testing.B) {
			m := benchManager(b, s.store)
			handler := h(m)
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.Header.Set("Cookie", cookie(m))
			var q0 int64
			if s.queries != nil {
				q0 = s.queries()
			}
			st0 := m.Stats()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				rec := httptest.NewRecorder()
				handler.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
			}
			b.StopTimer()
			var got int64
			if s.queries != nil {
				got = s.queries() - q0
			} else { // memory: count store lookups and writes
				st := m.Stats()
				got = int64(st.Loads-st0.Loads) + int64(st.Writes-st0.Writes)
			}
			b.ReportMetric(float64(got)/float64(b.N), "queries/op")
			if got != queriesPerOp*int64(b.N) {
				b.Fatalf("%d queries for %d requests, want %d per request", got, b.N, queriesPerOp)
			}
		})
	}
}

func readCart(m *Manager) http.Handler {
	return m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cart, _, err := Get[[]item](FromContext(r.Context()), "cart")
		if err != nil || len(cart) == 0 {
			http.Error(w, "no cart", http.StatusBadRequest)
		}
	}))
}

// BenchmarkUnmodified: a request reading a valid session inside touch-after
// costs exactly one query (the load) and no write.
func BenchmarkUnmodified(b *testing.B) {
	runBench(b, "read", 1, readCart, func(m *Manager) string { return sessionCookie(b, m) })
}

// BenchmarkModified: a request changing its session costs the load and one
// write.
func BenchmarkModified(b *testing.B) {
	var n atomic.Int64
	runBench(b, "write", 2, func(m *Manager) http.Handler {
		return m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := FromContext(r.Context()).Put("n", n.Add(1)); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
			}
		}))
	}, func(m *Manager) string { return sessionCookie(b, m) })
}

// BenchmarkForgedCookie: a forged cookie is rejected without a query.
func BenchmarkForgedCookie(b *testing.B) {
	runBench(b, "forged", 0, func(m *Manager) http.Handler {
		return m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	}, func(m *Manager) string {
		c := sessionCookie(b, m)
		i := len(c) - 10 // inside the MAC
		return c[:i] + flip(c[i]) + c[i+1:]
	})
}
