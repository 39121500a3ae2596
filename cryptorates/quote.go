package cryptorates

import (
	"encoding/json"
	"math"
	"time"
)

// Pair names one rate: a CoinGecko coin id ("bitcoin", "avalanche-2") and a
// quote currency ("usd").
type Pair struct {
	Coin     string
	Currency string
}

// String returns "coin/currency".
func (p Pair) String() string { return p.Coin + "/" + p.Currency }

// Tier says how a quote was obtained: from a fetch younger than
// [Config.Fresh], [Config.Acceptable] or [Config.Fallback], or from the
// static table. It is a string so that it encodes as itself in JSON and logs.
type Tier string

// The tiers, best first.
const (
	TierFresh      Tier = "fresh"
	TierAcceptable Tier = "acceptable"
	TierFallback   Tier = "fallback"
	TierStatic     Tier = "static"
)

// BreakerState is the circuit breaker's state as callers see it.
type BreakerState string

// The breaker states. Half-open means the cooldown is over and the next
// upstream call is the single probe that decides between closed and open.
const (
	BreakerClosed   BreakerState = "closed"
	BreakerOpen     BreakerState = "open"
	BreakerHalfOpen BreakerState = "half-open"
)

// Quote is one exchange rate as served.
//
// Its JSON form is deliberate, for handlers to return as it is:
//
//	{"coin":"bitcoin","currency":"usd","value":93500,"tier":"static","reference":true,
//	 "fetched_at":"2025-01-01T00:00:00Z","updated_at":"2025-01-01T00:00:00Z",
//	 "age_seconds":86400,"breaker":"closed"}
//
// Names are snake_case, the tier and the breaker state are words, times are
// RFC 3339 (updated_at is left out when zero), and the age is in seconds
// (decoded to the microsecond).
type Quote struct {
	Coin     string
	Currency string
	// Value is the price of one Coin in Currency.
	Value float64
	// Tier says which tier served the value.
	Tier Tier
	// Reference is true for a reference price from the static table
	// (TierStatic): an approximate price as of FetchedAt, the table's date,
	// served because no live price is available. Show it as such ("reference
	// prices from 1 Jan 2025"), not as a market price.
	Reference bool
	// FetchedAt is when the value was fetched from the upstream (by this
	// client or, with a shared state, by any instance of the fleet). For a
	// reference price it is the static table's AsOf date.
	FetchedAt time.Time
	// UpdatedAt is the upstream's own last_updated_at for the coin; zero when
	// the upstream did not say. For a reference price it is the table's AsOf.
	UpdatedAt time.Time
	// Age is the time since FetchedAt, by the client's clock.
	Age time.Duration
	// Breaker is the circuit breaker's state when the quote was served.
	Breaker BreakerState
}

// quoteJSON is a Quote's JSON form.
type quoteJSON struct {
	Coin       string       `json:"coin"`
	Currency   string       `json:"currency"`
	Value      float64      `json:"value"`
	Tier       Tier         `json:"tier"`
	Reference  bool         `json:"reference"`
	FetchedAt  time.Time    `json:"fetched_at"`
	UpdatedAt  time.Time    `json:"updated_at,omitzero"`
	AgeSeconds float64      `json:"age_seconds"`
	Breaker    BreakerState `json:"breaker"`
}

// MarshalJSON encodes q in its JSON form.
func (q Quote) MarshalJSON() ([]byte, error) {
	return json.Marshal(quoteJSON{q.Coin, q.Currency, q.Value, q.Tier, q.Reference, q.FetchedAt, q.UpdatedAt,
		q.Age.Seconds(), q.Breaker})
}

// UnmarshalJSON decodes q's JSON form.
func (q *Quote) UnmarshalJSON(data []byte) error {
	var j quoteJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return err
	}
	*q = Quote{Coin: j.Coin, Currency: j.Currency, Value: j.Value, Tier: j.Tier, Reference: j.Reference,
		FetchedAt: j.FetchedAt, UpdatedAt: j.UpdatedAt, Breaker: j.Breaker,
		Age: time.Duration(math.Round(j.AgeSeconds*1e6)) * time.Microsecond}
	return nil
}
