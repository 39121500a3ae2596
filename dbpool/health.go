package dbpool

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dedw3n/hardening/internal/redact"
)

// State is the pool's health as the monitor last saw it.
type State int

const (
	// StateUnknown is the zero State; a Pool from New never reports it.
	StateUnknown State = iota
	// StateHealthy: the last check answered within WarnLatency.
	StateHealthy
	// StateDegraded: the last check answered, but slower than WarnLatency.
	StateDegraded
	// StateUnhealthy: the last check failed.
	StateUnhealthy
	// StateIdle: with ScaleToZero, no application traffic for QuietPeriod:
	// probes are paused and the pool may have drained to zero connections,
	// letting the compute suspend. Idle is ready, not unhealthy.
	StateIdle
	// StateConnecting: a Pool from [Start] has not connected yet; the
	// report's LastError says why. Not ready.
	StateConnecting
)

// String returns "unknown", "healthy", "degraded", "unhealthy", "idle" or
// "connecting".
func (s State) String() string {
	switch s {
	case StateHealthy:
		return "healthy"
	case StateDegraded:
		return "degraded"
	case StateUnhealthy:
		return "unhealthy"
	case StateIdle:
		return "idle"
	case StateConnecting:
		return "connecting"
	default:
		return "unknown"
	}
}

// MarshalText makes a State read as its name in JSON.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Report is the health monitor's latest finding. Its JSON form is
// deliberate, for a readiness or status endpoint to return as it is:
//
//	{"state":"healthy","checked_at":"2026-01-01T12:00:00Z","latency_seconds":0.0012,
//	 "last_success":"2026-01-01T12:00:00Z","consecutive_failures":0,"checks":41,
//	 "failures":0,"acquires_waiting":false}
//
// Names are snake_case, the state is a word, times are RFC 3339 (left out
// when zero) and the latency is in seconds. LastError never holds a password.
type Report struct {
	State State `json:"state"`
	// CheckedAt is when the last check started (for StateIdle: when the
	// monitor last looked at the pool's counters).
	CheckedAt time.Time `json:"checked_at,omitzero"`
	// Latency is the SELECT 1 round trip of the last successful check
	// (until the first periodic check: New's ping, connect included).
	Latency time.Duration `json:"-"`
	// LastSuccess is when a check last succeeded.
	LastSuccess time.Time `json:"last_success,omitzero"`
	// ConsecutiveFailures counts failed checks since the last success.
	ConsecutiveFailures int `json:"consecutive_failures"`
	// LastError is the text of the most recent failure (kept after a
	// recovery; see State for the present), passwords removed.
	LastError string `json:"last_error,omitempty"`
	// IdleSince is when the pool went idle (StateIdle only).
	IdleSince time.Time `json:"idle_since,omitzero"`
	// Checks and Failures count the checks run (New's ping included) and
	// the failed ones, since New.
	Checks   int64 `json:"checks"`
	Failures int64 `json:"failures"`
	// AcquiresWaiting is true while acquires keep waiting for connections
	// (see Config.WaitThreshold).
	AcquiresWaiting bool `json:"acquires_waiting"`
}

// MarshalJSON encodes r in its JSON form: the fields' tags, with Latency
// as latency_seconds.
func (r Report) MarshalJSON() ([]byte, error) {
	type plain Report // without the method
	return json.Marshal(struct {
		plain
		Latency float64 `json:"latency_seconds"`
	}{plain(r), r.Latency.Seconds()})
}

// Ready reports whether a readiness endpoint should accept traffic:
// healthy, degraded (slow but answering) or idle.
func (r Report) Ready() bool {
	return r.State == StateHealthy || r.State == StateDegraded || r.State == StateIdle
}

// Report returns the monitor's latest report. It never touches the
// database, so readiness endpoints may call it as often as they like, and
// it does not wake a suspended compute.
func (p *Pool) Report() Report {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.report
}

// Health returns [Pool.Report]; the context is not used.
//
// Deprecated: Health never used its context (it reads the monitor's last
// report and cannot block); call [Pool.Report].
func (p *Pool) Health(context.Context) Report { return p.Report() }

// monitorState is owned by the monitor goroutine.
type monitorState struct {
	lastAcquires int64     // AcquireCount after our last probe
	lastConnects int64     // Pool.appConnects at our last check
	lastEmpty    int64     // EmptyAcquireCount after our last probe
	lastTraffic  time.Time // when application traffic was last seen
	prevTick     time.Time
	waitingSince time.Time // start of the run of periods with too many waits
}

// monitor runs a check every health period until ctx ends.
func (p *Pool) monitor(ctx context.Context, st *pgxpool.Stat) {
	now := p.s.now()
	m := monitorState{
		lastAcquires: st.AcquireCount(),
		lastEmpty:    st.EmptyAcquireCount(),
		lastTraffic:  now,
		prevTick:     now,
	}
	t := time.NewTicker(p.s.healthPeriod)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			p.check(ctx, &m, p.s.now())
		}
	}
}

