package cdncache

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func unbrotli(t *testing.T, s string) string {
	t.Helper()
	b, err := io.ReadAll(brotli.NewReader(strings.NewReader(s)))
	require.NoError(t, err)
	return string(b)
}

// textJS is a compressible script, distinct per n.
func textJS(n, size int) string {
	var b strings.Builder
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, "function f%d_%d(a){return a*%d+%q;}\n", n, i, i, "x")
	}
	return b.String()[:size]
}

// noisyText is text that gzip shrinks by half only, distinct per n.
func noisyText(n, size int) string {
	var b strings.Builder
	sum := sha256.Sum256([]byte(fmt.Sprint(n)))
	for b.Len() < size {
		b.WriteString(hex.EncodeToString(sum[:]))
		sum = sha256.Sum256(sum[:])
	}
	return b.String()[:size]
}

// TestEncodedOncePerContentAndCoding: a compressible object is gzipped once
// and the kept body is sent with its length to every later gzip client.
func TestEncodedOncePerContentAndCoding(t *testing.T) {
	dir := t.TempDir()
	js := textJS(0, 20<<10)
	writeFiles(t, dir, map[string]string{"app.js": js})
	h := settled(New(Config{}, Dir(dir)))
	t.Cleanup(func() { h.Close() })
	srv := serve(t, h)
	c := client(t)
	for range 5 {
		resp, body := do(t, c, "GET", srv.URL+"/app.js", map[string]string{"Accept-Encoding": "gzip"})
		require.Equal(t, "gzip", resp.Header.Get("Content-Encoding"))
		assert.Equal(t, fmt.Sprint(len(body)), resp.Header.Get("Content-Length"))
		assert.Equal(t, withSuffix(contentETag(js), "gzip"), resp.Header.Get("ETag"))
		assert.Equal(t, js, gunzip(t, body))
	}
	st := h.Stats()
	assert.Equal(t, uint64(1), st.Gzip.Encodes)
	assert.Equal(t, uint64(4), st.EncodedHits)
	assert.Positive(t, st.EncodedBytes)
	assert.Positive(t, st.Gzip.EncodeTime)
}

// TestEncodeMissStormEncodesOnce: 64 concurrent first requests for a new
// bundle (every edge asking after a deploy) cost one hash and one encoding
// per coding, not one each.
func TestEncodeMissStormEncodesOnce(t *testing.T) {
	store := &gatedStore{key: "app.js", data: []byte(textJS(1, 64<<10)), release: make(chan struct{})}
	h := New(Config{}, store)
	t.Cleanup(func() { h.Close() })
	srv := serve(t, h)
	const n = 64
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			coding := []string{"gzip", "zstd"}[i%2]
			resp, body := do(t, client(t), "GET", srv.URL+"/app.js", map[string]string{"Accept-Encoding": coding})
			assert.Equal(t, coding, resp.Header.Get("Content-Encoding"))
			if coding == "gzip" {
				assert.Equal(t, string(store.data), gunzip(t, body))
			} else {
				assert.Equal(t, string(store.data), unzstd(t, body))
			}
		}()
	}
	require.Eventually(t, func() bool { return store.opens.Load() == n }, 5*time.Second, time.Millisecond,
		"every request has opened the object before any read completes")
	close(store.release)
	wg.Wait()
	st := h.Stats()
	assert.Equal(t, uint64(1), st.Gzip.Encodes)
	assert.Equal(t, uint64(1), st.Zstd.Encodes)
	assert.Equal(t, 3*int64(len(store.data)), store.read.Load(), "one read to hash, one per coding to encode")
}

// TestEncodedCacheNeverExceedsItsBound serves many more objects than fit:
// the bytes held never exceed EncodedCacheBytes, the least recently used go,
// and every response is still right.
func TestEncodedCacheNeverExceedsItsBound(t *testing.T) {
	const bound = 48 << 10
	files := map[string]string{}
	for i := range 40 {
		files[fmt.Sprintf("m%02d.js", i)] = noisyText(i, 3000)
	}
	dir := t.TempDir()
	writeFiles(t, dir, files)
	h := settled(New(Config{EncodedCacheBytes: bound}, Dir(dir)))
	t.Cleanup(func() { h.Close() })
	srv := serve(t, h)
	c := client(t)
	for round := range 2 {
		for i := range 40 {
			name := fmt.Sprintf("m%02d.js", i)
			resp, body := do(t, c, "GET", srv.URL+"/"+name, map[string]string{"Accept-Encoding": "gzip"})
			require.Equal(t, "gzip", resp.Header.Get("Content-Encoding"))
			require.Equal(t, files[name], gunzip(t, body), "round %d %s", round, name)
			held := h.Stats().EncodedBytes
			require.LessOrEqual(t, held, int64(bound))
		}
	}
	st := h.Stats()
	assert.Positive(t, st.EncodedEvictions)
	assert.Greater(t, st.EncodedBytes, int64(bound/2), "the cache is used, not emptied")
}

