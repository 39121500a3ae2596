package cdncache

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// discardWriter is a ResponseWriter that keeps nothing, so that the
// benchmarks measure the handlers, not a recorder.
type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(code int)        { w.code = code }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }

// benchFiles is the same directory for both handlers: a 16 KiB image and a
// 4 KiB stylesheet.
func benchDir(b *testing.B) string {
	dir := b.TempDir()
	files := map[string]string{
		"photo.jpg": "\xff\xd8\xff\xe0" + strings.Repeat("\x10\x20\x30\x40", 4095),
		"app.css":   strings.Repeat(".a { color: red; }\n", 215),
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			b.Fatal(err)
		}
		if err := os.Chtimes(p, fixtureTime, fixtureTime); err != nil {
			b.Fatal(err)
		}
	}
	return dir
}

type benchCase struct {
	name string
	path string
	fs   map[string]string // request headers for http.FileServer
	cdn  map[string]string // request headers for cdncache
	code int
}

func benchCases(etag string) []benchCase {
	lm := fixtureTime.Format(http.TimeFormat)
	return []benchCase{
		{name: "200", path: "/photo.jpg", code: 200},
		{name: "304", path: "/photo.jpg", fs: map[string]string{"If-Modified-Since": lm}, cdn: map[string]string{"If-None-Match": etag}, code: 304},
		{name: "206", path: "/photo.jpg", fs: map[string]string{"Range": "bytes=100-1099"}, cdn: map[string]string{"Range": "bytes=100-1099"}, code: 206},
	}
}

func newBenchRequest(path string, hdr map[string]string) *http.Request {
	r := httptest.NewRequest("GET", path, nil)
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	return r
}

// loop serves req n times and returns the time taken.
func loop(b *testing.B, h http.Handler, req *http.Request, code, n int) time.Duration {
	w := &discardWriter{h: make(http.Header)}
	start := time.Now()
	for range n {
		clear(w.h)
		h.ServeHTTP(w, req)
	}
	d := time.Since(start)
	if w.code != code {
		b.Fatalf("status %d, want %d", w.code, code)
	}
	return d
}

func benchHandlers(b *testing.B) (fileServer http.Handler, cdn *Handler, etag string) {
	dir := benchDir(b)
	cdn = settled(New(Config{}, Dir(dir)))
	b.Cleanup(func() { cdn.Close() })
	w := &discardWriter{h: make(http.Header)}
	cdn.ServeHTTP(w, newBenchRequest("/photo.jpg", nil))
	return http.FileServer(http.Dir(dir)), cdn, w.h.Get("ETag")
}

// BenchmarkServe measures each path of each handler on the same files.
func BenchmarkServe(b *testing.B) {
	fileServer, cdn, etag := benchHandlers(b)
	for _, bc := range benchCases(etag) {
		b.Run(bc.name+"/FileServer", func(b *testing.B) {
			b.ReportAllocs()
			loop(b, fileServer, newBenchRequest(bc.path, bc.fs), bc.code, b.N)
		})
		b.Run(bc.name+"/cdncache", func(b *testing.B) {
			b.ReportAllocs()
			loop(b, cdn, newBenchRequest(bc.path, bc.cdn), bc.code, b.N)
		})
	}
}

// BenchmarkRatio runs http.FileServer and cdncache alternately, in chunks
// of 50 requests, in the same benchmark, and reports the median over chunks
// of fileserver time ÷ cdncache time ("ratio"; ≥ 1 means cdncache is
// faster) and, for 304, of cdncache 304 time ÷ cdncache 200 time ("304/200";
// < 1 means the 304 path is faster). Medians keep the ratios meaningful on a
// machine shared with other work.
func BenchmarkRatio(b *testing.B) {
	fileServer, cdn, etag := benchHandlers(b)
	cdn200 := newBenchRequest("/photo.jpg", nil)
	for _, bc := range benchCases(etag) {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			fsReq, cdnReq := newBenchRequest(bc.path, bc.fs), newBenchRequest(bc.path, bc.cdn)
			var ratios, vs200 []float64
			const chunk = 50
			for done := 0; done < b.N; done += chunk {
				n := min(chunk, b.N-done)
				tFS := loop(b, fileServer, fsReq, bc.code, n)
				tCDN := loop(b, cdn, cdnReq, bc.code, n)
				ratios = append(ratios, float64(tFS)/float64(tCDN))
				if bc.code == 304 {
					vs200 = append(vs200, float64(tCDN)/float64(loop(b, cdn, cdn200, 200, n)))
				}
			}
			b.ReportMetric(median(ratios), "ratio")
			if bc.code == 304 {
				b.ReportMetric(median(vs200), "304/200")
			}
		})
	}
}

func median(xs []float64) float64 {
	slices.Sort(xs)
	return xs[len(xs)/2]
}

// BenchmarkCompressGzip measures on-the-fly gzip of a 4 KiB stylesheet.
func BenchmarkCompressGzip(b *testing.B) {
	_, cdn, _ := benchHandlers(b)
	b.ReportAllocs()
	loop(b, cdn, newBenchRequest("/app.css", map[string]string{"Accept-Encoding": "gzip"}), 200, b.N)
}
