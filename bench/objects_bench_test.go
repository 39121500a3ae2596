package bench

import (
	"crypto/rand"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/dedw3n/hardening/cdncache"
)

// BenchmarkObjects serves one 16 KiB file over loopback HTTP (keep-alive
// client, no compression asked) from cdncache with a Dir source and from a
// bare http.FileServer(http.Dir), for a full 200, a 304 (the validator each
// one sent: cdncache's ETag, FileServer's Last-Modified) and a 206 of the
// first KiB.
func BenchmarkObjects(b *testing.B) {
	dir := b.TempDir()
	data := make([]byte, 16<<10)
	_, _ = rand.Read(data)
	if err := os.WriteFile(filepath.Join(dir, "photo.bin"), data, 0o644); err != nil {
		b.Fatal(err)
	}
	waitSettled(b, dir)
	for _, status := range []string{"200", "304", "206"} {
		for _, impl := range []string{"cdncache", "fileserver"} {
			b.Run("status="+status+"/impl="+impl, func(b *testing.B) {
				var h http.Handler
				switch impl {
				case "cdncache":
					ch := cdncache.New(cdncache.Config{Logger: discardLogger()}, cdncache.Dir(dir))
					defer ch.Close()
					h = ch
				case "fileserver":
					h = http.FileServer(http.Dir(dir))
				}
				srv := httptest.NewServer(h)
				defer srv.Close()
				client := newBenchClient()
				defer client.CloseIdleConnections()
				url := srv.URL + "/photo.bin"

				first, err := client.Get(url)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, first.Body)
				_ = first.Body.Close()
				req, _ := http.NewRequest(http.MethodGet, url, nil)
				want := http.StatusOK
				switch status {
				case "304":
					want = http.StatusNotModified
					if etag := first.Header.Get("ETag"); etag != "" {
						req.Header.Set("If-None-Match", etag)
					} else {
						req.Header.Set("If-Modified-Since", first.Header.Get("Last-Modified"))
					}
				case "206":
					want = http.StatusPartialContent
					req.Header.Set("Range", "bytes=0-1023")
				}
				b.ReportAllocs()
				b.SetParallelism(2)
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						resp, err := client.Do(req)
						if err != nil {
							b.Error(err)
							return
						}
						_, _ = io.Copy(io.Discard, resp.Body)
						_ = resp.Body.Close()
						if resp.StatusCode != want {
							b.Errorf("%s: got %d, want %d", impl, resp.StatusCode, want)
							return
						}
					}
				})
				b.StopTimer()
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
			})
		}
	}
}
