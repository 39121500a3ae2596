package metrics_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dedw3n/hardening/cryptorates"
	"github.com/dedw3n/hardening/examples/marketplace/metrics"
)

// A package's Stats to Prometheus in one call: here cryptorates' client,
// after one rate-limited upstream call, exported with its counters named.
// The hardening packages themselves never import Prometheus.
func ExampleNew() {
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer down.Close()
	rates, err := cryptorates.New(cryptorates.Config{BaseURL: down.URL, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		panic(err)
	}
	defer rates.Close()
	_, _ = rates.Rate(context.Background(), "bitcoin", "usd")

	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.New("rates", func() any { return rates.Stats() },
		"upstream_calls", "failures_rate_limited", "served_static"))

	families, err := reg.Gather()
	if err != nil {
		panic(err)
	}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			name := f.GetName()
			if !strings.HasSuffix(name, "_total") && !strings.HasPrefix(name, "hardening_rates_breaker_info") {
				continue
			}
			v := m.GetCounter().GetValue() + m.GetGauge().GetValue()
			for _, l := range m.GetLabel() {
				name += fmt.Sprintf("{%s=%q}", l.GetName(), l.GetValue())
			}
			fmt.Println(name, v)
		}
	}
	// Output:
	// hardening_rates_breaker_info{value="closed"} 1
	// hardening_rates_failures_rate_limited_total 1
	// hardening_rates_served_static_total 1
	// hardening_rates_upstream_calls_total 1
}
