package sessionstore

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dedw3n/hardening/internal/pgtest"
)

// tracedCachedPG returns a cached store on url whose pool counts its
// session loads. MaxLag is long, so that the cache stays usable between
// the test's steps whatever the machine's load.
func tracedCachedPG(t *testing.T, url string) (*PostgresStore, *loadCounter) {
	t.Helper()
	pc, err := pgxpool.ParseConfig(url)
	require.NoError(t, err)
	tr := &loadCounter{}
	pc.ConnConfig.Tracer = tr
	pool, err := pgxpool.NewWithConfig(t.Context(), pc)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return newCachedPG(t, PostgresConfig{Pool: pool, Cache: CacheConfig{MaxLag: time.Minute}}), tr
}

// awaitOwnNotice waits until s has handled an invalidation after it had
// counted before: the notification of the write just made.
func awaitOwnNotice(t *testing.T, s *PostgresStore, before uint64) {
	t.Helper()
	require.Eventually(t, func() bool { return s.Stats().Cache.Invalidations > before },
		10*time.Second, time.Millisecond, "the write's notification comes back")
}

// requireSameRecord fails unless got is want, the row as PostgreSQL has it.
func requireSameRecord(t *testing.T, want, got Record) {
	t.Helper()
	require.Equal(t, want.ID, got.ID)
	require.JSONEq(t, string(want.Data), string(got.Data))
	require.Equal(t, want.UserID, got.UserID)
	require.Equal(t, want.Version, got.Version)
	for _, p := range [][2]time.Time{{want.Created, got.Created}, {want.Touched, got.Touched},
		{want.Expires, got.Expires}, {want.Deadline, got.Deadline}} {
		require.True(t, p[0].Equal(p[1]), "want %v, got %v", p[0], p[1])
	}
}

// TestCacheWriteKeepsWriterWarm: after a save on A, A's next reads are
// answered by its cache, without a query, before and after the save's own
// notification comes back, and they see the change.
func TestCacheWriteKeepsWriterWarm(t *testing.T) {
	store, tr := tracedCachedPG(t, pgtest.DB(t))
	a := newApp(t, store, Config{})
	ck := a.newSession(t)
	warm(t, a, store, ck)

	for i := range 5 {
		inv := store.Stats().Cache.Invalidations
		res := a.do(t, http.MethodPost, fmt.Sprintf("/add?id=item-%d", i), ck)
		require.Equal(t, http.StatusOK, res.status, res.body)
		loads, hits := tr.n.Load(), store.Stats().Cache.Hits
		assert.Len(t, a.get(t, ck).Cart, i+2, "the read after the save sees it")
		awaitOwnNotice(t, store, inv)
		assert.Len(t, a.get(t, ck).Cart, i+2, "and so does the read after its notification")
		assert.Equal(t, loads, tr.n.Load(), "save %d: no load query after it", i)
		assert.Equal(t, hits+2, store.Stats().Cache.Hits, "save %d", i)
	}
	assert.Zero(t, store.Stats().Cache.Malformed)
}

// TestCacheChangeOnBAfterSaveOnA: A's copy, cached by A's own save, is
// dropped by B's later change within MaxLag.
func TestCacheChangeOnBAfterSaveOnA(t *testing.T) {
	f := newFleet(t, pgtest.DB(t), PostgresConfig{})
	br := newBrowser(t)
	br.do(t, f.a, http.MethodPost, "/add?id=first")
	ck := br.cookie(t, f.a)
	warm(t, f.a, f.sa, ck)

	br.do(t, f.a, http.MethodPost, "/add?id=second")
	warm(t, f.a, f.sa, ck)
	assert.Len(t, f.a.get(t, ck).Cart, 2)
	res := f.b.do(t, http.MethodPost, "/add?id=via-b", ck)
	require.Equal(t, http.StatusOK, res.status, res.body)
	lat := awaitFresh(t, f.a, ck, time.Now(), 100*time.Millisecond, cartLen(3))
	t.Logf("A served B's change to another client %v after B answered", lat)
	assert.Equal(t, []item{{"first", 1}, {"second", 1}, {"via-b", 1}}, br.get(t, f.a).Cart)
}

