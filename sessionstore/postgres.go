package sessionstore

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

	"github.com/dedw3n/hardening/internal/pglock"
	"github.com/dedw3n/hardening/internal/pooler"
	"github.com/dedw3n/hardening/internal/redact/pgdsn"
)

// PostgresConfig configures a [PostgresStore]. Every zero field means its
// documented default; only one of URL and Pool is needed.
type PostgresConfig struct {
	// URL is the connection string (postgres://… or key=value), used to
	// open the store's own pool. Ignored when Pool is set.
	URL string
	// Pool, when set, is used instead of a pool of the store's own, and is
	// not closed by [PostgresStore.Close]. MaxConns and ConnectTimeout do
	// not apply to it.
	Pool *pgxpool.Pool

	// Pooler says whether URL (or Pool) goes through a transaction-mode
	// pooler (PgBouncer with pool_mode=transaction, Neon's "-pooler"
	// endpoints, Supabase's port 6543). Behind one, the store's own pool
	// runs pgx with QueryExecModeExec (no named prepared statements),
	// unless the URL sets default_query_exec_mode; a Pool given with a
	// statement-caching exec mode is refused. The default, PoolerAuto,
	// detects Neon's and Supabase's pooled host names. Locks need no
	// setting: every lock the store takes is transaction-scoped.
	Pooler Pooler

	// MaxConns bounds the store's own pool. The default is 5: sessions
	// need few connections, and an own pool keeps them from starving (or
	// being starved by) the application's queries.
	MaxConns int32
	// ConnectTimeout bounds each new connection. The default is 20 s; 0
	// means the default, whatever the URL says.
	ConnectTimeout time.Duration
	// QueryTimeout bounds each operation (load, save, touch…). The
	// default is 5 s.
	QueryTimeout time.Duration

	// Schema holds the table; it is created if missing. The default is ""
	// meaning the connection's search_path (usually public).
	Schema string
	// Table is the table's name. The default is "sessions".
	Table string

	// InitTimeout is how long the store retries its initialisation (the
	// CREATE … IF NOT EXISTS of the table and indexes) in the background
	// after [NewPostgresStore], with jittered exponential backoff starting
	// at 1 s. The default is 1 minute. Whatever it is, at least 3 attempts
	// are made (at about 0 s, 1 s and 3 s). After that, each operation
	// that finds the store uninitialised makes one attempt itself: a
	// failure is never cached, except one retrying cannot fix: a table
	// of that name with other columns (another library's), reported
	// with [ErrTableShape] until the store is recreated.
	InitTimeout time.Duration

	// PruneInterval is how often expired sessions are deleted, jittered by
	// ±10%. The default is 6 h; a negative value turns pruning off (call
	// [PostgresStore.Prune] yourself). Across instances sharing the table
	// one prunes at a time (pg_try_advisory_xact_lock); the others skip.
	PruneInterval time.Duration
	// PruneBatch is the most rows one DELETE removes. The default is 1000.
	PruneBatch int
	// PruneStatementTimeout bounds each DELETE batch. The default is 10 s.
	PruneStatementTimeout time.Duration

	// Cache turns on a read cache in front of the table, invalidated across
	// the fleet by LISTEN/NOTIFY: see [CacheConfig]. The default is off.
	Cache CacheConfig

	// Now is the clock pruning and the cache compare expiries with (the
	// Manager's clock writes them). The default is time.Now; nil means the
	// default.
	Now func() time.Time
	// Logger receives initialisation attempts, pruning counts and errors.
	// It never receives tokens, cookies or passwords. nil means
	// slog.Default().
	Logger *slog.Logger
}

// Pooler says whether a [PostgresStore]'s connection goes through a
// transaction-mode pooler. It is the same type as dbpool.Pooler, so one
// setting configures both; [Pooler.UnmarshalText] reads "auto", "none" and
// "transaction".
type Pooler = pooler.Mode

const (
	// PoolerAuto detects Neon's "-pooler" hosts and Supabase's pooler
	// (port 6543); anything else is treated as direct.
	PoolerAuto = pooler.Auto
	// PoolerNone: a direct connection (or a session-mode pooler).
	PoolerNone = pooler.None
	// PoolerTransaction: a transaction-mode pooler (PgBouncer with
	// pool_mode=transaction, RDS Proxy, Supavisor…), whatever its host.
	PoolerTransaction = pooler.Transaction
)

