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
