package cdncache

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

//go:embed testdata/static
var testdataFS embed.FS

func staticFS(t testing.TB) fs.FS {
	sub, err := fs.Sub(testdataFS, "testdata/static")
	require.NoError(t, err)
	return sub
}

func readEmbedded(t *testing.T, name string) string {
	b, err := testdataFS.ReadFile("testdata/static/" + name)
	require.NoError(t, err)
	return string(b)
}

// TestEmbedFSETags: an embed.FS has no modification times; its objects still
// get strong content ETags, no Last-Modified, and 304s.
func TestEmbedFSETags(t *testing.T) {
	h := New(Config{}, FS(staticFS(t)))
	srv := serve(t, h)
	c := client(t)
	for _, name := range []string{"app.css", "hello.txt", "logo.svg"} {
		resp, body := do(t, c, "GET", srv.URL+"/"+name, nil)
		require.Equal(t, 200, resp.StatusCode)
		want := contentETag(readEmbedded(t, name))
		assert.Equal(t, want, resp.Header.Get("ETag"), name)
		assert.Empty(t, resp.Header.Get("Last-Modified"), "no real mtime in embed.FS")
		assert.Equal(t, readEmbedded(t, name), body)

		resp, _ = do(t, c, "GET", srv.URL+"/"+name, map[string]string{"If-None-Match": want})
		assert.Equal(t, 304, resp.StatusCode, name)
	}
	resp, _ := do(t, c, "GET", srv.URL+"/app.css", nil)
	assert.Equal(t, "text/css; charset=utf-8", resp.Header.Get("Content-Type"))
	assert.Equal(t, "public, max-age=86400, stale-while-revalidate=8640", resp.Header.Get("Cache-Control"), "the seed's CSS policy")
	st := h.Stats()
	assert.Equal(t, uint64(3), st.ETagMisses, "hashed once per object")
	assert.GreaterOrEqual(t, st.ETagHits, uint64(4))
}

// TestEmbedFSETagsStableAcrossHandlers: two independent handlers (no
// shared cache) give the same ETags.
func TestEmbedFSETagsStableAcrossHandlers(t *testing.T) {
	a := serve(t, New(Config{}, FS(staticFS(t))))
	b := serve(t, New(Config{ETagCacheSize: 1}, FS(staticFS(t))))
	c := client(t)
	for _, name := range []string{"app.css", "hello.txt", "logo.svg"} {
		ra, _ := do(t, c, "GET", a.URL+"/"+name, nil)
		rb, _ := do(t, c, "GET", b.URL+"/"+name, nil)
		assert.Equal(t, ra.Header.Get("ETag"), rb.Header.Get("ETag"), name)
		assert.NotEmpty(t, ra.Header.Get("ETag"))
	}
}

// TestEmbedFSETagsStableAcrossProcesses runs this test binary again as a
// child process that prints the ETag it serves, and compares.
func TestEmbedFSETagsStableAcrossProcesses(t *testing.T) {
	if os.Getenv("CDNCACHE_PRINT_ETAGS") == "1" {
		printETags(t)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestEmbedFSETagsStableAcrossProcesses$", "-test.count=1")
	cmd.Env = append(os.Environ(), "CDNCACHE_PRINT_ETAGS=1")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))

	srv := serve(t, New(Config{}, FS(staticFS(t))))
	c := client(t)
	for _, name := range []string{"app.css", "hello.txt", "logo.svg"} {
		resp, _ := do(t, c, "GET", srv.URL+"/"+name, nil)
		line := fmt.Sprintf("ETAG %s %s\n", name, resp.Header.Get("ETag"))
		assert.Contains(t, string(out), line, "the child process served the same ETag")
	}
}

func printETags(t *testing.T) {
	srv := serve(t, New(Config{}, FS(staticFS(t))))
	c := client(t)
	for _, name := range []string{"app.css", "hello.txt", "logo.svg"} {
		resp, _ := do(t, c, "GET", srv.URL+"/"+name, nil)
		fmt.Printf("ETAG %s %s\n", name, resp.Header.Get("ETag"))
	}
}

