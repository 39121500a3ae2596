package shutdown

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

// HandleSignals starts the shutdown sequence when the first of the
// configured signals (SIGINT and SIGTERM by default) arrives, and ends the
// process at once when a second one arrives: it logs which hook (or the
// drain delay) the sequence was stuck in and calls Config.Exit with 128 plus
// the signal's number (130 for SIGINT, 143 for SIGTERM), as a shell would.
//
// The exit does not wait on the log: the record of a forced exit is written
// in the background and the exit comes at the latest 250 ms after the
// signal, so a log writer that blocks (a stalled log shipper) cannot keep
// the process alive.
//
// The returned stop function stops listening for the signals and waits for a
// sequence that a signal started to finish (and, when Config.Exit returned,
// for the forced exit's record). It is safe to call more than once. Call HandleSignals once per Coordinator.
func (c *Coordinator) HandleSignals() (stop func()) {
	c.init()
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, c.cfg.Signals...)
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { c.watch(ch, quit, &wg) })
	unsubscribe := sync.OnceFunc(func() { signal.Stop(ch); close(quit) })
	return func() {
		unsubscribe()
		wg.Wait()
	}
}

// forceExitLogWait bounds how long a forced exit waits for its log record:
// a log writer that blocks (a stalled log shipper) must not keep the process
// alive after the second signal.
const forceExitLogWait = 250 * time.Millisecond

// watch counts the signals on ch until quit is closed or it forced an exit.
// It never logs itself: a log writer that blocks must not stop it from
// seeing the second signal.
func (c *Coordinator) watch(ch <-chan os.Signal, quit <-chan struct{}, wg *sync.WaitGroup) {
	received := 0
	for {
		select {
		case <-quit:
			return
		case sig := <-ch:
			received++
			if received == 1 {
				wg.Go(func() { _, _ = c.shutdown(context.Background(), "signal "+sig.String()) })
				continue
			}
			c.forceExit(sig, wg)
			return
		}
	}
}

// forceExit logs where the sequence is stuck and exits with 128+signal. The
// record is written in its own goroutine, and the exit comes at the latest
// forceExitLogWait later, whether or not the write returned.
func (c *Coordinator) forceExit(sig os.Signal, wg *sync.WaitGroup) {
	code := 1
	if s, ok := sig.(syscall.Signal); ok {
		code = 128 + int(s)
	}
	stuck := c.stuckIn()
	logged := make(chan struct{})
	wg.Go(func() {
		defer close(logged)
		c.cfg.Logger.Error("shutdown: second signal, exiting now",
			slog.String("signal", sig.String()),
			slog.String("stuck_in", stuck),
			slog.Int("exit_code", code),
		)
	})
	t := time.NewTimer(forceExitLogWait)
	select {
	case <-logged:
	case <-t.C:
	}
	t.Stop()
	c.cfg.Exit(code)
}

// stuckIn names what the sequence is doing, for the forced exit's record.
func (c *Coordinator) stuckIn() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.finished:
		return "(sequence finished)"
	case !c.draining.Load():
		return "(sequence not started)"
	case c.step == "":
		return "(between steps)"
	}
	return c.step
}
