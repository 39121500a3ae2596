package dbpool

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dedw3n/hardening/internal/pgtest"
)

func TestPoolerExecMode(t *testing.T) {
	const neonPooled = "ep-cool-darkness-123456-pooler.us-east-2.aws.neon.tech"
	const neonDirect = "ep-cool-darkness-123456.us-east-2.aws.neon.tech"
	tests := []struct {
		name   string
		dsn    string
		pooler Pooler
		want   pgx.QueryExecMode
	}{
		{"Neon pooled host detected", "postgres://app@" + neonPooled + "/shop", PoolerAuto, pgx.QueryExecModeExec},
		{"pooled host in keyword/value form", "host=" + strings.ToUpper(neonPooled) + " user=app", PoolerAuto, pgx.QueryExecModeExec},
		{"pooled host among several", "postgres://app@db1.internal," + neonPooled + "/shop", PoolerAuto, pgx.QueryExecModeExec},
		{"direct host keeps the statement cache", "postgres://app@" + neonDirect + "/shop", PoolerAuto, pgx.QueryExecModeCacheStatement},
		{"explicit transaction pooler", "postgres://app@pgbouncer.internal:6432/shop", PoolerTransaction, pgx.QueryExecModeExec},
		{"explicit none overrides detection", "postgres://app@" + neonPooled + "/shop", PoolerNone, pgx.QueryExecModeCacheStatement},
		{"Supabase transaction pooler port", "postgres://app.ref@aws-0-eu-west-1.pooler.supabase.com:6543/postgres", PoolerAuto, pgx.QueryExecModeExec},
		{"Supabase session pooler port is direct", "postgres://app.ref@aws-0-eu-west-1.pooler.supabase.com:5432/postgres", PoolerAuto, pgx.QueryExecModeCacheStatement},
		{"Supabase database host on 6543", "postgres://postgres@db.abcdefgh.supabase.co:6543/postgres", PoolerAuto, pgx.QueryExecModeExec},
		{"DSN exec mode wins", "postgres://app@" + neonPooled + "/shop?default_query_exec_mode=simple_protocol", PoolerAuto, pgx.QueryExecModeSimpleProtocol},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := resolve(tt.dsn, Config{Pooler: tt.pooler})
			require.NoError(t, err)
			assert.Equal(t, tt.want, s.execMode)
			assert.Equal(t, tt.want, s.pool.ConnConfig.DefaultQueryExecMode)
		})
	}
}

// A pooler host name that resolves to the test server: the pool detects
// it, logs the mode, and really runs without named prepared statements.
func TestPoolerDetectedOnRealConnection(t *testing.T) {
	s := pgtest.Shared(t)
	_, port, err := net.SplitHostPort(s.Addr())
	require.NoError(t, err)
	dsn := "postgres://postgres@ep-test-123-pooler.example.invalid:" + port + "/postgres?sslmode=disable"

	log, logs := testLogger()
	cfg := fastConfig(log)
	cfg.lookup = func(ctx context.Context, host string) ([]string, error) { return []string{"127.0.0.1"}, nil }
	p := mustNew(t, dsn, cfg)
	ctx := context.Background()

	assert.Equal(t, pgx.QueryExecModeExec, p.Pool().Config().ConnConfig.DefaultQueryExecMode)
	chosen := logs.Lines(`"msg":"query exec mode chosen for a transaction pooler"`)
	require.Len(t, chosen, 1)
	assert.Contains(t, chosen[0], `"exec_mode":"exec"`)
	assert.Contains(t, chosen[0], "ep-test-123-pooler.example.invalid")
	assert.NotEmpty(t, logs.Lines(`"msg":"connected"`, `"exec_mode":"exec"`))

	conn, err := p.Pool().Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	var sum, prepared int
	for i := range 3 {
		require.NoError(t, conn.QueryRow(ctx, "SELECT $1::int + $2::int", i, 1).Scan(&sum))
		assert.Equal(t, i+1, sum)
	}
	require.NoError(t, conn.QueryRow(ctx, "SELECT count(*) FROM pg_prepared_statements").Scan(&prepared))
	assert.Equal(t, 0, prepared, "no named prepared statement left on the server connection")

	// Control: a direct connection does leave prepared statements, which a
	// transaction pooler would lose or hand to another client.
	direct := mustNew(t, s.URL(), fastConfig(log))
	dconn, err := direct.Pool().Acquire(ctx)
	require.NoError(t, err)
	defer dconn.Release()
	require.NoError(t, dconn.QueryRow(ctx, "SELECT $1::int + $2::int", 1, 1).Scan(&sum))
	require.NoError(t, dconn.QueryRow(ctx, "SELECT count(*) FROM pg_prepared_statements").Scan(&prepared))
	assert.Positive(t, prepared)
}
