package cryptorates_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dedw3n/hardening/cryptorates"
)

// fakeCoinGecko answers /simple/price like CoinGecko, with fixed prices.
func fakeCoinGecko() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"bitcoin":{"usd":67187.33,"eur":61873.1,"last_updated_at":1767225600}}`)
	}))
}

func Example() {
	up := fakeCoinGecko()
	defer up.Close()

	rates, err := cryptorates.New(cryptorates.Config{
		BaseURL:    up.URL, // the default is CoinGecko's public v3 API
		Coins:      []string{"bitcoin"},
		Currencies: []string{"usd", "eur"},
	})
	if err != nil {
		panic(err)
	}
	defer rates.Close()

	q, err := rates.Rate(context.Background(), "bitcoin", "usd")
	if err != nil {
		panic(err)
	}
	fmt.Println(q.Value, q.Tier, q.Breaker, q.UpdatedAt.Format(time.DateOnly))
	// Output: 67187.33 fresh closed 2026-01-01
}

// The marketplace's /api/rates: every configured pair, never an error while
// a tier holds a value. With the upstream down from the start, the static
// tier answers within ColdWait.
func Example_apiRates() {
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer down.Close()
	now := time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC)
	rates, err := cryptorates.New(cryptorates.Config{
		BaseURL:    down.URL,
		Coins:      []string{"bitcoin", "ethereum"},
		Currencies: []string{"usd"},
		Clock:      func() time.Time { return now },
		Logger:     slog.New(slog.DiscardHandler),
	})
	if err != nil {
		panic(err)
	}
	defer rates.Close()

	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		type rate struct {
			Coin       string           `json:"coin"`
			Currency   string           `json:"currency"`
			Value      float64          `json:"value"`
			Tier       cryptorates.Tier `json:"tier"`
			FetchedAt  time.Time        `json:"fetched_at"`
			AgeSeconds float64          `json:"age_seconds"`
		}
		qs, _ := rates.Rates(r.Context()) // configured pairs are never unknown with the built-in table
		out := struct {
			Rates   []rate                   `json:"rates"`
			Breaker cryptorates.BreakerState `json:"breaker"`
		}{Rates: []rate{}, Breaker: rates.Stats().Breaker}
		for _, q := range qs {
			out.Rates = append(out.Rates, rate{q.Coin, q.Currency, q.Value, q.Tier, q.FetchedAt, q.Age.Seconds()})
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	})

	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, httptest.NewRequest("GET", "/api/rates", nil))
	fmt.Print(rec.Body.String())
	// Output: {"rates":[{"coin":"bitcoin","currency":"usd","value":93500,"tier":"static","fetched_at":"2025-01-01T00:00:00Z","age_seconds":86400},{"coin":"ethereum","currency":"usd","value":3350,"tier":"static","fetched_at":"2025-01-01T00:00:00Z","age_seconds":86400}],"breaker":"closed"}
}

// Stats to Prometheus in a few lines: one func-backed metric per field.
func ExampleClient_Stats_prometheus() {
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer down.Close()
	rates, _ := cryptorates.New(cryptorates.Config{BaseURL: down.URL, Logger: slog.New(slog.DiscardHandler)})
	defer rates.Close()
	_, _ = rates.Rate(context.Background(), "bitcoin", "usd")

	reg := prometheus.NewRegistry()
	counter := func(name string, f func(s cryptorates.Stats) uint64) {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "cryptorates_" + name, Help: name},
			func() float64 { return float64(f(rates.Stats())) }))
	}
	counter("upstream_calls_total", func(s cryptorates.Stats) uint64 { return s.UpstreamCalls })
	counter("failures_rate_limited_total", func(s cryptorates.Stats) uint64 { return s.Failures.RateLimited })
	counter("served_static_total", func(s cryptorates.Stats) uint64 { return s.Served.Static })
	counter("breaker_opened_total", func(s cryptorates.Stats) uint64 { return s.BreakerTransitions.Open })
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "cryptorates_breaker_closed", Help: "1 when closed"},
		func() float64 {
			if rates.Stats().Breaker == cryptorates.BreakerClosed {
				return 1
			}
			return 0
		}))

	families, _ := reg.Gather()
	for _, f := range families {
		m := f.GetMetric()[0]
		fmt.Println(f.GetName(), m.GetCounter().GetValue()+m.GetGauge().GetValue())
	}
	// Output:
	// cryptorates_breaker_closed 1
	// cryptorates_breaker_opened_total 0
	// cryptorates_failures_rate_limited_total 1
	// cryptorates_served_static_total 1
	// cryptorates_upstream_calls_total 1
}
