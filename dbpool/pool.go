package dbpool

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dedw3n/hardening/internal/pooler"
	"github.com/dedw3n/hardening/internal/redact"
)

// Pool is a pgxpool.Pool with serverless defaults, a connect that retries,
// a health monitor and a bounded Close. Queries go straight to the
// *pgxpool.Pool returned by [Pool.Pool]: Pool adds nothing to that path.
type Pool struct {
	pool *pgxpool.Pool
	s    *settings
	log  *slog.Logger

	// connectDeadline, in Unix nanoseconds, caps the connect timeout of
	// every connection opened while New is still retrying, so that nothing
	// New started outlives its budget. 0 once New has returned.
	connectDeadline atomic.Int64

	// appConnects counts connection attempts for the application (not the
	// monitor's probes), failed ones too: ScaleToZero's traffic.
	appConnects atomic.Int64

	mu     sync.Mutex // protects report
	report Report

	stopMonitor context.CancelFunc
	monitorDone chan struct{} // closed when the monitor goroutine returns

	closeOnce sync.Once
	closed    chan struct{} // closed when pgxpool's Close has returned
}

// New opens a pool on dsn (a URL or keyword/value connection string, as
// pgxpool.ParseConfig reads it) and returns once a connection from the pool
// answered a ping. Until then it retries with jittered exponential backoff
// for up to cfg.ConnectBudget, logging each failed attempt at Warn, and it
// gives up early on errors that retrying cannot fix (authentication, no
// such database) or when ctx ends. Its error names the host, database and
// user and never contains a password; it wraps the last attempt's error,
// so errors.As finds a *pgconn.PgError.
//
// On success it starts the health monitor: call Close to stop it. A
// service that must boot while its database is down uses [Start] instead.
func New(ctx context.Context, dsn string, cfg Config) (*Pool, error) {
	start := time.Now()
	p, err := open(ctx, dsn, cfg, start)
	if err != nil {
		return nil, err
	}
	defer p.connectDeadline.Store(0)
	cctx, cancel := context.WithDeadline(ctx, time.Unix(0, p.connectDeadline.Load()))
	defer cancel()

	var b backoff.BackOff = &backoff.StopBackOff{}
	if p.s.connectBudget > 0 {
		b = connectBackOff(p.s.connectBudget)
	}
	attempts, latency, err := p.connect(cctx, start, b)
	if err != nil {
		// No connection is held, so Close returns once the attempts in
		// flight end, which capConnectTimeout keeps within the budget.
		p.pool.Close()
		return nil, p.connectError(ctx, err, attempts, start)
	}
	st := p.connected(attempts, start, latency)
	mctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	p.stopMonitor = stop
	go func() {
		defer close(p.monitorDone)
		p.monitor(mctx, st)
	}()
	return p, nil
}

// Start is New without the wait: it returns at once (failing only on a bad
// configuration) and connects in the background, retrying with the same
// backoff for as long as it takes, until it connects, meets an error that
// retrying cannot fix, or Close is called. Until the first ping answers,
// [Pool.Report] reports StateConnecting with the last attempt's error, so
// a readiness endpoint says 503; then the health monitor takes over.
// Queries may be sent at once: pgxpool connects on demand, and they fail
// while the database is down. ConnectBudget does not apply.
func Start(dsn string, cfg Config) (*Pool, error) {
	p, err := open(context.Background(), dsn, cfg, time.Time{})
	if err != nil {
		return nil, err
	}
	p.report.State = StateConnecting
	mctx, stop := context.WithCancel(context.Background())
	p.stopMonitor = stop
	go func() {
		defer close(p.monitorDone)
		start := time.Now()
		attempts, latency, err := p.connect(mctx, start, connectBackOff(0))
		if err != nil {
			if mctx.Err() == nil { // refused for good (authentication, no such database)
				p.mu.Lock()
				p.report.State = StateUnhealthy
				p.mu.Unlock()
			}
			return
		}
		p.monitor(mctx, p.connected(attempts, start, latency))
	}()
	return p, nil
}

