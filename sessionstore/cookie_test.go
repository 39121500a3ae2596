package sessionstore

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// getWithCookies sends GET /get with the session cookie once per value,
// in order, as a browser does after cookie tossing or a Path change.
func (a *app) getWithCookies(t *testing.T, values ...string) state {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, a.srv.URL+"/get", nil)
	require.NoError(t, err)
	pairs := make([]string, len(values))
	for i, v := range values {
		pairs[i] = a.m.cfg.Cookie.Name + "=" + v
	}
	req.Header.Set("Cookie", strings.Join(pairs, "; "))
	res, err := a.srv.Client().Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode, string(b))
	var st state
	require.NoError(t, json.Unmarshal(b, &st))
	return st
}

// testDuplicateCookies is the regression test for a dead duplicate
// cookie hiding a live one: on a store miss the next validly signed
// cookie is tried, up to maxLookups of them.
func testDuplicateCookies(t *testing.T, b backend) {
	a := newApp(t, b.store(t), Config{})
	live := a.do(t, http.MethodPost, "/login?user=erin", "").cookie.Value
	dead := a.do(t, http.MethodPost, "/login?user=dead", "").cookie.Value
	require.Equal(t, http.StatusOK, a.do(t, http.MethodPost, "/logout", dead).status)
	forged := flip(live[0]) + live[1:]

	for name, cookies := range map[string][]string{
		"dead, live":                 {dead, live},
		"live, dead":                 {live, dead},
		"forged, dead, dead, live":   {forged, dead, dead, live},
		"never-stored, dead, live":   {validCookie(a), dead, live},
		"three dead lookups, live":   {validCookie(a), validCookie(a), dead, live},
		"unsigned ones cost nothing": append(slicesRepeat(forged, maxCookies-1), live),
	} {
		assert.Equal(t, "erin", a.getWithCookies(t, cookies...).User, name)
	}

	before := a.m.Stats()
	tooMany := append([]string{validCookie(a), validCookie(a), validCookie(a), validCookie(a)}, live)
	st := a.getWithCookies(t, tooMany...)
	assert.True(t, st.New, "past maxLookups dead cookies, the live one is not looked up")
	after := a.m.Stats()
	assert.Equal(t, uint64(maxLookups), after.Loads-before.Loads, "lookups are bounded")
	assert.Equal(t, before.Misses+1, after.Misses, "one miss per request")

	st = a.getWithCookies(t, append(slicesRepeat(forged, maxCookies), live)...)
	assert.True(t, st.New, "only the first maxCookies cookies are considered")
	assert.Equal(t, after.Loads, a.m.Stats().Loads, "unsigned cookies cost no lookup")
}

func slicesRepeat(v string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = v
	}
	return out
}
