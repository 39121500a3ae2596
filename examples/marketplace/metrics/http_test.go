package metrics_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/dedw3n/hardening/examples/marketplace/metrics"
)

func TestHTTPLabelsByPatternAndStatusClass(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) {
		switch r.PathValue("id") {
		case "early-hints":
			w.WriteHeader(http.StatusEarlyHints)
			w.WriteHeader(http.StatusCreated)
		case "silent":
		case "flush":
			w.(http.Flusher).Flush()
		case "gone":
			http.Error(w, "gone", http.StatusGone)
		case "broken":
			w.WriteHeader(http.StatusBadGateway)
		}
	})
	mux.HandleFunc("GET /panic", func(http.ResponseWriter, *http.Request) { panic("boom") })

	tests := []struct{ path, route, status string }{
		{"/items/early-hints", "GET /items/{id}", "2xx"},
		{"/items/silent", "GET /items/{id}", "2xx"},
		{"/items/flush", "GET /items/{id}", "2xx"},
		{"/items/gone", "GET /items/{id}", "4xx"},
		{"/items/broken", "GET /items/{id}", "5xx"},
		{"/nowhere", "unmatched", "4xx"},
		{"/panic", "GET /panic", "5xx"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			reg := prometheus.NewPedanticRegistry()
			h := metrics.HTTP(reg)(mux)
			rec := httptest.NewRecorder()
			serve := func() { h.ServeHTTP(rec, httptest.NewRequest("GET", tt.path, nil)) }
			if tt.path == "/panic" {
				require.PanicsWithValue(t, "boom", serve, "the panic reaches net/http, which logs it")
			} else {
				serve()
			}
			want := `hardening_http_request_duration_seconds_count{route="` + tt.route + `",status="` + tt.status + `"} 1` + "\n"
			got := scrape(t, reg)
			require.Contains(t, got, want)
			require.Equal(t, 1, strings.Count(got, "_count{"), "one series: %s", got)
			if tt.path == "/items/flush" {
				require.True(t, rec.Flushed, "Flush reaches the underlying writer")
			}
		})
	}
}

func TestHTTPRegistersOnce(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	ok := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	metrics.HTTP(reg)(ok).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	metrics.HTTP(reg)(ok).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	n, err := testutil.GatherAndCount(reg, "hardening_http_request_duration_seconds")
	require.NoError(t, err)
	require.Equal(t, 1, n, "a second middleware on the same registry shares the histogram")
	require.Contains(t, scrape(t, reg), `hardening_http_request_duration_seconds_count{route="unmatched",status="2xx"} 2`)
}

// TestHTTPKeepsSendfile: a file served through the middleware still reaches
// the connection through ReadFrom (sendfile), whole, and is counted.
func TestHTTPKeepsSendfile(t *testing.T) {
	body := strings.Repeat("0123456789abcdef", 64<<10) // 1 MiB
	path := filepath.Join(t.TempDir(), "big.txt")
	require.NoError(t, os.WriteFile(path, []byte(body), 0o600))
	reg := prometheus.NewRegistry()
	var readerFrom atomic.Bool
	mux := http.NewServeMux()
	mux.HandleFunc("GET /file", func(w http.ResponseWriter, r *http.Request) {
		_, ok := w.(io.ReaderFrom)
		readerFrom.Store(ok)
		http.ServeFile(w, r, path)
	})
	srv := httptest.NewServer(metrics.HTTP(reg)(mux))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/file")
	require.NoError(t, err)
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.True(t, body == string(got), "got %d bytes, want %d", len(got), len(body))
	require.True(t, readerFrom.Load(), "the middleware's writer hides ReadFrom")
	require.Contains(t, scrape(t, reg), `hardening_http_request_duration_seconds_count{route="GET /file",status="2xx"} 1`)
}
