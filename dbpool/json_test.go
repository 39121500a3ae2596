package dbpool

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dedw3n/hardening/internal/pgtest"
)

func TestReportJSONForm(t *testing.T) {
	at := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	r := Report{State: StateDegraded, CheckedAt: at, Latency: 1500 * time.Millisecond, LastSuccess: at,
		ConsecutiveFailures: 0, LastError: "timeout", Checks: 41, Failures: 2}
	data, err := json.Marshal(r)
	require.NoError(t, err)
	require.JSONEq(t, `{"state":"degraded","checked_at":"2026-01-01T12:00:00Z","latency_seconds":1.5,
		"last_success":"2026-01-01T12:00:00Z","consecutive_failures":0,"last_error":"timeout",
		"checks":41,"failures":2,"acquires_waiting":false}`, string(data))

	data, err = json.Marshal(Report{State: StateConnecting})
	require.NoError(t, err)
	require.JSONEq(t, `{"state":"connecting","latency_seconds":0,"consecutive_failures":0,"checks":0,
		"failures":0,"acquires_waiting":false}`, string(data), "zero times are left out")
}

func TestStatsJSON(t *testing.T) {
	p := mustNew(t, pgtest.DB(t), fastConfig(nil))
	conn, err := p.Pool().Acquire(t.Context())
	require.NoError(t, err)
	conn.Release()
	st := p.Stats()
	require.Positive(t, st.AcquireDuration)
	data, err := json.Marshal(st)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(data, &m))
	for _, k := range []string{"max_conns", "total_conns", "idle_conns", "acquired_conns", "constructing_conns",
		"acquire_count", "canceled_acquire_count", "empty_acquire_count", "new_conns_count",
		"max_lifetime_destroy_count", "max_idle_destroy_count", "acquire_seconds", "empty_acquire_wait_seconds", "health"} {
		require.Contains(t, m, k, "%s", data)
	}
	require.Len(t, m, 14, "%s", data)
	require.Equal(t, st.AcquireDuration.Seconds(), m["acquire_seconds"])
	require.Equal(t, float64(st.MaxConns), m["max_conns"])
	health := m["health"].(map[string]any)
	require.Equal(t, st.Health.State.String(), health["state"])
	require.NotEqual(t, "unknown", health["state"])
	require.Equal(t, st.Health.Latency.Seconds(), health["latency_seconds"])
}
