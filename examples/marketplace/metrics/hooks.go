package metrics

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/dedw3n/hardening/sessionstore"
)

// PoolTracer returns a function for dbpool.Config.Configure that installs
// an acquire tracer: hardening_dbpool_acquire_duration_seconds (a histogram
// of the time each Acquire took, waiting included) and
// hardening_dbpool_acquires_in_progress (the acquires not yet answered: the
// callers waiting for a connection). It replaces any Tracer set before it.
func PoolTracer(reg prometheus.Registerer) func(*pgxpool.Config) {
	t := &acquireTracer{
		hist: register(reg, prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hardening_dbpool_acquire_duration_seconds",
			Help:    "Time each pool acquire took, waiting for a connection included.",
			Buckets: latencyBuckets,
		})),
		waiting: register(reg, prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hardening_dbpool_acquires_in_progress",
			Help: "Pool acquires not yet answered: callers waiting for a connection.",
		})),
	}
	return func(c *pgxpool.Config) { c.ConnConfig.Tracer = t }
}

type acquireTracer struct {
	hist    prometheus.Histogram
	waiting prometheus.Gauge
}

type acquireStart struct{}

func (t *acquireTracer) TraceAcquireStart(ctx context.Context, _ *pgxpool.Pool, _ pgxpool.TraceAcquireStartData) context.Context {
	t.waiting.Inc()
	return context.WithValue(ctx, acquireStart{}, time.Now())
}

func (t *acquireTracer) TraceAcquireEnd(ctx context.Context, _ *pgxpool.Pool, _ pgxpool.TraceAcquireEndData) {
	t.waiting.Dec()
	if start, ok := ctx.Value(acquireStart{}).(time.Time); ok {
		t.hist.Observe(time.Since(start).Seconds())
	}
}

// TraceQueryStart and TraceQueryEnd make the tracer a pgx.QueryTracer, the
// type of ConnConfig.Tracer; queries are not traced.
func (t *acquireTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	return ctx
}

func (t *acquireTracer) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// SessionStore wraps a session store, recording each operation's duration
// in hardening_sessions_store_duration_seconds{op, result} (result "ok" or
// "error"; a session not found or a save conflict is "ok"). The wrapper
// passes the store's own Stats, Ready and CachesReads through to the Manager.
func SessionStore(reg prometheus.Registerer, s sessionstore.Store) sessionstore.Store {
	hist := register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "hardening_sessions_store_duration_seconds",
		Help:    "Session store operations, by operation and result.",
		Buckets: latencyBuckets,
	}, []string{"op", "result"}))
	return &timedStore{s: s, hist: hist}
}

type timedStore struct {
	s    sessionstore.Store
	hist *prometheus.HistogramVec
}

// observe records an operation that started at start and ended with *err;
// it is deferred, with err pointing at the operation's named result.
func (t *timedStore) observe(op string, start time.Time, err *error) {
	result := "ok"
	if *err != nil && !errors.Is(*err, sessionstore.ErrConflict) {
		result = "error"
	}
	t.hist.WithLabelValues(op, result).Observe(time.Since(start).Seconds())
}

func (t *timedStore) Load(ctx context.Context, id sessionstore.ID) (rec sessionstore.Record, found bool, err error) {
	defer t.observe("load", time.Now(), &err)
	return t.s.Load(ctx, id)
}

func (t *timedStore) Save(ctx context.Context, rec sessionstore.Record, replace sessionstore.ID) (v int64, err error) {
	defer t.observe("save", time.Now(), &err)
	return t.s.Save(ctx, rec, replace)
}

func (t *timedStore) Touch(ctx context.Context, id sessionstore.ID, now, expires, touchedBefore time.Time) (moved bool, err error) {
	defer t.observe("touch", time.Now(), &err)
	return t.s.Touch(ctx, id, now, expires, touchedBefore)
}

func (t *timedStore) Delete(ctx context.Context, id sessionstore.ID) (err error) {
	defer t.observe("delete", time.Now(), &err)
	return t.s.Delete(ctx, id)
}

func (t *timedStore) ListUser(ctx context.Context, userID string) (recs []sessionstore.Record, err error) {
	defer t.observe("list_user", time.Now(), &err)
	return t.s.ListUser(ctx, userID)
}

func (t *timedStore) DeleteUser(ctx context.Context, userID string, keep sessionstore.ID) (n int, err error) {
	defer t.observe("delete_user", time.Now(), &err)
	return t.s.DeleteUser(ctx, userID, keep)
}

// Stats passes the store's own counters through (the Manager reads them).
func (t *timedStore) Stats() sessionstore.StoreStats {
	if s, ok := t.s.(interface {
		Stats() sessionstore.StoreStats
	}); ok {
		return s.Stats()
	}
	return sessionstore.StoreStats{}
}

// CachesReads passes on whether the store answers loads from its read
// cache: the Manager keeps its version cookie only then.
func (t *timedStore) CachesReads() bool {
	c, ok := t.s.(interface{ CachesReads() bool })
	return ok && c.CachesReads()
}

// Ready passes the store's readiness through (the Manager asks it).
func (t *timedStore) Ready(ctx context.Context) error {
	if r, ok := t.s.(interface{ Ready(context.Context) error }); ok {
		return r.Ready(ctx)
	}
	return nil
}
