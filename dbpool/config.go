package dbpool

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dedw3n/hardening/internal/pooler"
	"github.com/dedw3n/hardening/internal/redact/pgdsn"
)

// Config tunes a [Pool]. The zero value is ready to use and gives the
// serverless defaults documented on each field.
//
// # Which setting wins
//
// Several fields can also be set by parameters of the connection string
// (DSN), as pgxpool understands them. For each such field the order is:
//
//  1. a non-zero field of Config (set in code: it wins);
//  2. else the DSN parameter (pool_max_conns=20, connect_timeout=3, …), when present;
//  3. else the default written on the field (not pgx's default).
//
// So an operator can tune a pool through the DSN alone, and code that sets a
// field means it. Fields that no DSN parameter sets say so.
//
// New copies the Config: changing it afterwards has no effect.
type Config struct {
	// MaxConns is the most connections the pool opens. The default is 10
	// (DSN: pool_max_conns). 0 means the default; negative is an error.
	MaxConns int32

	// MinConns is how many connections the pool keeps open even when idle,
	// so that requests after a quiet spell do not pay for a connect. The
	// default is 2 (DSN: pool_min_conns), lowered to MaxConns when that is
	// smaller; a negative value means none. With ScaleToZero it is always 0.
	MinConns int32

	// MaxConnIdleTime closes a connection that sat idle this long (down to
	// MinConns). The default is 30s (DSN: pool_max_conn_idle_time): idle
	// connections cost money on serverless PostgreSQL.
	MaxConnIdleTime time.Duration

	// MaxConnLifetime closes a connection this long after it was opened,
	// so that connections move to new compute after a scale event or
	// failover. The default is 30m (DSN: pool_max_conn_lifetime); a negative
	// value means no limit.
	MaxConnLifetime time.Duration

	// MaxConnLifetimeJitter adds a random extra lifetime between 0 and this
	// value to each connection, so that connections opened together are not
	// all closed together. The default is a tenth of MaxConnLifetime
	// (DSN: pool_max_conn_lifetime_jitter); a negative value means none.
	MaxConnLifetimeJitter time.Duration

	// ConnectTimeout bounds one connection attempt (dial, TLS, startup,
	// authentication), including connections opened later on a request
	// path. The default is 5s (DSN: connect_timeout, in seconds); pgx's own
	// fallback is 2 minutes, too long for a request.
	ConnectTimeout time.Duration

	// ConnectBudget bounds the time New spends connecting, retrying with
	// jittered exponential backoff (250ms doubling up to 4s, ±50%) so that a
	// serverless cold start or a database that comes up shortly after the
	// service does not fail boot. The default is 30s; a negative value means
	// a single attempt. No DSN parameter sets it.
	ConnectBudget time.Duration

	// HealthCheckPeriod is how often the health monitor runs its SELECT 1,
	// and how often pgxpool closes idle or expired connections and tops
	// the pool up to MinConns. The default is 30s
	// (DSN: pool_health_check_period).
	HealthCheckPeriod time.Duration

	// HealthCheckTimeout bounds one health check (acquire and SELECT 1).
	// The default is 5s, or HealthCheckPeriod when that is shorter. No DSN
	// parameter sets it.
	HealthCheckTimeout time.Duration

	// WarnLatency: a health check slower than this is logged at Warn and
	// reports StateDegraded. The default is 100ms; a negative value turns
	// the warning off.
	WarnLatency time.Duration

	// ErrorLatency: a health check slower than this is logged at Error
	// (it still reports StateDegraded: the database answers). The default is
	// 1s; a negative value turns it off. A failed check is always logged at
	// Error.
	ErrorLatency time.Duration

	// WaitThreshold and WaitWindow define "acquires keep waiting": when more
	// than WaitThreshold acquires had to wait for a connection (pgxpool's
	// empty-acquire count) in every health period for at least WaitWindow,
	// each further check logs a Warn until it stops. The defaults are 5 and
	// 1 minute; a negative WaitThreshold turns the warning off.
	WaitThreshold int
	WaitWindow    time.Duration

	// ScaleToZero lets a serverless compute suspend. Normally MinConns
	// connections plus a probe every HealthCheckPeriod keep a Neon compute
	// awake for ever (it suspends after 5 minutes without queries). With
	// ScaleToZero the pool keeps no minimum (MinConns 0), and after
	// QuietPeriod without application traffic the monitor stops probing,
	// so idle connections close after MaxConnIdleTime and the compute can
	// suspend. The report then says StateIdle, which is ready, not
	// unhealthy. The price: while idle, nothing notices that the database
	// went away, and the first request after a quiet spell pays for a
	// connect and possibly a compute cold start (hundreds of milliseconds
	// on Neon). Probes resume at the first check after traffic returns.
	// The default is false.
	ScaleToZero bool

	// QuietPeriod is how long without application traffic (no acquire or
	// connection attempt other than the monitor's own, failed ones
	// included: during an outage they are all the traffic there is) the
	// pool waits before it stops probing, with ScaleToZero. The default is
	// 1 minute.
	QuietPeriod time.Duration

	// Pooler says whether the DSN points at a transaction-mode pooler
	// (PgBouncer with pool_mode=transaction, Neon's "-pooler" endpoints,
	// Supabase's port 6543), where nothing session-level survives from one
	// transaction to the next. Behind one, pgx runs with
	// QueryExecModeExec (no named prepared statements), unless the DSN sets
	// default_query_exec_mode. The default, PoolerAuto, detects Neon's and
	// Supabase's pooled host names; see [Pooler].
	Pooler Pooler

	// Configure, when set, is called with the pgxpool configuration after
	// every setting above (and the DSN's) has been applied, just before the
	// pool is created: the place for what dbpool does not wrap, such as a
	// Tracer, AfterConnect, PrepareConn or AfterRelease. A BeforeConnect it
	// sets runs after dbpool's own (which caps the connect timeout to the
	// boot budget). The default nil changes nothing.
	Configure func(*pgxpool.Config)

	// Now is the clock the pool reads for the health report's times
	// (CheckedAt, LastSuccess, IdleSince) and the monitor's windows
	// (QuietPeriod, WaitWindow). Latencies, timeouts and the connect budget
	// run on real time whatever it says. The default is time.Now; nil means
	// the default.
	Now func() time.Time

	// Logger receives the pool's structured logs (field component=dbpool).
	// nil means slog.Default().
	Logger *slog.Logger

	// lookup, when set by tests, resolves host names (pgconn.LookupFunc).
	lookup pgconn.LookupFunc
}