// PostgresStore keeps sessions in a PostgreSQL table. It connects lazily:
// [NewPostgresStore] returns at once and initialises in the background,
// and until that succeeds operations fail with an error wrapping
// [ErrNotReady] (which the Manager answers with 503).
type PostgresStore struct {
	cfg     PostgresConfig
	pool    *pgxpool.Pool
	ownPool bool

	q         queries
	table     pglock.Table // created, under its lock, by the initialisation
	pruneKey  int64        // advisory lock held by a transaction while pruning
	ready     atomic.Bool
	retrying  atomic.Bool   // the background initialisation is running
	attempt   chan struct{} // semaphore: one initialisation attempt at a time
	initMu    sync.Mutex    // protects initErr and broken
	initErr   error         // last initialisation failure
	broken    bool          // initErr is permanent: no more attempts
	attempts  atomic.Uint64
	pruned    atomic.Uint64
	pruneRuns atomic.Uint64

	ctx       context.Context // cancelled by Close: stops background work
	cancel    context.CancelFunc
	initDone  chan struct{}
	loop      *loop
	closeOnce sync.Once

	cache    *cache    // nil when the read cache is off
	listener *listener // nil when the read cache is off
}

type queries struct {
	load, update, del, insert, touch, list, delUser, prune string
}

// sessionColumns are the columns the store reads and writes.
var sessionColumns = []string{"id", "data", "user_id", "created", "touched", "expires", "deadline", "version"}

func sessionTable(schema, table string) pglock.Table {
	tab := pglock.Table{Schema: schema, Name: table, Columns: sessionColumns}
	t := tab.Qualified()
	idx := func(suffix string) string { return pgx.Identifier{table + suffix}.Sanitize() }
	if schema != "" {
		tab.DDL = append(tab.DDL, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{schema}.Sanitize())
	}
	tab.DDL = append(tab.DDL,
		`CREATE TABLE IF NOT EXISTS `+t+` (
	id       bytea       PRIMARY KEY CHECK (octet_length(id) = 32),
	data     jsonb       NOT NULL DEFAULT '{}',
	user_id  text,
	created  timestamptz NOT NULL,
	touched  timestamptz NOT NULL,
	expires  timestamptz NOT NULL,
	deadline timestamptz NOT NULL,
	version  bigint      NOT NULL DEFAULT 1
)`,
		`COMMENT ON COLUMN `+t+`.id IS 'SHA-256 of the session token; the token itself is never stored'`,
		`CREATE INDEX IF NOT EXISTS `+idx("_expires_idx")+` ON `+t+` (expires)`,
		`CREATE INDEX IF NOT EXISTS `+idx("_user_id_idx")+` ON `+t+` (user_id) WHERE user_id IS NOT NULL`,
	)
	return tab
}

func buildQueries(t string) queries {
	var q queries
	const cols = `data, user_id, created, touched, expires, deadline, version` // scanRecord's order
	q.load = `SELECT ` + cols + ` FROM ` + t + ` WHERE id = $1`
	q.update = `UPDATE ` + t + ` SET data = $2, user_id = $3, touched = $4, expires = LEAST($5::timestamptz, deadline), version = version + 1
WHERE id = $1 AND version = $6
RETURNING ` + cols
	q.del = `DELETE FROM ` + t + ` WHERE id = $1 AND ($2::bigint IS NULL OR version = $2)`
	q.insert = `INSERT INTO ` + t + ` (id, data, user_id, created, touched, expires, deadline, version)
VALUES ($1, $2, $3, $4, $5, LEAST($6::timestamptz, $7::timestamptz), $7, 1) ON CONFLICT (id) DO NOTHING
RETURNING ` + cols
	q.touch = `UPDATE ` + t + ` SET touched = $2, expires = LEAST($3::timestamptz, deadline)
WHERE id = $1 AND touched < $4 AND expires > $2
RETURNING ` + cols
	q.list = `SELECT id, user_id, created, touched, expires, deadline, version FROM ` + t + ` WHERE user_id = $1`
	q.delUser = `DELETE FROM ` + t + ` WHERE user_id = $1 AND id <> $2`
	q.prune = `DELETE FROM ` + t + ` WHERE id IN (SELECT id FROM ` + t + ` WHERE expires <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`
	return q
}

