package metrics_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/dedw3n/hardening/cryptorates"
	"github.com/dedw3n/hardening/examples/marketplace/metrics"
)

// Wrap the ServeMux itself, so that the route label is its pattern.
func ExampleHTTP() {
	reg := prometheus.NewRegistry()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) {})
	h := metrics.HTTP(reg)(mux)

	for _, path := range []string{"/items/1", "/items/2", "/nowhere"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", path, nil))
	}
	printSeries(reg, "hardening_http_request_duration_seconds_count")
	// Output:
	// hardening_http_request_duration_seconds_count{route="GET /items/{id}",status="2xx"} 2
	// hardening_http_request_duration_seconds_count{route="unmatched",status="4xx"} 1
}

// A snapshot's classes become one family with a label.
func ExampleRates() {
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.Rates(func() cryptorates.Stats {
		return cryptorates.Stats{Failures: cryptorates.Failures{RateLimited: 4, Auth: 1}, Breaker: "open"}
	}))
	printSeries(reg, "hardening_rates_failures_total{class=\"auth\"}", "hardening_rates_failures_total{class=\"rate_limited\"}",
		"hardening_rates_breaker_state")
	// Output:
	// hardening_rates_breaker_state{state="closed"} 0
	// hardening_rates_breaker_state{state="half-open"} 0
	// hardening_rates_breaker_state{state="open"} 1
	// hardening_rates_failures_total{class="auth"} 1
	// hardening_rates_failures_total{class="rate_limited"} 4
}

// printSeries prints the exposition's sample lines that start with one of
// the prefixes.
func printSeries(reg prometheus.Gatherer, prefixes ...string) {
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		for _, p := range prefixes {
			if strings.HasPrefix(line, p) {
				fmt.Println(line)
				break
			}
		}
	}
}