// TestDirTraversal attacks a Dir source whose tree has symbolic links
// pointing outside it; nothing outside is ever served.
func TestDirTraversal(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "root")
	const secret = "TOP-SECRET-OUTSIDE"
	writeFiles(t, base, map[string]string{
		"secret.txt":         secret,
		"outside/secret.txt": secret,
		"root/public.txt":    "public",
		"root/sub/inner.txt": "inner",
		"root/.git/config":   secret,
	})
	links := map[string]string{
		"root/link-out":         "../secret.txt",
		"root/link-abs":         filepath.Join(base, "secret.txt"),
		"root/link-dir":         "../outside",
		"root/sub/link-up":      "../../secret.txt",
		"root/link-etc":         "/etc/passwd",
		"root/link-in":          "public.txt",
		"root/sub/link-sibling": "../public.txt",
		"root/link-loop":        "link-loop",
	}
	for name, target := range links {
		require.NoError(t, os.Symlink(target, filepath.Join(base, filepath.FromSlash(name))))
	}
	h := New(Config{}, Dir(root))
	t.Cleanup(func() { h.Close() })
	srv := serve(t, h)
	c := client(t)

	attacks := []string{
		"/link-out", "/link-abs", "/link-dir/secret.txt", "/sub/link-up", "/link-etc", "/link-loop",
		"/../secret.txt", "/sub/../../secret.txt", "/%2e%2e/secret.txt", "/%2E%2E%2Fsecret.txt",
		"/..%2fsecret.txt", "/sub%2f..%2f..%2fsecret.txt", "/..%5csecret.txt", "/sub\\..\\..\\secret.txt",
		"/public.txt%00", "/%00", "/.git/config", "/sub/./inner.txt", "//secret.txt", "/sub//inner.txt",
		"/" + base + "/secret.txt", "/%ff", "/link-dir/", "/sub/",
	}
	for _, p := range attacks {
		resp, body := do(t, c, "GET", srv.URL+p, nil)
		assert.True(t, resp.StatusCode == 400 || resp.StatusCode == 404, "%s: status %d", p, resp.StatusCode)
		assert.NotContains(t, body, secret, p)
		assert.NotContains(t, resp.Header.Get("Cache-Control"), "public", p)
	}
	// Links that stay inside the root are followed.
	for p, want := range map[string]string{"/link-in": "public", "/sub/link-sibling": "public", "/sub/inner.txt": "inner"} {
		resp, body := do(t, c, "GET", srv.URL+p, nil)
		assert.Equal(t, 200, resp.StatusCode, p)
		assert.Equal(t, want, body, p)
	}
}

// TestCleanKey checks the path filter on its own.
func TestCleanKey(t *testing.T) {
	cases := []struct {
		in, key string
		status  int
	}{
		{"/a.txt", "a.txt", 0},
		{"/sub/deep/f.json", "sub/deep/f.json", 0},
		{"a.txt", "a.txt", 0},
		{"/", "", 404},
		{"", "", 404},
		{"/sub/", "", 404},
		{"/../a", "", 404},
		{"/a/../b", "", 404},
		{"/./a", "", 404},
		{"/.env", "", 404},
		{"/a/.git/x", "", 404},
		{"/a//b", "", 404},
		{"/a\\b", "", 400},
		{"/a\x00b", "", 400},
		{"/\xff", "", 400},
	}
	for _, tc := range cases {
		key, status := cleanKey(tc.in)
		assert.Equal(t, tc.key, key, "%q", tc.in)
		assert.Equal(t, tc.status, status, "%q", tc.in)
	}
}

// TestMultipleSourcesFirstMatchWins mirrors PUBLIC_OBJECT_SEARCH_PATHS.
func TestMultipleSourcesFirstMatchWins(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	writeFiles(t, a, map[string]string{"x.txt": "from A"})
	writeFiles(t, b, map[string]string{"x.txt": "from B", "y.txt": "only B"})
	h := New(Config{}, Dir(a), Dir(filepath.Join(a, "missing")), Dir(b))
	t.Cleanup(func() { h.Close() })
	srv := serve(t, h)
	c := client(t)
	_, body := do(t, c, "GET", srv.URL+"/x.txt", nil)
	assert.Equal(t, "from A", body)
	_, body = do(t, c, "GET", srv.URL+"/y.txt", nil)
	assert.Equal(t, "only B", body)
	resp, _ := do(t, c, "GET", srv.URL+"/z.txt", nil)
	assert.Equal(t, 404, resp.StatusCode)

	// Close is idempotent and a closed Dir reopens on demand.
	require.NoError(t, h.Close())
	require.NoError(t, h.Close())
	_, body = do(t, c, "GET", srv.URL+"/x.txt", nil)
	assert.Equal(t, "from A", body)
}

// TestDirSourceChangedFile: a new version of a file gets a new ETag.
func TestDirSourceChangedFile(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"v.txt": "version one"})
	h := New(Config{}, Dir(dir))
	t.Cleanup(func() { h.Close() })
	srv := serve(t, h)
	c := client(t)
	r1, _ := do(t, c, "GET", srv.URL+"/v.txt", nil)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "v.txt"), []byte("version two!"), 0o644))
	later := fixtureTime.Add(time.Minute)
	require.NoError(t, os.Chtimes(filepath.Join(dir, "v.txt"), later, later))
	r2, body := do(t, c, "GET", srv.URL+"/v.txt", nil)
	assert.Equal(t, "version two!", body)
	assert.Equal(t, contentETag("version one"), r1.Header.Get("ETag"))
	assert.Equal(t, contentETag("version two!"), r2.Header.Get("ETag"))
	assert.Equal(t, later.Format(http.TimeFormat), r2.Header.Get("Last-Modified"))
	r3, _ := do(t, c, "GET", srv.URL+"/v.txt", map[string]string{"If-None-Match": r1.Header.Get("ETag")})
	assert.Equal(t, 200, r3.StatusCode, "the old ETag no longer matches")
}

