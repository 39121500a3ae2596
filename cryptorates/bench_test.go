package cryptorates

import (
	"testing"
	"time"
)

// benchClient returns a client holding fresh values for every default pair.
func benchClient(b *testing.B) *Client {
	b.Helper()
	clk, up := newClock(), newUpstream(b)
	c, err := New(Config{BaseURL: up.URL, Clock: clk.Now, Logger: discardLogger(), Fresh: time.Hour, Acceptable: time.Hour, Fallback: time.Hour})
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
