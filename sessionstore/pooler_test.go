package sessionstore

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dedw3n/hardening/internal/pgtest"
	"github.com/dedw3n/hardening/internal/testlog"
)

// Three instances behind PgBouncer in transaction mode, under concurrent
// load with pruning running every few milliseconds: no error, every
// acknowledged write stored, pruning kept running, and no advisory lock
// left behind on any backend.
func TestPostgresPoolerLoad(t *testing.T) {
	target := pgtest.Targets()[1]
	require.True(t, target.Pooled)
	base := targetConfig(t, target)
	url := base.URL
	base.PruneInterval = 20 * time.Millisecond
	base.PruneBatch = 50
	var apps []*app
	var stores []*PostgresStore
	for range 3 {
		s := newPG(t, base)
		waitReady(t, s, 10*time.Second)
		stores = append(stores, s)
		apps = append(apps, newApp(t, s, Config{}))
	}
	exec(t, url, `INSERT INTO sessions (id, created, touched, expires, deadline)
SELECT sha256(i::text::bytea), now(), now(), now() - interval '1 s', now() FROM generate_series(1, 500) i`)
	runsBefore := pruneRuns(stores)

	const workers, adds = 12, 25
	var failures atomic.Int64
	acked := make([][]string, workers) // per worker: the items a 200 acknowledged
	cookies := make([]string, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range adds {
				a := apps[(w+i)%len(apps)] // each request to another instance
				id := fmt.Sprintf("w%d-%d", w, i)
				res := a.do(t, http.MethodPost, "/add?id="+id, cookies[w])
				if res.status != http.StatusOK {
					failures.Add(1)
					t.Errorf("worker %d add %d: %d %s", w, i, res.status, res.body)
					continue
				}
				if res.cookie != nil {
					cookies[w] = res.cookie.Value
				}
				acked[w] = append(acked[w], id)
				if res := a.do(t, http.MethodGet, "/get", cookies[w]); res.status != http.StatusOK {
					failures.Add(1)
					t.Errorf("worker %d read %d: %d %s", w, i, res.status, res.body)
				}
			}
		})
	}
	wg.Wait()
	assert.Zero(t, failures.Load(), "every request answered 200")

	for w := range workers {
		var got []string
		for _, it := range apps[0].get(t, cookies[w]).Cart {
			got = append(got, it.ProductID)
		}
		assert.ElementsMatch(t, acked[w], got, "worker %d: every acknowledged add stored", w)
	}
	require.Eventually(t, func() bool { return pruneRuns(stores) >= runsBefore+5 }, 10*time.Second, 10*time.Millisecond,
		"pruning keeps running")
	assert.Zero(t, queryInt(t, url, "SELECT count(*) FROM sessions WHERE expires <= now()"), "expired sessions pruned")
	for _, s := range stores {
		require.NoError(t, s.Close())
	}
	assertNoAdvisoryLocks(t, url)
}

func pruneRuns(stores []*PostgresStore) uint64 {
	var n uint64
	for _, s := range stores {
		n += s.Stats().PruneRuns
	}
	return n
}

// A database that already has another library's sessions table: the store
// says so once, in plain words, and stops retrying; readiness says it too.
func TestPostgresTableOfAnotherShape(t *testing.T) {
	tests := []struct {
		name, ddl, table, looks string
		columns                 string
	}{
		{"scs", pgtest.SCSTable, "", "scs", "(token, data, expiry)"},
		{"connect-pg-simple", pgtest.ConnectPgSimpleTable, "session", "connect-pg-simple", "(sid, sess, expire)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := pgtest.DB(t)
			exec(t, url, tt.ddl)
			logs := &testlog.Buffer{}
			s := newPG(t, PostgresConfig{URL: url, Table: tt.table, Logger: logs.Text()})
			require.Eventually(t, func() bool { return !s.retrying.Load() }, 10*time.Second, 10*time.Millisecond,
				"the background initialisation stops")
			err := s.Ready(t.Context())
			require.ErrorIs(t, err, ErrTableShape)
			assert.NotErrorIs(t, err, ErrNotReady, "not a transient fault")
			for _, want := range []string{tt.looks, tt.columns, "PostgresConfig.Table"} {
				assert.Contains(t, err.Error(), want)
			}
			attempts := s.Stats().InitAttempts
			for range 3 {
				_, _, err := s.Load(t.Context(), ID{})
				require.ErrorIs(t, err, ErrTableShape)
				require.ErrorIs(t, s.Ready(t.Context()), ErrTableShape)
			}
			assert.Equal(t, uint64(1), attempts, "one attempt, no retries")
			assert.Equal(t, attempts, s.Stats().InitAttempts, "operations do not retry it either")
			assert.Len(t, logs.Lines("cannot use the existing table"), 1, "said once")

			a := newApp(t, s, Config{})
			res := a.do(t, http.MethodPost, "/add?id=x", "")
			assert.Equal(t, http.StatusServiceUnavailable, res.status)
			assert.Equal(t, 1, queryInt(t, url, "SELECT count(*) FROM information_schema.tables WHERE table_name = $1",
				map[string]string{"": "sessions"}[tt.table]+tt.table), "the other library's table is left alone")
		})
	}
}

// A caller's pool that caches prepared statements is refused behind a
// transaction pooler, declared or detected.
func TestPostgresPoolCachingBehindPooler(t *testing.T) {
	for _, tt := range []struct {
		url    string
		pooler Pooler
		ok     bool
	}{
		{"postgres://u@localhost/db", PoolerTransaction, false},
		{"postgres://u@ep-x-1-pooler.eu-central-1.aws.neon.tech/db", PoolerAuto, false},
		{"postgres://u@localhost/db?default_query_exec_mode=exec", PoolerTransaction, true},
		{"postgres://u@localhost/db", PoolerAuto, true},
	} {
		pc, err := pgxpool.ParseConfig(tt.url)
		require.NoError(t, err)
		pool, err := pgxpool.NewWithConfig(context.Background(), pc) // connects lazily: no I/O
		require.NoError(t, err)
		s, err := NewPostgresStore(PostgresConfig{Pool: pool, Pooler: tt.pooler, PruneInterval: -1, InitTimeout: time.Millisecond})
		if tt.ok {
			require.NoError(t, err, tt.url)
			s.Close()
		} else {
			require.Error(t, err, tt.url)
			assert.True(t, strings.Contains(err.Error(), "default_query_exec_mode=exec"), err.Error())
		}
		pool.Close()
	}
}
