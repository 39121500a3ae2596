package cdncache

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// countingSource counts the bytes read from the objects of a Source.
type countingSource struct {
	Source
	read atomic.Int64
}

type countingObject struct {
	io.ReadSeekCloser
	read *atomic.Int64
}

func (o countingObject) Read(p []byte) (int, error) {
	n, err := o.ReadSeekCloser.Read(p)
	o.read.Add(int64(n))
	return n, err
}

func (s *countingSource) Open(ctx context.Context, key string) (io.ReadSeekCloser, ObjectInfo, error) {
	obj, info, err := s.Source.Open(ctx, key)
	if err != nil {
		return nil, info, err
	}
	return countingObject{obj, &s.read}, info, nil
}

// TestByteRangeOfLargeObjectsDoesNotRehash is the regression test for
// issue 12 item 5: one-byte ranges over more large objects than
// ETagCacheSize read each object whole on every request. Now each version
// is read once (to hash it), and each range after that reads its byte.
func TestByteRangeOfLargeObjectsDoesNotRehash(t *testing.T) {
	const objects, size, rounds = 6, 4 << 20, 10
	dir := t.TempDir()
	for i := range objects {
		data := bytes.Repeat([]byte{byte('a' + i)}, size)
		require.NoError(t, os.WriteFile(filepath.Join(dir, fmt.Sprintf("v%d.mp4", i)), data, 0o644))
	}
	src := &countingSource{Source: Dir(dir)}
	h := settled(New(Config{ETagCacheSize: 4}, src))
	t.Cleanup(func() { h.Close() })
	srv := serve(t, h)
	c := client(t)
	for r := range rounds {
		for i := range objects {
			resp, body := do(t, c, "GET", fmt.Sprintf("%s/v%d.mp4", srv.URL, i), map[string]string{"Range": fmt.Sprintf("bytes=%d-%d", r, r)})
			require.Equal(t, http.StatusPartialContent, resp.StatusCode)
			require.Equal(t, string(rune('a'+i)), body)
		}
	}
	hashing := int64(objects * size)
	assert.LessOrEqual(t, src.read.Load(), hashing+rounds*objects, "read %d bytes; hashing all once is %d", src.read.Load(), hashing)
	st := h.Stats()
	assert.Equal(t, uint64(objects), st.ETagMisses, "each version hashed once")
	assert.Equal(t, uint64(objects*(rounds-1)), st.ETagHits)
}

// TestEachVersionHashedOnceHoweverManyOthers: with far more objects than
// ETagCacheSize, requested round after round, each version is read once.
func TestEachVersionHashedOnceHoweverManyOthers(t *testing.T) {
	const objects = 300
	files := map[string]string{}
	for i := range objects {
		files[fmt.Sprintf("o%03d.txt", i)] = fmt.Sprintf("object %d", i)
	}
	dir := t.TempDir()
	writeFiles(t, dir, files)
	h := settled(New(Config{ETagCacheSize: 2}, Dir(dir)))
	t.Cleanup(func() { h.Close() })
	srv := serve(t, h)
	c := client(t)
	for range 3 {
		for name, content := range files {
			resp, _ := do(t, c, "GET", srv.URL+"/"+name, nil)
			require.Equal(t, contentETag(content), resp.Header.Get("ETag"))
		}
	}
	assert.Equal(t, uint64(objects), h.Stats().ETagMisses)
}

// rewriteInPlace rewrites name with content of the same size and puts its
// modification time back.
func rewriteInPlace(t *testing.T, name, content string, mtime time.Time) {
	t.Helper()
	f, err := os.OpenFile(name, os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteAt([]byte(content), 0)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	require.NoError(t, os.Chtimes(name, mtime, mtime))
}

// ifRangeSplice asks for bytes 0-3 of a.txt if it still has tag, and
// returns the status and body.
func ifRangeSplice(t *testing.T, c *http.Client, url, tag string) (int, string, string) {
	t.Helper()
	resp, body := do(t, c, "GET", url+"/a.txt", map[string]string{"Range": "bytes=0-3", "If-Range": tag})
	return resp.StatusCode, body, resp.Header.Get("ETag")
}

// TestRewriteWithSameSizeAndMtimeGetsNewValidator is the regression test
// for issue 12 item 6: a file rewritten in place with the same size and
// modification time kept its ETag, and If-Range with it spliced new bytes
// onto an old download. Within the racy window the version is hashed again
// (its change time may not have moved on a coarse clock).
func TestRewriteWithSameSizeAndMtimeGetsNewValidator(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"a.txt": "version one\n"})
	h := New(Config{}, Dir(dir)) // the real clock: the file has just changed
	t.Cleanup(func() { h.Close() })
	srv := serve(t, h)
	c := client(t)
	resp, _ := do(t, c, "GET", srv.URL+"/a.txt", nil)
	old := resp.Header.Get("ETag")
	require.Equal(t, contentETag("version one\n"), old)

	rewriteInPlace(t, filepath.Join(dir, "a.txt"), "version two\n", fixtureTime)
	status, body, etag := ifRangeSplice(t, c, srv.URL, old)
	assert.Equal(t, http.StatusOK, status, "no 206 of new bytes under the old tag")
	assert.Equal(t, "version two\n", body)
	assert.Equal(t, contentETag("version two\n"), etag)
}

