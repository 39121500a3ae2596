package cdncache

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// doc.go: "A request a Dir object can answer without its bytes (a kept
// encoded body, a 304) costs a stat of the object and one of its sibling
// and opens nothing". A 304 for a version whose validators are kept but
// whose gzip body was evicted opened the file and encoded at best
// compression a body it did not send: the body is made after the
// preconditions now.
func Test304AfterEvictionOpensNothing(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{}
	for i := range 40 {
		files[fmt.Sprintf("m%d.js", i)] = noisyText(i, 3000)
	}
	writeFiles(t, dir, files)
	src := &countingDir{dirSource: Dir(dir).(*dirSource)}
	h := settled(New(Config{EncodedCacheBytes: 48 << 10}, src))
	t.Cleanup(func() { h.Close() })
	srv, c := serve(t, h), client(t)
	gz := map[string]string{"Accept-Encoding": "gzip"}
	resp, _ := do(t, c, "GET", srv.URL+"/m0.js", gz)
	require.NotEmpty(t, resp.Header.Get("Content-Length"), "kept, not streamed")
	tag := resp.Header.Get("ETag")
	for i := 1; i < 40; i++ { // push m0's gzip body out
		do(t, c, "GET", srv.URL+fmt.Sprintf("/m%d.js", i), gz)
	}
	before := h.Stats()
	require.Positive(t, before.EncodedEvictions)
	src.opens.Store(0)
	resp, _ = do(t, c, "GET", srv.URL+"/m0.js", map[string]string{"Accept-Encoding": "gzip", "If-None-Match": tag})
	after := h.Stats()
	require.Equal(t, 304, resp.StatusCode)
	t.Logf("304: opens=%d gzip encodes during the 304=%d", src.opens.Load(), after.Gzip.Encodes-before.Gzip.Encodes)
	assert.Zero(t, src.opens.Load(), "a 304 opened the file")
	assert.Zero(t, after.Gzip.Encodes-before.Gzip.Encodes, "a 304 encoded a body it does not send")
}

// The same promise: with the brotli queue full (maxPending), every request
// answered from a kept gzip body opened and read the whole object for a
// brotli job that was then refused. The job reads the object itself now.
func TestFullBrotliQueueReadsNoObject(t *testing.T) {
	const n = maxPending + 3
	dir := t.TempDir()
	files := map[string]string{}
	for i := range n {
		files[fmt.Sprintf("m%02d.js", i)] = textJS(i, 100<<10)
	}
	writeFiles(t, dir, files)
	src := &countingDir{dirSource: Dir(dir).(*dirSource)}
	h := settled(New(Config{}, src))
	t.Cleanup(func() { h.Close() })
	srv, c := serve(t, h), client(t)
	browser := map[string]string{"Accept-Encoding": "br, gzip"}
	for i := range n { // a deploy: every asset asked once
		resp, _ := do(t, c, "GET", srv.URL+fmt.Sprintf("/m%02d.js", i), browser)
		require.Equal(t, 200, resp.StatusCode)
	}
	last := fmt.Sprintf("/m%02d.js", n-1)
	src.opens.Store(0)
	for range 10 {
		resp, body := do(t, c, "GET", srv.URL+last, browser)
		require.Equal(t, "gzip", resp.Header.Get("Content-Encoding"))
		require.Equal(t, files[last[1:]], gunzip(t, body))
	}
	t.Logf("10 answers from the kept gzip body: %d opens; br encodes so far %d", src.opens.Load(), h.Stats().Br.Encodes)
	assert.Zero(t, src.opens.Load(), "answers from a kept encoded body opened the file")
}

