package pglock

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dedw3n/hardening/internal/pgtest"
	"github.com/dedw3n/hardening/internal/pooler"
)

// open returns a pool on the target, with the exec mode a transaction
// pooler needs when the target is one.
func open(t *testing.T, target pgtest.Target) (*pgxpool.Pool, string) {
	t.Helper()
	url := target.DB(t)
	pc, err := pgxpool.ParseConfig(url)
	require.NoError(t, err)
	if target.Pooled {
		pc.ConnConfig.DefaultQueryExecMode = pooler.ExecMode
	}
	pool, err := pgxpool.NewWithConfig(t.Context(), pc)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return pool, url
}

var testTable = Table{
	Name:    "things",
	Columns: []string{"id", "body"},
	DDL: []string{
		`CREATE TABLE IF NOT EXISTS things (id bigint PRIMARY KEY, body text)`,
		`CREATE INDEX IF NOT EXISTS things_body_idx ON things (body)`,
	},
}

func TestCreate(t *testing.T) {
	for _, target := range pgtest.Targets() {
		t.Run(target.Name, func(t *testing.T) {
			pool, _ := open(t, target)
			ctx := t.Context()
			// Instances starting together all succeed.
			var wg sync.WaitGroup
			errs := make(chan error, 8)
			for range 8 {
				wg.Go(func() { errs <- Create(ctx, pool, testTable) })
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				require.NoError(t, err)
			}
			_, err := pool.Exec(ctx, "INSERT INTO things VALUES (1, 'x')")
			require.NoError(t, err)
			assertNoAdvisoryLocks(t, pool)
		})
	}
}

func TestCreateFindsAnotherLibrarysTable(t *testing.T) {
	tests := []struct {
		name, ddl, table, looks string
		found                   []string
	}{
		{"scs", pgtest.SCSTable, "sessions", "scs", []string{"token", "data", "expiry"}},
		{"connect-pg-simple", pgtest.ConnectPgSimpleTable, "session", "connect-pg-simple", []string{"sid", "sess", "expire"}},
		{"unknown", "CREATE TABLE sessions (a int)", "sessions", "", []string{"a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pool, _ := open(t, pgtest.Targets()[0])
			_, err := pool.Exec(t.Context(), tt.ddl, pgx.QueryExecModeSimpleProtocol)
			require.NoError(t, err)
			tab := Table{Name: tt.table, Columns: []string{"id", "data"}, DDL: []string{"CREATE INDEX IF NOT EXISTS x ON " + pgx.Identifier{tt.table}.Sanitize() + " (id)"}}
			err = Create(t.Context(), pool, tab)
			require.ErrorIs(t, err, ErrShape)
			var se *ShapeError
			require.True(t, errors.As(err, &se))
			assert.Equal(t, tt.found, se.Found)
			assert.Contains(t, se.Missing, "id")
			if tt.looks != "" {
				assert.Contains(t, se.Looks, tt.looks)
				assert.Contains(t, err.Error(), tt.looks)
			} else {
				assert.Empty(t, se.Looks)
			}
			assert.Contains(t, err.Error(), pgx.Identifier{tt.table}.Sanitize())
		})
	}
}

func TestTryXactIsReleasedWithItsTransaction(t *testing.T) {
	for _, target := range pgtest.Targets() {
		t.Run(target.Name, func(t *testing.T) {
			pool, _ := open(t, target)
			ctx := t.Context()
			key := Key("test")
			tx1, err := pool.Begin(ctx)
			require.NoError(t, err)
			got, err := TryXact(ctx, tx1, key)
			require.NoError(t, err)
			require.True(t, got)

			tx2, err := pool.Begin(ctx)
			require.NoError(t, err)
			got, err = TryXact(ctx, tx2, key)
			require.NoError(t, err)
			assert.False(t, got, "held by the other transaction")
			require.NoError(t, tx2.Rollback(ctx))

			require.NoError(t, tx1.Commit(ctx))
			err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
				got, err := TryXact(ctx, tx, key)
				assert.True(t, got, "free once its transaction committed")
				return err
			})
			require.NoError(t, err)
			assertNoAdvisoryLocks(t, pool)
		})
	}
}

func assertNoAdvisoryLocks(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	var n int
	require.NoError(t, pool.QueryRow(context.Background(),
		"SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'").Scan(&n))
	assert.Zero(t, n, "advisory locks left held")
}
