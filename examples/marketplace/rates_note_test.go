package main

import (
	"testing"
	"time"

	"github.com/dedw3n/hardening/cryptorates"
)

func TestRatesNoteSpeaksToShoppers(t *testing.T) {
	asOf := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	fresh := cryptorates.Quote{Tier: cryptorates.TierFresh, Age: 2 * time.Minute}
	stale := cryptorates.Quote{Tier: cryptorates.TierAcceptable, Age: 7*time.Minute + 20*time.Second}
	old := cryptorates.Quote{Tier: cryptorates.TierFallback, Age: 50 * time.Minute}
	ref := cryptorates.Quote{Tier: cryptorates.TierStatic, Reference: true, FetchedAt: asOf, Age: 16789 * time.Hour}
	cases := []struct {
		name      string
		quotes    []cryptorates.Quote
		note, cls string
	}{
		{"live", []cryptorates.Quote{fresh, fresh}, "live", "live"},
		{"stale", []cryptorates.Quote{fresh, stale}, "updated 7 min ago", "stale"},
		{"least current wins", []cryptorates.Quote{old, stale}, "updated 50 min ago", "stale"},
		{"seconds", []cryptorates.Quote{{Tier: cryptorates.TierAcceptable, Age: 20 * time.Second}}, "updated 1 min ago", "stale"},
		{"hours", []cryptorates.Quote{{Tier: cryptorates.TierFallback, Age: 3 * time.Hour}}, "updated 3 h ago", "stale"},
		{"reference", []cryptorates.Quote{ref, ref}, "reference prices from 1 Jan 2025, live prices unavailable", "reference"},
		{"some reference", []cryptorates.Quote{fresh, ref}, "reference prices from 1 Jan 2025, live prices unavailable", "reference"},
		{"none", nil, "unavailable", "reference"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			note, cls := ratesNote(tc.quotes)
			if note != tc.note || cls != tc.cls {
				t.Fatalf("got %q (%s), want %q (%s)", note, cls, tc.note, tc.cls)
			}
		})
	}
}
