package bench

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/dedw3n/hardening/dbpool"
	"github.com/dedw3n/hardening/internal/pgtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	poolQueryTimeout   = time.Second
	poolLatencyBound   = 2*poolQueryTimeout + time.Second
	poolRecoveryBound  = 5 * time.Second
	poolHealthPeriod   = 100 * time.Millisecond
	poolHealthTimeout  = 300 * time.Millisecond
	poolConnectTimeout = 500 * time.Millisecond
)

// TestFaultDBPoolToxics puts toxiproxy between a dbpool.Pool and PostgreSQL
// and runs SELECT 1 from 4 workers (each bounded by a 1 s context) while
// toxics come and go: the queries must stay bounded, the health monitor must
// see each fault (unhealthy or degraded) and report healthy again, and
// queries must succeed again within poolRecoveryBound of each removal.
func TestFaultDBPoolToxics(t *testing.T) {
	dsn := pgtest.DB(t)
	u, err := parseURL(dsn)
	require.NoError(t, err)
	proxy := newProxy(t, u.Host)
	ctx := context.Background()
	pool, err := dbpool.New(ctx, replaceHost(t, dsn, proxy.Listen), dbpool.Config{
		MaxConns:           4,
		ConnectTimeout:     poolConnectTimeout,
		HealthCheckPeriod:  poolHealthPeriod,
		HealthCheckTimeout: poolHealthTimeout,
		Logger:             discardLogger(),
	})
	require.NoError(t, err)
	defer func() {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		assert.NoError(t, pool.Close(cctx))
	}()

	var (
		mu      sync.Mutex // protects samples
		samples []sample
	)
	lctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for lctx.Err() == nil {
				s := sample{start: time.Now()}
				qctx, cancel := context.WithTimeout(lctx, poolQueryTimeout)
				var one int
				if err := pool.Pool().QueryRow(qctx, "SELECT 1").Scan(&one); err == nil && one == 1 {
					s.status = 200
				}
				cancel()
				s.end = time.Now()
				mu.Lock()
				samples = append(samples, s)
				mu.Unlock()
				time.Sleep(2 * time.Millisecond)
			}
		}()
	}
	defer func() { stop(); wg.Wait() }()

	faults := []struct {
		name string
		tx   toxic
		hold time.Duration
		seen bool // whether the monitor must report the fault (degraded or unhealthy)
	}{
		{"latency 200 ms", toxic{Name: "latency", Type: "latency", Stream: "downstream", Attributes: map[string]any{"latency": 200}}, time.Second, true},
		{"reset_peer", toxic{Name: "reset", Type: "reset_peer", Stream: "downstream", Attributes: map[string]any{"timeout": 0}}, time.Second, true},
		{"blackhole (timeout 0)", toxic{Name: "blackhole", Type: "timeout", Stream: "upstream", Attributes: map[string]any{"timeout": 0}}, 1500 * time.Millisecond, true},
		{"bandwidth 1 KB/s", toxic{Name: "bandwidth", Type: "bandwidth", Stream: "downstream", Attributes: map[string]any{"rate": 1}}, time.Second, false},
	}
	for _, f := range faults {
		from := time.Now()
		addToxic(t, proxy, f.tx)
		var seen []dbpool.State
		for deadline := time.Now().Add(f.hold); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if st := pool.Report().State; st != dbpool.StateHealthy && !slices.Contains(seen, st) {
				seen = append(seen, st)
			}
		}
		removeToxic(t, proxy, f.tx.Name)
		removed := time.Now()
		if f.seen {
			assert.NotEmpty(t, seen, "%s: the health monitor never reported the fault", f.name)
		}
		// Recovery: a query answers and the monitor reports healthy again.
		var recovery time.Duration
		for {
			qctx, cancel := context.WithTimeout(ctx, poolQueryTimeout)
			err := pool.Pool().QueryRow(qctx, "SELECT 1").Scan(new(int))
			cancel()
			h := pool.Report()
			if err == nil && h.State == dbpool.StateHealthy && h.CheckedAt.After(removed) {
				recovery = time.Since(removed)
				break
			}
			require.Less(t, time.Since(removed), poolRecoveryBound, "%s: no recovery", f.name)
			time.Sleep(10 * time.Millisecond)
		}
		to := time.Now()
		mu.Lock()
		var lat []time.Duration
		n := 0
		for _, s := range samples {
			if !s.start.Before(from) && s.start.Before(to) {
				n++
				lat = append(lat, s.end.Sub(s.start))
			}
		}
		mu.Unlock()
		slices.Sort(lat)
		var worst, p99 time.Duration
		if len(lat) > 0 {
			worst, p99 = lat[len(lat)-1], lat[len(lat)*99/100]
		}
		assert.LessOrEqual(t, worst, poolLatencyBound, "%s: slowest query", f.name)
		t.Logf("%s: %d queries, max %v, recovered (query + healthy report) in %v", f.name, n, worst, recovery)
		note := ""
		if len(seen) > 0 {
			note = fmt.Sprintf("health monitor reported %v during the fault; ", seen)
		}
		record(faultFigure{
			Test: "TestFaultDBPoolToxics", Fault: f.name, Injected: 1, Requests: n, Acked: -1,
			MaxLatency: worst, P99: p99, Bound: poolLatencyBound, Recovery: recovery, RecBound: poolRecoveryBound,
			Note: note + "SELECT 1 from 4 workers, each bounded by a 1 s context; recovery = a query answers and the monitor (100 ms period) reports healthy.",
		})
		time.Sleep(200 * time.Millisecond)
	}
}
