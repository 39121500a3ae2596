package sessionstore

import (
	"net/http"
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
