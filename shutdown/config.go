package shutdown

import (
	"log/slog"
	"os"
	"syscall"
	"time"
)

// Defaults applied to a zero Config (and to the zero Coordinator).
const (
	// DefaultTimeout is the overall budget for the hooks.
	DefaultTimeout = 10 * time.Second
	// DefaultCheckTimeout bounds one readiness check: short enough that a
	// probe answers inside Kubernetes' default probe timeout of 1 s.
	DefaultCheckTimeout = 500 * time.Millisecond
	// DefaultCheckCacheTTL is how long a readiness check result is reused.
	DefaultCheckCacheTTL = time.Second
	// DefaultGracePeriod is Kubernetes' default terminationGracePeriodSeconds.
	DefaultGracePeriod = 30 * time.Second

	// DefaultReadHeaderTimeout bounds reading a request's headers.
	DefaultReadHeaderTimeout = 10 * time.Second
	// DefaultBodyReadTimeout bounds reading a request's body.
	DefaultBodyReadTimeout = 60 * time.Second
	// DefaultIdleTimeout bounds the wait for the next request on a
	// keep-alive connection.
	DefaultIdleTimeout = 2 * time.Minute
	// DefaultSendTimeout is how long a response may wait for the client to
	// accept bytes, like nginx's send_timeout.
	DefaultSendTimeout = 60 * time.Second
)

// Config configures a Coordinator. The zero Config is valid: every field has
// a documented default. New copies it, so changing a Config after New has no
// effect on the Coordinator.
type Config struct {
	// Timeout is the overall budget for running the hooks (the HTTP servers
	// given to Serve first, then the other hooks). It starts after the drain
	// delay. Every hook is guaranteed Timeout/(2·hooks); a hook may use
	// what is left of the budget less that reserve for each hook after it,
	// so a stuck hook cannot starve the hooks after it while the HTTP
	// server, which runs first, may take most of the budget to drain.
	// The default is 10 s; 0 or a negative value means the default.
	Timeout time.Duration

	// DrainDelay is how long Shutdown waits, with readiness already answering
	// 503, before it stops any server, so that load balancers and kube-proxy
	// stop sending new requests to this process. It is not part of Timeout.
	// The default is 0: no delay; a negative value also means none. On
	// Kubernetes a few seconds (5 s is common) is a good value.
	DrainDelay time.Duration

	// Signals start the shutdown on their first arrival and force an exit on
	// the second (see HandleSignals).
	// The default is SIGINT and SIGTERM; nil or empty means the default.
	Signals []os.Signal

	// Exit ends the process when a second signal arrives, with exit code
	// 128 plus the signal number. Tests inject their own.
	// The default is os.Exit; nil means the default.
	Exit func(code int)

	// CheckTimeout bounds each readiness check.
	// The default is 500 ms; 0 or a negative value means the default.
	CheckTimeout time.Duration

	// CheckCacheTTL is how long a readiness check's result (failure included)
	// is reused before the check runs again, so that probes do not hammer the
	// database. The default is 1 s; 0 means the default; a negative value
	// turns caching off (concurrent probes still share one run).
	CheckCacheTTL time.Duration

	// Logger receives the shutdown progress, the per-hook report and the
	// warnings. The default is slog.Default(); nil means the default.
	Logger *slog.Logger

	// ReadHeaderTimeout bounds reading a request's headers on the servers
	// run by Serve, against clients that send them a byte at a time
	// (slowloris). Serve sets it on a server whose ReadHeaderTimeout and
	// ReadTimeout are both 0 (net/http bounds headers by ReadTimeout then).
	// The default is 10 s; 0 means the default; a negative value leaves the
	// server's field alone.
	ReadHeaderTimeout time.Duration

	// BodyReadTimeout bounds reading a request's body, counted from the end
	// of its headers, on the servers run by Serve: a body still incomplete
	// then fails to read and the connection closes. It is a total, not a
	// progress, deadline, so a body that trickles in cannot hold a handler
	// for longer. A handler that accepts large uploads extends it with
	// http.ResponseController.SetReadDeadline. Serve applies it per request
	// unless the server sets its own ReadTimeout.
	// The default is 60 s; 0 means the default; a negative value turns it off.
	BodyReadTimeout time.Duration

	// IdleTimeout bounds the wait for the next request on a keep-alive
	// connection of the servers run by Serve. Serve sets it on a server
	// whose IdleTimeout and ReadTimeout are both 0 (net/http bounds idle
	// connections by ReadTimeout then). The default is 2 min; 0 means the
	// default; a negative value leaves the server's field alone.
	IdleTimeout time.Duration

	// SendTimeout is a progress deadline for responses on the servers run
	// by Serve: a client that accepts no bytes for this long is dropped,
	// while a slow download that keeps progressing completes whatever its
	// size. Every 32 KiB of a response (larger writes are split) and every
	// flush must get into the connection within SendTimeout: the deadline
	// moves forward before each one, like nginx's send_timeout. Serve
	// applies it unless the server sets its own WriteTimeout (a total
	// deadline). A handler's own http.ResponseController.SetWriteDeadline
	// holds until its next write.
	// The default is 60 s; 0 means the default; a negative value turns it off.
	SendTimeout time.Duration

	// Now is the clock the coordinator reads: it shares the budget out
	// among the hooks, measures the durations in the Report and in the
	// readiness body, and ages cached readiness results. The waits
	// themselves (drain delay, a hook's share, a check's timeout, the
	// deadlines of slow clients) use real timers of the lengths it computes.
	// The default is time.Now; nil means the default.
	Now func() time.Time
}

// withDefaults returns a copy of cfg with every default filled in.
func (cfg Config) withDefaults() Config {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.DrainDelay < 0 {
		cfg.DrainDelay = 0
	}
	if len(cfg.Signals) == 0 {
		cfg.Signals = []os.Signal{syscall.SIGINT, syscall.SIGTERM}
	} else {
		cfg.Signals = append([]os.Signal(nil), cfg.Signals...)
	}
	if cfg.Exit == nil {
		cfg.Exit = os.Exit
	}
	if cfg.CheckTimeout <= 0 {
		cfg.CheckTimeout = DefaultCheckTimeout
	}
	if cfg.CheckCacheTTL == 0 {
		cfg.CheckCacheTTL = DefaultCheckCacheTTL
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.ReadHeaderTimeout = orDefault(cfg.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	cfg.BodyReadTimeout = orDefault(cfg.BodyReadTimeout, DefaultBodyReadTimeout)
	cfg.IdleTimeout = orDefault(cfg.IdleTimeout, DefaultIdleTimeout)
	cfg.SendTimeout = orDefault(cfg.SendTimeout, DefaultSendTimeout)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return cfg
}

// orDefault returns def for 0, 0 for a negative d (off), and d otherwise.
func orDefault(d, def time.Duration) time.Duration {
	switch {
	case d == 0:
		return def
	case d < 0:
		return 0
	}
	return d
}
