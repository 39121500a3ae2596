package cdncache_test

import (
	"embed"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"time"

	"github.com/dedw3n/hardening/cdncache"
)

//go:embed testdata/static
var assets embed.FS

// The marketplace's three uses: embedded static assets, public objects
// searched in several directories (first match wins) and private objects
// behind a session.
func Example() {
	static := mustSub("testdata/static")
	base, _ := os.MkdirTemp("", "cdncache-example")
	defer os.RemoveAll(base)
	uploads, media, private := mkdir(base, "uploads"), mkdir(base, "media"), mkdir(base, "private")
	os.WriteFile(filepath.Join(media, "cat.jpg"), []byte("\xff\xd8\xff\xe0cat"), 0o644)
	os.WriteFile(filepath.Join(private, "invoice.pdf"), []byte("%PDF-1.7"), 0o644)

	mux := http.NewServeMux()
	mux.Handle("/static/", http.StripPrefix("/static/", cdncache.New(cdncache.Config{}, cdncache.FS(static))))
	mux.Handle("/objects/public/", http.StripPrefix("/objects/public/", cdncache.New(cdncache.Config{}, cdncache.Dir(uploads), cdncache.Dir(media))))
	mux.Handle("/objects/private/", requireSession(http.StripPrefix("/objects/private/", cdncache.New(cdncache.Config{Private: true}, cdncache.Dir(private)))))

	for _, path := range []string{"/static/app.css", "/objects/public/cat.jpg", "/objects/private/invoice.pdf", "/objects/public/nope.jpg"} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		fmt.Printf("%s %d %s | %s\n", path, rec.Code, rec.Header().Get("Cache-Control"), rec.Header().Get("Vary"))
	}
	// Output:
	// /static/app.css 200 public, max-age=86400, stale-while-revalidate=8640 | Accept-Encoding
	// /objects/public/cat.jpg 200 public, max-age=86400, stale-while-revalidate=8640 | Accept-Encoding
	// /objects/private/invoice.pdf 200 private, no-cache | Accept-Encoding
	// /objects/public/nope.jpg 404 no-store | Accept-Encoding
}

// requireSession stands for the session middleware that guards private
// objects.
func requireSession(next http.Handler) http.Handler { return next }

func mkdir(base, name string) string {
	dir := filepath.Join(base, name)
	os.Mkdir(dir, 0o755)
	return dir
}

// A 304 keeps the ETag, the policy and Vary; If-None-Match uses weak
// comparison.
func ExampleHandler_ServeHTTP_notModified() {
	h := cdncache.New(cdncache.Config{}, cdncache.FS(mustSub("testdata/static")))

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/hello.txt", nil))
	etag := rec.Header().Get("ETag")

	req := httptest.NewRequest("GET", "/hello.txt", nil)
	req.Header.Set("If-None-Match", "W/"+etag)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Header().Get("ETag") == etag, rec.Header().Get("Cache-Control"), rec.Body.Len())
	st := h.Stats()
	fmt.Println(st.OK, st.NotModified, st.BytesSaved)
	// Output:
	// 304 true public, max-age=300 0
	// 1 1 17
}

// Ranges: "bytes=-0" can never be satisfied.
func ExampleHandler_ServeHTTP_ranges() {
	h := cdncache.New(cdncache.Config{}, cdncache.FS(mustSub("testdata/static")))
	for _, rng := range []string{"bytes=0-4", "bytes=-0"} {
		req := httptest.NewRequest("GET", "/hello.txt", nil)
		req.Header.Set("Range", rng)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		fmt.Printf("%s: %d %q %q %s\n", rng, rec.Code, rec.Header().Get("Content-Range"), rec.Body.String(), rec.Header().Get("Cache-Control"))
	}
	// Output:
	// bytes=0-4: 206 "bytes 0-4/17" "hello" public, max-age=300
	// bytes=-0: 416 "bytes */17" "Requested Range Not Satisfiable\n" no-store
}

// Policies by type and prefix, with CDN-Cache-Control for the CDN and a
// shorter browser lifetime, and purge tags.
func ExampleConfig() {
	h := cdncache.New(cdncache.Config{
		Types:         map[string]cdncache.Policy{"text/plain": {MaxAge: 10 * time.Minute}},
		Prefixes:      map[string]cdncache.Policy{"reports/": {NoStore: true}},
		BrowserMaxAge: time.Minute,
		Tags:          func(key string) []string { return []string{"static"} },
	}, cdncache.FS(mustSub("testdata/static")))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/hello.txt", nil))
	fmt.Println(rec.Header().Get("Cache-Control"))
	fmt.Println(rec.Header().Get("CDN-Cache-Control"))
	fmt.Println(rec.Header().Get("Surrogate-Key"))
	// Output:
	// public, max-age=60
	// public, max-age=600
	// static
}

// The Middleware form puts the policy on any handler's responses.
func ExampleHandler_Middleware() {
	policy := cdncache.New(cdncache.Config{})
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/fail" {
			w.Header().Set("Cache-Control", "public, max-age=86400")
			http.Error(w, "boom", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/pdf")
		fmt.Fprint(w, "%PDF")
	})
	h := policy.Middleware(api)
	for _, path := range []string{"/report", "/fail"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		fmt.Println(path, rec.Code, rec.Header().Get("Cache-Control"), rec.Header().Get("Vary"))
	}
	// Output:
	// /report 200 public, max-age=43200 Accept-Encoding
	// /fail 500 no-store Accept-Encoding
}

func mustSub(dir string) fs.FS {
	sub, err := fs.Sub(assets, dir)
	if err != nil {
		panic(err)
	}
	return sub
}
