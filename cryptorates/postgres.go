package cryptorates

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dedw3n/hardening/internal/pglock"
)

// PostgresState is a SharedState in a PostgreSQL table, for a fleet of
// clients behind one upstream budget. The latest snapshot is one row of
// the table (cryptorates_snapshot unless configured, created on first use).
// Exclusive runs in a transaction that takes pg_try_advisory_xact_lock: one
// instance at a time reads the row, decides from its fetched and attempted
// times whether the upstream is due, calls it, and writes the row back; an
// instance that does not get the lock reads the row instead. A restarted
// instance starts from the row rather than from the static tier.
//
// It works behind a transaction-mode pooler (PgBouncer, Neon's "-pooler"
// endpoints, Supabase's port 6543) whatever the pool's settings: its lock is
// transaction-scoped, and its statements run in pgx's QueryExecModeExec,
// which leaves no prepared statement on the server connection.
type PostgresState struct {
	pool    *pgxpool.Pool
	name    string
	lockKey int64
	table   pglock.Table

	mu    sync.Mutex // protects ready
	ready bool       // the table exists
}

// PostgresStateConfig configures a [PostgresState]. The zero value is
// ready to use.
type PostgresStateConfig struct {
	// Name keys the row (and the advisory lock), so that clients with
	// different coin lists can share a table. The default is "default".
	Name string
	// Schema holds the table; "" (the default) means the connection's
	// search_path, usually public.
	Schema string
	// Table is the table's name. The default is "cryptorates_snapshot".
	// A table of that name with other columns is reported with
	// [ErrTableShape]: choose another name (or Schema).
	Table string
}

// ErrTableShape is matched (errors.Is) by the error of a [PostgresState]
// whose table already exists with other columns. Retrying cannot fix it:
// give the state another Table or Schema.
var ErrTableShape = pglock.ErrShape

// NewPostgresState returns a shared state in the database pool connects to.
// The pool stays the caller's to close.
func NewPostgresState(pool *pgxpool.Pool, cfg PostgresStateConfig) *PostgresState {
	if cfg.Name == "" {
		cfg.Name = "default"
	}
	if cfg.Table == "" {
		cfg.Table = "cryptorates_snapshot"
	}
	t := pglock.Table{Schema: cfg.Schema, Name: cfg.Table, Columns: []string{"name", "fetched_at", "data", "updated_at"}}
	if cfg.Schema != "" {
		t.DDL = append(t.DDL, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{cfg.Schema}.Sanitize())
	}
	t.DDL = append(t.DDL, `CREATE TABLE IF NOT EXISTS `+t.Qualified()+` (
	name       text PRIMARY KEY,
	fetched_at timestamptz,
	data       jsonb NOT NULL,
	updated_at timestamptz NOT NULL DEFAULT now()
)`)
	return &PostgresState{pool: pool, name: cfg.Name, table: t,
		lockKey: pglock.Key("cryptorates:" + cfg.Schema + "." + cfg.Table + ":" + cfg.Name)}
}

// Table returns the name of the state's table, as configured.
func (s *PostgresState) Table() string { return s.table.Name }

// ensure creates the table once, serialized across the fleet.
func (s *PostgresState) ensure(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ready {
		return nil
	}
	err := pglock.Create(ctx, s.pool, s.table)
	if errors.Is(err, pglock.ErrShape) {
		return fmt.Errorf("cryptorates: %w; the shared state needs a table of its own: set PostgresStateConfig.Table or Schema to another name", err)
	}
	if err != nil {
		return fmt.Errorf("cryptorates: create table: %w", err)
	}
	s.ready = true
	return nil
}

