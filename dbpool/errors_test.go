package dbpool

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dedw3n/hardening/internal/pgtest"
)

// TestOnePrefixPerError walks the package's exported error paths, each
// driven into failure for real: every error says "dbpool:" once, at its
// start.
func TestOnePrefixPerError(t *testing.T) {
	srv := pgtest.NewServer(t, pgtest.Options{})
	dsn := srv.CreateDB(t)
	var errs []error
	check := func(err error) error {
		t.Helper()
		require.Error(t, err)
		errs = append(errs, err)
		return err
	}
	for _, c := range []struct {
		dsn string
		cfg Config
	}{
		{"postgres://app:pw@host:notaport/db", Config{}},
		{dsn, Config{MaxConns: -1}},
		{dsn, Config{MaxConns: 2, MinConns: 3}},
		{dsn + "&pool_min_idle_conns=9", Config{MaxConns: 2}},
		{dsn, Config{ConnectTimeout: -time.Second}},
		{dsn, Config{HealthCheckPeriod: -time.Second}},
		{dsn, Config{HealthCheckTimeout: -time.Second}},
	} {
		_, err := New(t.Context(), c.dsn, c.cfg)
		check(err)
		_, err = Start(c.dsn, c.cfg)
		check(err)
	}
	// No such database: refused for good.
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	u.Path = "/no_such_database"
	_, err = New(t.Context(), u.String(), Config{})
	check(err)

	// A connection held past Close's deadline.
	p := mustNew(t, dsn, fastConfig(nil))
	conn, err := p.Pool().Acquire(t.Context())
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, check(p.Close(ctx)), context.DeadlineExceeded)
	conn.Release()

	// The database stopped: the connect gives up, by its budget and by
	// the caller's context.
	require.NoError(t, srv.Stop())
	_, err = New(t.Context(), dsn, Config{ConnectBudget: -1, ConnectTimeout: time.Second})
	check(err)
	ctx, cancel = context.WithCancel(t.Context())
	cancel()
	_, err = New(ctx, dsn, Config{})
	require.ErrorIs(t, check(err), context.Canceled)

	for _, err := range errs {
		t.Log(err)
		requireOnePrefix(t, err, "dbpool: ")
	}
}

// requireOnePrefix asserts that each line of err starts with prefix and
// holds it once.
func requireOnePrefix(t *testing.T, err error, prefix string) {
	t.Helper()
	for _, line := range strings.Split(err.Error(), "\n") {
		require.True(t, strings.HasPrefix(line, prefix), line)
		require.Equal(t, 1, strings.Count(line, strings.TrimSpace(prefix)), line)
	}
}
