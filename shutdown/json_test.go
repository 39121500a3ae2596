package shutdown

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestReportJSON(t *testing.T) {
	r := Report{Trigger: "signal terminated", DrainDelay: 5 * time.Second, Duration: 5820 * time.Millisecond,
		Hooks: []HookResult{
			{Name: "http server :8080", Share: 6 * time.Second, Duration: 800 * time.Millisecond},
			{Name: "db", Share: 2 * time.Second, Duration: 2 * time.Second, TimedOut: true,
				Err: errors.New("close postgres://app:hunter2@db/shop: context deadline exceeded")},
		}}
	data, err := json.Marshal(r)
	require.NoError(t, err)
	require.JSONEq(t, `{"trigger":"signal terminated","drain_delay_seconds":5,"duration_seconds":5.82,"hooks":[
		{"name":"http server :8080","share_seconds":6,"duration_seconds":0.8,"timed_out":false},
		{"name":"db","share_seconds":2,"duration_seconds":2,"timed_out":true,
		 "error":"close postgres://[redacted] context deadline exceeded"}]}`, string(data))
	require.NotContains(t, string(data), "hunter2")

	data, err = json.Marshal(Report{})
	require.NoError(t, err)
	require.JSONEq(t, `{"trigger":"","drain_delay_seconds":0,"duration_seconds":0,"hooks":[]}`, string(data))
}

func TestStatsJSON(t *testing.T) {
	clk := newClock()
	c := New(Config{Logger: discard, Now: clk.Now})
	c.Register("flush", func(context.Context) error { clk.Advance(1500 * time.Millisecond); return errors.New("disk full") })
	data, err := json.Marshal(c.Stats())
	require.NoError(t, err)
	require.JSONEq(t, `{"draining":false,"shutdowns":0,"hooks":1,"hook_timeouts":0,"hook_errors":0,"checks":0,
		"probes":0,"probe_failures":0,"check_runs":0,"check_cache_hits":0}`, string(data), "no report before the sequence")

	_, err = c.Shutdown(t.Context())
	require.Error(t, err)
	data, err = json.Marshal(c.Stats())
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(data, &m))
	require.Equal(t, true, m["draining"])
	require.Equal(t, 1.0, m["hook_errors"])
	report := m["last_report"].(map[string]any)
	require.Equal(t, "call", report["trigger"])
	hook := report["hooks"].([]any)[0].(map[string]any)
	require.Equal(t, "flush", hook["name"])
	require.Equal(t, 1.5, hook["duration_seconds"])
	require.Equal(t, "disk full", hook["error"])
}
