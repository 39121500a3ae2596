package sessionstore

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestChangeCommittedPastTheDeadlineIsAConflict is the regression test for
// the defect where a request that loaded a session just before its
// absolute deadline and changed it after was answered 200 while its change
// went into a row no request could load again, and its cookie was deleted:
// success for an unsaved change. The change (a Put, a login's renewal) is
// refused with 409, as for a session that ended otherwise.
func TestChangeCommittedPastTheDeadlineIsAConflict(t *testing.T) {
	changes := map[string]func(s *Session) error{
		"put": func(s *Session) error { return s.Put("late", 1) },
		"login": func(s *Session) error {
			if err := s.RenewToken(); err != nil {
				return err
			}
			return s.SetUserID("frank")
		},
	}
	for _, b := range everyBackend() {
		t.Run(b.name, func(t *testing.T) {
			a := newApp(t, b.store(t), Config{IdleTimeout: 48 * time.Hour, TouchAfter: time.Hour, Lifetime: 24 * time.Hour})
			for name, change := range changes {
				ck := a.newSession(t)
				a.clock.Add(24*time.Hour - time.Second)
				res := changeDuring(t, a, ck, time.Second, change) // loaded alive; the deadline passes
				assert.Equal(t, http.StatusConflict, res.Code, "%s: no 200 for a change no request can read", name)
				assert.Empty(t, res.Header().Values("Set-Cookie"), name)
				assert.Zero(t, a.m.Stats().Errors, "%s: the request's refusal, not a store error", name)
			}
			ck := a.newSession(t)
			res := changeDuring(t, a, ck, 24*time.Hour-time.Microsecond, changes["put"])
			require.Equal(t, http.StatusOK, res.Code, "a microsecond before the deadline the change is saved")
			assert.Contains(t, mustKeys(t, a, ck), "late")
		})
	}
}

// changeDuring serves one request on the session of cookie ck that
// changes it with change after the clock moved on by d.
func changeDuring(t *testing.T, a *app, ck string, d time.Duration, change func(*Session) error) *httptest.ResponseRecorder {
	t.Helper()
	h := a.m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := FromContext(r.Context())
		require.False(t, s.IsNew(), "loaded alive")
		a.clock.Add(d)
		assert.NoError(t, change(s))
	}))
	rec := newRecorder()
	h.ServeHTTP(rec, mustRequest(t, a.m.cfg.Cookie.Name+"="+ck))
	return rec
}
