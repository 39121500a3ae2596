package pgtest_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/dedw3n/hardening/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func query(t *testing.T, url string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	var db string
	err = conn.QueryRow(ctx, "SELECT current_database()").Scan(&db)
	return db, err
}

func TestDBGivesEachTestItsOwnDatabase(t *testing.T) {
	a, b := pgtest.DB(t), pgtest.DB(t)
	require.NotEqual(t, a, b)
	dbA, err := query(t, a)
	require.NoError(t, err)
	dbB, err := query(t, b)
	require.NoError(t, err)
	require.NotEqual(t, dbA, dbB)
}

func TestServerStopStartRestart(t *testing.T) {
	s := pgtest.NewServer(t, pgtest.Options{})
	url := s.CreateDB(t)
	_, err := query(t, url)
	require.NoError(t, err)

	require.NoError(t, s.Stop())
	_, err = query(t, url)
	require.Error(t, err, "a stopped server must refuse connections")

	require.NoError(t, s.Start())
	_, err = query(t, url)
	require.NoError(t, err, "the database survives a stop and start")

	require.NoError(t, s.Kill())
	require.NoError(t, s.Restart())
	_, err = query(t, url)
	require.NoError(t, err, "the database survives a crash and restart")
}

func TestServerStartedLate(t *testing.T) {
	s := pgtest.NewServer(t, pgtest.Options{Stopped: true})
	_, err := query(t, s.URL())
	require.Error(t, err)
	require.NoError(t, s.Start())
	db, err := query(t, s.URL())
	require.NoError(t, err)
	require.Equal(t, "postgres", db)
}

func backendPID(t *testing.T, conn *pgx.Conn) uint32 {
	t.Helper()
	var pid uint32
	// Simple protocol: no prepared statement, which the pooler would lose.
	require.NoError(t, conn.QueryRow(t.Context(), "SELECT pg_backend_pid()", pgx.QueryExecModeSimpleProtocol).Scan(&pid))
	return pid
}

func TestPooledDBIsBehindATransactionPooler(t *testing.T) {
	url := pgtest.PooledDB(t)
	db, err := query(t, url+"&default_query_exec_mode=simple_protocol")
	require.NoError(t, err)
	require.Contains(t, url, "/"+db+"?", "the bouncer routes to the database of the same name")

	// In transaction mode a server connection goes back to the pool after
	// each transaction: two clients connected at once run their statements
	// on the same backend, one after the other. In session mode each
	// client would keep its own.
	a, err := pgx.Connect(t.Context(), url)
	require.NoError(t, err)
	defer a.Close(context.Background())
	b, err := pgx.Connect(t.Context(), url)
	require.NoError(t, err)
	defer b.Close(context.Background())
	pidA := backendPID(t, a)
	require.Equal(t, pidA, backendPID(t, b), "the second client reuses the first one's backend")
}

func TestBouncerRestart(t *testing.T) {
	s := pgtest.NewServer(t, pgtest.Options{})
	bn := pgtest.NewBouncer(t, s)
	url := bn.Via(s.CreateDB(t)) + "&default_query_exec_mode=simple_protocol"
	require.Contains(t, url, bn.Addr())
	_, err := query(t, url)
	require.NoError(t, err)

	require.NoError(t, bn.Stop())
	_, err = query(t, url)
	require.Error(t, err, "a stopped bouncer must refuse connections")

	require.NoError(t, bn.Start())
	_, err = query(t, url)
	require.NoError(t, err)

	// The bouncer reconnects to a server that restarted behind it.
	require.NoError(t, s.Restart())
	require.NoError(t, bn.Restart())
	_, err = query(t, url)
	require.NoError(t, err)
}
