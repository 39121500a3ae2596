package cdncache

import (
	"bytes"
	"io"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func gunzip(t *testing.T, s string) string {
	zr, err := gzip.NewReader(bytes.NewReader([]byte(s)))
	require.NoError(t, err)
	b, err := io.ReadAll(zr)
	require.NoError(t, err)
	return string(b)
}

func unzstd(t *testing.T, s string) string {
	d, err := zstd.NewReader(bytes.NewReader([]byte(s)))
	require.NoError(t, err)
	defer d.Close()
	b, err := io.ReadAll(d)
	require.NoError(t, err)
	return string(b)
}

// TestCompression covers content negotiation and per-encoding ETags.
func TestCompression(t *testing.T) {
	h := New(Config{}, Dir(fixtureDir(t)))
	t.Cleanup(func() { h.Close() })
	srv := serve(t, h)
	c := client(t)
	E := contentETag(bigCSS)
	type hdrs = map[string]string

	t.Run("gzip on the fly has its own ETag and no Content-Length", func(t *testing.T) {
		resp, body := do(t, c, "GET", srv.URL+"/plain.css", hdrs{"Accept-Encoding": "gzip"})
		require.Equal(t, 200, resp.StatusCode)
		assert.Equal(t, "gzip", resp.Header.Get("Content-Encoding"))
		assert.Equal(t, E[:len(E)-1]+`-gzip"`, resp.Header.Get("ETag"))
		assert.Equal(t, "Accept-Encoding", resp.Header.Get("Vary"))
		assert.Empty(t, resp.Header.Get("Accept-Ranges"))
		assert.Equal(t, bigCSS, gunzip(t, body))
		assert.Less(t, len(body), len(bigCSS))
	})
	t.Run("zstd when preferred by q-value", func(t *testing.T) {
		resp, body := do(t, c, "GET", srv.URL+"/plain.css", hdrs{"Accept-Encoding": "gzip;q=0.5, zstd"})
		assert.Equal(t, "zstd", resp.Header.Get("Content-Encoding"))
		assert.Equal(t, E[:len(E)-1]+`-zstd"`, resp.Header.Get("ETag"))
		assert.Equal(t, bigCSS, unzstd(t, body))
	})
	t.Run("q=0 refuses a coding", func(t *testing.T) {
		resp, body := do(t, c, "GET", srv.URL+"/plain.css", hdrs{"Accept-Encoding": "gzip;q=0, zstd;q=0"})
		assert.Empty(t, resp.Header.Get("Content-Encoding"))
		assert.Equal(t, E, resp.Header.Get("ETag"))
		assert.Equal(t, bigCSS, body)
	})
	t.Run("wildcard", func(t *testing.T) {
		resp, _ := do(t, c, "GET", srv.URL+"/plain.css", hdrs{"Accept-Encoding": "*"})
		assert.Equal(t, "zstd", resp.Header.Get("Content-Encoding"))
	})
	t.Run("precompressed br sibling", func(t *testing.T) {
		resp, body := do(t, c, "GET", srv.URL+"/style.css", hdrs{"Accept-Encoding": "gzip, br"})
		assert.Equal(t, "br", resp.Header.Get("Content-Encoding"))
		assert.Equal(t, "BROTLI-BYTES", body)
		assert.Equal(t, "12", resp.Header.Get("Content-Length"))
		assert.Equal(t, "text/css; charset=utf-8", resp.Header.Get("Content-Type"))
		sib := contentETag("BROTLI-BYTES")
		assert.Equal(t, sib[:len(sib)-1]+`-br"`, resp.Header.Get("ETag"))
	})
	t.Run("precompressed gz sibling beats compressing", func(t *testing.T) {
		resp, body := do(t, c, "GET", srv.URL+"/style.css", hdrs{"Accept-Encoding": "gzip"})
		assert.Equal(t, "gzip", resp.Header.Get("Content-Encoding"))
		assert.Equal(t, "GZIP-BYTES", body)
	})
	t.Run("If-None-Match with the gzip ETag is a 304 carrying it", func(t *testing.T) {
		tag := E[:len(E)-1] + `-gzip"`
		resp, body := do(t, c, "GET", srv.URL+"/plain.css", hdrs{"Accept-Encoding": "gzip", "If-None-Match": tag})
		assert.Equal(t, 304, resp.StatusCode)
		assert.Equal(t, tag, resp.Header.Get("ETag"))
		assert.Equal(t, "Accept-Encoding", resp.Header.Get("Vary"))
		assert.Empty(t, body)
	})
	t.Run("If-None-Match with the identity ETag from a gzip client is a 304", func(t *testing.T) {
		resp, _ := do(t, c, "GET", srv.URL+"/plain.css", hdrs{"Accept-Encoding": "gzip", "If-None-Match": E})
		assert.Equal(t, 304, resp.StatusCode)
		assert.Equal(t, E, resp.Header.Get("ETag"))
	})
	t.Run("If-None-Match with the zstd ETag from a zstd client", func(t *testing.T) {
		tag := E[:len(E)-1] + `-zstd"`
		resp, _ := do(t, c, "GET", srv.URL+"/plain.css", hdrs{"Accept-Encoding": "zstd", "If-None-Match": "W/" + tag})
		assert.Equal(t, 304, resp.StatusCode)
	})
	t.Run("a gzip ETag does not match for a client that no longer accepts gzip", func(t *testing.T) {
		resp, body := do(t, c, "GET", srv.URL+"/plain.css", hdrs{"If-None-Match": E[:len(E)-1] + `-gzip"`})
		assert.Equal(t, 200, resp.StatusCode)
		assert.Equal(t, bigCSS, body)
	})
	t.Run("If-None-Match with the br sibling ETag", func(t *testing.T) {
		sib := contentETag("BROTLI-BYTES")
		resp, _ := do(t, c, "GET", srv.URL+"/style.css", hdrs{"Accept-Encoding": "br", "If-None-Match": sib[:len(sib)-1] + `-br"`})
		assert.Equal(t, 304, resp.StatusCode)
	})
	t.Run("a 206 is never compressed", func(t *testing.T) {
		resp, body := do(t, c, "GET", srv.URL+"/plain.css", hdrs{"Accept-Encoding": "gzip, br, zstd", "Range": "bytes=0-5"})
		assert.Equal(t, 206, resp.StatusCode)
		assert.Empty(t, resp.Header.Get("Content-Encoding"))
		assert.Equal(t, bigCSS[:6], body)
		assert.Equal(t, E, resp.Header.Get("ETag"))
		assert.Equal(t, "Accept-Encoding", resp.Header.Get("Vary"))
		resp, body = do(t, c, "GET", srv.URL+"/style.css", hdrs{"Accept-Encoding": "br", "Range": "bytes=0-5"})
		assert.Empty(t, resp.Header.Get("Content-Encoding"), "not even from a sibling")
		assert.Equal(t, bigCSS[:6], body)
	})
	t.Run("images are never compressed", func(t *testing.T) {
		resp, _ := do(t, c, "GET", srv.URL+"/img.png", hdrs{"Accept-Encoding": "gzip, zstd"})
		assert.Empty(t, resp.Header.Get("Content-Encoding"))
		assert.Equal(t, "Accept-Encoding", resp.Header.Get("Vary"))
		resp, _ = do(t, c, "GET", srv.URL+"/clip.mp4", hdrs{"Accept-Encoding": "gzip"})
		assert.Empty(t, resp.Header.Get("Content-Encoding"))
		resp, _ = do(t, c, "GET", srv.URL+"/font.woff2", hdrs{"Accept-Encoding": "gzip"})
		assert.Empty(t, resp.Header.Get("Content-Encoding"))
	})
	t.Run("small text is not compressed", func(t *testing.T) {
		resp, body := do(t, c, "GET", srv.URL+"/small.css", hdrs{"Accept-Encoding": "gzip"})
		assert.Empty(t, resp.Header.Get("Content-Encoding"))
		assert.Equal(t, "a{b:c}", body)
	})
	t.Run("HEAD announces the encoding without a body", func(t *testing.T) {
		resp, body := do(t, c, "HEAD", srv.URL+"/plain.css", hdrs{"Accept-Encoding": "gzip"})
		assert.Equal(t, "gzip", resp.Header.Get("Content-Encoding"))
		assert.Empty(t, body)
	})
}

// TestCompressionDisabled: a negative MinCompressSize keeps siblings only.
func TestCompressionDisabled(t *testing.T) {
	h := New(Config{MinCompressSize: -1}, Dir(fixtureDir(t)))
	t.Cleanup(func() { h.Close() })
	srv := serve(t, h)
	c := client(t)
	resp, _ := do(t, c, "GET", srv.URL+"/plain.css", map[string]string{"Accept-Encoding": "gzip"})
	assert.Empty(t, resp.Header.Get("Content-Encoding"))
	resp, _ = do(t, c, "GET", srv.URL+"/style.css", map[string]string{"Accept-Encoding": "gzip"})
	assert.Equal(t, "gzip", resp.Header.Get("Content-Encoding"))
}

func TestAcceptedCodings(t *testing.T) {
	cases := []struct {
		in   string
		want [numCodings]float64
	}{
		{"", [numCodings]float64{}},
		{"gzip", [numCodings]float64{0, 0, 1}},
		{"GZIP;Q=0.5", [numCodings]float64{0, 0, 0.5}},
		{"x-gzip", [numCodings]float64{0, 0, 1}},
		{"br;q=1.0, zstd;q=0.9, gzip;q=0.8", [numCodings]float64{1, 0.9, 0.8}},
		{"*;q=0.3, gzip", [numCodings]float64{0.3, 0.3, 1}},
		{"gzip;q=2", [numCodings]float64{}},
		{"gzip;q=abc, br", [numCodings]float64{1, 0, 0}},
		{",,, ;, gzip;;", [numCodings]float64{}},
		{"identity, deflate", [numCodings]float64{}},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, acceptedCodings([]string{tc.in}), "%q", tc.in)
	}
	assert.Equal(t, []int{codingBr, codingZstd, codingGzip}, codingOrder([numCodings]float64{1, 1, 1}))
	assert.Equal(t, []int{codingGzip, codingBr}, codingOrder([numCodings]float64{0.5, 0, 1}))
}
