package cdncache

import (
	"encoding/json"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestStatsJSON: the counters under their documented snake_case names.
func TestStatsJSON(t *testing.T) {
	h := New(Config{}, Dir(fixtureDir(t)))
	srv := serve(t, h)
	c := client(t)
	resp, _ := do(t, c, "GET", srv.URL+"/a.txt", nil)
	do(t, c, "GET", srv.URL+"/a.txt", map[string]string{"If-None-Match": resp.Header.Get("ETag")})
	do(t, c, "GET", srv.URL+"/a.txt", map[string]string{"Range": "bytes=0-9"})
	do(t, c, "GET", srv.URL+"/missing.txt", nil)
	st := h.Stats()
	data, err := json.Marshal(st)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(data, &m))
	want := map[string]float64{"ok": 1, "partial_content": 1, "not_modified": 1, "client_errors": 1, "server_errors": 0,
		"bytes_sent": float64(st.BytesSent), "bytes_saved": 100, "etag_hits": float64(st.ETagHits), "etag_misses": 1}
	for k, v := range want {
		require.Equal(t, v, m[k], "%s in %s", k, data)
	}
	snake := regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)
	for k := range m {
		require.Regexp(t, snake, k, "every field is tagged: %s", data)
	}
	var got Stats
	require.NoError(t, json.Unmarshal(data, &got))
	require.Equal(t, st, got)
}
