package shutdown

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// stepDrain is the name of the drain delay step, as reported by a forced
// exit and by Stats.Step.
const stepDrain = "drain delay"

// A Coordinator runs a graceful shutdown: it turns readiness to 503, waits
// the drain delay, stops the HTTP servers given to Serve and then runs the
// other hooks, newest first, each within its share of the budget.
//
// The zero Coordinator is ready to use with the defaults of a zero Config.
// A Coordinator must not be copied after first use. Its shutdown sequence
// runs once: later calls to Shutdown wait for it and return its result.
type Coordinator struct {
	initOnce sync.Once
	cfg      Config        // normalized copy; read-only after init
	done     chan struct{} // closed when the sequence has finished

	draining atomic.Bool // the sequence has begun; set under mu

	// counters for Stats
	hookTimeouts   atomic.Uint64
	hookErrors     atomic.Uint64
	probes         atomic.Uint64
	probeFailures  atomic.Uint64
	checkRuns      atomic.Uint64
	checkCacheHits atomic.Uint64

	mu       sync.Mutex // protects the fields below
	hooks    []hook
	checks   []*check
	finished bool   // the sequence has ended; report is set
	step     string // what the running sequence is doing now
	report   Report
}

// hook is one registered shutdown function.
type hook struct {
	name   string
	fn     func(context.Context) error
	server bool // an HTTP server registered by Serve: runs before the others
}

// New returns a Coordinator configured by cfg, which it copies.
func New(cfg Config) *Coordinator {
	c := &Coordinator{cfg: cfg}
	c.init()
	return c
}

// init fills in the defaults once; every exported method calls it so the
// zero Coordinator works.
func (c *Coordinator) init() {
	c.initOnce.Do(func() {
		c.cfg = c.cfg.withDefaults()
		c.done = make(chan struct{})
	})
}

// Register adds a hook that the shutdown sequence calls with a context
// bounded by the hook's share of the budget. Hooks run one at a time in
// reverse order of registration, like deferred calls: register a pool before
// the store that uses it, and the store closes first. HTTP servers given to
// Serve run before every other hook, whatever their registration order.
// There are no further phases.
//
// A hook should return when its context is done. One that does not is
// reported as timed out and left running in its goroutine while the
// sequence goes on. A panic in a hook is recovered and reported as its error.
//
// A hook registered after the sequence has started never runs; Register
// logs a warning.
func (c *Coordinator) Register(name string, fn func(context.Context) error) {
	c.register(hook{name: name, fn: fn})
}

// register appends h and reports whether it will run.
func (c *Coordinator) register(h hook) bool {
	c.init()
	c.mu.Lock()
	started := c.draining.Load()
	if !started {
		c.hooks = append(c.hooks, h)
	}
	c.mu.Unlock()
	if started {
		c.cfg.Logger.Warn("shutdown: hook registered after shutdown started; it will not run", slog.String("hook", h.name))
	}
	return !started
}

// Done returns a channel that is closed when the shutdown sequence has
// finished.
func (c *Coordinator) Done() <-chan struct{} {
	c.init()
	return c.done
}

// Draining reports whether the shutdown sequence has begun (readiness then
// answers 503).
func (c *Coordinator) Draining() bool { return c.draining.Load() }

// Shutdown runs the shutdown sequence and returns its report and the joined
// errors of the hooks that failed (Report.Err). ctx may cut the drain delay
// and the budget short: the running hook's context is then done, and the
// hooks left are not called but reported as timed out with ctx's error.
// The HTTP servers run by Serve are the exception: they are stopped all the
// same, with the ended context, so their listeners close and their
// connections are dropped at once.
//
// The sequence runs once. A call made while it runs, or after, waits for it
// (or for ctx) and returns the same report.
func (c *Coordinator) Shutdown(ctx context.Context) (Report, error) {
	return c.shutdown(ctx, "call")
}

func (c *Coordinator) shutdown(ctx context.Context, trigger string) (Report, error) {
	c.init()
	c.mu.Lock()
	if c.draining.Swap(true) {
		c.mu.Unlock()
		select {
		case <-c.done:
			r := c.lastReport()
			return r, r.Err()
		case <-ctx.Done():
			return Report{}, fmt.Errorf("shutdown: waiting for the running sequence: %w", ctx.Err())
		}
	}
	order := make([]hook, 0, len(c.hooks))
	for _, server := range []bool{true, false} {
		for i := len(c.hooks) - 1; i >= 0; i-- {
			if c.hooks[i].server == server {
				order = append(order, c.hooks[i])
			}
		}
	}
	c.mu.Unlock()

	r := c.run(ctx, trigger, order)

	c.mu.Lock()
	c.report = r
	c.finished = true
	c.step = ""
	c.mu.Unlock()
	close(c.done)
	return r.clone(), r.Err()
}

