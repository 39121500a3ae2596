package metrics_test

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/dedw3n/hardening/examples/marketplace/metrics"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type inner struct{ LatencyP99 time.Duration }

type stats struct {
	Writes       uint64
	EmptyAcquire int
	Healthy      bool
	State        string
	LastSuccess  time.Time
	ByTier       map[string]uint64
	Health       inner
	secret       string //lint:ignore U1000 proves unexported fields are skipped
}

func TestCollectorExportsEveryNumericField(t *testing.T) {
	s := stats{
		Writes: 7, EmptyAcquire: 3, Healthy: true, State: "open",
		LastSuccess: time.Unix(1700000000, 0),
		ByTier:      map[string]uint64{"fresh": 5, "static": 1},
		Health:      inner{LatencyP99: 1500 * time.Millisecond},
		secret:      "hunter2",
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(metrics.New("sessions", func() any { return s }, "writes"))

	want := `
# HELP hardening_sessions_by_tier hardening by tier
# TYPE hardening_sessions_by_tier gauge
hardening_sessions_by_tier{key="fresh"} 5
hardening_sessions_by_tier{key="static"} 1
# HELP hardening_sessions_empty_acquire hardening empty acquire
# TYPE hardening_sessions_empty_acquire gauge
hardening_sessions_empty_acquire 3
# HELP hardening_sessions_health_latency_p99_seconds hardening health latency p99 seconds
# TYPE hardening_sessions_health_latency_p99_seconds gauge
hardening_sessions_health_latency_p99_seconds 1.5
# HELP hardening_sessions_healthy hardening healthy
# TYPE hardening_sessions_healthy gauge
hardening_sessions_healthy 1
# HELP hardening_sessions_last_success_timestamp_seconds hardening last success timestamp seconds
# TYPE hardening_sessions_last_success_timestamp_seconds gauge
hardening_sessions_last_success_timestamp_seconds 1.7e+09
# HELP hardening_sessions_state_info hardening state info
# TYPE hardening_sessions_state_info gauge
hardening_sessions_state_info{value="open"} 1
# HELP hardening_sessions_writes_total hardening writes
# TYPE hardening_sessions_writes_total counter
hardening_sessions_writes_total 7
`
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(want)))
	n, err := testutil.GatherAndCount(reg)
	require.NoError(t, err)
	require.Equal(t, 8, n, "one series per exported field or map key, none for unexported fields")
}
