// Package cryptorates serves exchange rates from a priced upstream API
// (CoinGecko's /simple/price by default) so that the upstream can never take
// the application down: one batched refresh updates every pair, callers are
// coalesced onto it, values are served from fresh, acceptable and fallback
// tiers and finally a static table, and a circuit breaker, a pacing gate and
// Retry-After keep the upstream's budget.
//
// Each of the alternatives covers one part: sony/gobreaker breaks the
// circuit but knows no Retry-After and serves nothing stale; failsafe-go
// adds policies but no request coalescing or stale tiers; viccon/sturdyc
// coalesces and serves stale data but has no breaker or pacing. This package is all of it
// for one upstream, with a shared state so that a fleet of instances stays
// inside the budget of one.
//
// # Serving
//
// [Client.Rate] (and the batch [Client.Rates]) looks the pair up in an
// immutable snapshot held in an atomic pointer: no allocation, and no lock
// while the breaker is closed. A value no older than Config.Fresh is
// returned as is. One no older than Config.Acceptable or Config.Fallback is
// returned at once and starts one background refresh
// (stale-while-revalidate). With nothing servable, a
// caller for a configured pair joins the in-flight fetch (or starts one) and
// waits at most Config.ColdWait, then gets the static tier, so a slow
// upstream never delays a caller by more than that bound. Errors come only
// for pairs no tier knows ([ErrUnknownPair]).
//
// # Upstream calls
//
// A refresh is GET {BaseURL}/simple/price?ids=…&vs_currencies=…&include_last_updated_at=true
// for every configured coin and currency: one call when the URL fits
// Config.MaxURLLength (8000 by default) and Config.MaxCoinsPerCall, else as
// few calls as those limits allow, each with every currency, made back to
// back. A single worker goroutine makes them, so concurrent misses coalesce
// onto one refresh, and the new values are published together when it ends.
// A call that fails ends the refresh: the pairs it did not update keep their
// last good value, and with it their tier. With Config.APIKey set, a
// redirect to another host, port or scheme is refused (a failed call), so
// that the key's header goes to BaseURL's host only.
//
// # Budget and pacing
//
// A pacing gate, separate from the breaker (it is about rate, not health),
// keeps the upstream's budget: on average no more than one call per
// Config.MinInterval, for the whole fleet with a shared state, and none
// before a 429's Retry-After (delay-seconds or HTTP-date, capped by
// MaxRetryAfter). A refresh of k calls spends k intervals: the next call
// waits k × MinInterval.
//
// # Validation
//
// Each body is capped at MaxBodyBytes and decoded strictly: anything but an
// object of objects of numbers, and any key that appears twice (encoding/json
// would silently keep the last), rejects the body whole. Then each value is
// checked for its pair, which keeps its last good value when the value is
// rejected: it must be a positive finite number; it may move at most
// Config.MaxMove from the pair's baseline, which is renewed once
// Config.MoveWindow old, so that a drift in small steps is held to MaxMove
// per window rather than per fetch; and a first value (none servable
// before it) must lie within Config.MaxStaticFactor of the static table's
// rate when the table has the pair. Rejections are counted and logged. A
// value read from the shared state passes the same checks before it is
// served, and is dropped when it fails; a stored baseline that is not a
// positive number within MaxMove of its value is replaced by the value.
//
// # Circuit breaker
//
// github.com/sony/gobreaker/v2 is the one breaker. It counts consecutive
// failed calls (network errors, timeouts, 5xx, 429, 401/403, other
// statuses and wholly unusable bodies), opens at Config.FailureThreshold,
// stays open for Config.Cooldown (its own timeout, on the monotonic clock)
// and admits exactly one half-open probe, whose success closes it. A call
// whose body was partly usable counts as a success to the breaker (and as
// an Invalid failure in Stats), so one bad coin id cannot keep the breaker
// opening. While the breaker is closed, reading its state for a quote costs
// one atomic load.
//
// # Reference prices
//
// The static table holds approximate prices as of a date (the built-in one:
// 1 January 2025). A quote from it has Tier "static" and Reference set, and
// its FetchedAt is the table's date: show it as "reference prices from 1 Jan
// 2025, live prices unavailable", not as a market price or an age in hours.
//
// # Fleets
//
// Config.Shared holds the latest snapshot and the fleet's pacing times. The
// default is a private [MemoryState]; [PostgresState] keeps them in a table
// and lets one instance at a time fetch, under an advisory transaction lock
// with the fetched and attempted times checked in the same transaction, while
// the others read the snapshot. A restarted instance starts from the stored
// snapshot instead of the static tier. A client believes the stored times
// only up to its own clock, since another instance's may run ahead: no value
// fetched after its now, no attempt after what one refresh spends from now,
// no Retry-After ending more than MaxRetryAfter from now; the holder of the
// fetch lock stores the snapshot so repaired. When the shared state fails, a
// client keeps working alone, still paced. PostgresState needs no pooler setting:
// its lock is transaction-scoped and its statements run in pgx's
// QueryExecModeExec, so it works through a transaction-mode pooler
// (PgBouncer, Neon's "-pooler" hosts, Supabase's port 6543) on any pool. A
// table of its name with other columns is reported with [ErrTableShape];
// [PostgresStateConfig] chooses another.
//
// # Logging and stats
//
// Through Config.Logger (log/slog): each failure with its count ("failure
// 2/5") and class, 401/403 and 414 at error level as configuration errors
// (the key itself is never logged), the breaker opening with its cooldown end,
// half-open and closing, and a change of serving level (fresh, acceptable,
// fallback, static) once per change, never per request. [Client.Stats]
// returns the counters: upstream calls, failures by class, breaker state and
// transitions, quotes per tier, last success. [Quote] and [Stats] have
// deliberate JSON forms (snake_case, seconds, words) for handlers to return
// as they are.
package cryptorates
