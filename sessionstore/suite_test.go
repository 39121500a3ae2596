package sessionstore

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dedw3n/hardening/internal/testlog"
)

// backend makes a fresh, empty store for one test.
type backend struct {
	name  string
	store func(t *testing.T) Store
}

func memoryBackend() backend {
	return backend{"memory", func(t *testing.T) Store {
		s := NewMemoryStore(MemoryConfig{PruneInterval: -1})
		t.Cleanup(func() { s.Close() })
		return s
	}}
}

// TestMemory runs the behavioural suite on the in-memory store.
func TestMemory(t *testing.T) { runSuite(t, memoryBackend()) }

// runSuite is the behaviour every Store must show through the Manager.
func runSuite(t *testing.T, b backend) {
	t.Run("unmodified new session writes nothing and sets no cookie", func(t *testing.T) {
		a := newApp(t, b.store(t), Config{})
		res := a.do(t, http.MethodGet, "/get", "")
		assert.Equal(t, http.StatusOK, res.status)
		assert.Nil(t, res.cookie)
		assert.Empty(t, res.header.Values("Set-Cookie"))
		assert.Zero(t, a.m.Stats().Writes)
	})

	t.Run("modified session is saved with a safe cookie", func(t *testing.T) {
		a := newApp(t, b.store(t), Config{})
		res := a.do(t, http.MethodPost, "/add?id=p1", "")
		require.Equal(t, http.StatusOK, res.status, res.body)
		c := res.cookie
		require.NotNil(t, c)
		assert.True(t, c.HttpOnly)
		assert.Equal(t, http.SameSiteLaxMode, c.SameSite)
		assert.Equal(t, "/", c.Path)
		assert.Equal(t, int((7 * 24 * time.Hour).Seconds()), c.MaxAge)
		assert.Len(t, c.Value, cookieLen)
		assert.Contains(t, res.header.Values("Vary"), "Cookie")
		assert.Equal(t, "private, no-store", res.header.Get("Cache-Control"))
		st := a.get(t, c.Value)
		assert.False(t, st.New)
		assert.Equal(t, []item{{"p1", 1}}, st.Cart)
		assert.Equal(t, uint64(1), a.m.Stats().Writes)
	})

	t.Run("reads inside touch-after write nothing; after it one touch reissues the cookie", func(t *testing.T) {
		a := newApp(t, b.store(t), Config{})
		ck := a.newSession(t)
		for range 20 {
			a.clock.Add(time.Minute)
			res := a.do(t, http.MethodGet, "/get", ck)
			require.Equal(t, http.StatusOK, res.status)
			assert.Nil(t, res.cookie, "no Set-Cookie inside touch-after")
			assert.Contains(t, res.header.Values("Vary"), "Cookie")
		}
		st := a.m.Stats()
		assert.Equal(t, uint64(1), st.Writes)
		assert.Zero(t, st.Touches)

		a.clock.Add(2 * time.Hour)
		res := a.do(t, http.MethodGet, "/get", ck)
		require.NotNil(t, res.cookie, "touch reissues the cookie")
		assert.Equal(t, ck, res.cookie.Value, "a touch keeps the token")
		assert.Equal(t, int((7 * 24 * time.Hour).Seconds()), res.cookie.MaxAge)
		assert.Equal(t, uint64(1), a.m.Stats().Touches)
		assert.Equal(t, uint64(1), a.m.Stats().Writes, "a touch is no data write")

		res = a.do(t, http.MethodGet, "/get", ck)
		assert.Nil(t, res.cookie, "just touched: nothing to do")
		assert.Equal(t, uint64(1), a.m.Stats().Touches)
	})

	t.Run("touch extends the idle expiry", func(t *testing.T) {
		a := newApp(t, b.store(t), Config{IdleTimeout: 10 * time.Hour, TouchAfter: time.Hour})
		ck := a.newSession(t)
		for range 5 { // 5 × 8 h = 40 h: far past the idle timeout, alive thanks to touches
			a.clock.Add(8 * time.Hour)
			assert.False(t, a.get(t, ck).New)
		}
		a.clock.Add(11 * time.Hour)
		assert.True(t, a.get(t, ck).New, "idle past the timeout: expired")
		assert.Equal(t, uint64(1), a.m.Stats().Misses)
	})

	t.Run("absolute lifetime ends an active session", func(t *testing.T) {
		a := newApp(t, b.store(t), Config{IdleTimeout: 10 * time.Hour, TouchAfter: time.Hour, Lifetime: 24 * time.Hour})
		ck := a.newSession(t)
		var last *http.Cookie
		for range 2 {
			a.clock.Add(9 * time.Hour)
			res := a.do(t, http.MethodGet, "/get", ck)
			require.NotNil(t, res.cookie)
			last = res.cookie
		}
		// 18 h: the expiry is clamped to the deadline at 24 h.
		assert.Equal(t, int((6 * time.Hour).Seconds()), last.MaxAge)
		a.clock.Add(6*time.Hour + time.Second)
		assert.True(t, a.get(t, ck).New)
	})

	t.Run("forged and garbage cookies get a fresh session without a lookup", func(t *testing.T) {
		a := newApp(t, b.store(t), Config{})
		ck := a.newSession(t)
		forged := []string{
			"garbage",
			strings.Repeat("A", cookieLen),
			ck[:len(ck)-1] + flip(ck[len(ck)-1]),
			flip(ck[0]) + ck[1:],
			ck + "A",
			strings.Repeat("x", 10000),
			"%%%%",
		}
		for _, v := range forged {
			res := a.do(t, http.MethodGet, "/get", v)
			assert.Equal(t, http.StatusOK, res.status)
			assert.Contains(t, res.body, `"new":true`)
			assert.Nil(t, res.cookie)
		}
		st := a.m.Stats()
		assert.Equal(t, uint64(len(forged)), st.RejectedCookies)
		assert.Zero(t, st.Loads, "rejected cookies cost no lookup")
		assert.Equal(t, uint64(1), st.Writes)
	})

	t.Run("secret rotation: old secret verifies, new one signs", func(t *testing.T) {
		store := b.store(t)
		oldSecret := []byte("an-old-secret-of-at-least-32-bytes!!")
		a1 := newApp(t, store, Config{Secrets: [][]byte{oldSecret}})
		ck := a1.newSession(t)
		a2 := newApp(t, store, Config{Secrets: [][]byte{testSecret, oldSecret}})
		a2.clock = a1.clock
		a2.m.cfg.Now = a1.clock.Now
		st := a2.get(t, ck)
		assert.False(t, st.New)
		res := a2.do(t, http.MethodPost, "/put?k=name&v=x", ck)
		require.NotNil(t, res.cookie)
		assert.Equal(t, ck[:42], res.cookie.Value[:42], "same token, until renewal")
		assert.NotEqual(t, ck, res.cookie.Value, "re-signed with the new secret")
		assert.False(t, a2.get(t, res.cookie.Value).New)
		ck2 := a2.do(t, http.MethodPost, "/add?id=z", "").cookie.Value
		assert.True(t, a1.get(t, ck2).New, "a cookie signed with the new secret is unknown to the old config")
		assert.False(t, a2.get(t, ck2).New)
	})

	t.Run("RenewToken kills the old token at once and keeps the data", func(t *testing.T) {
		a := newApp(t, b.store(t), Config{})
		ck := a.newSession(t)
		res := a.do(t, http.MethodPost, "/login?user=alice", ck)
		require.Equal(t, http.StatusOK, res.status)
		require.NotNil(t, res.cookie)
		assert.NotEqual(t, ck, res.cookie.Value)
		st := a.get(t, res.cookie.Value)
		assert.Equal(t, "alice", st.User)
		assert.Equal(t, []item{{"first", 1}}, st.Cart, "the cart survives login")
		old := a.get(t, ck)
		assert.True(t, old.New, "old cookie: fresh empty session")
		assert.Empty(t, old.Cart)
	})

	t.Run("Destroy deletes the session and the cookie", func(t *testing.T) {
		a := newApp(t, b.store(t), Config{})
		ck := a.newSession(t)
		res := a.do(t, http.MethodPost, "/logout", ck)
		require.Equal(t, http.StatusOK, res.status)
		require.NotNil(t, res.cookie)
		assert.Equal(t, -1, res.cookie.MaxAge)
		assert.Empty(t, res.cookie.Value)
		assert.True(t, a.get(t, ck).New)
	})

	t.Run("parallel modifications of one session both survive", func(t *testing.T) {
		a := newApp(t, b.store(t), Config{})
		ck := a.newSession(t)
		for _, path := range []string{"/add?id=tab", "/put?v=x&k=tab"} {
			var arrived sync.WaitGroup
			arrived.Add(2)
			a.setGate(func() { arrived.Done(); arrived.Wait() }) // both loaded before either saves
			var wg sync.WaitGroup
			for i := range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					res := a.do(t, http.MethodPost, path+string(rune('A'+i)), ck)
					assert.Equal(t, http.StatusOK, res.status, res.body)
				}()
			}
			wg.Wait()
			a.setGate(nil)
		}
		st := a.get(t, ck)
		assert.ElementsMatch(t, []item{{"first", 1}, {"tabA", 1}, {"tabB", 1}}, st.Cart)
		assert.GreaterOrEqual(t, a.m.Stats().Conflicts, uint64(2))
		res := a.do(t, http.MethodGet, "/get", ck)
		assert.Contains(t, res.body, `"cart"`)
		keys := mustKeys(t, a, ck)
		assert.Subset(t, keys, []string{"tabA", "tabB"}, "puts on different keys merge")
	})

	t.Run("data above the size limit is an error to the handler", func(t *testing.T) {
		a := newApp(t, b.store(t), Config{MaxSize: 200})
		ck := a.newSession(t)
		res := a.do(t, http.MethodPost, "/put?k=big&v="+strings.Repeat("x", 300), ck)
		assert.Equal(t, http.StatusRequestEntityTooLarge, res.status)
		assert.Contains(t, res.body, "too large")
		assert.Equal(t, []item{{"first", 1}}, a.get(t, ck).Cart, "nothing was changed")
		assert.Equal(t, uint64(1), a.m.Stats().Writes)
	})

	t.Run("a dead duplicate cookie does not hide a live one", func(t *testing.T) { testDuplicateCookies(t, b) })

	t.Run("size accounting is canonical", func(t *testing.T) { testSizeAccounting(t, b) })

	t.Run("per-user listing and revocation", func(t *testing.T) {
		a := newApp(t, b.store(t), Config{})
		var cookies []string
		for range 3 {
			res := a.do(t, http.MethodPost, "/login?user=bob", "")
			require.NotNil(t, res.cookie)
			cookies = append(cookies, res.cookie.Value)
		}
		a.do(t, http.MethodPost, "/login?user=carol", "")
		ctx := t.Context()
		list, err := a.m.ListUser(ctx, "bob")
		require.NoError(t, err)
		require.Len(t, list, 3)
		for _, r := range list {
			assert.Equal(t, "bob", r.UserID)
			assert.Nil(t, r.Data)
		}
		require.NoError(t, a.m.Revoke(ctx, list[0].ID))
		list, err = a.m.ListUser(ctx, "bob")
		require.NoError(t, err)
		require.Len(t, list, 2)
		n, err := a.m.RevokeUser(ctx, "bob", list[0].ID)
		require.NoError(t, err)
		assert.Equal(t, 1, n)
		alive := 0
		for _, c := range cookies {
			if !a.get(t, c).New {
				alive++
			}
		}
		assert.Equal(t, 1, alive, "only the kept session lives")
		n, err = a.m.RevokeUser(ctx, "bob", ID{})
		require.NoError(t, err)
		assert.Equal(t, 1, n)
		carol, err := a.m.ListUser(ctx, "carol")
		require.NoError(t, err)
		assert.Len(t, carol, 1, "other users untouched")
	})

	t.Run("streaming handler: saved before the first flush, later changes refused", func(t *testing.T) {
		a := newApp(t, b.store(t), Config{})
		res := a.do(t, http.MethodPost, "/stream", "")
		require.Equal(t, http.StatusOK, res.status)
		assert.Equal(t, "first late put: refused", res.body)
		require.NotNil(t, res.cookie)
		assert.Equal(t, []string{"streamed"}, mustKeys(t, a, res.cookie.Value))
	})

	t.Run("session revoked during a request is not resurrected", func(t *testing.T) {
		a := newApp(t, b.store(t), Config{})
		res := a.do(t, http.MethodPost, "/login?user=dave", "")
		ck := res.cookie.Value
		a.setGate(func() {
			_, err := a.m.RevokeUser(t.Context(), "dave", ID{})
			assert.NoError(t, err)
		})
		res = a.do(t, http.MethodPost, "/add?id=late", ck)
		a.setGate(nil)
		assert.Equal(t, http.StatusConflict, res.status, "no 200 that moves the client to another session")
		assert.Nil(t, res.cookie, "no new cookie")
		assert.True(t, a.get(t, ck).New)
	})

	t.Run("a login in another tab during a change keeps the client logged in", func(t *testing.T) {
		a := newApp(t, b.store(t), Config{})
		ck := a.newSession(t)
		var login response
		a.setGate(func() { // the change has loaded the session; another tab logs in
			a.setGate(nil)
			login = a.do(t, http.MethodPost, "/login?user=erin", ck)
		})
		res := a.do(t, http.MethodPost, "/add?id=late", ck)
		require.Equal(t, http.StatusOK, login.status)
		require.NotNil(t, login.cookie)
		assert.Equal(t, http.StatusConflict, res.status, "the change is refused, not moved to a new session")
		assert.Nil(t, res.cookie, "the client keeps the login's cookie")
		st := a.get(t, login.cookie.Value)
		assert.Equal(t, "erin", st.User)
		assert.Len(t, st.Cart, 1, "the data the login renewed")
	})
}

