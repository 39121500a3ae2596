package cryptorates

import (
	"context"
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sony/gobreaker/v2"
)

// breaker is the upstream's health: sony/gobreaker's state machine as it is.
// ReadyToTrip opens it after threshold consecutive failed calls; it stays
// open for the cooldown (gobreaker's Timeout) and then lets exactly one
// half-open probe through (MaxRequests 1), whose success closes it.
// IsSuccessful counts a call whose body was partly usable as a success, so
// one bad coin id cannot keep the breaker opening; IsExcluded ignores calls
// aborted by Close. OnStateChange records each change, under gobreaker's
// lock; the refresh worker logs them afterwards.
//
// The breaker is about health only. How often the upstream may be called
// (MinInterval, Retry-After) is the pacer's business.
type breaker struct {
	cb        *gobreaker.CircuitBreaker[map[Pair]Price]
	threshold uint32

	tripped  atomic.Bool   // open or half-open: only then does state ask gobreaker
	failures atomic.Uint32 // consecutive failures at the last failure, for "failure 2/5"
	opened   atomic.Uint64 // transitions, by new state
	halfOpen atomic.Uint64
	closed   atomic.Uint64

	mu      sync.Mutex   // protects changes
	changes []transition // recorded by OnStateChange, not yet logged
}

// transition is one state change of the breaker.
type transition struct {
	to gobreaker.State
	at time.Time // wall time, as gobreaker sees it
}

func newBreaker(threshold int, cooldown time.Duration) *breaker {
	b := &breaker{threshold: uint32(min(threshold, math.MaxUint32))}
	b.cb = gobreaker.NewCircuitBreaker[map[Pair]Price](gobreaker.Settings{
		Name:        "cryptorates",
		MaxRequests: 1, // exactly one half-open probe
		Timeout:     cooldown,
		ReadyToTrip: func(c gobreaker.Counts) bool {
			b.failures.Store(c.ConsecutiveFailures)
			return c.ConsecutiveFailures >= b.threshold
		},
		IsSuccessful:  func(err error) bool { return err == nil || partial(err) },
		IsExcluded:    func(err error) bool { return errors.Is(err, context.Canceled) },
		OnStateChange: b.record,
	})
	return b
}

// record runs under gobreaker's lock, on whichever goroutine caused the
// change: it only counts and queues.
func (b *breaker) record(_ string, _, to gobreaker.State) {
	b.tripped.Store(to != gobreaker.StateClosed)
	switch to {
	case gobreaker.StateOpen:
		b.opened.Add(1)
	case gobreaker.StateHalfOpen:
		b.halfOpen.Add(1)
	case gobreaker.StateClosed:
		b.closed.Add(1)
	}
	b.mu.Lock()
	b.changes = append(b.changes, transition{to: to, at: time.Now()})
	b.mu.Unlock()
}

// state is the breaker's state as callers see it. While closed it costs one
// atomic load; otherwise gobreaker is asked, which also moves an open
// breaker to half-open once the cooldown is over.
func (b *breaker) state() BreakerState {
	if !b.tripped.Load() {
		return BreakerClosed
	}
	switch b.cb.State() {
	case gobreaker.StateOpen:
		return BreakerOpen
	case gobreaker.StateHalfOpen:
		return BreakerHalfOpen
	}
	return BreakerClosed
}

// drain returns the changes recorded since the last drain, in order.
func (b *breaker) drain() []transition {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := b.changes
	b.changes = nil
	return out
}