// TestBrotliMadeInTheBackground: a brotli client gets gzip until the
// brotli body is ready, then brotli with its own ETag, smaller than gzip.
func TestBrotliMadeInTheBackground(t *testing.T) {
	dir := t.TempDir()
	js := textJS(2, 40<<10)
	writeFiles(t, dir, map[string]string{"app.js": js})
	h := settled(New(Config{}, Dir(dir)))
	t.Cleanup(func() { h.Close() })
	srv := serve(t, h)
	c := client(t)
	browser := map[string]string{"Accept-Encoding": "gzip, deflate, br, zstd"}
	resp, body := do(t, c, "GET", srv.URL+"/app.js", browser)
	require.Equal(t, "zstd", resp.Header.Get("Content-Encoding"), "zstd while brotli is made")
	assert.Equal(t, js, unzstd(t, body))
	require.Eventually(t, func() bool { return h.Stats().Br.Encodes == 1 }, 30*time.Second, time.Millisecond)
	_, gz := do(t, c, "GET", srv.URL+"/app.js", map[string]string{"Accept-Encoding": "gzip"})

	resp, body = do(t, c, "GET", srv.URL+"/app.js", browser)
	require.Equal(t, "br", resp.Header.Get("Content-Encoding"))
	assert.Equal(t, js, unbrotli(t, body))
	assert.Equal(t, withSuffix(contentETag(js), "br"), resp.Header.Get("ETag"))
	assert.LessOrEqual(t, float64(len(body)), 0.85*float64(len(gz)), "brotli %d bytes, gzip %d", len(body), len(gz))

	resp, _ = do(t, c, "GET", srv.URL+"/app.js", map[string]string{"Accept-Encoding": "br", "If-None-Match": resp.Header.Get("ETag")})
	assert.Equal(t, http.StatusNotModified, resp.StatusCode)
}

// TestCloseStopsBackgroundEncoding: Close returns with no encoding left
// running (goleak checks), and a closed Handler starts none.
func TestCloseStopsBackgroundEncoding(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"app.js": textJS(3, 100<<10)})
	h := settled(New(Config{}, Dir(dir)))
	srv := serve(t, h)
	do(t, client(t), "GET", srv.URL+"/app.js", map[string]string{"Accept-Encoding": "br, gzip"})
	require.NoError(t, h.Close())
	require.NoError(t, h.Close())
	do(t, client(t), "GET", srv.URL+"/app.js", map[string]string{"Accept-Encoding": "br, gzip"})
	assert.False(t, h.bg.isPending(encodedKey{etag: contentETag(textJS(3, 100<<10)), coding: codingBr}))
}

// TestStaleSiblingIgnored: a precompressed sibling older than its source
// (left by a previous deploy) is not served; the source is compressed.
func TestStaleSiblingIgnored(t *testing.T) {
	dir := t.TempDir()
	js := textJS(4, 8<<10)
	writeFiles(t, dir, map[string]string{"app.js": js, "app.js.gz": "OLD-GZIP-BYTES"})
	old := fixtureTime.Add(-time.Hour)
	require.NoError(t, os.Chtimes(filepath.Join(dir, "app.js.gz"), old, old))
	h := settled(New(Config{}, Dir(dir)))
	t.Cleanup(func() { h.Close() })
	srv := serve(t, h)
	resp, body := do(t, client(t), "GET", srv.URL+"/app.js", map[string]string{"Accept-Encoding": "gzip"})
	require.Equal(t, "gzip", resp.Header.Get("Content-Encoding"))
	assert.Equal(t, js, gunzip(t, body))
	assert.Equal(t, withSuffix(contentETag(js), "gzip"), resp.Header.Get("ETag"))
}

// TestLargeObjectsStream: an object above 1/16 of EncodedCacheBytes is
// compressed on the fly, not kept.
func TestLargeObjectsStream(t *testing.T) {
	dir := t.TempDir()
	js := textJS(5, 64<<10)
	writeFiles(t, dir, map[string]string{"big.js": js})
	h := settled(New(Config{EncodedCacheBytes: 512 << 10}, Dir(dir)))
	t.Cleanup(func() { h.Close() })
	srv := serve(t, h)
	resp, body := do(t, client(t), "GET", srv.URL+"/big.js", map[string]string{"Accept-Encoding": "gzip"})
	require.Equal(t, "gzip", resp.Header.Get("Content-Encoding"))
	assert.Empty(t, resp.Header.Get("Content-Length"), "streamed")
	assert.Equal(t, js, gunzip(t, body))
	st := h.Stats()
	assert.Zero(t, st.EncodedBytes)
	assert.Zero(t, st.Gzip.Encodes)
}

// TestEncodingNeverKeptForOtherBytes: when an object's bytes no longer
// match the ETag its request carries (rewritten after its validator was
// computed), no encoding is kept under that ETag.
func TestEncodingNeverKeptForOtherBytes(t *testing.T) {
	js := textJS(6, 8<<10)
	o := &object{body: nopCloser{strings.NewReader(strings.ToUpper(js))}, info: ObjectInfo{Size: int64(len(js))}, m: &meta{etag: contentETag(js)}}
	_, err := readIdentity(o)
	assert.ErrorIs(t, err, errChanged)
	o.body = nopCloser{strings.NewReader(js)}
	raw, err := readIdentity(o)
	require.NoError(t, err)
	assert.Equal(t, js, string(raw))
}
