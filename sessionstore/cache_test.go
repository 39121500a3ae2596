package sessionstore

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dedw3n/hardening/internal/pgtest"
	"github.com/dedw3n/hardening/internal/testlog"
)

// fleet is two instances (store + Manager + HTTP server) on one database.
type fleet struct {
	url    string
	sa, sb *PostgresStore
	a, b   *app
}

func newCachedPG(t *testing.T, cfg PostgresConfig) *PostgresStore {
	t.Helper()
	cfg.Cache.Enabled = true
	s := newPG(t, cfg)
	waitReady(t, s, 10*time.Second)
	require.NotNil(t, s.cache, "the cache is on")
	return s
}

// newFleet starts two instances on url; cfgB configures B's store (its URL
// is filled in).
func newFleet(t *testing.T, url string, cfgB PostgresConfig) *fleet {
	t.Helper()
	f := &fleet{url: url}
	f.sa = newCachedPG(t, PostgresConfig{URL: url})
	cfgB.URL = url
	f.sb = newCachedPG(t, cfgB)
	f.a = newApp(t, f.sa, Config{})
	f.b = newApp(t, f.sb, Config{})
	return f
}

// warm reads the session named by cookie on a until a read is answered by
// the cache.
func warm(t *testing.T, a *app, s *PostgresStore, cookie string) {
	t.Helper()
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		before := s.Stats().Cache.Hits
		assert.Equal(c, http.StatusOK, a.do(t, http.MethodGet, "/get", cookie).status)
		assert.Greater(c, s.Stats().Cache.Hits, before)
	}, 10*time.Second, 5*time.Millisecond, "the cache answers")
}

// awaitFresh polls a with cookie alone (another client holding the same
// cookie, without its version) until fresh accepts what it reads, and
// fails if a stale answer was served to a request that started more than
// bound after since (the change's response, which follows its commit).
func awaitFresh(t *testing.T, a *app, cookie string, since time.Time, bound time.Duration, fresh func(state) bool) time.Duration {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		start := time.Now()
		res := a.do(t, http.MethodGet, "/get", cookie)
		if res.status != http.StatusOK {
			continue // not served at all (a broken pooled connection after a restart): not stale
		}
		var st state
		require.NoError(t, json.Unmarshal([]byte(res.body), &st))
		if fresh(st) {
			return start.Sub(since)
		}
		require.LessOrEqual(t, start.Sub(since), bound, "a stale session was served %v after the change", start.Sub(since))
	}
	t.Fatal("never saw the change")
	return 0
}

// browser is one client: a cookie jar shared by every instance (cookies do
// not depend on the port).
type browser struct{ c *http.Client }

func newBrowser(t *testing.T) *browser {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &browser{&http.Client{Jar: jar}}
}

func (b *browser) do(t *testing.T, a *app, method, path string) string {
	t.Helper()
	var body io.Reader
	if i := strings.IndexByte(path, '?'); i >= 0 && method == http.MethodPost {
		body, path = strings.NewReader(path[i+1:]), path[:i]
	}
	req, err := http.NewRequestWithContext(t.Context(), method, a.srv.URL+path, body)
	require.NoError(t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := b.c.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode, string(out))
	return string(out)
}

func (b *browser) get(t *testing.T, a *app) state {
	t.Helper()
	var st state
	require.NoError(t, json.Unmarshal([]byte(b.do(t, a, http.MethodGet, "/get")), &st))
	return st
}

// cookie returns the browser's session cookie value for a.
func (b *browser) cookie(t *testing.T, a *app) string {
	t.Helper()
	u, err := url.Parse(a.srv.URL)
	require.NoError(t, err)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == a.m.cfg.Cookie.Name {
			return c.Value
		}
	}
	t.Fatal("no session cookie")
	return ""
}

func cartLen(n int) func(state) bool { return func(st state) bool { return len(st.Cart) == n } }
func isNew(st state) bool            { return st.New }

// TestCacheReadCostsNoQuery counts the queries the store's pool runs.
func TestCacheReadCostsNoQuery(t *testing.T) {
	url := pgtest.DB(t)
	pc, err := pgxpool.ParseConfig(url)
	require.NoError(t, err)
	tr := &loadCounter{}
	pc.ConnConfig.Tracer = tr
	pool, err := pgxpool.NewWithConfig(t.Context(), pc)
	require.NoError(t, err)
	defer pool.Close()
	store := newCachedPG(t, PostgresConfig{Pool: pool})
	a := newApp(t, store, Config{})
	ck := a.newSession(t)
	warm(t, a, store, ck)

	loads, hits := tr.n.Load(), store.Stats().Cache.Hits
	for range 100 {
		require.Len(t, a.get(t, ck).Cart, 1)
	}
	assert.Equal(t, loads, tr.n.Load(), "no load query for 100 cached reads")
	assert.Equal(t, hits+100, store.Stats().Cache.Hits)
	assert.Equal(t, hits+100, a.m.Stats().Cache.Hits, "the Manager reports the cache's counters")
}

