package cryptorates

import (
	"sync/atomic"
	"time"
)

// pacer is the pacing gate: the upstream's budget, a matter of rate, not of
// health (that is the breaker's). No upstream call starts less than
// MinInterval after the budget the previous calls spent, the fleet's
// included (Snapshot.AttemptedAt), nor before a 429's Retry-After
// (Snapshot.NotBefore). Times are Config.Now times.
type pacer struct {
	interval time.Duration

	// next is the Now UnixNano before which no refresh round starts, so
	// that callers can skip asking for one without a lock.
	next atomic.Int64

	// Touched only by the refresh worker.
	spent     time.Time // this client's budget is used up to spent + interval
	notBefore time.Time // this client's view of Retry-After
}

// paced reports whether no round may start at nowNs.
func (p *pacer) paced(nowNs int64) bool { return nowNs < p.next.Load() }

// hold keeps rounds from starting before t.
func (p *pacer) hold(t time.Time) { p.next.Store(t.UnixNano()) }

// earliest is the first time an upstream call may start, given the fleet's
// snapshot, whose Retry-After this client adopts.
func (p *pacer) earliest(fleet Snapshot) time.Time {
	if fleet.NotBefore.After(p.notBefore) {
		p.notBefore = fleet.NotBefore
	}
	t := fleet.AttemptedAt.Add(p.interval)
	if l := p.spent.Add(p.interval); l.After(t) {
		t = l
	}
	if p.notBefore.After(t) {
		t = p.notBefore
	}
	return t
}

// spend records calls upstream calls made from now on: they use the budget
// of that many intervals, so AttemptedAt becomes now + (calls-1) ×
// MinInterval and the next call waits until MinInterval after it.
func (p *pacer) spend(now time.Time, calls int, next *Snapshot) {
	p.spent = now.Add(time.Duration(calls-1) * p.interval)
	next.AttemptedAt = p.spent
}

// retryAfter records a 429's Retry-After for this client and the fleet.
func (p *pacer) retryAfter(t time.Time, next *Snapshot) {
	if t.After(next.NotBefore) {
		next.NotBefore = t
	}
	if t.After(p.notBefore) {
		p.notBefore = t
	}
}
