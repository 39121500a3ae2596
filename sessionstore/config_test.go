package sessionstore

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConfigValidation(t *testing.T) {
	store := NewMemoryStore(MemoryConfig{PruneInterval: -1})
	defer store.Close()
	long := [][]byte{testSecret}
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"no secret", Config{}, "at least one secret"},
		{"short secret", Config{Secrets: [][]byte{[]byte("short-secret")}}, "at least 32"},
		{"host prefix insecure", Config{Secrets: long, Cookie: CookieConfig{HostPrefix: true, Insecure: true}}, "__Host-"},
		{"host prefix domain", Config{Secrets: long, Cookie: CookieConfig{HostPrefix: true, Domain: "example.com"}}, "__Host-"},
		{"host prefix path", Config{Secrets: long, Cookie: CookieConfig{Name: "__Host-s", Path: "/app"}}, "__Host-"},
		{"secure prefix insecure", Config{Secrets: long, Cookie: CookieConfig{Name: "__Secure-s", Insecure: true}}, "__Secure-"},
		{"samesite none insecure", Config{Secrets: long, Cookie: CookieConfig{SameSite: http.SameSiteNoneMode, Insecure: true}}, "SameSite=None"},
		{"touch after idle", Config{Secrets: long, TouchAfter: 8 * 24 * 3600e9}, "TouchAfter"},
		{"bad name", Config{Secrets: long, Cookie: CookieConfig{Name: "a b"}}, "cookie"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewManager(store, tc.cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), string(testSecret))
		})
	}
	_, err := NewManager(nil, Config{Secrets: long})
	assert.Error(t, err)
}

func TestHostPrefixCookie(t *testing.T) {
	store := NewMemoryStore(MemoryConfig{PruneInterval: -1})
	defer store.Close()
	m, err := NewManager(store, Config{Secrets: [][]byte{testSecret}, Cookie: CookieConfig{HostPrefix: true}})
	require.NoError(t, err)
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.NoError(t, FromContext(r.Context()).Put("k", 1))
	}))
	rec := newRecorder()
	h.ServeHTTP(rec, mustRequest(t, ""))
	sc := rec.Header().Get("Set-Cookie")
	assert.True(t, strings.HasPrefix(sc, "__Host-session="), sc)
	assert.Contains(t, sc, "; Path=/")
	assert.Contains(t, sc, "; Secure")
	assert.Contains(t, sc, "; HttpOnly")
	assert.Contains(t, sc, "; SameSite=Lax")
	assert.NotContains(t, sc, "Domain")
}

// TestCookiePrefixesInAnyCase: browsers match __Host- and __Secure- in any
// case, so a name such as "__host-s" must follow their rules too (it was
// accepted Insecure, and browsers refused the cookie: no session stuck).
func TestCookiePrefixesInAnyCase(t *testing.T) {
	store := NewMemoryStore(MemoryConfig{PruneInterval: -1})
	defer store.Close()
	for _, ck := range []CookieConfig{{Name: "__host-s", Insecure: true}, {Name: "__HOST-s", Path: "/app"},
		{Name: "__host-s", Domain: "example.com"}, {Name: "__secure-s", Insecure: true}} {
		_, err := NewManager(store, Config{Secrets: [][]byte{testSecret}, Cookie: ck})
		assert.Error(t, err, "%+v", ck)
	}
	m, err := NewManager(store, Config{Secrets: [][]byte{testSecret}, Cookie: CookieConfig{Name: "__host-s"}})
	require.NoError(t, err)
	assert.Equal(t, "__host-s", m.cfg.Cookie.Name, "the name is kept as written")
}

func TestNilSession(t *testing.T) {
	var s *Session
	assert.ErrorIs(t, s.Put("k", 1), ErrNoSession)
	assert.ErrorIs(t, s.Delete("k"), ErrNoSession)
	assert.ErrorIs(t, s.RenewToken(), ErrNoSession)
	assert.ErrorIs(t, s.Destroy(), ErrNoSession)
	assert.ErrorIs(t, s.SetUserID("u"), ErrNoSession)
	assert.ErrorIs(t, Update(s, "k", func(*int) error { return nil }), ErrNoSession)
	_, _, err := Get[int](s, "k")
	assert.ErrorIs(t, err, ErrNoSession)
	assert.True(t, s.IsNew())
	assert.Empty(t, s.UserID())
	assert.Nil(t, s.Keys())
	assert.True(t, s.ID().IsZero())
	assert.Nil(t, FromContext(t.Context()))
}
