package shutdown

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// HandleSignals starts the shutdown sequence when the first of the
// configured signals (SIGINT and SIGTERM by default) arrives, and ends the
// process at once when a second one arrives: it logs which hook (or the
// drain delay) the sequence was stuck in and calls Config.Exit with 128 plus
// the signal's number (130 for SIGINT, 143 for SIGTERM), as a shell would.
//
// The returned stop function stops listening for the signals and waits for a
// sequence that a signal started to finish. It is safe to call more than
// once. Call HandleSignals once per Coordinator.
func (c *Coordinator) HandleSignals() (stop func()) {
	c.init()
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, c.cfg.Signals...)
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { c.watch(ch, quit, &wg) })
	var once sync.Once
	return func() {
		once.Do(func() {
			signal.Stop(ch)
			close(quit)
		})
		wg.Wait()
	}
}

// watch counts the signals on ch until quit is closed or it forced an exit.
func (c *Coordinator) watch(ch <-chan os.Signal, quit <-chan struct{}, wg *sync.WaitGroup) {
	received := 0
	for {
		select {
		case <-quit:
			return
		case sig := <-ch:
			received++
			if received == 1 {
				c.cfg.Logger.Info("shutdown: signal received", slog.String("signal", sig.String()))
				wg.Go(func() { _, _ = c.shutdown(context.Background(), "signal "+sig.String()) })
				continue
			}
			c.forceExit(sig)
			return
		}
	}
}

// forceExit logs where the sequence is stuck and exits with 128+signal.
func (c *Coordinator) forceExit(sig os.Signal) {
	code := 1
	if s, ok := sig.(syscall.Signal); ok {
		code = 128 + int(s)
	}
	c.mu.Lock()
	stuck := c.step
	switch {
	case c.finished:
		stuck = "(sequence finished)"
	case !c.started:
		stuck = "(sequence not started)"
	case stuck == "":
		stuck = "(between steps)"
	}
	c.mu.Unlock()
	c.cfg.Logger.Error("shutdown: second signal, exiting now",
		slog.String("signal", sig.String()),
		slog.String("stuck_in", stuck),
		slog.Int("exit_code", code),
	)
	c.cfg.Exit(code)
}