// memStore is an object-storage backend as a caller would write it.
type memStore struct {
	objects map[string]memObject
	err     error // returned by every Open when set
	opens   int
}

type memObject struct {
	data string
	info ObjectInfo
}

type nopCloser struct{ io.ReadSeeker }

func (nopCloser) Close() error { return nil }

func (s *memStore) Open(_ context.Context, key string) (io.ReadSeekCloser, ObjectInfo, error) {
	s.opens++
	if s.err != nil {
		return nil, ObjectInfo{}, s.err
	}
	o, ok := s.objects[key]
	if !ok {
		return nil, ObjectInfo{}, fs.ErrNotExist
	}
	o.info.Size = int64(len(o.data))
	return nopCloser{bytes.NewReader([]byte(o.data))}, o.info, nil
}

// TestObjectStoreSource: the store's hash, type and mtime are used.
func TestObjectStoreSource(t *testing.T) {
	store := &memStore{objects: map[string]memObject{
		"photos/1": {data: "JPEGDATA", info: ObjectInfo{ContentType: "image/jpeg", Hash: "d41d8cd98f00b204e9800998ecf8427e", ModTime: fixtureTime}},
		"raw":      {data: "%PDF-1.7 hello"},
		"bad-hash": {data: "x", info: ObjectInfo{Hash: `"quoted" and spaced`}},
	}}
	srv := serve(t, New(Config{}, store))
	c := client(t)

	resp, body := do(t, c, "GET", srv.URL+"/photos/1", nil)
	require.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, "JPEGDATA", body)
	assert.Equal(t, `"d41d8cd98f00b204e9800998ecf8427e"`, resp.Header.Get("ETag"), "the store's hash is the ETag")
	assert.Equal(t, "image/jpeg", resp.Header.Get("Content-Type"))
	assert.Equal(t, fixtureTime.Format(http.TimeFormat), resp.Header.Get("Last-Modified"))
	assert.Equal(t, "public, max-age=86400, stale-while-revalidate=8640", resp.Header.Get("Cache-Control"))

	resp, _ = do(t, c, "GET", srv.URL+"/raw", nil)
	assert.Equal(t, "application/pdf", resp.Header.Get("Content-Type"), "sniffed")
	assert.Equal(t, contentETag("%PDF-1.7 hello"), resp.Header.Get("ETag"))
	assert.Equal(t, "public, max-age=43200", resp.Header.Get("Cache-Control"), "the seed's PDF policy")

	resp, _ = do(t, c, "GET", srv.URL+"/bad-hash", nil)
	etag := resp.Header.Get("ETag")
	tag, rest := scanETag(etag)
	assert.Equal(t, etag, tag, "a store hash unfit for an ETag is hashed again")
	assert.Empty(t, rest)

	resp, _ = do(t, c, "GET", srv.URL+"/photos/1", map[string]string{"Range": "bytes=4-"})
	assert.Equal(t, 206, resp.StatusCode)
}

// TestFailingSource: a store that errors is a 500 no-store, and the next
// source is not consulted (it could hold a different object).
func TestFailingSource(t *testing.T) {
	broken := &memStore{err: errors.New("connection refused")}
	fallback := &memStore{objects: map[string]memObject{"k": {data: "fallback"}}}
	h := New(Config{Logger: discardLogger()}, broken, fallback)
	srv := serve(t, h)
	resp, body := do(t, client(t), "GET", srv.URL+"/k", nil)
	assert.Equal(t, 500, resp.StatusCode)
	assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
	assert.Equal(t, "Accept-Encoding", resp.Header.Get("Vary"))
	assert.NotContains(t, body, "connection refused", "internal errors are not shown")
	assert.Equal(t, 0, fallback.opens)
	assert.Equal(t, uint64(1), h.Stats().ServerErrors)
}

// TestFSWithoutSeeker: an fs.FS whose files can neither seek nor ReadAt is a
// clean 500, not a panic.
func TestFSWithoutSeeker(t *testing.T) {
	srv := serve(t, New(Config{Logger: discardLogger()}, FS(plainFS{})))
	resp, _ := do(t, client(t), "GET", srv.URL+"/f.txt", nil)
	assert.Equal(t, 500, resp.StatusCode)
	assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
}

type plainFS struct{}

func (plainFS) Open(name string) (fs.File, error) {
	if name != "f.txt" {
		return nil, fs.ErrNotExist
	}
	return &plainFile{strings.NewReader("abc")}, nil
}