// connectBackOff is the retry schedule of a connect: 250ms doubling up to
// 4s, ±50%, for up to budget (0: no limit).
func connectBackOff(budget time.Duration) backoff.BackOff {
	return backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(250*time.Millisecond),
		backoff.WithMultiplier(2),
		backoff.WithMaxInterval(4*time.Second),
		backoff.WithRandomizationFactor(0.5),
		backoff.WithMaxElapsedTime(budget),
	)
}

// open resolves cfg and creates the pgxpool. With a start (New), the
// connect budget's deadline is set before the pool exists: pgxpool opens its
// MinConns at once, in the background, and those attempts are capped too.
func open(ctx context.Context, dsn string, cfg Config, start time.Time) (*Pool, error) {
	s, err := resolve(dsn, cfg)
	if err != nil {
		return nil, err
	}
	p := &Pool{
		s:           s,
		log:         s.logger.With("component", "dbpool"),
		monitorDone: make(chan struct{}),
		closed:      make(chan struct{}),
	}
	if cfg.Configure != nil {
		cfg.Configure(s.pool)
	}
	user := s.pool.BeforeConnect // Configure's, if any, runs after dbpool's
	s.pool.BeforeConnect = func(ctx context.Context, cc *pgx.ConnConfig) error {
		if ctx.Value(probing{}) == nil {
			p.appConnects.Add(1)
		}
		if err := p.capConnectTimeout(ctx, cc); err != nil || user == nil {
			return err
		}
		return user(ctx, cc)
	}
	if s.pooler {
		level := slog.LevelInfo
		if pooler.Caches(s.execMode) {
			level = slog.LevelWarn // the DSN asked for a mode that caches per server connection
		}
		p.log.Log(ctx, level, "query exec mode chosen for a transaction pooler",
			"exec_mode", s.execMode.String(), "reason", s.execModeSource)
	}
	if !start.IsZero() {
		budget := s.connectBudget
		if budget <= 0 {
			budget = s.connectTimeout
		}
		// A deadline past 2262 overflows Unix nanoseconds: a century is
		// no deadline anyway.
		p.connectDeadline.Store(start.Add(min(budget, 100*365*24*time.Hour)).UnixNano())
	}
	if p.pool, err = pgxpool.NewWithConfig(ctx, s.pool); err != nil {
		return nil, fmt.Errorf("dbpool: create pool for %s: %w", s.target, redact.Error(err, s.secrets))
	}
	return p, nil
}

// connect pings until a connection answers, retrying on b, and records
// each failure in the health report.
func (p *Pool) connect(ctx context.Context, start time.Time, b backoff.BackOff) (attempts int, latency time.Duration, err error) {
	var lastErr error
	op := func() error {
		attempts++
		actx, cancel := context.WithTimeout(ctx, p.s.connectTimeout)
		defer cancel()
		at, t0 := p.s.now(), time.Now()
		err := p.pool.Ping(actx)
		latency = time.Since(t0)
		if err == nil {
			return nil
		}
		if lastErr != nil && ending(ctx) {
			// Cut short by the budget, this attempt says nothing of the
			// server: the previous attempt's error stays the cause.
			return backoff.Permanent(context.DeadlineExceeded)
		}
		lastErr = redact.Error(err, p.s.secrets)
		p.mu.Lock()
		r := &p.report
		r.CheckedAt, r.Checks, r.Failures, r.ConsecutiveFailures, r.LastError = at, r.Checks+1, r.Failures+1, r.ConsecutiveFailures+1, lastErr.Error()
		p.mu.Unlock()
		p.log.Warn("connect attempt failed",
			"target", p.s.target, "attempt", attempts,
			"elapsed_ms", ms(time.Since(start)), "err", lastErr.Error())
		if permanent(err) {
			return backoff.Permanent(err)
		}
		return err
	}
	err = backoff.Retry(op, backoff.WithContext(b, ctx))
	if err != nil && lastErr != nil {
		err = lastErr
	}
	return attempts, latency, err
}

