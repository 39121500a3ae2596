package shutdown

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/dedw3n/hardening/internal/redact"
)

// HookResult is what happened to one hook during a shutdown sequence.
type HookResult struct {
	// Name is the name the hook was registered with.
	Name string `json:"name"`
	// Share is the part of the budget the hook was given.
	Share time.Duration `json:"-"`
	// Duration is how long the coordinator waited for the hook: its run time,
	// or its share when it timed out.
	Duration time.Duration `json:"-"`
	// Err is the hook's error, or the context's error when the hook did not
	// return within its share. Nil on success.
	Err error `json:"-"`
	// TimedOut reports that the hook's share ran out before it succeeded:
	// either it had not returned, or it returned an error after its context
	// expired. The sequence went on with the next hook.
	TimedOut bool `json:"timed_out"`
}

// MarshalJSON encodes h as {"name","share_seconds","duration_seconds",
// "error","timed_out"}: durations in seconds, the error as its text
// sanitized as in the log (no URL, DSN or secret-looking key=value pair),
// left out on success.
func (h HookResult) MarshalJSON() ([]byte, error) {
	type plain HookResult // without the method
	j := struct {
		plain
		Share    float64 `json:"share_seconds"`
		Duration float64 `json:"duration_seconds"`
		Err      string  `json:"error,omitempty"`
	}{plain: plain(h), Share: h.Share.Seconds(), Duration: h.Duration.Seconds()}
	if h.Err != nil {
		j.Err = redact.Scrub(h.Err.Error())
	}
	return json.Marshal(j)
}

// Report describes one shutdown sequence. Its JSON form is deliberate, for
// a status endpoint or a log to carry as it is:
//
//	{"trigger":"signal terminated","drain_delay_seconds":5,"duration_seconds":5.82,
//	 "hooks":[{"name":"http server :8080","share_seconds":6,"duration_seconds":0.8,"timed_out":false},
//	          {"name":"db","share_seconds":2,"duration_seconds":2,"error":"context deadline exceeded","timed_out":true}]}
type Report struct {
	// Trigger says what started the sequence: "call", "signal interrupt",
	// "signal terminated", "serve error".
	Trigger string `json:"trigger"`
	// DrainDelay is how long the sequence waited with readiness at 503 before
	// stopping the servers.
	DrainDelay time.Duration `json:"-"`
	// Duration is the length of the whole sequence, drain delay included.
	Duration time.Duration `json:"-"`
	// Hooks holds one result per hook, in the order they ran.
	Hooks []HookResult `json:"hooks"`
}

// MarshalJSON encodes r in its JSON form, durations in seconds.
func (r Report) MarshalJSON() ([]byte, error) {
	type plain Report // without the method
	if r.Hooks == nil {
		r.Hooks = []HookResult{}
	}
	return json.Marshal(struct {
		plain
		DrainDelay float64 `json:"drain_delay_seconds"`
		Duration   float64 `json:"duration_seconds"`
	}{plain(r), r.DrainDelay.Seconds(), r.Duration.Seconds()})
}

// Err joins the errors of the hooks that failed, one line each, prefixed
// with the hook's name. It is nil when every hook succeeded.
func (r Report) Err() error {
	var errs []error
	for _, h := range r.Hooks {
		if h.Err == nil {
			continue
		}
		head := fmt.Sprintf("shutdown: hook %q: ", h.Name)
		if h.TimedOut {
			head = fmt.Sprintf("shutdown: hook %q timed out after %v: ", h.Name, h.Share)
		}
		errs = append(errs, &hookError{head: head, err: h.Err})
	}
	return errors.Join(errs...)
}

// hookError is a failed hook's line in Report.Err: head, then the hook's
// error with its lines (an errors.Join, say) joined by "; ", so that every
// line of Report.Err starts with "shutdown: ". Unwrap gives the hook's error.
type hookError struct {
	head string
	err  error
}

func (e *hookError) Error() string {
	return e.head + strings.ReplaceAll(e.err.Error(), "\n", "; ")
}

func (e *hookError) Unwrap() error { return e.err }

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