// NewPostgresStore returns a store on cfg.URL or cfg.Pool. It does no I/O
// itself: initialisation and pruning run in goroutines that
// [PostgresStore.Close] stops. It fails only on a bad configuration.
func NewPostgresStore(cfg PostgresConfig) (*PostgresStore, error) {
	cfg = cfg.withDefaults()
	pool, own, err := openPool(cfg)
	if err != nil {
		return nil, err
	}
	s := &PostgresStore{cfg: cfg, pool: pool, ownPool: own, attempt: make(chan struct{}, 1), initDone: make(chan struct{})}
	s.table = sessionTable(cfg.Schema, cfg.Table)
	s.q = buildQueries(s.table.Qualified())
	s.pruneKey = pglock.Key("sessionstore prune " + cfg.Schema + "." + cfg.Table)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if err := s.startCache(); err != nil {
		return nil, err
	}
	s.retrying.Store(true)
	go s.initLoop()
	s.loop = startLoop(cfg.PruneInterval, func(ctx context.Context) {
		if !s.ready.Load() {
			return
		}
		if _, _, err := s.Prune(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Logger.Warn("sessionstore: pruning failed", "err", err)
		}
	})
	return s, nil
}

func (cfg PostgresConfig) withDefaults() PostgresConfig {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	if cfg.MaxConns == 0 {
		cfg.MaxConns = 5
	}
	def(&cfg.ConnectTimeout, 20*time.Second)
	def(&cfg.QueryTimeout, 5*time.Second)
	def(&cfg.InitTimeout, time.Minute)
	def(&cfg.PruneInterval, 6*time.Hour)
	if cfg.PruneStatementTimeout <= 0 {
		cfg.PruneStatementTimeout = 10 * time.Second
	}
	if cfg.Table == "" {
		cfg.Table = "sessions"
	}
	if cfg.PruneBatch <= 0 {
		cfg.PruneBatch = 1000
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return cfg
}

// openPool returns cfg.Pool, checked against cfg.Pooler, or opens the
// store's own pool (own is true) with the exec mode cfg.Pooler calls for.
func openPool(cfg PostgresConfig) (pool *pgxpool.Pool, own bool, err error) {
	if cfg.Pool != nil {
		cc := cfg.Pool.Config().ConnConfig
		d := pooler.Decide(cfg.Pooler, &cc.Config)
		if d.Transaction && pooler.Caches(cc.DefaultQueryExecMode) {
			return nil, false, fmt.Errorf("sessionstore: the Pool caches prepared statements (exec mode %v), which a transaction pooler loses (%s): open it with dbpool, or add default_query_exec_mode=exec to its URL", cc.DefaultQueryExecMode, d.Reason)
		}
		return cfg.Pool, false, nil
	}
	if cfg.URL == "" {
		return nil, false, errors.New("sessionstore: PostgresConfig needs a URL or a Pool")
	}
	pc, err := pgxpool.ParseConfig(cfg.URL)
	if problem := pgdsn.Problem(cfg.URL, err); problem != "" {
		// pgx's parse errors quote the connection string: only a fixed text says why.
		return nil, false, errors.New("sessionstore: invalid PostgreSQL connection string: it " + problem)
	}
	pc.MaxConns = cfg.MaxConns
	pc.ConnConfig.ConnectTimeout = cfg.ConnectTimeout
	d := pooler.Decide(cfg.Pooler, &pc.ConnConfig.Config)
	if mode, why := pooler.Configure(pc.ConnConfig, d); d.Transaction {
		cfg.Logger.Info("sessionstore: behind a transaction pooler", "exec_mode", mode.String(), "reason", why)
	}
	pool, err = pgxpool.NewWithConfig(context.Background(), pc)
	if err != nil {
		return nil, false, fmt.Errorf("sessionstore: open pool: %w", err)
	}
	return pool, true, nil
}

// Close stops the background work and closes the store's own pool (not a
// pool passed in PostgresConfig.Pool). It is safe to call more than once.
func (s *PostgresStore) Close() error {
	s.closeOnce.Do(func() {
		s.cancel()
		<-s.initDone
		s.loop.stop()
		if s.listener != nil {
			s.listener.done.Wait()
		}
		if s.ownPool {
			s.pool.Close()
		}
	})
	return nil
}

// initLoop retries the initialisation in the background until it succeeds,
// the budget runs out, a permanent error comes, or the store is closed.
func (s *PostgresStore) initLoop() {
	defer close(s.initDone)
	defer s.retrying.Store(false)
	b := &initBackOff{
		BackOff: backoff.NewExponentialBackOff(
			backoff.WithInitialInterval(time.Second),
			backoff.WithMultiplier(2),
			backoff.WithRandomizationFactor(0.2),
			backoff.WithMaxInterval(15*time.Second),
			backoff.WithMaxElapsedTime(0), // initBackOff counts the budget, with its floor
		),
		start:  time.Now(),
		budget: s.cfg.InitTimeout,
	}
	err := backoff.Retry(func() error {
		err := s.tryInit(s.ctx)
		if s.isBroken() {
			return backoff.Permanent(err)
		}
		return err
	}, backoff.WithContext(b, s.ctx))
	if err != nil && s.ctx.Err() == nil && !s.isBroken() {
		s.cfg.Logger.Error("sessionstore: initialisation gave up retrying in the background; each operation will try again",
			"attempts", b.n, "err", err)
	}
}

// initBackOff stops once the budget is spent, but never before 3 attempts.
type initBackOff struct {
	backoff.BackOff
	start  time.Time
	budget time.Duration
	n      int // attempts made
}

func (b *initBackOff) NextBackOff() time.Duration {
	b.n++
	wait := b.BackOff.NextBackOff()
	if b.n >= 3 && time.Since(b.start)+wait > b.budget {
		return backoff.Stop
	}
	return wait
}

// tryInit waits for the attempt semaphore, then makes one initialisation
// attempt unless the store became ready meanwhile.
func (s *PostgresStore) tryInit(ctx context.Context) error {
	select {
	case s.attempt <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.attempt }()
	if s.ready.Load() {
		return nil
	}
	if s.isBroken() {
		return s.notReady()
	}
	return s.initLocked(ctx)
}

// ErrTableShape is matched (errors.Is) by the error of a store whose table
// already exists with other columns, most often another library's sessions
// table (scs's token/data/expiry, connect-pg-simple's sid/sess/expire).
// Retrying cannot fix it: the store stops trying, and every operation and
// [PostgresStore.Ready] return it. Give the store another Table or Schema.
var ErrTableShape = pglock.ErrShape

// initLocked makes one initialisation attempt; the caller holds the
// attempt semaphore.
func (s *PostgresStore) initLocked(ctx context.Context) error {
	n := s.attempts.Add(1)
	s.cfg.Logger.Info("sessionstore: initialising", "attempt", n, "table", s.cfg.Table)
	actx, cancel := context.WithTimeout(ctx, s.cfg.ConnectTimeout+s.cfg.QueryTimeout)
	defer cancel()
	err := pglock.Create(actx, s.pool, s.table)
	if errors.Is(err, pglock.ErrShape) {
		err = fmt.Errorf("sessionstore: %w; this store needs a table of its own: set PostgresConfig.Table or Schema to another name", err)
		s.initMu.Lock()
		s.initErr, s.broken = err, true
		s.initMu.Unlock()
		s.cfg.Logger.Error("sessionstore: cannot use the existing table; not retrying", "err", err)
		return err
	}
	if err != nil {
		err = fmt.Errorf("initialise: %w", err)
		s.initMu.Lock()
		s.initErr = err
		s.initMu.Unlock()
		s.cfg.Logger.Warn("sessionstore: initialisation failed", "attempt", n, "err", err)
		return fmt.Errorf("%w: %w", ErrNotReady, err)
	}
	s.ready.Store(true)
	s.cfg.Logger.Info("sessionstore: initialised", "attempt", n, "table", s.cfg.Table)
	return nil
}

// isBroken reports a permanent initialisation error.
func (s *PostgresStore) isBroken() bool {
	s.initMu.Lock()
	defer s.initMu.Unlock()
	return s.broken
}

func (s *PostgresStore) notReady() error {
	s.initMu.Lock()
	last, broken := s.initErr, s.broken
	s.initMu.Unlock()
	switch {
	case broken:
		return last
	case last == nil:
		return fmt.Errorf("%w: initialising", ErrNotReady)
	}
	return fmt.Errorf("%w: %w", ErrNotReady, last)
}

// ensure returns nil when the store is initialised. Otherwise it waits
// (up to QueryTimeout) for an attempt under way, and if that did not
// succeed either fails at once, while the background retries are running,
// or makes an attempt itself: a failure is never cached.
func (s *PostgresStore) ensure(ctx context.Context) error {
	if s.ready.Load() {
		return nil
	}
	wctx, cancel := context.WithTimeout(ctx, s.cfg.QueryTimeout)
	defer cancel()
	select {
	case s.attempt <- struct{}{}:
	case <-wctx.Done():
		return s.notReady()
	}
	defer func() { <-s.attempt }()
	if s.ready.Load() {
		return nil
	}
	if s.retrying.Load() || s.isBroken() {
		return s.notReady()
	}
	return s.initLocked(ctx)
}

// op prepares an operation: initialisation check and timeout.
func (s *PostgresStore) op(ctx context.Context) (context.Context, context.CancelFunc, error) {
	if err := s.ensure(ctx); err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.QueryTimeout)
	return ctx, cancel, nil
}

