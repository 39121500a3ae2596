package cryptorates

import (
	"encoding/json"
	"testing"
	"time"
)

// benchClient returns a client holding fresh values for every default pair.
func benchClient(b *testing.B) *Client {
	b.Helper()
	clk, up := newClock(), newUpstream(b)
	c, err := New(Config{BaseURL: up.URL, Now: clk.Now, Logger: discardLogger(), Fresh: time.Hour, Acceptable: time.Hour, Fallback: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Close() })
	if q, err := c.Rate(b.Context(), "bitcoin", "usd"); err != nil || q.Tier != TierFresh {
		b.Fatalf("warm-up: %v %v", q.Tier, err)
	}
	return c
}

func BenchmarkRateFreshHit(b *testing.B) {
	c := benchClient(b)
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if q, err := c.Rate(ctx, "avalanche-2", "gbp"); err != nil || q.Tier != TierFresh {
			b.Fatal(q.Tier, err)
		}
	}
}

func BenchmarkRateFreshHitParallel(b *testing.B) {
	c := benchClient(b)
	ctx := b.Context()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if q, err := c.Rate(ctx, "avalanche-2", "gbp"); err != nil || q.Tier != TierFresh {
				b.Error(q.Tier, err)
				return
			}
		}
	})
}

func BenchmarkRatesAll(b *testing.B) {
	c := benchClient(b)
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if qs, err := c.Rates(ctx); err != nil || len(qs) != 15 {
			b.Fatal(len(qs), err)
		}
	}
}

func BenchmarkRateStatic(b *testing.B) {
	c, err := New(Config{BaseURL: "http://127.0.0.1:1", Logger: discardLogger(), Coins: []string{"bitcoin"}})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if q, err := c.Rate(ctx, "ethereum", "usd"); err != nil || q.Tier != TierStatic {
			b.Fatal(q.Tier, err)
		}
	}
}

// BenchmarkDecodePricesCatalogue decodes one call's body at catalogue
// scale (250 coins × 30 currencies) with the duplicate-detecting decoder.
func BenchmarkDecodePricesCatalogue(b *testing.B) {
	cfg := catalogueConfig()
	out := map[string]map[string]float64{}
	for _, coin := range cfg.Coins[:250] {
		m := map[string]float64{"last_updated_at": 1767225600}
		for i, cur := range cfg.Currencies {
			m[cur] = 12345.678901 + float64(i)
		}
		out[coin] = m
	}
	body, err := json.Marshal(out)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if raw, err := decodePrices(body); err != nil || len(raw) != 250 {
			b.Fatal(len(raw), err)
		}
	}
}
