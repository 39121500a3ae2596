package cryptorates

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/sony/gobreaker/v2"
)

// breaker is sony/gobreaker behind a clock-driven gate.
//
// gobreaker counts consecutive failures, trips at the threshold and lets
// exactly one half-open probe through (MaxRequests 1); a success closes it.
// It reads time.Now itself, so its own open timeout is set to 1ns and the
// cooldown is kept here by Config.Clock: while now < openUntil no call is
// made at all, and the first call after it is gobreaker's half-open probe.
// Retry-After and MinInterval are checked by the refresh round beside it.
type breaker struct {
	cb        *gobreaker.CircuitBreaker[fetchResult]
	threshold int
	cooldown  time.Duration

	// Read by any goroutine.
	tripped   atomic.Bool  // gobreaker is open or half-open
	openUntil atomic.Int64 // Clock UnixNano when the cooldown ends

	// Touched only by the refresh worker, the sole caller of cb.
	consecutive int               // consecutive failures, for "failure 2/5"
	pending     []gobreaker.State // transitions OnStateChange reported during Execute
}

// fetchResult is what one upstream call yields: the prices to keep and the
// problems validation found.
type fetchResult struct {
	good     map[Pair]Price
	problems []string
}

func newBreaker(threshold int, cooldown time.Duration) *breaker {
	b := &breaker{threshold: threshold, cooldown: cooldown}
	b.cb = gobreaker.NewCircuitBreaker[fetchResult](gobreaker.Settings{
		Name:        "cryptorates",
		MaxRequests: 1,               // exactly one half-open probe
		Timeout:     time.Nanosecond, // the gate keeps the real cooldown
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= uint32(threshold) },
		// Called under gobreaker's lock, from within Execute on the worker:
		// only record; the worker logs after Execute returns.
		OnStateChange: func(_ string, _, to gobreaker.State) { b.pending = append(b.pending, to) },
		// A call aborted by Close says nothing about the upstream.
		IsExcluded: func(err error) bool { return errors.Is(err, context.Canceled) },
	})
	return b
}

// state is the breaker's state as callers see it at nowNs (Clock UnixNano).
func (b *breaker) state(nowNs int64) BreakerState {
	if !b.tripped.Load() {
		return BreakerClosed
	}
	if nowNs < b.openUntil.Load() {
		return BreakerOpen
	}
	return BreakerHalfOpen
}

// errRejected means gobreaker itself refused the call (it should not, given
// the gate; kept so that such a refusal is never mistaken for a failure).
var errRejected = errors.New("cryptorates: breaker rejected the call")

// execute runs fn through gobreaker and returns its result together with the
// state transitions it caused, in order.
func (b *breaker) execute(fn func() (fetchResult, error)) (fetchResult, []gobreaker.State, error) {
	b.pending = b.pending[:0]
	res, err := b.cb.Execute(fn)
	if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
		err = errRejected
	}
	return res, b.pending, err
}
