package bench

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/dedw3n/hardening/cdncache"
	"github.com/dedw3n/hardening/internal/nginxtest"
	"github.com/klauspost/compress/gzhttp"
)

// assetFiles are real minified scripts and a stylesheet of 36 to 120 KB
// (bench/testdata/assets, licences in LICENSES.md).
var assetFiles = []string{"popper.min.js", "twgl-full.min.js", "jquery.min.js", "bootstrap.min.css"}

// assetConns is how many keep-alive connections each asset benchmark
// keeps busy (on GOMAXPROCS 2).
const assetConns = 8

// browserEncodings is what browsers and CDNs send.
const browserEncodings = "gzip, deflate, br, zstd"

// waitSettled waits until the files under dir are more than 2 s old:
// cdncache does not cache the validators of files changed more recently
// (the racy rule), so a benchmark started at once would measure hashing.
func waitSettled(b *testing.B, dir string) {
	b.Helper()
	var newest time.Time
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		var st syscall.Stat_t
		if syscall.Stat(p, &st) == nil {
			if c := time.Unix(st.Ctim.Unix()); c.After(newest) {
				newest = c
			}
		}
		return nil
	})
	time.Sleep(time.Until(newest.Add(2100 * time.Millisecond)))
}

// assetServers starts every implementation serving dir: cdncache, the
// usual Go peer gzhttp.GzipHandler(http.FileServer), and nginx with gzip on
// (one worker) when it is installed.
func assetServers(b *testing.B, dir string) map[string]string {
	b.Helper()
	cdn := cdncache.New(cdncache.Config{Logger: discardLogger()}, cdncache.Dir(dir))
	b.Cleanup(func() { cdn.Close() })
	urls := map[string]string{}
	for impl, h := range map[string]http.Handler{"cdncache": cdn, "gzhttp": gzhttp.GzipHandler(http.FileServer(http.Dir(dir)))} {
		srv := httptest.NewServer(h)
		b.Cleanup(srv.Close)
		urls[impl] = srv.URL
	}
	if nginxtest.Available() {
		s := nginxtest.New(b)
		port := nginxtest.FreePort(b)
		s.Start(fmt.Sprintf(`
	types { text/css css; text/javascript js; application/octet-stream bin; }
	server {
		listen 127.0.0.1:%d;
		root %s;
		gzip on;
		gzip_types text/css text/javascript;
	}`, port, dir), port)
		urls["nginx"] = fmt.Sprintf("http://127.0.0.1:%d", port)
	}
	return urls
}

// memoryServer serves the brotli body (quality 11, as cdncache makes it)
// of each file in dir from memory, with nothing but its length and coding:
// the fastest a net/http handler can answer on this machine, the ceiling
// of any handler sending the same bytes.
func memoryServer(b *testing.B, dir string) string {
	b.Helper()
	bodies := map[string][]byte{}
	for _, name := range assetFiles {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			b.Fatal(err)
		}
		var buf bytes.Buffer
		w := brotli.NewWriterLevel(&buf, brotli.BestCompression)
		_, _ = w.Write(data)
		_ = w.Close()
		bodies["/"+name] = buf.Bytes()
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := bodies[r.URL.Path]
		w.Header()["Content-Encoding"] = []string{"br"}
		w.Header()["Content-Length"] = []string{strconv.Itoa(len(body))}
		_, _ = w.Write(body)
	}))
	b.Cleanup(srv.Close)
	return srv.URL
}

// fetch sends one GET and returns the status, Content-Encoding and the
// body's length on the wire.
func fetch(c *http.Client, req *http.Request) (int, string, int64, error) {
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", 0, err
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Content-Encoding"), n, err
}