// loadCounter counts the session loads a pool sends.
type loadCounter struct{ n atomic.Int64 }

func (c *loadCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	if strings.HasPrefix(d.SQL, "SELECT data") {
		c.n.Add(1)
	}
	return ctx
}
func (c *loadCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// TestCacheChangeOnAReachesB: a change made on A is seen on B, by the same
// client at once and by another client within MaxLag.
func TestCacheChangeOnAReachesB(t *testing.T) {
	f := newFleet(t, pgtest.DB(t), PostgresConfig{})
	br := newBrowser(t)
	br.do(t, f.a, http.MethodPost, "/add?id=first")
	ck := br.cookie(t, f.a)
	warm(t, f.b, f.sb, ck)

	br.do(t, f.a, http.MethodPost, "/add?id=second")
	changed := time.Now()
	assert.Len(t, br.get(t, f.b).Cart, 2, "the client that changed its session sees the change on B")
	lat := awaitFresh(t, f.b, ck, changed, 100*time.Millisecond, cartLen(2))
	t.Logf("B served the change to another client %v after A answered", lat)
	assert.Positive(t, f.sb.Stats().Cache.Invalidations)
}

// TestCacheEndedOnAStopsOnB: logout, renewal (login) and revocation on A;
// B stops serving the old cookie within MaxLag.
func TestCacheEndedOnAStopsOnB(t *testing.T) {
	f := newFleet(t, pgtest.DB(t), PostgresConfig{})
	for _, tc := range []struct {
		name string
		end  func(t *testing.T, br *browser)
	}{
		{"logout", func(t *testing.T, br *browser) { br.do(t, f.a, http.MethodPost, "/logout") }},
		{"renew", func(t *testing.T, br *browser) { br.do(t, f.a, http.MethodPost, "/login?user=renewed") }},
		{"revoke", func(t *testing.T, br *browser) {
			n, err := f.a.m.RevokeUser(t.Context(), "revoked", ID{})
			require.NoError(t, err)
			require.Equal(t, 1, n)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			br := newBrowser(t)
			if tc.name == "revoke" {
				br.do(t, f.a, http.MethodPost, "/login?user=revoked")
			} else {
				br.do(t, f.a, http.MethodPost, "/add?id=first")
			}
			stolen := br.cookie(t, f.a)
			warm(t, f.b, f.sb, stolen)
			tc.end(t, br)
			lat := awaitFresh(t, f.b, stolen, time.Now(), 100*time.Millisecond, isNew)
			t.Logf("B stopped serving the old cookie %v after A answered", lat)
		})
	}
}

// TestCacheSchemaSpellingsShareInvalidations: two instances spelling one
// table two ways (Schema "" through the search path, and "public") hear
// each other's changes. The trigger, created once, names one channel, and
// every listener reads it from the trigger: B once listened on a channel
// of its own spelling and served a logged-out session for as long as it
// kept its copy.
func TestCacheSchemaSpellingsShareInvalidations(t *testing.T) {
	f := newFleet(t, pgtest.DB(t), PostgresConfig{Schema: "public"})
	br := newBrowser(t)
	br.do(t, f.a, http.MethodPost, "/login?user=eve")
	stolen := br.cookie(t, f.a)
	warm(t, f.b, f.sb, stolen)
	br.do(t, f.a, http.MethodPost, "/logout")
	lat := awaitFresh(t, f.b, stolen, time.Now(), 100*time.Millisecond, isNew)
	t.Logf("B (schema public) stopped serving the session %v after A (schema \"\") ended it", lat)

	other := newBrowser(t)
	other.do(t, f.b, http.MethodPost, "/add?id=first")
	ck := other.cookie(t, f.b)
	warm(t, f.a, f.sa, ck)
	other.do(t, f.b, http.MethodPost, "/add?id=second")
	lat = awaitFresh(t, f.a, ck, time.Now(), 100*time.Millisecond, cartLen(2))
	t.Logf("A served B's change %v after B answered", lat)
	assert.Equal(t, f.sa.listener.listeningOn(), f.sb.listener.listeningOn())
}

// TestCacheReadYourWritesWithStaleCache holds B's listener (its
// notifications do not arrive) with a long MaxLag, so that B's cache is
// stale: the client that made the change still sees it on B, another
// client with the same cookie sees the old copy (as documented), and a
// write on B from the stale copy merges instead of losing the change.
func TestCacheReadYourWritesWithStaleCache(t *testing.T) {
	url := pgtest.DB(t)
	px := newProxy(t, url)
	f := newFleet(t, url, PostgresConfig{Cache: CacheConfig{ListenURL: px.url(t, url), MaxLag: time.Minute, idle: time.Minute}})
	br := newBrowser(t)
	br.do(t, f.a, http.MethodPost, "/add?id=first")
	ck := br.cookie(t, f.a)
	warm(t, f.b, f.sb, ck)

	px.hold(true)
	br.do(t, f.a, http.MethodPost, "/add?id=second")
	assert.Len(t, f.b.get(t, ck).Cart, 1, "another client is served B's stale copy (the listener is held)")
	misses := f.sb.Stats().Cache.Misses
	assert.Len(t, br.get(t, f.b).Cart, 2, "read-your-writes on B")
	assert.Equal(t, misses+1, f.sb.Stats().Cache.Misses, "the stale copy was a miss for the client that changed it")

	// B now caches version 2; A makes version 3, which B does not hear of.
	br.do(t, f.a, http.MethodPost, "/add?id=third")
	assert.Len(t, f.b.get(t, ck).Cart, 2, "B's copy is stale again")
	res := f.b.do(t, http.MethodPost, "/add?id=via-b", ck)
	require.Equal(t, http.StatusOK, res.status, res.body)
	assert.Positive(t, f.b.m.Stats().Conflicts, "B's save met the newer version")
	awaitFresh(t, f.a, ck, time.Now(), 100*time.Millisecond, cartLen(4))
	assert.Equal(t, []item{{"first", 1}, {"second", 1}, {"third", 1}, {"via-b", 1}}, br.get(t, f.a).Cart, "merged, nothing lost")

	px.hold(false)
	awaitFresh(t, f.b, ck, time.Now(), time.Minute, cartLen(4))
}

// TestCacheListenerBlackholed: B's listener connection stops answering;
// B stops using its cache within MaxLag, replaces the connection, and uses
// the cache again.
func TestCacheListenerBlackholed(t *testing.T) {
	url := pgtest.DB(t)
	px := newProxy(t, url)
	logs := &testlog.Buffer{}
	f := newFleet(t, url, PostgresConfig{
		ConnectTimeout: time.Second,
		Cache:          CacheConfig{ListenURL: px.url(t, url), idle: 200 * time.Millisecond},
		Logger:         logs.Text(),
	})
	br := newBrowser(t)
	br.do(t, f.a, http.MethodPost, "/add?id=first")
	ck := br.cookie(t, f.a)
	warm(t, f.b, f.sb, ck)

	px.hold(true)
	br.do(t, f.a, http.MethodPost, "/add?id=second")
	awaitFresh(t, f.b, ck, time.Now(), 100*time.Millisecond, cartLen(2))
	assert.Positive(t, f.sb.Stats().Cache.Bypassed)
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), "listener lost its connection") },
		10*time.Second, 10*time.Millisecond, "the listener notices")
	px.hold(false)
	require.Eventually(t, func() bool { return f.sb.Stats().Cache.Reconnects > 0 }, 20*time.Second, 10*time.Millisecond)
	warm(t, f.b, f.sb, ck)
	assert.Len(t, f.b.get(t, ck).Cart, 2)
}

