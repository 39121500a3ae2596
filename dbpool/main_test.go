package dbpool

import (
	"context"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dedw3n/hardening/internal/pgtest"
	"github.com/dedw3n/hardening/internal/testlog"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// testLogger logs everything, as JSON, into a buffer.
func testLogger() (*slog.Logger, *testlog.Buffer) {
	b := &testlog.Buffer{}
	return b.JSON(), b
}

// fastConfig is a Config with test-sized periods.
func fastConfig(log *slog.Logger) Config {
	return Config{
		HealthCheckPeriod:  100 * time.Millisecond,
		HealthCheckTimeout: 500 * time.Millisecond,
		ConnectTimeout:     2 * time.Second,
		ConnectBudget:      10 * time.Second,
		Logger:             log,
	}
}

// forTargets runs test once per way of reaching PostgreSQL: directly, and
// through PgBouncer in transaction mode.
func forTargets(t *testing.T, test func(t *testing.T, target pgtest.Target)) {
	for _, target := range pgtest.Targets() {
		t.Run(target.Name, func(t *testing.T) { test(t, target) })
	}
}

// targetConfig is fastConfig told whether target is behind the pooler.
func targetConfig(target pgtest.Target, log *slog.Logger) Config {
	cfg := fastConfig(log)
	if target.Pooled {
		cfg.Pooler = PoolerTransaction
	}
	return cfg
}

// mustNew opens a pool and closes it when the test ends.
func mustNew(t *testing.T, dsn string, cfg Config) *Pool {
	t.Helper()
	p, err := New(context.Background(), dsn, cfg)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, p.Close(ctx))
	})
	return p
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

// waitFor polls cond until it holds, failing the test after limit. Limits
// are generous: they bound a hung test, they do not measure speed.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	require.Eventually(t, cond, limit, 10*time.Millisecond, "waiting for: %s", what)
}
