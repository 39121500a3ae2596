package cryptorates

import (
	"sync/atomic"
	"time"
)

// Stats is a snapshot of a client's counters, from [Client.Stats]. Its JSON
// form has snake_case names, the breaker state as a word and times in RFC
// 3339 (left out when zero), for a status endpoint to return as it is.
type Stats struct {
	// UpstreamCalls counts the HTTP calls this client made.
	UpstreamCalls uint64 `json:"upstream_calls"`
	// Failures counts this client's failed upstream calls by class.
	Failures Failures `json:"failures"`
	// SharedReads counts refreshes that took another instance's snapshot
	// from the shared state instead of calling the upstream.
	SharedReads uint64 `json:"shared_reads"`
	// SharedErrors counts shared-state operations that failed (the client
	// then works alone until the state answers again).
	SharedErrors uint64 `json:"shared_errors"`
	// Breaker is the breaker's state now: "closed", "open" or "half-open".
	Breaker BreakerState `json:"breaker"`
	// BreakerTransitions counts the breaker's state changes by new state.
	BreakerTransitions Transitions `json:"breaker_transitions"`
	// Served counts quotes served per tier.
	Served Served `json:"served"`
	// LastFailure is the class of this client's last failed upstream call:
	// "network", "timeout", "server", "rate-limited", "auth", "status" or
	// "invalid"; "" if none.
	LastFailure string `json:"last_failure,omitempty"`
	// LastSuccess is the time of this client's last successful upstream call
	// (zero if none).
	LastSuccess time.Time `json:"last_success,omitzero"`
	// LastFetched is when the newest value the client serves was fetched, by
	// it or by the fleet (zero if none).
	LastFetched time.Time `json:"last_fetched,omitzero"`
}

// Failures counts failed upstream calls by class.
type Failures struct {
	Network     uint64 `json:"network"`      // connection refused, reset, DNS, TLS
	Timeout     uint64 `json:"timeout"`      // HTTPTimeout exceeded
	Server      uint64 `json:"server"`       // HTTP 5xx
	RateLimited uint64 `json:"rate_limited"` // HTTP 429
	Auth        uint64 `json:"auth"`         // HTTP 401, 403: a rejected or missing API key
	Status      uint64 `json:"status"`       // any other non-200 status (414: see Config.MaxURLLength)
	Invalid     uint64 `json:"invalid"`      // a 200 with a body validation rejected in whole or in part
}

// Transitions counts breaker state changes by the state entered.
type Transitions struct {
	Open     uint64 `json:"open"`
	HalfOpen uint64 `json:"half_open"`
	Closed   uint64 `json:"closed"`
}

// Served counts quotes per tier.
type Served struct {
	Fresh      uint64 `json:"fresh"`
	Acceptable uint64 `json:"acceptable"`
	Fallback   uint64 `json:"fallback"`
	Static     uint64 `json:"static"`
}

// counters are the live counters behind Stats.
type counters struct {
	calls        atomic.Uint64
	failures     [numFailClasses]atomic.Uint64
	sharedReads  atomic.Uint64
	sharedErrors atomic.Uint64
	lastSuccess  atomic.Int64 // UnixNano, 0 for none
	lastFailure  atomic.Int32 // failClass+1, 0 for none
	// served is indexed by tierIndex; padded so that the counters of the
	// hot path do not share a cache line with each other.
	served [4]paddedCounter
}

type paddedCounter struct {
	atomic.Uint64
	_ [56]byte
}

func tierIndex(t Tier) int {
	switch t {
	case TierFresh:
		return 0
	case TierAcceptable:
		return 1
	case TierFallback:
		return 2
	}
	return 3
}

// Stats returns a snapshot of the client's counters.
func (c *Client) Stats() Stats {
	f := &c.stats.failures
	s := Stats{
		UpstreamCalls: c.stats.calls.Load(),
		Failures: Failures{
			Network: f[failNetwork].Load(), Timeout: f[failTimeout].Load(), Server: f[failServer].Load(),
			RateLimited: f[failRateLimited].Load(), Auth: f[failAuth].Load(), Status: f[failStatus].Load(),
			Invalid: f[failInvalid].Load(),
		},
		SharedReads:  c.stats.sharedReads.Load(),
		SharedErrors: c.stats.sharedErrors.Load(),
		Breaker:      c.br.state(),
		BreakerTransitions: Transitions{
			Open: c.br.opened.Load(), HalfOpen: c.br.halfOpen.Load(), Closed: c.br.closed.Load(),
		},
		Served: Served{
			Fresh: c.stats.served[0].Load(), Acceptable: c.stats.served[1].Load(),
			Fallback: c.stats.served[2].Load(), Static: c.stats.served[3].Load(),
		},
	}
	if f := c.stats.lastFailure.Load(); f != 0 {
		s.LastFailure = failClass(f - 1).String()
	}
	if ns := c.stats.lastSuccess.Load(); ns != 0 {
		s.LastSuccess = time.Unix(0, ns).UTC()
	}
	if v := c.view.Load(); v != nil {
		s.LastFetched = v.newest
	}
	return s
}