// fail wraps a query error; a missing table (dropped, or a database
// restored without it) sends the store back to initialisation.
func (s *PostgresStore) fail(op string, err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "42P01" {
		s.ready.Store(false)
	}
	return fmt.Errorf("sessionstore: %s: %w", op, err)
}

// Ready reports whether the store is initialised and its database answers;
// it makes an initialisation attempt if needed. Use it in a readiness
// probe.
func (s *PostgresStore) Ready(ctx context.Context) error {
	ctx, cancel, err := s.op(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("%w: %w", ErrNotReady, err)
	}
	return nil
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// data is the jsonb argument: a string, since in the exec modes a
// transaction pooler needs (pgx's QueryExecModeExec, simple protocol)
// parameters go untyped in text format, where a []byte would be bytea.
func data(b []byte) string {
	if len(b) == 0 {
		return "{}"
	}
	return string(b)
}

// Load implements [Store].
func (s *PostgresStore) Load(ctx context.Context, id ID) (Record, bool, error) {
	var t ticket
	if s.cache != nil {
		rec, hit, tk := s.cache.lookup(id, minVersion(ctx), s.cfg.Now())
		if hit {
			return rec, true, nil
		}
		t = tk
	}
	ctx, cancel, err := s.op(ctx)
	if err != nil {
		return Record{}, false, err
	}
	defer cancel()
	r, err := scanRecord(id, s.pool.QueryRow(ctx, s.q.load, id[:]))
	if errors.Is(err, pgx.ErrNoRows) {
		return Record{}, false, nil
	}
	if err != nil {
		return Record{}, false, s.fail("load", err)
	}
	if s.cache != nil {
		s.cache.put(t, r)
	}
	return r, true, nil
}

// scanRecord reads the columns of a load (or a write's RETURNING) into the
// record of id.
func scanRecord(id ID, row pgx.Row) (Record, error) {
	r := Record{ID: id}
	var uid *string
	if err := row.Scan(&r.Data, &uid, &r.Created, &r.Touched, &r.Expires, &r.Deadline, &r.Version); err != nil {
		return Record{}, err
	}
	if uid != nil {
		r.UserID = *uid
	}
	return r, nil
}

// Save implements [Store].
func (s *PostgresStore) Save(ctx context.Context, rec Record, replace ID) (int64, error) {
	t := s.begin(rec.ID)
	saved, err := s.save(ctx, rec, replace)
	s.cached(t, rec.ID, replace, saved, err == nil)
	if err != nil {
		return 0, err
	}
	return saved.Version, nil
}

// save writes rec and returns the record as committed.
func (s *PostgresStore) save(ctx context.Context, rec Record, replace ID) (Record, error) {
	ctx, cancel, err := s.op(ctx)
	if err != nil {
		return Record{}, err
	}
	defer cancel()
	if !replace.IsZero() {
		return s.renew(ctx, rec, replace)
	}
	var saved Record
	if rec.Version == 0 {
		saved, err = scanRecord(rec.ID, s.pool.QueryRow(ctx, s.q.insert, rec.ID[:], data(rec.Data), nullable(rec.UserID),
			rec.Created, rec.Touched, rec.Expires, rec.Deadline))
	} else {
		saved, err = scanRecord(rec.ID, s.pool.QueryRow(ctx, s.q.update, rec.ID[:], data(rec.Data), nullable(rec.UserID),
			rec.Touched, rec.Expires, rec.Version))
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return Record{}, ErrConflict // exists already, or changed by another request, or gone
	}
	if err != nil {
		return Record{}, s.fail("save", err)
	}
	return saved, nil
}

// renew saves rec under its new ID and deletes the row named replace, in
// one transaction, if that row is still at rec.Version (0: absent).
func (s *PostgresStore) renew(ctx context.Context, rec Record, replace ID) (Record, error) {
	var saved Record
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if rec.Version != 0 {
			tag, err := tx.Exec(ctx, s.q.del, replace[:], rec.Version)
			if err != nil {
				return err
			}
			if tag.RowsAffected() != 1 {
				return ErrConflict
			}
		} else {
			var exists bool
			if err := tx.QueryRow(ctx, "SELECT EXISTS ("+s.q.load+")", replace[:]).Scan(&exists); err != nil {
				return err
			}
			if exists {
				return ErrConflict
			}
		}
		var err error
		saved, err = scanRecord(rec.ID, tx.QueryRow(ctx, s.q.insert, rec.ID[:], data(rec.Data), nullable(rec.UserID),
			rec.Created, rec.Touched, rec.Expires, rec.Deadline))
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrConflict
		}
		return err
	})
	if errors.Is(err, ErrConflict) {
		return Record{}, ErrConflict
	}
	if err != nil {
		return Record{}, s.fail("renew", err)
	}
	return saved, nil
}

