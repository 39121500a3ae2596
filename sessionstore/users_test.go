package sessionstore

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestUserIDsNoStoreCanHoldHaveNoSessions is the regression test for the
// defect where ListUser and RevokeUser of a user ID holding U+0000 or
// invalid UTF-8 (from a URL or a form an attacker fills in) failed on
// PostgreSQL with an encoding error counted as the store's, while the
// memory store answered none: the stores promise identical semantics.
// SetUserID refuses such IDs, so no session has them.
func TestUserIDsNoStoreCanHoldHaveNoSessions(t *testing.T) {
	odd := []string{"\x00", "bob\x00", "\xff", "bob\xc3", strings.Repeat("u", 3000), "BOB", " bob"}
	for _, b := range everyBackend() {
		t.Run(b.name, func(t *testing.T) {
			a := newApp(t, b.store(t), Config{})
			require.Equal(t, http.StatusOK, a.do(t, http.MethodPost, "/login?user=bob", "").status)
			for _, u := range odd {
				list, err := a.m.ListUser(t.Context(), u)
				assert.NoError(t, err, "%q", u)
				assert.Empty(t, list, "%q", u)
				n, err := a.m.RevokeUser(t.Context(), u, ID{})
				assert.NoError(t, err, "%q", u)
				assert.Zero(t, n, "%q", u)
			}
			assert.Zero(t, a.m.Stats().Errors, "no store error")
			list, err := a.m.ListUser(t.Context(), "bob")
			require.NoError(t, err)
			assert.Len(t, list, 1, "bob's session untouched")
		})
	}
}

// TestRenewingAnUnstoredSessionStoresNothing is the regression test for
// the defect where RenewToken (or SetUserID("")) on a request without a
// session, or after Destroy in a logout that also renews, stored an empty
// session and set its cookie: a row per anonymous request to such a
// route, and a logout that left the client a cookie. A new session is
// stored only once it holds something; a login still is.
func TestRenewingAnUnstoredSessionStoresNothing(t *testing.T) {
	cases := []struct {
		name   string
		stored bool // the request carries a stored session's cookie
		step   func(s *Session) error
	}{
		{"renew a new session", false, func(s *Session) error { return s.RenewToken() }},
		{"untie a new session", false, func(s *Session) error { return s.SetUserID("") }},
		{"destroy, then renew", true, func(s *Session) error { return errors.Join(s.Destroy(), s.RenewToken(), s.SetUserID("")) }},
	}
	for _, b := range everyBackend() {
		t.Run(b.name, func(t *testing.T) {
			a := newApp(t, b.store(t), Config{})
			for _, c := range cases {
				ck := ""
				if c.stored {
					ck = a.newSession(t)
				}
				writes := a.m.Stats().Writes
				res := serveStep(t, a, ck, c.step)
				require.Equal(t, http.StatusOK, res.Code, c.name)
				assert.Equal(t, writes+boolUint(c.stored), a.m.Stats().Writes, "%s: only a Destroy writes", c.name)
				for _, cookie := range res.Result().Cookies() {
					assert.Negative(t, cookie.MaxAge, "%s: no cookie but a deletion", c.name)
				}
			}
			res := serveStep(t, a, "", func(s *Session) error { return errors.Join(s.RenewToken(), s.SetUserID("gina")) })
			require.Len(t, res.Result().Cookies(), 1, "a login stores the session")
			assert.Equal(t, "gina", a.get(t, res.Result().Cookies()[0].Value).User)
		})
	}
}

func serveStep(t *testing.T, a *app, ck string, step func(*Session) error) *httptest.ResponseRecorder {
	t.Helper()
	h := a.m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		assert.NoError(t, step(FromContext(r.Context())))
	}))
	rec := newRecorder()
	req := mustRequest(t, "")
	if ck != "" {
		req.AddCookie(&http.Cookie{Name: a.m.cfg.Cookie.Name, Value: ck})
	}
	h.ServeHTTP(rec, req)
	return rec
}

func boolUint(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}
