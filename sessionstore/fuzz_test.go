package sessionstore

import (
	"fmt"
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

// FuzzDuplicateCookies: whatever else a Cookie header carries, the
// request gets the live session exactly when its cookie is among the
// first maxCookies of the name and fewer than maxLookups distinct, validly
// signed cookies come before it.
func FuzzDuplicateCookies(f *testing.F) {
	store := NewMemoryStore(MemoryConfig{PruneInterval: -1})
	defer store.Close()
	m, err := NewManager(store, Config{Secrets: [][]byte{testSecret}, Logger: (&testlog.Buffer{}).Text()})
	require.NoError(f, err)
	rec := httptest.NewRecorder()
	m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.NoError(f, FromContext(r.Context()).Put("k", "live"))
	})).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	live := rec.Result().Cookies()[0].Value
	dead := make([]string, 5)
	for i := range dead {
		tok := newToken()
		dead[i] = m.codec.encode(tok[:])
	}
	for _, s := range []string{
		"session=" + live, "session=" + dead[0] + "; session=" + live, "session=" + live + "; session=" + dead[0],
		"session=" + dead[0] + "; session=" + dead[0] + "; session=" + dead[1] + "; session=" + dead[2] + "; session=" + live,
		"session=" + strings.Join(dead, "; session=") + "; session=" + live,
		strings.Repeat("session=x; ", 15) + "session=" + live, strings.Repeat("session=x; ", 16) + "session=" + live,
		"other=" + live + "; session=" + dead[3], "session=" + live[:len(live)-1] + "; session=" + live,
	} {
		f.Add(s)
	}
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !FromContext(r.Context()).IsNew() {
			w.Header().Set("X-Found", "yes")
		}
	}))
	f.Fuzz(func(t *testing.T, header string) {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header.Set("Cookie", header)
		want, lookups := false, map[string]bool{}
		for _, c := range req.CookiesNamed("session")[:min(len(req.CookiesNamed("session")), maxCookies)] {
			if _, ok := m.codec.decode(c.Value); !ok || lookups[c.Value] {
				continue
			}
			if c.Value == live {
				want = true
				break
			}
			if lookups[c.Value] = true; len(lookups) == maxLookups {
				break
			}
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		require.Equal(t, http.StatusOK, rec.Code)
		assert.Equal(t, want, rec.Header().Get("X-Found") == "yes", "live session found")
	})
}

// FuzzParseNotice checks that the notification parser never panics,
// accepts only the trigger's two forms, exactly as PostgreSQL prints them,
// and names the session of every payload that starts with an ID.
func FuzzParseNotice(f *testing.F) {
	id := strings.Repeat("0a", 32)
	for _, s := range []string{
		id, id + " 3 1700000000000000 1700003600000000", id + " 1 -5 0", "*", "", " ",
		id + " 0 1 2", id + " 3 1", id + " 3 1 2 4", id + " 03 1 2", id + " +3 1 2", id + "  3 1 2",
		strings.ToUpper(id), id[:63] + "g", id + " 9223372036854775808 1 2", id + " 3 1 2\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, payload string) {
		n, err := parseNotice(payload)
		if err != nil {
			if n.changed || n.version != 0 {
				t.Fatalf("%q: an error with a state: %+v", payload, n)
			}
			if !n.id.IsZero() && !strings.HasPrefix(payload, n.id.String()+" ") {
				t.Fatalf("%q: error %v names %s", payload, err, n.id)
			}
			return
		}
		want := n.id.String()
		if n.changed {
			want = fmt.Sprintf("%s %d %d %d", want, n.version, n.touched, n.expires)
			if n.version < 1 {
				t.Fatalf("%q: version %d", payload, n.version)
			}
		}
		if payload != want {
			t.Fatalf("accepted %q, which the trigger would write as %q", payload, want)
		}
	})
}
