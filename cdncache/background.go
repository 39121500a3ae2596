package cdncache

import (
	"context"
	"sync"
)

// maxPending bounds the background jobs queued; more are not queued (the
// next request asks again).
const maxPending = 64

// background runs slow work off the request path (brotli encodings, hashes
// of large objects), one job at a time, and stops with the Handler.
type background struct {
	ctx    context.Context
	cancel context.CancelFunc
	turn   chan struct{} // one job at a time

	mu      sync.Mutex   // guards pending and closed
	pending map[any]bool // keys of the jobs queued or running
	closed  bool
	wg      sync.WaitGroup
}

func newBackground() *background {
	ctx, cancel := context.WithCancel(context.Background())
	return &background{ctx: ctx, cancel: cancel, turn: make(chan struct{}, 1), pending: map[any]bool{}}
}

// start runs fn for the job named k (a comparable value) unless it is
// already pending, too many are, or the Handler is closed; fn gets a
// context cancelled by close.
func (b *background) start(k any, fn func(ctx context.Context)) {
	b.mu.Lock()
	if b.closed || b.pending[k] || len(b.pending) >= maxPending {
		b.mu.Unlock()
		return
	}
	b.pending[k] = true
	b.wg.Add(1)
	b.mu.Unlock()
	go func() {
		defer b.wg.Done()
		defer func() {
			b.mu.Lock()
			delete(b.pending, k)
			b.mu.Unlock()
		}()
		select {
		case b.turn <- struct{}{}:
		case <-b.ctx.Done():
			return
		}
		defer func() { <-b.turn }()
		fn(b.ctx)
	}()
}

// isPending reports whether k is being encoded or waiting to be.
func (b *background) isPending(k any) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.pending[k]
}

// close cancels what is running and waits for it; safe to call twice.
func (b *background) close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.cancel()
	b.wg.Wait()
}
