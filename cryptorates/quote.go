package cryptorates

import "time"

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
type Quote struct {
	Coin     string
	Currency string
	// Value is the price of one Coin in Currency.
	Value float64
	// Tier says which tier served the value.
	Tier Tier
	// FetchedAt is when the value was fetched from the upstream (by this
	// client or, with a shared state, by any instance of the fleet). For the
	// static tier it is the table's AsOf date.
	FetchedAt time.Time
	// UpdatedAt is the upstream's own last_updated_at for the coin; zero when
	// the upstream did not say. For the static tier it is the table's AsOf.
	UpdatedAt time.Time
	// Age is the time since FetchedAt, by the client's clock.
	Age time.Duration
	// Breaker is the circuit breaker's state when the quote was served.
	Breaker BreakerState
}
