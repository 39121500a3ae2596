package dbpool

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dedw3n/hardening/internal/pgtest"
)

// Start returns at once with the database down, says "connecting" until it
// comes up, and then hands over to the health monitor.
func TestStartConnectsInTheBackground(t *testing.T) {
	srv := pgtest.NewServer(t, pgtest.Options{Stopped: true})
	log, logs := testLogger()
	cfg := fastConfig(log)
	cfg.ConnectTimeout = 500 * time.Millisecond
	p, err := Start(srv.URL(), cfg)
	require.NoError(t, err)
	defer p.Close(context.Background())
	require.NotNil(t, p.Pool(), "the pgxpool exists before it connects")

	waitFor(t, 10*time.Second, "a failed attempt reported", func() bool { return p.Health(t.Context()).Failures > 0 })
	h := p.Health(t.Context())
	assert.Equal(t, StateConnecting, h.State)
	assert.False(t, h.Ready())
	assert.NotEmpty(t, h.LastError)

	require.NoError(t, srv.Start())
	waitFor(t, 20*time.Second, "connected", func() bool { return p.Health(t.Context()).Ready() })
	var one int
	require.NoError(t, p.Pool().QueryRow(t.Context(), "SELECT 1").Scan(&one))
	assert.NotEmpty(t, logs.Lines(`"msg":"connected"`))
	waitFor(t, 10*time.Second, "the monitor checks", func() bool { return p.Health(t.Context()).Checks > h.Checks+1 })
}

// Close while Start is still connecting stops the background attempts.
func TestStartClosedWhileConnecting(t *testing.T) {
	p, err := Start("postgres://u@"+closedPort(t)+"/db?sslmode=disable", fastConfig(nil))
	require.NoError(t, err)
	waitFor(t, 10*time.Second, "a failed attempt", func() bool { return p.Health(t.Context()).Failures > 0 })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, p.Close(ctx))
	assert.Equal(t, StateConnecting, p.Health(ctx).State)
}

// The pool works through PgBouncer in transaction mode with Pooler set:
// concurrent statements with parameters, in and out of transactions, and
// no error.
func TestPoolThroughPgBouncer(t *testing.T) {
	for _, target := range pgtest.Targets() {
		t.Run(target.Name, func(t *testing.T) {
			cfg := fastConfig(nil)
			if target.Pooled {
				cfg.Pooler = PoolerTransaction
			}
			p := mustNew(t, target.DB(t), cfg)
			ctx := t.Context()
			_, err := p.Pool().Exec(ctx, "CREATE TABLE t (id int PRIMARY KEY, v text)")
			require.NoError(t, err)
			var wg sync.WaitGroup
			errs := make(chan error, 400)
			for w := range 8 {
				wg.Go(func() {
					for i := range 25 {
						id := w*100 + i
						_, err := p.Pool().Exec(ctx, "INSERT INTO t VALUES ($1, $2)", id, "x")
						errs <- err
						errs <- pgx.BeginFunc(ctx, p.Pool(), func(tx pgx.Tx) error {
							_, err := tx.Exec(ctx, "UPDATE t SET v = $2 WHERE id = $1", id, "y")
							return err
						})
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				require.NoError(t, err)
			}
			var n int
			require.NoError(t, p.Pool().QueryRow(ctx, "SELECT count(*) FROM t WHERE v = $1", "y").Scan(&n))
			assert.Equal(t, 200, n)
			assert.True(t, p.Health(ctx).Ready())
		})
	}
}
