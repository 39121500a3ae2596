package shutdown

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/dedw3n/hardening/internal/redact"
)

// HookResult is what happened to one hook during a shutdown sequence.
type HookResult struct {
	// Name is the name the hook was registered with.
	Name string
	// Share is the part of the budget the hook was given.
	Share time.Duration
	// Duration is how long the coordinator waited for the hook: its run time,
	// or its share when it timed out.
	Duration time.Duration
	// Err is the hook's error, or the context's error when the hook did not
	// return within its share. Nil on success.
	Err error
	// TimedOut reports that the hook's share ran out before it succeeded:
	// either it had not returned, or it returned an error after its context
	// expired. The sequence went on with the next hook.
	TimedOut bool
}

// Report describes one shutdown sequence.
type Report struct {
	// Trigger says what started the sequence: "call", "signal interrupt",
	// "signal terminated", "serve error".
	Trigger string
	// DrainDelay is how long the sequence waited with readiness at 503 before
	// stopping the servers.
	DrainDelay time.Duration
	// Duration is the length of the whole sequence, drain delay included.
	Duration time.Duration
	// Hooks holds one result per hook, in the order they ran.
	Hooks []HookResult
}

// Err joins the errors of the hooks that failed, each prefixed with the
// hook's name. It is nil when every hook succeeded.
func (r Report) Err() error {
	var errs []error
	for _, h := range r.Hooks {
		if h.Err == nil {
			continue
		}
		if h.TimedOut {
			errs = append(errs, fmt.Errorf("shutdown: hook %q timed out after %v: %w", h.Name, h.Share, h.Err))
		} else {
			errs = append(errs, fmt.Errorf("shutdown: hook %q: %w", h.Name, h.Err))
		}
	}
	return errors.Join(errs...)
}

// TimedOut counts the hooks that timed out.
func (r Report) TimedOut() int {
	n := 0
	for _, h := range r.Hooks {
		if h.TimedOut {
			n++
		}
	}
	return n
}

// clone returns a copy whose Hooks slice is not shared.
func (r Report) clone() Report {
	r.Hooks = append([]HookResult(nil), r.Hooks...)
	return r
}

// log writes the report through logger: one record per hook, then a summary.
func (r Report) log(logger *slog.Logger) {
	for i, h := range r.Hooks {
		attrs := []any{
			slog.Int("order", i+1),
			slog.String("hook", h.Name),
			slog.Duration("duration", h.Duration),
			slog.Duration("share", h.Share),
		}
		switch {
		case h.TimedOut:
			logger.Error("shutdown: hook timed out", append(attrs, slog.Bool("timed_out", true), slog.String("error", redact.Scrub(h.Err.Error())))...)
		case h.Err != nil:
			logger.Error("shutdown: hook failed", append(attrs, slog.String("error", redact.Scrub(h.Err.Error())))...)
		default:
			logger.Info("shutdown: hook done", attrs...)
		}
	}
	failed := 0
	for _, h := range r.Hooks {
		if h.Err != nil {
			failed++
		}
	}
	logger.Info("shutdown: complete",
		slog.String("trigger", r.Trigger),
		slog.Duration("duration", r.Duration),
		slog.Duration("drain_delay", r.DrainDelay),
		slog.Int("hooks", len(r.Hooks)),
		slog.Int("failed", failed),
		slog.Int("timed_out", r.TimedOut()),
	)
}