// Each kept zstd encoding built a new SpeedBestCompression encoder (about
// 50 MiB, for a 2 KB object) and nothing bounded how many ran at once: 64
// concurrent first requests for 64 distinct 2 KB files peaked at 0.6-2.9
// GiB. Encoders are pooled and encodings run a few at a time now.
func TestConcurrentZstdEncodesAreBounded(t *testing.T) {
	const n = 64
	dir := t.TempDir()
	files := map[string]string{}
	for i := range n {
		files[fmt.Sprintf("m%d.js", i)] = noisyText(i, 2048)
	}
	writeFiles(t, dir, files)
	h := settled(New(Config{}, Dir(dir)))
	t.Cleanup(func() { h.Close() })
	srv, c := serve(t, h), client(t)
	var peak uint64
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapInuse)
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	var m0 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			name := fmt.Sprintf("m%d.js", i)
			resp, body := do(t, c, "GET", srv.URL+"/"+name, map[string]string{"Accept-Encoding": "zstd"})
			assert.Equal(t, "zstd", resp.Header.Get("Content-Encoding"))
			assert.Equal(t, files[name], unzstd(t, body))
		})
	}
	wg.Wait()
	close(stop)
	<-done
	var m1 runtime.MemStats
	runtime.ReadMemStats(&m1)
	t.Logf("%d objects of 2 KB: heap in use before %.1f MiB, peak %.1f MiB; allocated %.1f MiB; encoded bodies kept: %d bytes",
		n, float64(m0.HeapInuse)/(1<<20), float64(peak)/(1<<20), float64(m1.TotalAlloc-m0.TotalAlloc)/(1<<20), h.Stats().EncodedBytes)
	assert.Less(t, peak, uint64(256<<20), "peak heap for encoding 128 KB of text")
}

// Middleware over a handler that hijacks (websocket upgrade through
// http.ResponseController): the Middleware wrote a 200 on the hijacked
// connection (net/http logged it) and counted a 200 in Stats.
func TestMiddlewareLeavesAHijackedConnection(t *testing.T) {
	var logs bytes.Buffer
	var mu sync.Mutex
	h := New(Config{})
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: Upgrade\r\n\r\nhello")
		brw.Flush()
		conn.Close()
	})
	srv := httptest.NewUnstartedServer(h.Middleware(next))
	srv.Config.ErrorLog = log.New(writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return logs.Write(p) }), "", 0)
	srv.Start()
	t.Cleanup(srv.Close)
	_, isHijacker := any(&policyWriter{}).(http.Hijacker)
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	require.NoError(t, err)
	fmt.Fprintf(conn, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: x\r\nConnection: Upgrade\r\n\r\n")
	got, _ := io.ReadAll(conn)
	conn.Close()
	time.Sleep(100 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	t.Logf("policyWriter implements http.Hijacker: %v; client got %q", isHijacker, got)
	t.Logf("server log: %q; Stats().OK = %d", logs.String(), h.Stats().OK)
	assert.NotContains(t, logs.String(), "hijacked")
	assert.Zero(t, h.Stats().OK, "a hijacked connection counted as a 200")
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// Dir promises "the regular files under the directory": a FIFO is
// refused (404) on the stat path, but a plain GET opened it and blocked in
// open(2) for ever (an OS thread per request, deaf to the request context).
func TestDirRefusesAFIFO(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.txt")
	require.NoError(t, syscall.Mkfifo(fifo, 0o644))
	h := New(Config{Logger: discardLogger()}, Dir(dir))
	t.Cleanup(func() { h.Close() })
	srv, c := serve(t, h), client(t)
	c.Timeout = 2 * time.Second
	t.Cleanup(func() { // release the blocked open(2)s so the test can end
		for range 4 {
			if f, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
				f.Close()
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
	for _, ae := range []string{"gzip", ""} {
		req, _ := http.NewRequest("GET", srv.URL+"/fifo.txt", nil)
		if ae != "" {
			req.Header.Set("Accept-Encoding", ae)
		}
		start := time.Now()
		resp, err := c.Do(req)
		if err != nil {
			t.Errorf("Accept-Encoding %q: %v after %v", ae, err, time.Since(start).Round(time.Millisecond))
			continue
		}
		resp.Body.Close()
		t.Logf("Accept-Encoding %q: %d", ae, resp.StatusCode)
		assert.Equal(t, 404, resp.StatusCode)
	}
}
