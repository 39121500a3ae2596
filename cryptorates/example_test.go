package cryptorates_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"time"

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
// a tier holds a value, each Quote encoded as it is. With the upstream down
// from the start, the static tier's reference prices answer within ColdWait.
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
		Now:        func() time.Time { return now },
		Logger:     slog.New(slog.DiscardHandler),
	})
	if err != nil {
		panic(err)
	}
	defer rates.Close()

	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		qs, _ := rates.Rates(r.Context()) // configured pairs are never unknown with the built-in table
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"rates": qs})
	})

	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, httptest.NewRequest("GET", "/api/rates", nil))
	fmt.Print(rec.Body.String())
	// Output: {"rates":[{"coin":"bitcoin","currency":"usd","value":93500,"tier":"static","reference":true,"fetched_at":"2025-01-01T00:00:00Z","updated_at":"2025-01-01T00:00:00Z","age_seconds":86400,"breaker":"closed"},{"coin":"ethereum","currency":"usd","value":3350,"tier":"static","reference":true,"fetched_at":"2025-01-01T00:00:00Z","updated_at":"2025-01-01T00:00:00Z","age_seconds":86400,"breaker":"closed"}]}
}