// ending reports whether ctx has ended or its deadline is within a
// millisecond: capConnectTimeout ends a connection attempt at the budget's
// end by pgx's own timer, which may fire just before ctx's.
func ending(ctx context.Context) bool {
	d, ok := ctx.Deadline()
	return ctx.Err() != nil || ok && time.Until(d) < time.Millisecond
}

// connectError says why New gave up.
func (p *Pool) connectError(ctx context.Context, err error, attempts int, start time.Time) error {
	elapsed := time.Since(start).Round(time.Millisecond)
	err = redact.Error(err, p.s.secrets)
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("dbpool: connect to %s: %w after %d attempt(s) in %v (last error: %w)",
			p.s.target, cerr, attempts, elapsed, err)
	}
	return fmt.Errorf("dbpool: cannot connect to %s: gave up after %d attempt(s) in %v: %w",
		p.s.target, attempts, elapsed, err)
}

// connected records the first successful ping and logs it.
func (p *Pool) connected(attempts int, start time.Time, latency time.Duration) *pgxpool.Stat {
	now := p.s.now()
	p.mu.Lock()
	r := &p.report
	r.State, r.CheckedAt, r.Latency, r.LastSuccess = StateHealthy, now.Add(-latency), latency, now
	r.Checks, r.ConsecutiveFailures = r.Checks+1, 0
	p.mu.Unlock()
	st := p.pool.Stat()
	p.log.Info("connected",
		append([]any{"target", p.s.target, "attempts", attempts, "elapsed_ms", ms(time.Since(start)),
			"exec_mode", p.s.execMode.String(), "exec_mode_reason", p.s.execModeSource, "max_conns", p.s.pool.MaxConns, "min_conns", p.s.pool.MinConns,
			"scale_to_zero", p.s.scaleToZero}, statAttrs(st)...)...)
	return st
}

// capConnectTimeout is pgxpool's BeforeConnect hook: while New is retrying,
// no connection attempt may run past New's budget.
func (p *Pool) capConnectTimeout(_ context.Context, cc *pgx.ConnConfig) error {
	d := p.connectDeadline.Load()
	if d == 0 {
		return nil
	}
	left := time.Until(time.Unix(0, d))
	if left <= 0 {
		return context.DeadlineExceeded
	}
	if cc.ConnectTimeout <= 0 || left < cc.ConnectTimeout {
		cc.ConnectTimeout = left
	}
	return nil
}

// permanent reports errors that retrying cannot fix: the server answered
// and refused (bad password or role: class 28; no such database: 3D000).
func permanent(err error) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false
	}
	return len(pe.Code) == 5 && (pe.Code[:2] == "28" || pe.Code == "3D000")
}

// Pool returns the underlying pgxpool for queries, transactions, COPY and
// everything else pgx offers. Pool itself adds nothing to that path.
func (p *Pool) Pool() *pgxpool.Pool { return p.pool }

// Close stops the health monitor and closes the pool. pgxpool's Close
// waits for every acquired connection to be released; Close waits at most
// until ctx ends, and then returns an error wrapping ctx.Err() that says how
// many connections were still acquired, and how many still being opened
// (pgxpool waits for a connection attempt in flight, up to ConnectTimeout).
// The pool still closes once they are released. Close may be called again
// (with a new ctx) to wait for that; it returns nil once the pool is closed.
func (p *Pool) Close(ctx context.Context) error {
	p.closeOnce.Do(func() {
		p.stopMonitor()
		<-p.monitorDone
		go func() {
			p.pool.Close()
			close(p.closed)
		}()
	})
	select {
	case <-p.closed:
		return nil
	case <-ctx.Done():
		// A release racing the deadline: prefer the success.
		select {
		case <-p.closed:
			return nil
		default:
		}
		st := p.pool.Stat()
		n, opening := st.AcquiredConns(), st.ConstructingConns()
		p.log.Error("close timed out with connections still acquired or being opened",
			"acquired", n, "constructing", opening, "err", ctx.Err().Error())
		return fmt.Errorf("dbpool: close: %d connection(s) still acquired, %d being opened: %w", n, opening, ctx.Err())
	}
}
