package metrics_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/dedw3n/hardening/dbpool"
	"github.com/dedw3n/hardening/examples/marketplace/metrics"
	"github.com/dedw3n/hardening/internal/pgtest"
)

// TestPoolTracerOnARealPool: through dbpool's Configure hook, a caller
// waiting for the only connection shows in acquires_in_progress, and each
// acquire in the histogram.
func TestPoolTracerOnARealPool(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	ctx := context.Background()
	p, err := dbpool.New(ctx, pgtest.DB(t), dbpool.Config{MaxConns: 1, MinConns: 0, Configure: metrics.PoolTracer(reg)})
	require.NoError(t, err)
	defer func() { require.NoError(t, p.Close(ctx)) }()

	held, err := p.Pool().Acquire(ctx)
	require.NoError(t, err)
	got := make(chan error, 1)
	go func() {
		c, err := p.Pool().Acquire(ctx)
		if err == nil {
			c.Release()
		}
		got <- err
	}()
	require.Eventually(t, func() bool {
		return strings.Contains(scrape(t, reg), "hardening_dbpool_acquires_in_progress 1\n")
	}, 10*time.Second, 10*time.Millisecond, "the waiting caller is counted")
	held.Release()
	require.NoError(t, <-got)

	text := scrape(t, reg)
	require.Contains(t, text, "hardening_dbpool_acquires_in_progress 0\n")
	require.Regexp(t, `hardening_dbpool_acquire_duration_seconds_count ([2-9]|[1-9][0-9]+)\n`, text,
		"the held acquire and the waiting one (and any of dbpool's own)")
}
