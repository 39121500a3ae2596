// Package shutdown coordinates a graceful shutdown for a server on
// Kubernetes or behind a load balancer: readiness turns 503, a drain delay
// lets the load balancer stop routing, the HTTP servers stop taking
// connections while in-flight requests finish, and then the registered
// hooks close stores and pools, each within its share of one budget.
//
// It is similar to oklog/run or an errgroup wired to signal.NotifyContext,
// except that it orders the hooks (newest first, like defer), bounds each
// hook so one stuck hook cannot starve the rest (where uber-go/fx skips the
// remaining hooks once its context expires), turns readiness to 503 before
// any listener closes (where http.Server.Shutdown closes them at once), and
// forces the exit on a second signal.
//
// # The sequence
//
// Shutdown, or the first SIGINT or SIGTERM seen by HandleSignals, runs the
// sequence once:
//
//  1. Readiness answers 503 ("draining"); liveness stays 200.
//  2. The drain delay (Config.DrainDelay, default none) passes.
//  3. The budget (Config.Timeout, default 10 s) starts. The HTTP servers run
//     by Serve shut down first, newest first: listeners close, new
//     connections are refused, in-flight requests finish; the base context
//     of requests still running is cancelled when the server's share is
//     nearly spent.
//  4. The other hooks run one at a time, newest first. There are no
//     other phases: register a pool before the store that uses it.
//
// Half of the budget is reserved in equal parts, one for each hook; a hook may
// use what is left of the budget less the reserves of the hooks after it.
// So a stuck hook cannot starve the ones after it (each keeps at least
// budget/(2·hooks), even when a timer fires late, at the cost of that
// lateness), time a fast hook does not use flows to the later ones, and the
// HTTP servers, which run first and must let in-flight requests finish, may
// take most of the budget (with 5 hooks and 10 s: 6 s). A hook that
// overruns its share is reported as timed out and the sequence goes on. Every hook's name, duration, error and time-out are
// logged through slog and returned in a Report; Report.Err joins the errors.
// Report and Stats have a deliberate JSON form (snake_case, durations in
// seconds, hook errors sanitized) for a status endpoint to return as they
// are.
//
// Every error the package returns says "shutdown: " once, at the start of
// each line: Report.Err gives one line per failed hook, "shutdown: hook
// "db": " followed by the hook's own error, its lines (an errors.Join, say)
// joined by "; ", which errors.Is and errors.As still reach. The package
// exports no sentinel.
//
// A second signal ends the process at once with exit code 128 plus the
// signal's number, logging the hook (or the drain delay) it was stuck in.
// The exit never waits on the log for more than 250 ms: a stalled log
// shipper cannot keep the process alive.
//
// # Slow clients
//
// Serve starts each server with production timeouts, each one only where
// the server does not set its own: headers must arrive within 10 s
// (Config.ReadHeaderTimeout), a request body within 60 s of its headers
// (Config.BodyReadTimeout), an idle keep-alive connection closes after
// 2 min (Config.IdleTimeout), and a response whose client accepts no bytes
// for 60 s is dropped (Config.SendTimeout). The last is a progress
// deadline, like nginx's send_timeout, not a total one like
// http.Server.WriteTimeout: a slow download of any size completes as long as
// it keeps moving, while a client that stops reading frees its connection
// and handler. Flush, Hijack and http.ResponseController work as before.
//
// # Probes
//
// Liveness answers 200 while the process runs. Readiness answers 200 only
// when every check added by AddCheck passes and the sequence has not begun.
// Checks run with a timeout and their results are cached briefly, so probes
// do not hammer the database. The JSON body lists each check's result; error
// texts are sanitized so that no DSN, URL or secret-looking key=value pair
// reaches the body.
//
// # Sizing
//
// The orchestrator kills the process when its termination grace period
// (30 s by default on Kubernetes) runs out. CheckGrace warns at startup when
// the drain delay plus the budget does not fit in it.
package shutdown