// Load reads the stored snapshot.
func (s *PostgresState) Load(ctx context.Context) (Snapshot, error) {
	if err := s.ensure(ctx); err != nil {
		return Snapshot{}, err
	}
	return s.read(ctx, s.pool)
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func (s *PostgresState) read(ctx context.Context, q querier) (Snapshot, error) {
	var data []byte
	err := q.QueryRow(ctx, "SELECT data FROM "+s.table.Qualified()+" WHERE name = $1", pgx.QueryExecModeExec, s.name).Scan(&data)
	if errors.Is(err, pgx.ErrNoRows) {
		return Snapshot{}, nil
	}
	if err != nil {
		return Snapshot{}, fmt.Errorf("cryptorates: read snapshot: %w", err)
	}
	snap, err := decodeSnapshot(data)
	if err != nil {
		return Snapshot{}, fmt.Errorf("cryptorates: read snapshot: %w: %v", errCorruptSnapshot, err)
	}
	return snap, nil
}

// errCorruptSnapshot marks a stored row that does not decode: Exclusive
// treats it as no snapshot, so the next fetch overwrites it.
var errCorruptSnapshot = errors.New("stored snapshot does not decode")

// Exclusive runs fn in a transaction holding the row's advisory lock, and
// writes what fn returns when it says store. Without the lock it returns
// (false, nil) at once. When writing fails after fn ran it returns (true,
// err): what fn fetched is still the caller's to use.
func (s *PostgresState) Exclusive(ctx context.Context, fn func(Snapshot) (Snapshot, bool)) (bool, error) {
	if err := s.ensure(ctx); err != nil {
		return false, err
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return false, fmt.Errorf("cryptorates: begin: %w", err)
	}
	defer func() {
		// After Commit a no-op; otherwise it releases the lock, even when ctx is done.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = tx.Rollback(rctx)
	}()
	got, err := pglock.TryXact(ctx, tx, s.lockKey)
	if err != nil {
		return false, fmt.Errorf("cryptorates: %w", err)
	}
	if !got {
		return false, nil
	}
	cur, err := s.read(ctx, tx)
	if err != nil && !errors.Is(err, errCorruptSnapshot) {
		return false, err
	}
	next, store := fn(cur)
	if !store {
		return true, nil
	}
	data, newest, err := encodeSnapshot(next)
	if err != nil {
		return true, err
	}
	// Exec mode (see PostgresState): the jsonb goes as a string, since an
	// untyped []byte parameter would be bytea.
	_, err = tx.Exec(ctx, `INSERT INTO `+s.table.Qualified()+` (name, fetched_at, data, updated_at)
		VALUES ($1, $2, $3, now())
		ON CONFLICT (name) DO UPDATE SET fetched_at = $2, data = $3, updated_at = now()`,
		pgx.QueryExecModeExec, s.name, newest, string(data))
	if err == nil {
		err = tx.Commit(ctx)
	}
	if err != nil {
		return true, fmt.Errorf("cryptorates: write snapshot: %w", err)
	}
	return true, nil
}

// snapshotDoc is a Snapshot as stored: JSON cannot key by Pair.
type snapshotDoc struct {
	AttemptedAt time.Time                      `json:"attempted_at,omitzero"`
	NotBefore   time.Time                      `json:"not_before,omitzero"`
	Prices      map[string]map[string]priceDoc `json:"prices"`
}

type priceDoc struct {
	Value     float64   `json:"v"`
	UpdatedAt time.Time `json:"u,omitzero"`
	FetchedAt time.Time `json:"f"`
}

func encodeSnapshot(s Snapshot) (data []byte, newest *time.Time, err error) {
	doc := snapshotDoc{AttemptedAt: s.AttemptedAt, NotBefore: s.NotBefore, Prices: map[string]map[string]priceDoc{}}
	for p, pr := range s.Prices {
		m := doc.Prices[p.Coin]
		if m == nil {
			m = map[string]priceDoc{}
			doc.Prices[p.Coin] = m
		}
		m[p.Currency] = priceDoc(pr)
		if newest == nil || pr.FetchedAt.After(*newest) {
			t := pr.FetchedAt
			newest = &t
		}
	}
	data, err = json.Marshal(doc)
	return data, newest, err
}

func decodeSnapshot(data []byte) (Snapshot, error) {
	var doc snapshotDoc
	if err := json.Unmarshal(data, &doc); err != nil {
		return Snapshot{}, err
	}
	s := Snapshot{AttemptedAt: doc.AttemptedAt, NotBefore: doc.NotBefore, Prices: map[Pair]Price{}}
	for coin, m := range doc.Prices {
		for cur, pr := range m {
			s.Prices[Pair{coin, cur}] = Price(pr)
		}
	}
	return s, nil
}