// TestCacheListenerKilled terminates the listeners' backends.
func TestCacheListenerKilled(t *testing.T) {
	f := newFleet(t, pgtest.DB(t), PostgresConfig{})
	br := newBrowser(t)
	br.do(t, f.a, http.MethodPost, "/add?id=first")
	ck := br.cookie(t, f.a)
	warm(t, f.b, f.sb, ck)

	require.Equal(t, 2, queryInt(t, f.url, `SELECT count(pg_terminate_backend(pid))::int FROM pg_stat_activity
WHERE application_name = 'sessionstore listener' AND datname = current_database()`))
	br.do(t, f.a, http.MethodPost, "/add?id=second")
	awaitFresh(t, f.b, ck, time.Now(), 100*time.Millisecond, cartLen(2))
	require.Eventually(t, func() bool { return f.sb.Stats().Cache.Reconnects > 0 }, 10*time.Second, 10*time.Millisecond)
	warm(t, f.b, f.sb, ck)
	assert.Len(t, f.b.get(t, ck).Cart, 2, "nothing lost")
}

// TestCacheServerRestart restarts PostgreSQL under both instances.
func TestCacheServerRestart(t *testing.T) {
	srv := pgtest.NewServer(t, pgtest.Options{})
	f := newFleet(t, srv.CreateDB(t), PostgresConfig{})
	br := newBrowser(t)
	br.do(t, f.a, http.MethodPost, "/add?id=first")
	ck := br.cookie(t, f.a)
	warm(t, f.b, f.sb, ck)

	require.NoError(t, srv.Restart())
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.Equal(c, http.StatusOK, f.a.do(t, http.MethodPost, "/add?id=second", ck).status)
	}, 20*time.Second, 50*time.Millisecond)
	awaitFresh(t, f.b, ck, time.Now(), 100*time.Millisecond, cartLen(2))
	require.Eventually(t, func() bool { return f.sb.Stats().Cache.Reconnects > 0 }, 20*time.Second, 10*time.Millisecond)
	warm(t, f.b, f.sb, ck)
	assert.Equal(t, []item{{"first", 1}, {"second", 1}}, f.b.get(t, ck).Cart, "nothing lost")
}