// TestReplacedFileGetsNewValidator: a file replaced by another of the same
// size and modification time (a deploy that renames into place) is a new
// version by its inode, even when its validator was cached.
func TestReplacedFileGetsNewValidator(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"a.txt": "version one\n"})
	h := settled(New(Config{}, Dir(dir)))
	t.Cleanup(func() { h.Close() })
	srv := serve(t, h)
	c := client(t)
	resp, _ := do(t, c, "GET", srv.URL+"/a.txt", nil)
	old := resp.Header.Get("ETag")
	resp, _ = do(t, c, "GET", srv.URL+"/a.txt", nil)
	require.Equal(t, old, resp.Header.Get("ETag"))
	require.Equal(t, uint64(1), h.Stats().ETagHits, "the validator is cached")

	writeFiles(t, dir, map[string]string{"new.tmp": "version two\n"})
	require.NoError(t, os.Rename(filepath.Join(dir, "new.tmp"), filepath.Join(dir, "a.txt")))
	status, body, etag := ifRangeSplice(t, c, srv.URL, old)
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "version two\n", body)
	assert.Equal(t, contentETag("version two\n"), etag)
}

// TestRacyVersionCachedOnceSettled: a version changed within the racy
// window is hashed on each request; once older, its validator is cached.
func TestRacyVersionCachedOnceSettled(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"a.txt": "x"})
	fi, err := os.Stat(filepath.Join(dir, "a.txt"))
	require.NoError(t, err)
	changed := time.Unix(0, identityOf(fi).ctimeNano)
	require.False(t, changed.Equal(time.Unix(0, 0)), "the file system gives a change time")
	var now atomic.Int64
	now.Store(changed.Add(time.Second).UnixNano())
	h := New(Config{}, Dir(dir))
	h.now = func() time.Time { return time.Unix(0, now.Load()) }
	t.Cleanup(func() { h.Close() })
	srv := serve(t, h)
	c := client(t)
	for range 3 {
		do(t, c, "GET", srv.URL+"/a.txt", nil)
	}
	assert.Equal(t, uint64(3), h.Stats().ETagMisses, "racy: hashed each time")
	now.Store(changed.Add(racyWindow).UnixNano())
	for range 3 {
		do(t, c, "GET", srv.URL+"/a.txt", nil)
	}
	st := h.Stats()
	assert.Equal(t, uint64(4), st.ETagMisses, "settled: hashed once more, then cached")
	assert.Equal(t, uint64(2), st.ETagHits)
}

// requestCountingSource counts the bytes read from objects opened for
// requests apart from those opened in the background.
type requestCountingSource struct {
	Source
	request, background atomic.Int64
}

func (s *requestCountingSource) Open(ctx context.Context, key string) (io.ReadSeekCloser, ObjectInfo, error) {
	obj, info, err := s.Source.Open(ctx, key)
	if err != nil {
		return nil, info, err
	}
	n := &s.background
	if ctx.Value(http.ServerContextKey) != nil {
		n = &s.request
	}
	return countingObject{obj, n}, info, nil
}

// TestLargeObjectInterimValidator: the first requests for a large version
// read only the bytes they ask for, under an interim validator, while the
// content is hashed once in the background; afterwards the content ETag is
// sent, and the interim one still validates the same version.
func TestLargeObjectInterimValidator(t *testing.T) {
	const objects, size = 3, 2 << 20
	dir := t.TempDir()
	for i := range objects {
		require.NoError(t, os.WriteFile(filepath.Join(dir, fmt.Sprintf("v%d.mp4", i)), bytes.Repeat([]byte{byte('a' + i)}, size), 0o644))
	}
	src := &requestCountingSource{Source: Dir(dir)}
	h := settled(New(Config{}, src))
	h.hashInBackground = 1 << 20
	t.Cleanup(func() { h.Close() })
	srv := serve(t, h)
	c := client(t)
	interim := make([]string, objects)
	for i := range objects {
		resp, body := do(t, c, "GET", fmt.Sprintf("%s/v%d.mp4", srv.URL, i), map[string]string{"Range": "bytes=5-5"})
		require.Equal(t, http.StatusPartialContent, resp.StatusCode)
		require.Equal(t, string(rune('a'+i)), body)
		interim[i] = resp.Header.Get("ETag")
		assert.True(t, strings.HasPrefix(interim[i], `"i-`), interim[i])
	}
	assert.LessOrEqual(t, src.request.Load(), int64(objects), "each request read its byte only")
	require.Eventually(t, func() bool { return h.validators.Len() == objects }, 10*time.Second, time.Millisecond,
		"the background hashes are kept")
	assert.Equal(t, uint64(objects), h.Stats().ETagMisses)
	assert.Equal(t, int64(objects*size), src.background.Load(), "each version hashed once")

	for i := range objects {
		content := strings.Repeat(string(rune('a'+i)), size)
		url := fmt.Sprintf("%s/v%d.mp4", srv.URL, i)
		resp, body := do(t, c, "GET", url, map[string]string{"Range": "bytes=0-1", "If-Range": interim[i]})
		assert.Equal(t, http.StatusPartialContent, resp.StatusCode, "the interim tag still names this version")
		assert.Equal(t, content[:2], body)
		assert.Equal(t, contentETag(content), resp.Header.Get("ETag"))
		resp, _ = do(t, c, "GET", url, map[string]string{"If-None-Match": interim[i]})
		assert.Equal(t, http.StatusNotModified, resp.StatusCode)
	}
	assert.Equal(t, int64(objects*size), src.background.Load(), "hashed once")
}

