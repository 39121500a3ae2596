package sessionstore

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dedw3n/hardening/internal/testlog"
)

// FuzzDecodeCookie checks that the cookie decoder never panics, accepts
// only what the encoder produces, and round-trips it.
func FuzzDecodeCookie(f *testing.F) {
	c := newCodec("session", [][]byte{testSecret, []byte("another-secret-of-32-bytes-or-more!")})
	tok := newToken()
	valid := c.encode(tok[:])
	other := newCodec("session", [][]byte{[]byte("another-secret-of-32-bytes-or-more!")}).encode(tok[:])
	for _, s := range []string{
		valid, other, "", "x", valid[:len(valid)-1], valid + "=", strings.ToUpper(valid),
		strings.Repeat("A", cookieLen), strings.Repeat("_", cookieLen), strings.Repeat("é", cookieLen/2),
		valid[:cookieLen-1] + "B", valid[:cookieLen-1] + "\x00", strings.Repeat("a", 4096),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		got, ok := c.decode(v)
		if !ok {
			return
		}
		if v != c.encode(got[:]) && v != newCodec("session", [][]byte{[]byte("another-secret-of-32-bytes-or-more!")}).encode(got[:]) {
			t.Fatalf("accepted a value the encoders do not produce: %q", v)
		}
	})
}

// FuzzMiddlewareCookie sends arbitrary Cookie headers through the
// middleware: always a 200 with a usable session, never a panic or 500.
func FuzzMiddlewareCookie(f *testing.F) {
	store := NewMemoryStore(MemoryConfig{PruneInterval: -1})
	defer store.Close()
	m, err := NewManager(store, Config{Secrets: [][]byte{testSecret}, Logger: (&testlog.Buffer{}).Text()})
	require.NoError(f, err)
	tok, tok2 := newToken(), newToken()
	signed, signed2 := m.codec.encode(tok[:]), m.codec.encode(tok2[:])
	for _, s := range []string{
		"session=" + signed, "session=" + signed + "; session=" + signed2, "session=" + signed + "; session=" + signed,
		strings.Repeat("session="+signed2+"; ", 20) + "session=" + signed, "session=", "session", "session=;session=x", "a=b; session=%zz",
		"session=\"quoted\"", strings.Repeat("session=x;", 100), "\x00\xff",
	} {
		f.Add(s)
	}
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := FromContext(r.Context())
		if _, _, err := Get[string](s, "k"); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	}))
	f.Fuzz(func(t *testing.T, cookie string) {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header.Set("Cookie", cookie)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		assert.Equal(t, http.StatusOK, rec.Code)
		assert.Empty(t, rec.Header().Values("Set-Cookie"))
	})
}
