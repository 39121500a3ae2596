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
// On success it starts the health monitor: call Close to stop it.
func New(ctx context.Context, dsn string, cfg Config) (*Pool, error) {
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
	if user := s.pool.BeforeConnect; user != nil {
		s.pool.BeforeConnect = func(ctx context.Context, cc *pgx.ConnConfig) error {
			if err := p.capConnectTimeout(ctx, cc); err != nil {
				return err
			}
			return user(ctx, cc)
		}
	} else {
		s.pool.BeforeConnect = p.capConnectTimeout
	}
	if s.pooler {
		level := slog.LevelInfo
		if pooler.Caches(s.execMode) {
			level = slog.LevelWarn // the DSN asked for a mode that caches per server connection
		}
		p.log.Log(ctx, level, "query exec mode chosen for a transaction pooler",
			"exec_mode", s.execMode.String(), "reason", s.execModeSource)
	}

	start := time.Now()
	budget := s.connectBudget
	if budget <= 0 {
		budget = s.connectTimeout
	}
	deadline := start.Add(budget)
	p.connectDeadline.Store(deadline.UnixNano())
	defer p.connectDeadline.Store(0)
	cctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()

	// NewWithConfig only starts the pool (MinConns connect in the
	// background); the retried Ping is what proves a connection works.
	pool, err := pgxpool.NewWithConfig(cctx, s.pool)
	if err != nil {
		return nil, fmt.Errorf("dbpool: create pool for %s: %w", s.target, sanitize(err, s.secrets))
	}
	p.pool = pool

	var (
		attempts int
		lastErr  error
		latency  time.Duration
	)
	op := func() error {
		attempts++
		actx, acancel := context.WithTimeout(cctx, s.connectTimeout)
		defer acancel()
		t0 := time.Now()
		err := pool.Ping(actx)
		latency = time.Since(t0)
		if err == nil {
			return nil
		}
		lastErr = sanitize(err, s.secrets)
		p.log.Warn("connect attempt failed",
			"target", s.target, "attempt", attempts,
			"elapsed_ms", msec(time.Since(start)), "err", lastErr.Error())
		if permanent(err) {
			return backoff.Permanent(err)
		}
		return err
	}
	var b backoff.BackOff = &backoff.StopBackOff{}
	if s.connectBudget > 0 {
		b = backoff.NewExponentialBackOff(
			backoff.WithInitialInterval(250*time.Millisecond),
			backoff.WithMultiplier(2),
			backoff.WithMaxInterval(4*time.Second),
			backoff.WithRandomizationFactor(0.5),
			backoff.WithMaxElapsedTime(s.connectBudget),
		)
	}
	if err := backoff.Retry(op, backoff.WithContext(b, cctx)); err != nil {
		// No connection is held, so Close returns once the attempts in
		// flight end, which capConnectTimeout keeps within the budget.
		pool.Close()
		elapsed := time.Since(start).Round(time.Millisecond)
		if lastErr == nil { // ctx ended before any attempt finished
			lastErr = sanitize(err, s.secrets)
		}
		if cerr := ctx.Err(); cerr != nil {
			return nil, fmt.Errorf("dbpool: connect to %s: %w after %d attempt(s) in %v (last error: %s)",
				s.target, cerr, attempts, elapsed, lastErr.Error())
		}
		return nil, fmt.Errorf("dbpool: cannot connect to %s: gave up after %d attempt(s) in %v: %w",
			s.target, attempts, elapsed, lastErr)
	}

	now := time.Now()
	p.report = Report{State: StateHealthy, CheckedAt: now.Add(-latency), Latency: latency, LastSuccess: now, Checks: 1}
	st := pool.Stat()
	p.log.Info("connected",
		append([]any{"target", s.target, "attempts", attempts, "elapsed_ms", msec(time.Since(start)),
			"exec_mode", s.execMode.String(), "exec_mode_reason", s.execModeSource, "max_conns", s.pool.MaxConns, "min_conns", s.pool.MinConns,
			"scale_to_zero", s.scaleToZero}, statAttrs(st)...)...)

	mctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	p.stopMonitor = stop
	go p.monitor(mctx, st)
	return p, nil
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
// many connections were still acquired. The pool still closes once they are
// released. Close may be called again (with a new ctx) to wait for that;
// it returns nil once the pool is closed.
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
		n := p.pool.Stat().AcquiredConns()
		p.log.Error("close timed out with connections still acquired",
			"acquired", n, "err", ctx.Err().Error())
		return fmt.Errorf("dbpool: close: %d connection(s) still acquired: %w", n, ctx.Err())
	}
}

func msec(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