// check runs one health period: contention, traffic, and unless idle a
// SELECT 1 round trip.
func (p *Pool) check(ctx context.Context, m *monitorState, now time.Time) {
	st := p.pool.Stat()
	period := now.Sub(m.prevTick)
	m.prevTick = now

	// Acquires that found no idle connection since our last probe, which
	// is the monitor's own acquires left out.
	waits := st.EmptyAcquireCount() - m.lastEmpty
	waiting := false
	if p.s.waitThreshold >= 0 && waits > p.s.waitThreshold {
		if m.waitingSince.IsZero() {
			m.waitingSince = now.Add(-period)
		}
		waiting = now.Sub(m.waitingSince) >= p.s.waitWindow
	} else {
		m.waitingSince = time.Time{}
	}
	if waiting {
		p.log.Warn("acquires keep waiting for a connection: pool too small or connections held too long",
			append([]any{"waits_in_period", waits, "waiting_for_ms", ms(now.Sub(m.waitingSince)),
				"max_conns", st.MaxConns()}, statAttrs(st)...)...)
	}

	if p.s.scaleToZero {
		// Traffic: acquires, held connections, or connection attempts,
		// which are all that failing acquires leave during an outage.
		connects := p.appConnects.Load()
		if st.AcquireCount() != m.lastAcquires || st.AcquiredConns() > 0 || connects != m.lastConnects {
			m.lastTraffic, m.lastConnects = now, connects
		}
		if now.Sub(m.lastTraffic) >= p.s.quietPeriod {
			m.lastAcquires, m.lastEmpty = st.AcquireCount(), st.EmptyAcquireCount()
			p.idle(now, waiting, st)
			return
		}
	}

	latency, err := p.probe(ctx)
	if ctx.Err() != nil {
		return // Close interrupted the check: not the database's failure
	}
	after := p.pool.Stat()
	m.lastAcquires, m.lastEmpty = after.AcquireCount(), after.EmptyAcquireCount()
	p.record(now, latency, err, waiting, after)
}

// probing marks the context of the monitor's own acquires, whose
// connection attempts are not traffic.
type probing struct{}

// probe acquires a connection and runs SELECT 1 within the check timeout.
// The latency is the query's round trip alone.
func (p *Pool) probe(ctx context.Context) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.WithValue(ctx, probing{}, true), p.s.healthTimeout)
	defer cancel()
	conn, err := p.pool.Acquire(ctx)
	if err != nil {
		if st := p.pool.Stat(); ctx.Err() != nil && st.AcquiredConns() >= st.MaxConns() {
			// The database may be fine: the pool is not.
			err = fmt.Errorf("pool exhausted: all %d connections acquired for longer than the check timeout: %w", st.MaxConns(), err)
		}
		return 0, err
	}
	defer conn.Release()
	var one int
	start := time.Now()
	err = conn.QueryRow(ctx, "SELECT 1").Scan(&one)
	return time.Since(start), err
}

// slow reports whether latency is over limit, a threshold that is on
// (positive).
func slow(latency, limit time.Duration) bool { return limit > 0 && latency > limit }

// record stores a check's result and logs it, outside the lock.
func (p *Pool) record(at time.Time, latency time.Duration, err error, waiting bool, st *pgxpool.Stat) {
	p.mu.Lock()
	prev := p.report.State
	r := &p.report
	r.CheckedAt, r.Checks, r.AcquiresWaiting, r.IdleSince = at, r.Checks+1, waiting, time.Time{}
	if err != nil {
		err = redact.Error(err, p.s.secrets)
		r.State, r.ConsecutiveFailures, r.Failures, r.LastError = StateUnhealthy, r.ConsecutiveFailures+1, r.Failures+1, err.Error()
	} else {
		r.State, r.Latency, r.LastSuccess, r.ConsecutiveFailures = StateHealthy, latency, p.s.now(), 0
		if slow(latency, p.s.warnLatency) || slow(latency, p.s.errorLatency) {
			r.State = StateDegraded
		}
	}
	failures := r.ConsecutiveFailures
	p.mu.Unlock()

	attrs := append([]any{"latency_ms", ms(latency)}, statAttrs(st)...)
	switch {
	case err != nil:
		p.log.Error("database health check failed",
			append(attrs, "consecutive_failures", failures, "err", err.Error())...)
	case slow(latency, p.s.errorLatency):
		p.log.Error("database health check very slow", attrs...)
	case slow(latency, p.s.warnLatency):
		p.log.Warn("database health check slow", attrs...)
	case prev == StateUnhealthy:
		p.log.Info("database health recovered", attrs...)
	case prev == StateIdle:
		p.log.Info("application traffic resumed: health checks resumed", attrs...)
	default:
		p.log.Debug("database health check ok", attrs...)
	}
}

// idle records that the pool is idle (ScaleToZero) without probing.
func (p *Pool) idle(at time.Time, waiting bool, st *pgxpool.Stat) {
	p.mu.Lock()
	prev := p.report.State
	r := &p.report
	r.CheckedAt, r.AcquiresWaiting = at, waiting
	if prev != StateIdle {
		r.State, r.IdleSince = StateIdle, at
	}
	p.mu.Unlock()
	if prev != StateIdle {
		p.log.Info("no application traffic: health checks paused, the pool may drain to zero (idle/suspended)",
			append([]any{"quiet_period_ms", ms(p.s.quietPeriod)}, statAttrs(st)...)...)
	}
}

// statAttrs are the pool counters every monitor log line carries.
func statAttrs(st *pgxpool.Stat) []any {
	return []any{
		slog.Int("total", int(st.TotalConns())),
		slog.Int("idle", int(st.IdleConns())),
		slog.Int("acquired", int(st.AcquiredConns())),
		slog.Int("constructing", int(st.ConstructingConns())),
		slog.Int64("empty_acquire_waits", st.EmptyAcquireCount()),
	}
}

// ms is d in milliseconds to the microsecond, for the log fields named _ms.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