// warm asks until the implementation answers with its best coding: for
// cdncache, brotli (made in the background after the first request).
func warm(b *testing.B, c *http.Client, req *http.Request, impl string) {
	b.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		_, enc, _, err := fetch(c, req)
		if err != nil {
			b.Fatal(err)
		}
		if impl != "cdncache" || enc == "br" || time.Now().After(deadline) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// BenchmarkAssets serves real minified JS and CSS to a browser-like client
// (Accept-Encoding: gzip, deflate, br, zstd, keep-alive, loopback) from
// cdncache, gzhttp.GzipHandler(http.FileServer) and nginx with gzip on; an
// incompressible object of the same size from cdncache
// (impl=cdncache-identity), the speed compressed assets are measured
// against; and the same brotli bytes from memory (impl=memory), the
// ceiling. wire-B/op is the body's length as received. The client is
// wireConn, one connection per goroutine.
func BenchmarkAssets(b *testing.B) {
	src, err := filepath.Abs("testdata/assets")
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	for _, name := range assetFiles {
		data, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			b.Fatal(err)
		}
		noise := make([]byte, len(data))
		_, _ = rand.Read(noise)
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".bin"), noise, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	waitSettled(b, dir)
	urls := assetServers(b, dir)
	urls["cdncache-identity"] = urls["cdncache"]
	urls["memory"] = memoryServer(b, src)
	for _, name := range assetFiles {
		for _, impl := range []string{"cdncache", "cdncache-identity", "gzhttp", "nginx", "memory"} {
			b.Run("file="+name+"/impl="+impl, func(b *testing.B) {
				base, ok := urls[impl]
				if !ok {
					b.Skip("nginx is not installed")
				}
				path := "/" + name
				if impl == "cdncache-identity" {
					path += ".bin"
				}
				benchAsset(b, impl, base+path)
			})
		}
	}
}

func benchAsset(b *testing.B, impl, url string) {
	client := newBenchClient()
	defer client.CloseIdleConnections()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Accept-Encoding", browserEncodings)
	warm(b, client, req, impl)
	var wire atomic.Int64 // body bytes received, all goroutines
	b.ReportAllocs()
	b.SetParallelism(assetConns / 2)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		conn := dialWire(b, url)
		req := wireRequest(b, http.MethodGet, url, http.Header{"Accept-Encoding": {browserEncodings}})
		var n int64
		for pb.Next() {
			status, enc, size, err := conn.do(req)
			if err != nil || status != http.StatusOK || (enc == "") != (impl == "cdncache-identity") {
				b.Errorf("%s: status %d, encoding %q, err %v", impl, status, enc, err)
				return
			}
			n += size
		}
		wire.Add(n)
	})
	b.StopTimer()
	b.ReportMetric(float64(wire.Load())/float64(b.N), "wire-B/op")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// BenchmarkAssetsMissStorm is the first minute after a deploy: 64
// concurrent first requests for a new bundle from browser-like clients.
// encodes/op counts the compressions made for them: cdncache's kept
// encodings (Stats.Br, Zstd, Gzip), one per compressed response for gzhttp,
// which compresses every response.
func BenchmarkAssetsMissStorm(b *testing.B) {
	src, err := filepath.Abs("testdata/assets")
	if err != nil {
		b.Fatal(err)
	}
	const storm = 64
	for _, impl := range []string{"cdncache", "gzhttp"} {
		b.Run("impl="+impl, func(b *testing.B) {
			var encodes int64
			for range b.N {
				var h http.Handler
				var cdn *cdncache.Handler
				if impl == "cdncache" {
					cdn = cdncache.New(cdncache.Config{Logger: discardLogger()}, cdncache.Dir(src))
					h = cdn
				} else {
					h = gzhttp.GzipHandler(http.FileServer(http.Dir(src)))
				}
				srv := httptest.NewServer(h)
				compressed := stormOnce(b, srv.URL+"/jquery.min.js", storm)
				srv.Close()
				if cdn != nil {
					cdn.Close() // waits for the brotli encoding
					st := cdn.Stats()
					encodes += int64(st.Br.Encodes + st.Zstd.Encodes + st.Gzip.Encodes)
				} else {
					encodes += compressed
				}
			}
			b.ReportMetric(float64(encodes)/float64(b.N), "encodes/op")
		})
	}
}

// stormOnce sends n concurrent GETs and returns how many were compressed.
func stormOnce(b *testing.B, url string, n int) int64 {
	client := newBenchClient()
	defer client.CloseIdleConnections()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var compressed int64
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodGet, url, nil)
			req.Header.Set("Accept-Encoding", browserEncodings)
			status, enc, _, err := fetch(client, req)
			if err != nil || status != http.StatusOK {
				b.Errorf("status %d, err %v", status, err)
				return
			}
			if enc != "" {
				mu.Lock()
				compressed++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return compressed
}
