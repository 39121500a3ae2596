package cryptorates

import (
	"maps"
	"time"
)

// StaticTable is the last-resort tier: rates served when no fetched value is
// younger than [Config.Fallback]. AsOf says how old they are; quotes from the
// table carry it as FetchedAt and UpdatedAt.
type StaticTable struct {
	// AsOf is the date the rates were taken.
	AsOf time.Time
	// Rates maps pairs to values. A nil map means the built-in table; an
	// empty, non-nil map means no static tier at all.
	Rates map[Pair]float64
}

// builtinAsOf is the date of the built-in table's rates.
var builtinAsOf = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// BuiltinStatic returns a copy of the built-in static table: approximate
// prices of the default coins in the default currencies on 2025-01-01
// (US dollar rates converted at about 0.966 EUR and 0.80 GBP per USD). They
// keep a shop quoting plausible prices with no network; they are not for
// trading.
func BuiltinStatic() StaticTable {
	return StaticTable{AsOf: builtinAsOf, Rates: maps.Clone(builtin)}
}

var builtin = map[Pair]float64{
	{"bitcoin", "usd"}: 93500, {"bitcoin", "eur"}: 90300, {"bitcoin", "gbp"}: 74800,
	{"ethereum", "usd"}: 3350, {"ethereum", "eur"}: 3236, {"ethereum", "gbp"}: 2680,
	{"solana", "usd"}: 190, {"solana", "eur"}: 183.5, {"solana", "gbp"}: 152,
	{"polkadot", "usd"}: 6.7, {"polkadot", "eur"}: 6.47, {"polkadot", "gbp"}: 5.36,
	{"avalanche-2", "usd"}: 36, {"avalanche-2", "eur"}: 34.8, {"avalanche-2", "gbp"}: 28.8,
}