func mustKeys(t *testing.T, a *app, cookie string) []string {
	t.Helper()
	var keys []string
	h := a.m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		keys = FromContext(r.Context()).Keys()
	}))
	req, _ := http.NewRequest(http.MethodGet, "/", nil)
	req.AddCookie(&http.Cookie{Name: a.m.cfg.Cookie.Name, Value: cookie})
	h.ServeHTTP(nopWriter{http.Header{}}, req)
	return keys
}

type nopWriter struct{ h http.Header }

func (w nopWriter) Header() http.Header         { return w.h }
func (w nopWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w nopWriter) WriteHeader(int)             {}

// flip changes a base64url character into another valid one.
func flip(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}

func TestMemoryPruneLoop(t *testing.T) {
	c := newClock()
	logs := &testlog.Buffer{}
	s := NewMemoryStore(MemoryConfig{PruneInterval: 10 * time.Millisecond, Now: c.Now, Logger: logs.Text()})
	now := c.Now()
	_, err := s.Save(t.Context(), Record{ID: ID{1}, Created: now, Touched: now, Expires: now.Add(time.Hour), Deadline: now.Add(2 * time.Hour)}, ID{})
	require.NoError(t, err)
	_, err = s.Save(t.Context(), Record{ID: ID{2}, Created: now, Touched: now, Expires: now.Add(3 * time.Hour), Deadline: now.Add(4 * time.Hour)}, ID{})
	require.NoError(t, err)
	c.Add(90 * time.Minute)
	// The counter moves before the log line is written: wait for both.
	require.Eventually(t, func() bool {
		return s.Stats().Pruned == 1 && strings.Contains(logs.String(), "count=1")
	}, 5*time.Second, 5*time.Millisecond, "one expired session pruned and logged with its count")
	_, found, err := s.Load(t.Context(), ID{2})
	require.NoError(t, err)
	assert.True(t, found, "the live session stays")
	require.NoError(t, s.Close())
	require.NoError(t, s.Close())
}
