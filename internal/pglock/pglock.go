// Package pglock holds the PostgreSQL advisory locks and the locked table
// creation that sessionstore and cryptorates share.
//
// Its statements run in pgx's QueryExecModeExec whatever the pool's
// default, so they leave no prepared statement behind a pooler either.
//
// Every lock here is transaction-scoped (pg_advisory_xact_lock,
// pg_try_advisory_xact_lock): it is taken inside the transaction that does
// the work and released by its commit or rollback, on the server
// connection that ran it. That is what works through a transaction-mode
// pooler, where a session-level lock (pg_advisory_lock) is taken on one
// server connection, may never be released, and then stays held for
// whichever client gets that connection next.
package pglock

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Key derives a 64-bit advisory lock key from a name (FNV-1a), so that
// locks are named after what they protect.
func Key(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return int64(h.Sum64())
}

// TryXact tries to take the lock key for the rest of tx, and reports
// whether it got it. It never waits; the lock is released when tx ends.
func TryXact(ctx context.Context, tx pgx.Tx, key int64) (bool, error) {
	var got bool
	if err := tx.QueryRow(ctx, "SELECT pg_try_advisory_xact_lock($1)", pgx.QueryExecModeExec, key).Scan(&got); err != nil {
		return false, fmt.Errorf("advisory lock: %w", err)
	}
	return got, nil
}

// Xact takes the lock key for the rest of tx, waiting for it.
func Xact(ctx context.Context, tx pgx.Tx, key int64) error {
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", pgx.QueryExecModeExec, key); err != nil {
		return fmt.Errorf("advisory lock: %w", err)
	}
	return nil
}

// Table is a table a package creates and relies on.
type Table struct {
	Schema string // "" means the connection's search_path
	Name   string
	// Columns are the columns the package reads and writes: an existing
	// table without all of them is another program's.
	Columns []string
	// DDL creates the table and what goes with it; each statement must be
	// idempotent (IF NOT EXISTS), since every instance runs them.
	DDL []string
}

// Qualified returns the table's name as SQL, quoted.
func (t Table) Qualified() string {
	if t.Schema != "" {
		return pgx.Identifier{t.Schema, t.Name}.Sanitize()
	}
	return pgx.Identifier{t.Name}.Sanitize()
}

// Beginner starts a transaction: a *pgxpool.Pool, a *pgx.Conn.
type Beginner interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// Create checks and creates t in one transaction that holds an advisory
// lock named after the table, so that instances starting together do not
// race on CREATE … IF NOT EXISTS (which can fail with a unique violation
// when two run at once). When the table already exists without t's
// columns, it returns a *ShapeError and changes nothing: that is not a
// fault that retrying fixes.
func Create(ctx context.Context, db Beginner, t Table) error {
	return pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		if err := Xact(ctx, tx, Key("pglock create "+t.Schema+"."+t.Name)); err != nil {
			return err
		}
		if err := checkShape(ctx, tx, t); err != nil {
			return err
		}
		for _, q := range t.DDL {
			if _, err := tx.Exec(ctx, q); err != nil {
				return err
			}
		}
		return nil
	})
}

// checkShape returns a *ShapeError when t exists without all its columns.
func checkShape(ctx context.Context, tx pgx.Tx, t Table) error {
	rows, err := tx.Query(ctx, `SELECT attname::text FROM pg_attribute
WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped ORDER BY attnum`, pgx.QueryExecModeExec, t.Qualified())
	if err != nil {
		return fmt.Errorf("read the columns of %s: %w", t.Qualified(), err)
	}
	found, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("read the columns of %s: %w", t.Qualified(), err)
	}
	if len(found) == 0 { // no such table yet
		return nil
	}
	var missing []string
	for _, c := range t.Columns {
		if !slices.Contains(found, c) {
			missing = append(missing, c)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return &ShapeError{Table: t.Qualified(), Found: found, Missing: missing, Looks: recognise(found)}
}

// ErrShape is matched (errors.Is) by every *ShapeError.
var ErrShape = errors.New("table of another shape")

// ShapeError says that a table exists with other columns than expected:
// most often another library's table of the same name.
type ShapeError struct {
	Table   string   // quoted, as in SQL
	Found   []string // its columns, in order
	Missing []string // the expected columns it lacks
	Looks   string   // the library whose table it looks like, or ""
}

func (e *ShapeError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "table %s already exists with columns (%s)", e.Table, strings.Join(e.Found, ", "))
	if e.Looks != "" {
		fmt.Fprintf(&b, ", which look like %s", e.Looks)
	}
	fmt.Fprintf(&b, "; it lacks %s", strings.Join(e.Missing, ", "))
	return b.String()
}

// Is makes errors.Is(err, ErrShape) true.
func (e *ShapeError) Is(target error) bool { return target == ErrShape }

// known lists tables other libraries create, by the columns that identify
// them, so that the error can say whose table is in the way.
var known = []struct {
	columns []string
	name    string
}{
	{[]string{"token", "data", "expiry"}, "the session table of scs (alexedwards/scs postgresstore)"},
	{[]string{"sid", "sess", "expire"}, "the session table of connect-pg-simple (Node.js express-session)"},
	{[]string{"session_id", "data", "created_at", "updated_at"}, "the session table of Rails' activerecord-session_store"},
	{[]string{"payload", "last_activity"}, "the session table of Laravel"},
	{[]string{"key", "data", "expires_on"}, "the session table of pgstore (gorilla/sessions)"},
	{[]string{"session_key", "session_data", "expire_date"}, "the session table of Django"},
}

func recognise(found []string) string {
	for _, k := range known {
		all := true
		for _, c := range k.columns {
			all = all && slices.Contains(found, c)
		}
		if all {
			return k.name
		}
	}
	return ""
}