// Pooler says whether the pool goes through a transaction-mode connection
// pooler. It is the same type as sessionstore.Pooler and the Pooler of
// cryptorates' PostgresStateConfig, so one setting (say, parsed from
// DB_POOLER=auto|none|transaction with [Pooler.UnmarshalText]) configures
// all three.
type Pooler = pooler.Mode

const (
	// PoolerAuto treats the server as a transaction-mode pooler when a host
	// name says so: Neon's pooled endpoints contain "-pooler"
	// (ep-name-123456-pooler.region.aws.neon.tech); Supabase's pooler is in
	// transaction mode on port 6543 (*.pooler.supabase.com, db.*.supabase.co).
	PoolerAuto = pooler.Auto
	// PoolerNone: a direct connection to PostgreSQL (or a session-mode
	// pooler); pgx caches prepared statements as usual.
	PoolerNone = pooler.None
	// PoolerTransaction: a transaction-mode pooler such as PgBouncer with
	// pool_mode=transaction.
	PoolerTransaction = pooler.Transaction
)

// Defaults; see the Config fields.
const (
	defaultMaxConns           = 10
	defaultMinConns           = 2
	defaultMaxConnIdleTime    = 30 * time.Second
	defaultMaxConnLifetime    = 30 * time.Minute
	defaultConnectTimeout     = 5 * time.Second
	defaultConnectBudget      = 30 * time.Second
	defaultHealthCheckPeriod  = 30 * time.Second
	defaultHealthCheckTimeout = 5 * time.Second
	defaultWarnLatency        = 100 * time.Millisecond
	defaultErrorLatency       = time.Second
	defaultWaitThreshold      = 5
	defaultWaitWindow         = time.Minute
	defaultQuietPeriod        = time.Minute
)