// TestCloseStopsBackgroundHashing: Close returns with no hash left
// running (goleak checks) while a large version is being hashed.
func TestCloseStopsBackgroundHashing(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "big.mp4"), bytes.Repeat([]byte("v"), 8<<20), 0o644))
	h := settled(New(Config{}, Dir(dir)))
	h.hashInBackground = 1 << 20
	srv := serve(t, h)
	resp, _ := do(t, client(t), "GET", srv.URL+"/big.mp4", map[string]string{"Range": "bytes=0-0"})
	require.Equal(t, http.StatusPartialContent, resp.StatusCode)
	require.NoError(t, h.Close())
	before := h.validators.Len() // 0, or 1 if the hash finished before Close

	// A closed Handler still serves (its Dir reopens) but starts no job.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "big2.mp4"), bytes.Repeat([]byte("w"), 8<<20), 0o644))
	resp, body := do(t, client(t), "GET", srv.URL+"/big2.mp4", map[string]string{"Range": "bytes=0-0"})
	require.Equal(t, http.StatusPartialContent, resp.StatusCode)
	assert.Equal(t, "w", body)
	assert.Equal(t, before, h.validators.Len(), "no background hash after Close")
	require.NoError(t, h.Close())
}

// TestIfRangeDateNeverSplices: a client resuming with the Last-Modified it
// got, after a deploy that replaced the file by another of the same size and
// modification time, receives the whole new file, not a 206 of new bytes to
// splice onto its old ones. A date in If-Range never matches.
func TestIfRangeDateNeverSplices(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"a.txt": "AAAAAAAA1111"})
	h := settled(New(Config{}, Dir(dir)))
	t.Cleanup(func() { h.Close() })
	srv := serve(t, h)
	c := client(t)
	resp, body := do(t, c, "GET", srv.URL+"/a.txt", nil)
	require.Equal(t, "AAAAAAAA1111", body)
	lm := resp.Header.Get("Last-Modified")
	require.NotEmpty(t, lm)

	writeFiles(t, dir, map[string]string{"new.tmp": "BBBBBBBB2222"}) // the same size and time
	require.NoError(t, os.Rename(filepath.Join(dir, "new.tmp"), filepath.Join(dir, "a.txt")))
	resp, body = do(t, c, "GET", srv.URL+"/a.txt", map[string]string{"Range": "bytes=8-", "If-Range": lm})
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "BBBBBBBB2222", body)
}

// TestIfMatchNamesTheSelectedRepresentation: If-Match compares with the
// representation to be sent (RFC 9110 §13.1.1). A client resuming the gzip
// body it holds (If-Match with its "…-gzip" tag, and a Range, which is
// answered from identity) gets a 412, not identity bytes to append to gzip
// ones; If-None-Match still accepts any current representation.
func TestIfMatchNamesTheSelectedRepresentation(t *testing.T) {
	h := settled(New(Config{}, Dir(fixtureDir(t))))
	t.Cleanup(func() { h.Close() })
	srv := serve(t, h)
	c := client(t)
	resp, _ := do(t, c, "GET", srv.URL+"/plain.css", map[string]string{"Accept-Encoding": "gzip"})
	require.Equal(t, "gzip", resp.Header.Get("Content-Encoding"))
	gz := resp.Header.Get("ETag")

	resp, _ = do(t, c, "GET", srv.URL+"/plain.css", map[string]string{"Accept-Encoding": "gzip", "Range": "bytes=50-", "If-Match": gz})
	assert.Equal(t, http.StatusPreconditionFailed, resp.StatusCode)
	resp, body := do(t, c, "GET", srv.URL+"/plain.css", map[string]string{"Accept-Encoding": "gzip", "If-Match": gz})
	assert.Equal(t, http.StatusOK, resp.StatusCode, "the gzip body is the one selected")
	assert.Equal(t, "gzip", resp.Header.Get("Content-Encoding"))
	assert.NotEmpty(t, body)
	resp, _ = do(t, c, "GET", srv.URL+"/plain.css", map[string]string{"Accept-Encoding": "gzip", "Range": "bytes=50-", "If-None-Match": gz})
	assert.Equal(t, http.StatusNotModified, resp.StatusCode)
}
