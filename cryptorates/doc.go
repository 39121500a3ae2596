// Package cryptorates serves exchange rates from a priced upstream API
// (CoinGecko's /simple/price by default) so that the upstream can never take
// the application down: one batched call refreshes every pair, callers are
// coalesced onto it, values are served from fresh, acceptable and fallback
// tiers and finally a static table, and a circuit breaker, a pacing gate and
// Retry-After keep the upstream's budget.
//
// Each Go anchor covers one part: sony/gobreaker breaks the circuit but
// knows no Retry-After and serves nothing stale; failsafe-go adds policies
// but no request coalescing or stale tiers; viccon/sturdyc coalesces and
// serves stale data but has no breaker or pacing. This package is all of it
// for one upstream, with a shared state so that a fleet of instances stays
// inside the budget of one.
//
// # Serving
//
// [Client.Rate] (and the batch [Client.Rates]) looks the pair up in an
// immutable snapshot held in an atomic pointer: no lock, no allocation. A
// value no older than Config.Fresh is returned as is. One no older than
// Config.Acceptable or Config.Fallback is returned at once and starts one
// background refresh (stale-while-revalidate). With nothing servable, a
// caller for a configured pair joins the in-flight fetch (or starts one) and
// waits at most Config.ColdWait, then gets the static tier, so a slow
// upstream never delays a caller by more than that bound. Errors come only
// for pairs no tier knows ([ErrUnknownPair]).
//
// # Upstream calls
//
// One call, GET {BaseURL}/simple/price?ids=…&vs_currencies=…&include_last_updated_at=true,
// refreshes every configured coin and currency. A single worker goroutine
// makes it, so concurrent misses coalesce onto one call, and no call starts
// less than Config.MinInterval after the previous one, nor before a 429's
// Retry-After (delay-seconds or HTTP-date, capped by MaxRetryAfter). The body
// is capped at MaxBodyBytes and validated: malformed JSON is rejected whole;
// a missing, non-finite or non-positive value, or one that moved more than
// Config.MaxMove from the last good value, is rejected for its pair, which
// keeps its last good value. Rejections are counted and logged.
//
// # Circuit breaker
//
// github.com/sony/gobreaker/v2 counts consecutive failures (network errors,
// timeouts, 5xx, 429, 401/403 and wholly unusable bodies), opens at
// Config.FailureThreshold and admits exactly one half-open probe, whose
// success closes it. Two things it cannot express are done by a gate in front
// of it: it reads time.Now directly, so it cannot follow Config.Clock, and
// it knows nothing of Retry-After. The gate therefore keeps the cooldown by
// Config.Clock (gobreaker's own open timeout is set to 1ns, so the first call
// the gate lets through after the cooldown is gobreaker's half-open probe)
// along with Retry-After and MinInterval, and publishes the breaker state
// in atomics for the lock-free serving path. A response in which some values
// are usable counts as a success to the breaker (and as an Invalid failure
// in Stats), so one bad coin id cannot keep the breaker opening.
//
// # Fleets
//
// Config.Shared holds the latest snapshot and the fleet's pacing times. The
// default is a private [MemoryState]; [PostgresState] keeps them in a table
// and lets one instance at a time fetch, under an advisory transaction lock
// with the fetched and attempted times checked in the same transaction, while
// the others read the snapshot. A restarted instance starts from the stored
// snapshot instead of the static tier. When the shared state fails, a client
// keeps working alone, still paced. PostgresState needs no pooler setting:
// its lock is transaction-scoped and its statements run in pgx's
// QueryExecModeExec, so it works through a transaction-mode pooler
// (PgBouncer, Neon's "-pooler" hosts, Supabase's port 6543) on any pool. A
// table of its name with other columns is reported with [ErrTableShape];
// [PostgresStateConfig] chooses another.
//
// # Logging and stats
//
// Through Config.Logger (log/slog): each failure with its count ("failure
// 2/5") and class, 401/403 at error level as a configuration error (the key
// itself is never logged), the breaker opening with its cooldown end,
// half-open and closing, and a change of serving level (fresh, acceptable,
// fallback, static) once per change, never per request. [Client.Stats]
// returns the counters: upstream calls, failures by class, breaker state and
// transitions, quotes per tier, last success.
package cryptorates
