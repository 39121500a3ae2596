package sessionstore

import (
	"encoding/json"
	"fmt"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dedw3n/hardening/internal/pgtest"
)

// requireSnakeCase fails unless every key of the JSON object data, nested
// objects included, is snake_case: every field has its tag.
func requireSnakeCase(t *testing.T, data []byte) {
	t.Helper()
	snake := regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)
	var walk func(v any)
	walk = func(v any) {
		if m, ok := v.(map[string]any); ok {
			for k, v := range m {
				require.Regexp(t, snake, k, "%s", data)
				walk(v)
			}
		}
	}
	var v any
	require.NoError(t, json.Unmarshal(data, &v))
	walk(v)
}

func TestStatsJSON(t *testing.T) {
	store := newPG(t, PostgresConfig{URL: pgtest.DB(t)})
	a := newApp(t, store, Config{})
	cookie := a.newSession(t)
	a.get(t, cookie)
	a.get(t, "not-a-cookie")
	st := a.m.Stats()
	data, err := json.Marshal(st)
	require.NoError(t, err)
	requireSnakeCase(t, data)
	var m map[string]any
	require.NoError(t, json.Unmarshal(data, &m))
	want := map[string]uint64{"loads": st.Loads, "hits": 1, "misses": 0, "writes": 1, "touches": 0,
		"rejected_cookies": 1, "errors": 0, "conflicts": 0, "init_attempts": st.InitAttempts, "pruned": 0}
	for k, v := range want {
		require.Equal(t, float64(v), m[k], "%s in %s", k, data)
	}
	require.Positive(t, st.InitAttempts)
	var got Stats
	require.NoError(t, json.Unmarshal(data, &got))
	require.Equal(t, st, got)

	ss := store.Stats()
	data, err = json.Marshal(ss)
	require.NoError(t, err)
	requireSnakeCase(t, data)
	require.JSONEq(t, fmt.Sprintf(`{"init_attempts":%d,"pruned":0,"prune_runs":0,"cache":{"hits":0,"misses":0,"invalidations":0,"bypassed":0,"reconnects":0,"malformed":0,"entries":0,"bytes":0}}`,
		ss.InitAttempts), string(data))
}