// settings is a Config resolved against the DSN and the defaults.
type settings struct {
	pool *pgxpool.Config

	connectTimeout time.Duration
	connectBudget  time.Duration // <= 0: one attempt
	healthPeriod   time.Duration
	healthTimeout  time.Duration
	warnLatency    time.Duration // <= 0: off
	errorLatency   time.Duration // <= 0: off
	waitThreshold  int64         // < 0: off
	waitWindow     time.Duration
	scaleToZero    bool
	quietPeriod    time.Duration

	pooler         bool // a transaction-mode pooler, declared or detected
	execMode       pgx.QueryExecMode
	execModeSource string // why execMode was chosen, for the log

	now     func() time.Time
	logger  *slog.Logger
	target  string   // host:port list and database, for errors and logs
	secrets []string // passwords to keep out of errors and logs
}

// resolve applies the precedence rules to dsn and c.
func resolve(dsn string, c Config) (*settings, error) {
	// pgx's parse errors quote the DSN: only a fixed text says why.
	secrets := pgdsn.Secrets(dsn)
	present, err := pgconn.ParseConfig(dsn)
	if problem := pgdsn.Problem(dsn, err); problem != "" {
		return nil, errors.New("dbpool: cannot parse DSN: it " + problem)
	}
	pc, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, errors.New("dbpool: cannot parse DSN: it " + pgdsn.Problem(dsn, err))
	}
	inDSN := func(key string) bool { _, ok := present.RuntimeParams[key]; return ok }

	s := &settings{pool: pc, logger: c.Logger, now: c.Now}
	if s.logger == nil {
		s.logger = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.secrets = append(secrets, pc.ConnConfig.Password) // fallbacks share the primary's password
	s.target = describeTarget(pc.ConnConfig)

	if err := s.size(c, inDSN); err != nil {
		return nil, err
	}
	if err := s.timeouts(c, inDSN); err != nil {
		return nil, err
	}
	// Query exec mode: the DSN's default_query_exec_mode is the most
	// explicit statement and wins; otherwise a pooler, declared or
	// detected, gets pooler.ExecMode.
	d := pooler.Decide(c.Pooler, &pc.ConnConfig.Config)
	s.pooler = d.Transaction
	s.execMode, s.execModeSource = pooler.Configure(pc.ConnConfig, d)
	return s, nil
}

// size applies the pool sizing and connection lifetime settings.
func (s *settings) size(c Config, inDSN func(string) bool) error {
	pc := s.pool
	// Pool sizing.
	if c.MaxConns < 0 {
		return fmt.Errorf("dbpool: MaxConns %d is negative", c.MaxConns)
	}
	pc.MaxConns = pick(c.MaxConns, inDSN("pool_max_conns"), pc.MaxConns, defaultMaxConns)
	minExplicit := c.MinConns != 0 || inDSN("pool_min_conns")
	pc.MinConns = max(pick(c.MinConns, inDSN("pool_min_conns"), pc.MinConns, defaultMinConns), 0)
	if pc.MinConns > pc.MaxConns {
		if minExplicit {
			return fmt.Errorf("dbpool: MinConns %d exceeds MaxConns %d", pc.MinConns, pc.MaxConns)
		}
		pc.MinConns = pc.MaxConns
	}
	if pc.MinIdleConns > pc.MaxConns {
		return fmt.Errorf("dbpool: pool_min_idle_conns %d exceeds MaxConns %d", pc.MinIdleConns, pc.MaxConns)
	}
	s.scaleToZero = c.ScaleToZero
	if s.scaleToZero {
		pc.MinConns, pc.MinIdleConns = 0, 0
	}

	// Connection lifetimes.
	pc.MaxConnIdleTime = pick(c.MaxConnIdleTime, inDSN("pool_max_conn_idle_time"), pc.MaxConnIdleTime, defaultMaxConnIdleTime)
	pc.MaxConnLifetime = max(pick(c.MaxConnLifetime, inDSN("pool_max_conn_lifetime"), pc.MaxConnLifetime, defaultMaxConnLifetime), 0)
	pc.MaxConnLifetimeJitter = max(pick(c.MaxConnLifetimeJitter, inDSN("pool_max_conn_lifetime_jitter"), pc.MaxConnLifetimeJitter, pc.MaxConnLifetime/10), 0)

	return nil
}