// TestCacheTouchKeepsCopy: a touch on A leaves A's cached copy equal to
// the row (new touched and expiry) without a query, and a touch on B
// drops it within MaxLag although the version stays the same.
func TestCacheTouchKeepsCopy(t *testing.T) {
	url := pgtest.DB(t)
	sa, tr := tracedCachedPG(t, url)
	sb := newCachedPG(t, PostgresConfig{URL: url})
	truth := newPG(t, PostgresConfig{URL: url})
	waitReady(t, truth, 10*time.Second)
	load := func(s *PostgresStore, id ID) Record {
		t.Helper()
		r, found, err := s.Load(t.Context(), id)
		require.NoError(t, err)
		require.True(t, found)
		return r
	}

	now := time.Now().Truncate(time.Microsecond)
	tok := newToken()
	id := idOf(tok[:])
	_, err := sa.Save(t.Context(), Record{ID: id, Data: []byte(`{"k":"v"}`), Created: now, Touched: now,
		Expires: now.Add(time.Hour), Deadline: now.Add(3 * time.Hour)}, ID{})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		hits := sa.Stats().Cache.Hits
		_, _, err := sa.Load(t.Context(), id)
		return err == nil && sa.Stats().Cache.Hits > hits
	}, 10*time.Second, 5*time.Millisecond, "A caches the session")

	inv := sa.Stats().Cache.Invalidations
	at := now.Add(time.Minute)
	moved, err := sa.Touch(t.Context(), id, at, at.Add(time.Hour), at)
	require.NoError(t, err)
	require.True(t, moved)
	loads := tr.n.Load()
	requireSameRecord(t, load(truth, id), load(sa, id))
	awaitOwnNotice(t, sa, inv)
	requireSameRecord(t, load(truth, id), load(sa, id))
	assert.Equal(t, loads, tr.n.Load(), "no load query after A's touch")

	at = at.Add(time.Minute)
	moved, err = sb.Touch(t.Context(), id, at, at.Add(time.Hour), at)
	require.NoError(t, err)
	require.True(t, moved)
	require.Eventually(t, func() bool {
		got, _, err := sa.Load(t.Context(), id)
		return err == nil && got.Touched.Equal(at)
	}, 10*time.Second, time.Millisecond, "B's touch reaches A")
	requireSameRecord(t, load(truth, id), load(sa, id))
	assert.Greater(t, tr.n.Load(), loads, "A reloaded after B's touch")
}

// TestCacheMalformedNotice: a notification the listener cannot read drops
// the session it names, is counted and logged.
func TestCacheMalformedNotice(t *testing.T) {
	url := pgtest.DB(t)
	store, tr := tracedCachedPG(t, url)
	now := time.Now().Truncate(time.Microsecond)
	tok := newToken()
	id := idOf(tok[:])
	_, err := store.Save(t.Context(), Record{ID: id, Data: []byte(`{}`), Created: now, Touched: now,
		Expires: now.Add(time.Hour), Deadline: now.Add(time.Hour)}, ID{})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		hits := store.Stats().Cache.Hits
		store.Load(t.Context(), id)
		return store.Stats().Cache.Hits > hits
	}, 10*time.Second, 5*time.Millisecond, "the cache answers")

	exec(t, url, "SELECT pg_notify($1, $2)", store.listener.listeningOn(), id.String()+" 99 x 1")
	require.Eventually(t, func() bool { return store.Stats().Cache.Malformed == 1 }, 10*time.Second, time.Millisecond)
	loads := tr.n.Load()
	_, found, err := store.Load(t.Context(), id)
	require.NoError(t, err)
	require.True(t, found)
	assert.Equal(t, loads+1, tr.n.Load(), "the entry was dropped")
}

// TestCacheNotifyTriggerPerRow: the store replaces the per-statement
// trigger of earlier versions (whose payloads were empty) with a per-row
// one.
func TestCacheNotifyTriggerPerRow(t *testing.T) {
	url := pgtest.DB(t)
	newCachedPG(t, PostgresConfig{URL: url})
	exec(t, url, `DROP TRIGGER sessions_notify_row ON sessions`)
	exec(t, url, `CREATE TRIGGER sessions_notify AFTER UPDATE OR DELETE ON sessions
EXECUTE FUNCTION sessionstore_notify('`+channelFor("", "sessions")+`')`)
	newCachedPG(t, PostgresConfig{URL: url})
	const perRow = 1 // pg_trigger.tgtype's TRIGGER_TYPE_ROW bit
	assert.Equal(t, 0, queryInt(t, url, `SELECT count(*)::int FROM pg_trigger WHERE tgname = 'sessions_notify'`))
	assert.Equal(t, perRow, queryInt(t, url, `SELECT (tgtype & 1)::int FROM pg_trigger WHERE tgname = 'sessions_notify_row'`))
}

// TestCacheOperatorUpdateDrops: an UPDATE that changes data without a new
// version (an operator's) drops every cached copy, the writer's included.
func TestCacheOperatorUpdateDrops(t *testing.T) {
	url := pgtest.DB(t)
	store, _ := tracedCachedPG(t, url)
	now := time.Now().Truncate(time.Microsecond)
	tok := newToken()
	id := idOf(tok[:])
	_, err := store.Save(t.Context(), Record{ID: id, Data: []byte(`{"role":"user"}`), Created: now, Touched: now,
		Expires: now.Add(time.Hour), Deadline: now.Add(time.Hour)}, ID{})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		hits := store.Stats().Cache.Hits
		_, _, err := store.Load(t.Context(), id)
		return err == nil && store.Stats().Cache.Hits > hits
	}, 10*time.Second, 5*time.Millisecond, "the cache answers")

	exec(t, url, `UPDATE sessions SET data = '{"role":"banned"}' WHERE id = $1`, id[:])
	require.Eventually(t, func() bool {
		r, _, err := store.Load(t.Context(), id)
		return err == nil && string(r.Data) == `{"role": "banned"}`
	}, 10*time.Second, time.Millisecond, "the operator's change reaches the cache")
	assert.Zero(t, store.Stats().Cache.Malformed)
}
