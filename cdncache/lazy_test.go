package cdncache

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// countingDir is Dir with its opens counted and a hook run before each.
type countingDir struct {
	*dirSource
	opens  atomic.Int64
	before func()
}

func (c *countingDir) Open(ctx context.Context, key string) (io.ReadSeekCloser, ObjectInfo, error) {
	c.opens.Add(1)
	if c.before != nil {
		c.before()
	}
	return c.dirSource.Open(ctx, key)
}

// TestKeptAnswersOpenNoFile: an object whose validators and encoded body
// are kept is served, and revalidated, from one stat; only answers that
// send its bytes open the file.
func TestKeptAnswersOpenNoFile(t *testing.T) {
	dir := t.TempDir()
	js := textJS(0, 20<<10)
	writeFiles(t, dir, map[string]string{"app.js": js})
	src := &countingDir{dirSource: Dir(dir).(*dirSource)}
	h := settled(New(Config{}, src))
	t.Cleanup(func() { h.Close() })
	url, c := serve(t, h).URL+"/app.js", client(t)
	br := map[string]string{"Accept-Encoding": "br"}
	require.Eventually(t, func() bool {
		resp, _ := do(t, c, "GET", url, br)
		return resp.Header.Get("Content-Encoding") == "br"
	}, 10*time.Second, 5*time.Millisecond)

	src.opens.Store(0)
	var etag string
	for range 10 {
		resp, body := do(t, c, "GET", url, br)
		require.Equal(t, 200, resp.StatusCode)
		require.Equal(t, js, unbrotli(t, body))
		etag = resp.Header.Get("ETag")
	}
	resp, _ := do(t, c, "GET", url, map[string]string{"Accept-Encoding": "br", "If-None-Match": etag})
	assert.Equal(t, 304, resp.StatusCode)
	assert.Zero(t, src.opens.Load(), "kept answers opened the file")

	resp, body := do(t, c, "GET", url, nil)
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, js, body)
	assert.Equal(t, int64(1), src.opens.Load(), "an identity answer opens the file once")
	resp, body = do(t, c, "GET", url, map[string]string{"Range": "bytes=10-19"})
	assert.Equal(t, 206, resp.StatusCode)
	assert.Equal(t, js[10:20], body)
	assert.Equal(t, int64(2), src.opens.Load())
}

// TestObjectReplacedBetweenStatAndOpen: a deploy renames a new file of the
// same size and time over the object between the stat and the open; the
// request is answered with the new bytes and their ETag, whether its
// validators were kept or were being read.
func TestObjectReplacedBetweenStatAndOpen(t *testing.T) {
	for _, warm := range []bool{false, true} {
		t.Run(map[bool]string{false: "validators read", true: "validators kept"}[warm], func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, map[string]string{"a.txt": "version one\n"})
			src := &countingDir{dirSource: Dir(dir).(*dirSource)}
			h := settled(New(Config{}, src))
			t.Cleanup(func() { h.Close() })
			url, c := serve(t, h).URL+"/a.txt", client(t)
			if warm {
				_, body := do(t, c, "GET", url, nil)
				require.Equal(t, "version one\n", body)
			}
			var replaced atomic.Bool
			src.before = func() {
				if replaced.CompareAndSwap(false, true) {
					writeFiles(t, dir, map[string]string{"a.tmp": "version two\n"})
					require.NoError(t, os.Rename(filepath.Join(dir, "a.tmp"), filepath.Join(dir, "a.txt")))
				}
			}
			resp, body := do(t, c, "GET", url, nil)
			assert.Equal(t, 200, resp.StatusCode)
			assert.Equal(t, "version two\n", body)
			assert.Equal(t, contentETag("version two\n"), resp.Header.Get("ETag"))
			assert.True(t, replaced.Load())
		})
	}
}