// Touch implements [Store].
func (s *PostgresStore) Touch(ctx context.Context, id ID, now, expires, touchedBefore time.Time) (bool, error) {
	t := s.begin(id)
	touched, moved, err := s.touch(ctx, id, now, expires, touchedBefore)
	s.cached(t, id, ID{}, touched, moved)
	return moved, err
}

// touch moves the expiry and returns the record as committed.
func (s *PostgresStore) touch(ctx context.Context, id ID, now, expires, touchedBefore time.Time) (Record, bool, error) {
	ctx, cancel, err := s.op(ctx)
	if err != nil {
		return Record{}, false, err
	}
	defer cancel()
	r, err := scanRecord(id, s.pool.QueryRow(ctx, s.q.touch, id[:], now, expires, touchedBefore))
	if errors.Is(err, pgx.ErrNoRows) {
		return Record{}, false, nil
	}
	if err != nil {
		return Record{}, false, s.fail("touch", err)
	}
	return r, true, nil
}

// Delete implements [Store].
func (s *PostgresStore) Delete(ctx context.Context, id ID) error {
	defer s.cached(ticket{}, id, ID{}, Record{}, false)
	ctx, cancel, err := s.op(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	if _, err := s.pool.Exec(ctx, s.q.del, id[:], nil); err != nil {
		return s.fail("delete", err)
	}
	return nil
}

// storableText reports whether PostgreSQL's text can hold userID. One it
// cannot (U+0000, invalid UTF-8) names no session, since
// [Session.SetUserID] refuses it: ListUser and DeleteUser answer none, as
// a MemoryStore does, instead of failing with an encoding error that
// would count as the store's.
func storableText(userID string) bool { return checkKey(userID) == nil }

// ListUser implements [Store].
func (s *PostgresStore) ListUser(ctx context.Context, userID string) ([]Record, error) {
	ctx, cancel, err := s.op(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	if !storableText(userID) {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, s.q.list, userID)
	if err != nil {
		return nil, s.fail("list", err)
	}
	var out []Record
	for rows.Next() {
		var r Record
		var id []byte
		var uid *string
		if err := rows.Scan(&id, &uid, &r.Created, &r.Touched, &r.Expires, &r.Deadline, &r.Version); err != nil {
			rows.Close()
			return nil, s.fail("list", err)
		}
		copy(r.ID[:], id)
		if uid != nil {
			r.UserID = *uid
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail("list", err)
	}
	return out, nil
}

// DeleteUser implements [Store].
func (s *PostgresStore) DeleteUser(ctx context.Context, userID string, keep ID) (int, error) {
	defer s.forgetUser(userID)
	ctx, cancel, err := s.op(ctx)
	if err != nil {
		return 0, err
	}
	defer cancel()
	if !storableText(userID) {
		return 0, nil
	}
	tag, err := s.pool.Exec(ctx, s.q.delUser, userID, keep[:])
	if err != nil {
		return 0, s.fail("revoke", err)
	}
	return int(tag.RowsAffected()), nil
}

// Stats returns the store's counters.
func (s *PostgresStore) Stats() StoreStats {
	st := StoreStats{InitAttempts: s.attempts.Load(), Pruned: s.pruned.Load(), PruneRuns: s.pruneRuns.Load()}
	if s.cache != nil {
		st.Cache = s.cache.stats()
	}
	return st
}
