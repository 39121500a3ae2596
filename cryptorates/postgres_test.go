package cryptorates

import (
	"context"
	"errors"
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
)

// forTargets runs test on a fresh database reached directly, then through
// PgBouncer in transaction mode: the shared state needs no setting there,
// even on a pool that caches prepared statements (pgx's default, as here).
func forTargets(t *testing.T, test func(t *testing.T, url string)) {
	for _, target := range pgtest.Targets() {
		t.Run(target.Name, func(t *testing.T) { test(t, target.DB(t)) })
	}
}

func newPool(t *testing.T, url string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(t.Context(), url)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return pool
}

func TestPostgresFleetMakesOneCallPerInterval(t *testing.T) {
	forTargets(t, testPostgresFleetMakesOneCallPerInterval)
}

func testPostgresFleetMakesOneCallPerInterval(t *testing.T, url string) {
	clk, up := newClock(), newUpstream(t)
	// Two instances: their own pools, one table, one clock, one upstream.
	a, _ := newTestClient(t, Config{Shared: NewPostgresState(newPool(t, url), PostgresStateConfig{})}, clk, up.URL)
	b, _ := newTestClient(t, Config{Shared: NewPostgresState(newPool(t, url), PostgresStateConfig{})}, clk, up.URL)

	qa := rate(t, a, "bitcoin", "usd")
	require.Equal(t, TierFresh, qa.Tier)
	qb := rate(t, b, "bitcoin", "usd")
	require.Equal(t, TierFresh, qb.Tier)
	require.Equal(t, qa.FetchedAt, qb.FetchedAt, "b took a's snapshot")
	require.EqualValues(t, 1, up.calls.Load())
	require.Equal(t, uint64(0), b.Stats().UpstreamCalls)
	require.Equal(t, uint64(1), b.Stats().SharedReads)

	for i := 1; i <= 4; i++ {
		clk.Add(6 * time.Minute) // both stale
		up.setFactor(1 + float64(i)/100)
		var wg sync.WaitGroup
		for _, c := range []*Client{a, b, a, b} {
			wg.Go(func() {
				for range 50 {
					_, err := c.Rates(t.Context())
					assert.NoError(t, err)
				}
			})
		}
		wg.Wait()
		idle(t, a)
		idle(t, b)
		require.EqualValues(t, 1+i, up.calls.Load(), "interval %d: one call between the two", i)

		// Within MinInterval both serve the one fetch, fresh.
		clk.Add(3 * time.Second)
		for _, c := range []*Client{a, b} {
			rate(t, c, "bitcoin", "usd")
			idle(t, c)
			q := rate(t, c, "bitcoin", "usd")
			require.Equal(t, TierFresh, q.Tier)
			require.InDelta(t, 60000*(1+float64(i)/100), q.Value, 1e-6)
		}
		require.EqualValues(t, 1+i, up.calls.Load())
	}
	t.Logf("a: %d calls, b: %d calls", a.Stats().UpstreamCalls, b.Stats().UpstreamCalls)

	// A restart with no upstream starts from the stored snapshot, not static.
	require.NoError(t, a.Close())
	clk.Add(7 * time.Minute)
	c, _ := newTestClient(t, Config{Shared: NewPostgresState(newPool(t, url), PostgresStateConfig{}), ColdWait: time.Second}, clk, refusedURL(t))
	q := rate(t, c, "ethereum", "gbp")
	require.Equal(t, TierAcceptable, q.Tier)
	require.InDelta(t, 3000*0.8*1.04, q.Value, 1e-6)
}

func TestPostgresSharesRetryAfterAcrossTheFleet(t *testing.T) {
	forTargets(t, testPostgresSharesRetryAfterAcrossTheFleet)
}

func testPostgresSharesRetryAfterAcrossTheFleet(t *testing.T, url string) {
	clk, up := newClock(), newUpstream(t)
	up.set(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "60")
		w.WriteHeader(http.StatusTooManyRequests)
	})
	a, _ := newTestClient(t, Config{Shared: NewPostgresState(newPool(t, url), PostgresStateConfig{Name: "x"})}, clk, up.URL)
	b, _ := newTestClient(t, Config{Shared: NewPostgresState(newPool(t, url), PostgresStateConfig{Name: "x"})}, clk, up.URL)
	rate(t, a, "bitcoin", "usd")
	require.EqualValues(t, 1, up.calls.Load())
	up.set(nil)
	clk.Add(30 * time.Second)
	require.Equal(t, TierStatic, rate(t, b, "bitcoin", "usd").Tier, "b honours a's Retry-After")
	require.EqualValues(t, 1, up.calls.Load())
	clk.Add(30 * time.Second)
	require.Equal(t, TierFresh, rate(t, b, "bitcoin", "usd").Tier)
	require.EqualValues(t, 2, up.calls.Load())
}