type plainFile struct{ r *strings.Reader }

func (f *plainFile) Read(p []byte) (int, error) { return f.r.Read(p) }
func (f *plainFile) Close() error               { return nil }
func (f *plainFile) Stat() (fs.FileInfo, error) { return plainInfo{}, nil }

type plainInfo struct{}

func (plainInfo) Name() string       { return "f.txt" }
func (plainInfo) Size() int64        { return 3 }
func (plainInfo) Mode() fs.FileMode  { return 0o444 }
func (plainInfo) ModTime() time.Time { return time.Time{} }
func (plainInfo) IsDir() bool        { return false }
func (plainInfo) Sys() any           { return nil }

// gatedStore serves one object, key, whose reads block until release is
// closed, counting the opens and the bytes read.
type gatedStore struct {
	key     string
	data    []byte
	release chan struct{}
	opens   atomic.Int64
	read    atomic.Int64
}

type gatedReader struct {
	*bytes.Reader
	s *gatedStore
}

func (r gatedReader) Read(p []byte) (int, error) {
	<-r.s.release
	n, err := r.Reader.Read(p)
	r.s.read.Add(int64(n))
	return n, err
}

func (gatedReader) Close() error { return nil }

func (s *gatedStore) Open(_ context.Context, key string) (io.ReadSeekCloser, ObjectInfo, error) {
	if key != s.key {
		return nil, ObjectInfo{}, fs.ErrNotExist
	}
	s.opens.Add(1)
	return gatedReader{bytes.NewReader(s.data), s}, ObjectInfo{Size: int64(len(s.data)), ModTime: fixtureTime}, nil
}

// TestMissStormHashesOnce: concurrent first requests for one object version
// (a CDN miss storm after a deploy) read it once to hash it, not once each.
func TestMissStormHashesOnce(t *testing.T) {
	store := &gatedStore{key: "video.webm", data: bytes.Repeat([]byte("0123456789abcdef"), 1<<14), release: make(chan struct{})}
	srv := serve(t, New(Config{}, store))
	const n = 8
	var wg sync.WaitGroup
	etags := make([]string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, body := do(t, client(t), "GET", srv.URL+"/video.webm", nil)
			assert.Equal(t, 200, resp.StatusCode)
			assert.Len(t, body, len(store.data))
			etags[i] = resp.Header.Get("ETag")
		}()
	}
	require.Eventually(t, func() bool { return store.opens.Load() == n }, 5*time.Second, time.Millisecond,
		"every request has opened the object before any read completes")
	close(store.release)
	wg.Wait()
	for _, e := range etags {
		assert.Equal(t, contentETag(string(store.data)), e)
	}
	size := int64(len(store.data))
	assert.Equal(t, (n+1)*size, store.read.Load(), "one read to hash, one per response body")
}

// TestSymlinkIntoStricterPrefixRefused: a symbolic link whose target lies
// under another prefix policy (a file or a directory from "public/" into
// "private/") is not found, so it cannot serve a private file publicly;
// links within one policy are served.
func TestSymlinkIntoStricterPrefixRefused(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"private/report.txt": "secret figures", "public/note.txt": "hello"})
	require.NoError(t, os.Symlink("../private/report.txt", filepath.Join(dir, "public", "link.txt")))
	require.NoError(t, os.Symlink("../private", filepath.Join(dir, "public", "sub")))
	require.NoError(t, os.Symlink("note.txt", filepath.Join(dir, "public", "alias.txt")))
	prefixes := map[string]Policy{"private/": {NoStore: true}, "public/": {MaxAge: time.Hour}}
	for _, tc := range []struct {
		name     string
		prefixes map[string]Policy
		path     string
		status   int
		cc       string
	}{
		{"file link into private", prefixes, "/public/link.txt", 404, "no-store"},
		{"directory link into private", prefixes, "/public/sub/report.txt", 404, "no-store"},
		{"link within public", prefixes, "/public/alias.txt", 200, "public, max-age=3600"},
		{"private file itself", prefixes, "/private/report.txt", 200, "no-store"},
		{"no prefix policies: links are served", nil, "/public/link.txt", 200, "public, max-age=300"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := settled(New(Config{Prefixes: tc.prefixes}, Dir(dir)))
			t.Cleanup(func() { h.Close() })
			url, c := serve(t, h).URL+tc.path, client(t)
			for range 2 { // the second from the kept validators, after a stat
				resp, body := do(t, c, "GET", url, map[string]string{"Accept-Encoding": "gzip"})
				assert.Equal(t, tc.status, resp.StatusCode)
				assert.Equal(t, tc.cc, resp.Header.Get("Cache-Control"))
				if tc.status == 404 {
					assert.NotContains(t, body, "secret")
				}
			}
		})
	}
}
