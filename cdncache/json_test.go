package cdncache

import (
	"encoding/json"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestStatsJSON: the counters under their documented snake_case names.
func TestStatsJSON(t *testing.T) {
	dir := fixtureDir(t)
	writeFiles(t, dir, map[string]string{"app.js": textJS(0, 20<<10)})
	h := settled(New(Config{}, Dir(dir)))
	t.Cleanup(func() { h.Close() })
	srv := serve(t, h)
	c := client(t)
	resp, _ := do(t, c, "GET", srv.URL+"/a.txt", nil)
	do(t, c, "GET", srv.URL+"/a.txt", map[string]string{"If-None-Match": resp.Header.Get("ETag")})
	do(t, c, "GET", srv.URL+"/a.txt", map[string]string{"Range": "bytes=0-9"})
	do(t, c, "GET", srv.URL+"/missing.txt", nil)
	for range 2 {
		resp, _ := do(t, c, "GET", srv.URL+"/app.js", map[string]string{"Accept-Encoding": "gzip"})
		require.Equal(t, "gzip", resp.Header.Get("Content-Encoding"))
	}
	st := h.Stats()
	require.Positive(t, st.Gzip.EncodeTime)
	data, err := json.Marshal(st)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(data, &m))
	want := map[string]any{"ok": 3.0, "partial_content": 1.0, "not_modified": 1.0, "client_errors": 1.0, "server_errors": 0.0,
		"bytes_sent": float64(st.BytesSent), "bytes_saved": 100.0, "etag_hits": float64(st.ETagHits), "etag_misses": 2.0,
		"encoded_hits": 1.0, "encoded_misses": float64(st.EncodedMisses), "encoded_bytes": float64(st.EncodedBytes),
		"encoded_evictions": 0.0, "br": map[string]any{"encodes": 0.0, "encode_seconds": 0.0},
		"zstd": map[string]any{"encodes": 0.0, "encode_seconds": 0.0},
		"gzip": map[string]any{"encodes": 1.0, "encode_seconds": st.Gzip.EncodeTime.Seconds()}}
	require.Equal(t, want, m, "%s", data)
	snake := regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)
	for k := range m {
		require.Regexp(t, snake, k, "every field is tagged: %s", data)
	}
}