func TestPostgresDownClientWorksAloneAndLeaksNoPassword(t *testing.T) {
	srv := pgtest.NewServer(t, pgtest.Options{})
	dbURL := srv.CreateDB(t)
	const password = "hunter2-very-secret"
	dsn := strings.Replace(dbURL, "postgres@", "postgres:"+password+"@", 1)
	require.Contains(t, dsn, password)

	clk, up := newClock(), newUpstream(t)
	c, logs := newTestClient(t, Config{Shared: NewPostgresState(newPool(t, dsn), PostgresStateConfig{})}, clk, up.URL)
	require.Equal(t, TierFresh, rate(t, c, "bitcoin", "usd").Tier)

	require.NoError(t, srv.Stop())
	clk.Add(6 * time.Minute)
	rate(t, c, "bitcoin", "usd")
	idle(t, c)
	q := rate(t, c, "bitcoin", "usd")
	require.Equal(t, TierFresh, q.Tier, "refreshed alone while the database is down")
	require.EqualValues(t, 2, up.calls.Load())
	require.Positive(t, c.Stats().SharedErrors)
	require.Equal(t, 1, logs.Count("shared state unavailable"))
	require.NotContains(t, logs.String(), password)

	require.NoError(t, srv.Start())
	clk.Add(6 * time.Minute)
	rate(t, c, "bitcoin", "usd")
	idle(t, c)
	require.Eventually(t, func() bool {
		clk.Add(3 * time.Second)
		rate(t, c, "bitcoin", "usd")
		idle(t, c)
		return logs.Count("shared state available again") == 1
	}, 20*time.Second, 50*time.Millisecond)
	require.NotContains(t, logs.String(), password)
}

func TestPostgresCorruptRowIsOverwritten(t *testing.T) {
	forTargets(t, testPostgresCorruptRowIsOverwritten)
}

func testPostgresCorruptRowIsOverwritten(t *testing.T, url string) {
	pool := newPool(t, url)
	st := NewPostgresState(pool, PostgresStateConfig{})
	_, err := st.Load(t.Context()) // creates the table
	require.NoError(t, err)
	_, err = pool.Exec(t.Context(), `INSERT INTO cryptorates_snapshot (name, data) VALUES ('default', '{"prices": 5}')`, pgx.QueryExecModeExec)
	require.NoError(t, err)
	_, err = st.Load(t.Context())
	require.ErrorIs(t, err, errCorruptSnapshot)

	clk, up := newClock(), newUpstream(t)
	c, _ := newTestClient(t, Config{Shared: st}, clk, up.URL)
	require.Equal(t, TierFresh, rate(t, c, "bitcoin", "usd").Tier)
	snap, err := st.Load(t.Context())
	require.NoError(t, err)
	require.Equal(t, 60000.0, snap.Prices[Pair{"bitcoin", "usd"}].Value)
	require.Equal(t, t0, snap.AttemptedAt.UTC())
}

// Load on a database whose table of that name has other columns: a clear
// error naming the fix; the other table is left alone.
func TestPostgresTableOfAnotherShape(t *testing.T) {
	url := pgtest.DB(t)
	pool := newPool(t, url)
	_, err := pool.Exec(t.Context(), "CREATE TABLE cryptorates_snapshot (id serial PRIMARY KEY, payload text)")
	require.NoError(t, err)
	st := NewPostgresState(pool, PostgresStateConfig{})
	_, err = st.Load(t.Context())
	require.ErrorIs(t, err, ErrTableShape)
	for _, want := range []string{"cryptorates_snapshot", "(id, payload)", "PostgresStateConfig.Table"} {
		require.Contains(t, err.Error(), want)
	}
	got, err := st.Exclusive(t.Context(), func(Snapshot) (Snapshot, bool) { return Snapshot{}, true })
	require.False(t, got)
	require.True(t, errors.Is(err, ErrTableShape))

	// Another table name works beside it.
	other := NewPostgresState(pool, PostgresStateConfig{Table: "rates_state"})
	_, err = other.Load(context.Background())
	require.NoError(t, err)
}

// A fleet of states through PgBouncer in transaction mode, each on a pool
// with pgx's default statement cache, contending for the lock: no error,
// each write stored, at most one holder at a time, and no advisory lock
// left behind.
func TestPostgresStateUnderLoadThroughPgBouncer(t *testing.T) {
	url := pgtest.PooledDB(t)
	var states []*PostgresState
	for range 4 {
		states = append(states, NewPostgresState(newPool(t, url), PostgresStateConfig{}))
	}
	var mu sync.Mutex
	holders, maxHolders, writes := 0, 0, 0
	var wg sync.WaitGroup
	for _, st := range states {
		for range 3 {
			wg.Go(func() {
				for range 20 {
					_, err := st.Exclusive(t.Context(), func(cur Snapshot) (Snapshot, bool) {
						mu.Lock()
						holders++
						maxHolders = max(maxHolders, holders)
						writes++
						n := writes
						mu.Unlock()
						defer func() { mu.Lock(); holders--; mu.Unlock() }()
						next := Snapshot{AttemptedAt: t0.Add(time.Duration(n) * time.Second), Prices: map[Pair]Price{}}
						return next, true
					})
					assert.NoError(t, err)
				}
			})
		}
	}
	wg.Wait()
	assert.Equal(t, 1, maxHolders, "one holder at a time")
	require.Positive(t, writes)
	snap, err := states[0].Load(t.Context())
	require.NoError(t, err)
	assert.Equal(t, t0.Add(time.Duration(writes)*time.Second), snap.AttemptedAt.UTC(), "the last write is stored")

	var locks int
	require.NoError(t, newPool(t, url).QueryRow(t.Context(), `SELECT count(*) FROM pg_locks
WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
		pgx.QueryExecModeExec).Scan(&locks))
	assert.Zero(t, locks, "advisory locks left held")
}
