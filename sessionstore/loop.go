package sessionstore

import (
	"context"
	"math/rand/v2"
	"time"
)

// loop runs a function every interval, jittered by ±10%, in a goroutine it
// owns until stop.
type loop struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// startLoop starts fn every interval; a non-positive interval starts
// nothing (stop is still safe to call).
func startLoop(interval time.Duration, fn func(ctx context.Context)) *loop {
	ctx, cancel := context.WithCancel(context.Background())
	l := &loop{cancel: cancel, done: make(chan struct{})}
	if interval <= 0 {
		close(l.done)
		return l
	}
	go func() {
		defer close(l.done)
		t := time.NewTimer(jitter(interval))
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			fn(ctx)
			t.Reset(jitter(interval))
		}
	}()
	return l
}

// stop cancels the loop and waits for it to return. Safe to call twice.
func (l *loop) stop() {
	l.cancel()
	<-l.done
}

// jitter returns d moved randomly by up to ±10%, so that a fleet started
// together does not prune in lockstep.
func jitter(d time.Duration) time.Duration {
	j := time.Duration(float64(d) * 0.2 * (rand.Float64() - 0.5))
	return d + j
}