// TestCacheMemoryBound loads many more sessions than fit.
func TestCacheMemoryBound(t *testing.T) {
	const maxEntries, maxBytes = 40, 8 << 10
	store := newCachedPG(t, PostgresConfig{URL: pgtest.DB(t), Cache: CacheConfig{MaxEntries: maxEntries, MaxBytes: maxBytes}})
	now := time.Now().Truncate(time.Microsecond)
	var ids []ID
	for i := range 400 {
		tok := newToken()
		id := idOf(tok[:])
		data := fmt.Sprintf(`{"pad":%q}`, strings.Repeat("x", i%300))
		_, err := store.Save(t.Context(), Record{ID: id, Data: []byte(data), Created: now, Touched: now,
			Expires: now.Add(time.Hour), Deadline: now.Add(time.Hour)}, ID{})
		require.NoError(t, err)
		ids = append(ids, id)
	}
	require.Eventually(t, func() bool {
		store.Load(t.Context(), ids[0])
		return store.Stats().Cache.Entries > 0
	}, 10*time.Second, 5*time.Millisecond, "the cache fills")
	for round := range 2 {
		for _, id := range ids {
			_, found, err := store.Load(t.Context(), id)
			require.NoError(t, err)
			require.True(t, found)
			st := store.Stats().Cache
			require.LessOrEqual(t, st.Entries, maxEntries, "round %d", round)
			require.LessOrEqual(t, st.Bytes, int64(maxBytes), "round %d", round)
		}
	}
	st := store.Stats().Cache
	assert.Positive(t, st.Entries)
	t.Logf("after 800 loads of 400 sessions: %d entries, %d bytes", st.Entries, st.Bytes)
}

// TestCacheOffBehindPooler: with no direct connection the cache stays off
// and says so once.
func TestCacheOffBehindPooler(t *testing.T) {
	const password = "pooler-secret-do-not-log"
	logs := &testlog.Buffer{}
	s := newPG(t, PostgresConfig{
		URL:            "postgres://app:" + password + "@ep-quiet-cloud-123456-pooler.eu-central-1.aws.neon.tech/app",
		ConnectTimeout: 100 * time.Millisecond, InitTimeout: time.Millisecond,
		Cache: CacheConfig{Enabled: true}, Logger: logs.Text(),
	})
	assert.Nil(t, s.cache)
	assert.False(t, s.CachesReads())
	out := logs.String()
	assert.Equal(t, 1, strings.Count(out, "read cache off"), out)
	assert.Contains(t, out, "ListenURL")
	assert.NotContains(t, out, password)

	_, err := NewPostgresStore(PostgresConfig{URL: "postgres://localhost/x", Cache: CacheConfig{Enabled: true, ListenURL: "postgres://u:" + password + "@host:notaport/db"}})
	require.Error(t, err)
	assert.NotContains(t, err.Error(), password)
}

// proxy forwards TCP to a PostgreSQL server; hold stops the server's bytes
// from reaching the client (a blackhole for the client's reads).
type proxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex // protects held and conns
	cond  *sync.Cond
	held  bool
	conns []net.Conn
	wg    sync.WaitGroup
}

func newProxy(t *testing.T, dbURL string) *proxy {
	u, err := url.Parse(dbURL)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &proxy{ln: ln, target: u.Host}
	p.cond = sync.NewCond(&p.mu)
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *proxy) url(t *testing.T, dbURL string) string {
	u, err := url.Parse(dbURL)
	require.NoError(t, err)
	u.Host = p.ln.Addr().String()
	return u.String()
}

func (p *proxy) hold(h bool) {
	p.mu.Lock()
	p.held = h
	p.cond.Broadcast()
	p.mu.Unlock()
}

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, s)
		p.mu.Unlock()
		p.wg.Add(2)
		go func() { defer p.wg.Done(); io.Copy(s, c); s.Close() }()
		go func() { defer p.wg.Done(); p.pipe(c, s); c.Close() }()
	}
}

// pipe copies src to dst, waiting while the proxy holds.
func (p *proxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			for p.held {
				p.cond.Wait()
			}
			p.mu.Unlock()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *proxy) close() {
	p.ln.Close()
	p.hold(false)
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}