// timeouts applies the connect and health monitor settings.
func (s *settings) timeouts(c Config, inDSN func(string) bool) error {
	pc := s.pool
	// Connecting. pgconn reads connect_timeout (and PGCONNECT_TIMEOUT) into
	// ConnectTimeout, leaving it 0 when neither is set.
	dsnTimeout := pc.ConnConfig.ConnectTimeout
	s.connectTimeout = pick(c.ConnectTimeout, dsnTimeout > 0, dsnTimeout, defaultConnectTimeout)
	if s.connectTimeout < 0 {
		return fmt.Errorf("dbpool: ConnectTimeout %v is negative", s.connectTimeout)
	}
	pc.ConnConfig.ConnectTimeout = s.connectTimeout
	s.connectBudget = pick(c.ConnectBudget, false, 0, defaultConnectBudget)
	if c.lookup != nil {
		pc.ConnConfig.LookupFunc = c.lookup
	}

	// Health monitor. pgxpool's own check (idle and lifetime expiry,
	// MinConns top-up) runs on the same period.
	s.healthPeriod = pick(c.HealthCheckPeriod, inDSN("pool_health_check_period"), pc.HealthCheckPeriod, defaultHealthCheckPeriod)
	if s.healthPeriod <= 0 {
		return fmt.Errorf("dbpool: HealthCheckPeriod %v is not positive", s.healthPeriod)
	}
	pc.HealthCheckPeriod = s.healthPeriod
	s.healthTimeout = pick(c.HealthCheckTimeout, false, 0, min(defaultHealthCheckTimeout, s.healthPeriod))
	if s.healthTimeout < 0 {
		return fmt.Errorf("dbpool: HealthCheckTimeout %v is negative", s.healthTimeout)
	}
	s.warnLatency = pick(c.WarnLatency, false, 0, defaultWarnLatency)
	s.errorLatency = pick(c.ErrorLatency, false, 0, defaultErrorLatency)
	s.waitThreshold = int64(pick(c.WaitThreshold, false, 0, defaultWaitThreshold))
	s.waitWindow = pick(c.WaitWindow, false, 0, defaultWaitWindow)
	s.quietPeriod = pick(c.QuietPeriod, false, 0, defaultQuietPeriod)

	return nil
}

// pick applies the precedence: a non-zero field, else the DSN's value when
// present, else the default.
func pick[T comparable](field T, dsnSet bool, dsnValue, def T) T {
	var zero T
	switch {
	case field != zero:
		return field
	case dsnSet:
		return dsnValue
	default:
		return def
	}
}

// describeTarget names the server for errors and logs: the distinct hosts
// pgconn will try, primary first, the database and the user, never the
// password.
func describeTarget(cc *pgx.ConnConfig) string {
	var addrs []string
	for _, h := range append([]*pgconn.FallbackConfig{{Host: cc.Host, Port: cc.Port}}, cc.Fallbacks...) {
		a := h.Host // a unix socket directory as it is
		if !strings.HasPrefix(a, "/") {
			a = net.JoinHostPort(a, strconv.Itoa(int(h.Port)))
		}
		if !slices.Contains(addrs, a) {
			addrs = append(addrs, a)
		}
	}
	return fmt.Sprintf("%s (database %q, user %q)", strings.Join(addrs, ","), cc.Database, cc.User)
}