// run is the sequence itself: drain, then the hooks.
func (c *Coordinator) run(ctx context.Context, trigger string, order []hook) Report {
	now := c.cfg.Now
	start := now()
	log := c.cfg.Logger
	log.Info("shutdown: draining",
		slog.String("trigger", trigger),
		slog.Duration("drain_delay", c.cfg.DrainDelay),
		slog.Duration("budget", c.cfg.Timeout),
		slog.Int("hooks", len(order)),
	)

	if d := c.cfg.DrainDelay; d > 0 {
		c.setStep(stepDrain)
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
	}
	r := Report{Trigger: trigger, DrainDelay: now().Sub(start)}

	deadline := now().Add(c.cfg.Timeout)
	reserve := reservePerHook(c.cfg.Timeout, len(order))
	for i, h := range order {
		// What is left, less a reserve for each hook still to come: a stuck
		// hook cannot starve the later ones, time a fast hook does not use
		// flows to them, and the first hook (the HTTP server, draining
		// in-flight requests) may use most of the budget. A hook gets its
		// own reserve even when a timer fired late.
		share := max(deadline.Sub(now())-reserve*time.Duration(len(order)-1-i), reserve)
		var res HookResult
		switch {
		case ctx.Err() == nil:
			res = c.runHook(ctx, h, share)
		case h.server:
			// The caller's context ended the sequence, but a server must
			// not keep serving after it: with the ended context
			// srv.Shutdown closes the listeners and returns at once, and
			// srv.Close drops the connections. Its context had no time.
			res = c.runHook(ctx, h, share)
			res.Share = 0
		default:
			// The other hooks left are not called.
			res = HookResult{Name: h.name, Err: ctx.Err(), TimedOut: true}
		}
		if res.TimedOut {
			c.hookTimeouts.Add(1)
		}
		if res.Err != nil {
			c.hookErrors.Add(1)
		}
		r.Hooks = append(r.Hooks, res)
	}
	r.Duration = now().Sub(start)
	r.log(log)
	return r
}

// reservePerHook is the part of the budget guaranteed to every hook: half of
// the budget is shared out equally, the other half goes to whoever needs it
// first.
func reservePerHook(budget time.Duration, hooks int) time.Duration {
	if hooks == 0 {
		return 0
	}
	return budget / time.Duration(2*hooks)
}

// runHook calls h with a context bounded by share and waits at most that
// long for it.
//
// A server hook returns as soon as its context is done, so runHook waits
// for it up to share even when parent ended earlier: the server is stopped
// before the next hook runs and before the sequence finishes.
func (c *Coordinator) runHook(parent context.Context, h hook, share time.Duration) HookResult {
	c.setStep(h.name)
	ctx, cancel := context.WithTimeout(parent, share)
	defer cancel()
	start := c.cfg.Now()
	done := make(chan error, 1)
	go func() { done <- callHook(ctx, h.fn) }()

	wait := ctx
	if h.server {
		var stop context.CancelFunc
		wait, stop = context.WithTimeout(context.WithoutCancel(parent), share)
		defer stop()
	}
	var err error
	select {
	case err = <-done:
	case <-wait.Done():
		select {
		case err = <-done: // returned at the same moment
		default:
			err = ctx.Err()
		}
	}
	// An error after the share ran out is an overrun, whatever its text.
	return HookResult{Name: h.name, Share: share, Err: err, TimedOut: err != nil && ctx.Err() != nil,
		Duration: c.cfg.Now().Sub(start)}
}

// callHook calls fn, turning a panic into an error.
func callHook(ctx context.Context, fn func(context.Context) error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	if fn == nil {
		return errors.New("nil hook")
	}
	return fn(ctx)
}

func (c *Coordinator) setStep(s string) {
	c.mu.Lock()
	c.step = s
	c.mu.Unlock()
}

// lastReport returns a copy of the finished sequence's report.
func (c *Coordinator) lastReport() Report {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.report.clone()
}
