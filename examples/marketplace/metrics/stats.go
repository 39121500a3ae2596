package metrics

import (
	"context"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dedw3n/hardening/cdncache"
	"github.com/dedw3n/hardening/cryptorates"
	"github.com/dedw3n/hardening/dbpool"
	"github.com/dedw3n/hardening/sessionstore"
	"github.com/dedw3n/hardening/shutdown"
)

func unix(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixNano()) / 1e9
}

// DBPool exports a dbpool.Pool's Stats (hardening_dbpool_*).
func DBPool(stats func() dbpool.Stats) prometheus.Collector {
	const ns = "hardening_dbpool_"
	var (
		conns     = gauge(ns+"connections", "Open connections by state.", nil, "state")
		maxConns  = gauge(ns+"max_connections", "Configured maximum of open connections.", nil)
		acquires  = counter(ns+"acquires_total", "Successful acquires.", nil)
		canceled  = counter(ns+"acquires_canceled_total", "Acquires given up by their context.", nil)
		waited    = counter(ns+"acquires_waited_total", "Acquires that found no idle connection and waited.", nil)
		waitSec   = counter(ns+"acquire_wait_seconds_total", "Time spent waiting in the acquires that waited.", nil)
		opened    = counter(ns+"connections_opened_total", "Connections opened.", nil)
		closed    = counter(ns+"connections_closed_total", "Connections closed by the pool, by reason.", nil, "reason")
		state     = gauge(ns+"health_state", "1 for the health monitor's current state, 0 for the others.", nil, "state")
		latency   = gauge(ns+"health_check_latency_seconds", "Round trip of the last successful health check.", nil)
		checks    = counter(ns+"health_checks_total", "Health checks run.", nil)
		failures  = counter(ns+"health_check_failures_total", "Health checks that failed.", nil)
		lastOK    = gauge(ns+"health_last_success_timestamp_seconds", "When a health check last succeeded (0 for never).", nil)
		consecutv = gauge(ns+"health_consecutive_failures", "Failed health checks since the last success.", nil)
	)
	states := []dbpool.State{dbpool.StateUnknown, dbpool.StateHealthy, dbpool.StateDegraded, dbpool.StateUnhealthy, dbpool.StateIdle, dbpool.StateConnecting}
	return collector(func(ch chan<- prometheus.Metric) {
		s := stats()
		conns.send(ch, float64(s.IdleConns), "idle")
		conns.send(ch, float64(s.AcquiredConns), "acquired")
		conns.send(ch, float64(s.ConstructingConns), "constructing")
		maxConns.send(ch, float64(s.MaxConns))
		acquires.send(ch, float64(s.AcquireCount))
		canceled.send(ch, float64(s.CanceledAcquireCount))
		waited.send(ch, float64(s.EmptyAcquireCount))
		waitSec.send(ch, s.EmptyAcquireWaitTime.Seconds())
		opened.send(ch, float64(s.NewConnsCount))
		closed.send(ch, float64(s.MaxLifetimeDestroyCount), "max_lifetime")
		closed.send(ch, float64(s.MaxIdleDestroyCount), "max_idle")
		for _, st := range states {
			state.send(ch, bit(s.Health.State == st), st.String())
		}
		latency.send(ch, s.Health.Latency.Seconds())
		checks.send(ch, float64(s.Health.Checks))
		failures.send(ch, float64(s.Health.Failures))
		lastOK.send(ch, unix(s.Health.LastSuccess))
		consecutv.send(ch, float64(s.Health.ConsecutiveFailures))
	})
}

// Sessions exports a sessionstore.Manager's Stats (hardening_sessions_*),
// the prune runs of its store (when the store counts them) and whether the
// store serves, asking m.Ready on each scrape within 500 ms, a readiness
// check's default budget, so that a database that hangs cannot make the
// scrape itself time out (for a PostgresStore, Ready means initialised and
// answering a ping).
func Sessions(m *sessionstore.Manager, store sessionstore.Store) prometheus.Collector {
	const ns = "hardening_sessions_"
	var (
		lookups   = counter(ns+"lookups_total", "Requests whose valid cookie was looked up, by result.", nil, "result")
		rejected  = counter(ns+"rejected_cookies_total", "Session cookies refused before any lookup (length, encoding, signature).", nil)
		loads     = counter(ns+"store_loads_total", "Store lookups, reloads after a conflict included.", nil)
		writes    = counter(ns+"store_writes_total", "Saves, deletions and revocations that reached the store.", nil)
		touches   = counter(ns+"store_touches_total", "Data-free expiry updates that moved the expiry.", nil)
		errs      = counter(ns+"store_errors_total", "Store operations that failed.", nil)
		conflicts = counter(ns+"store_conflicts_total", "Saves that met a concurrent save and were replayed.", nil)
		inits     = counter(ns+"store_init_attempts_total", "Attempts to initialise the store (create its table).", nil)
		pruned    = counter(ns+"pruned_total", "Expired sessions deleted by pruning.", nil)
		pruneRuns = counter(ns+"prune_runs_total", "Prunings that ran (not skipped for another instance).", nil)
		ready     = gauge(ns+"store_ready", "1 while the store is initialised and answers, 0 otherwise.", nil)
		cacheRead = counter(ns+"cache_reads_total", "Session loads the read cache saw: answered (hit), sent on (miss), or bypassed while the listener was not proven current.", nil, "result")
		invalid   = counter(ns+"cache_invalidations_total", "Sessions dropped from the read cache by a notification or a local write.", nil)
		reconnect = counter(ns+"cache_listener_reconnects_total", "LISTEN connections the read cache made after its first.", nil)
		malformed = counter(ns+"cache_malformed_notifications_total", "Notifications the read cache could not read (their sessions, or all, dropped).", nil)
		entries   = gauge(ns+"cache_entries", "Sessions held by the read cache.", nil)
		cacheSize = gauge(ns+"cache_bytes", "Bytes held by the read cache.", nil)
	)
	return collector(func(ch chan<- prometheus.Metric) {
		s := m.Stats()
		lookups.send(ch, float64(s.Hits), "hit")
		lookups.send(ch, float64(s.Misses), "miss")
		rejected.send(ch, float64(s.RejectedCookies))
		loads.send(ch, float64(s.Loads))
		writes.send(ch, float64(s.Writes))
		touches.send(ch, float64(s.Touches))
		errs.send(ch, float64(s.Errors))
		conflicts.send(ch, float64(s.Conflicts))
		inits.send(ch, float64(s.InitAttempts))
		pruned.send(ch, float64(s.Pruned))
		if st, ok := store.(interface {
			Stats() sessionstore.StoreStats
		}); ok {
			ss := st.Stats()
			pruneRuns.send(ch, float64(ss.PruneRuns))
			cacheRead.send(ch, float64(ss.Cache.Hits), "hit")
			cacheRead.send(ch, float64(ss.Cache.Misses), "miss")
			cacheRead.send(ch, float64(ss.Cache.Bypassed), "bypassed")
			invalid.send(ch, float64(ss.Cache.Invalidations))
			reconnect.send(ch, float64(ss.Cache.Reconnects))
			malformed.send(ch, float64(ss.Cache.Malformed))
			entries.send(ch, float64(ss.Cache.Entries))
			cacheSize.send(ch, float64(ss.Cache.Bytes))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		ready.send(ch, bit(m.Ready(ctx) == nil))
	})
}

// Rates exports a cryptorates.Client's Stats (hardening_rates_*).
func Rates(stats func() cryptorates.Stats) prometheus.Collector {
	const ns = "hardening_rates_"
	var (
		calls      = counter(ns+"upstream_calls_total", "HTTP calls to the upstream.", nil)
		failures   = counter(ns+"failures_total", "Failed upstream calls, by class.", nil, "class")
		sharedRd   = counter(ns+"shared_reads_total", "Refreshes served from another instance's shared snapshot.", nil)
		sharedErr  = counter(ns+"shared_errors_total", "Shared-state operations that failed.", nil)
		breaker    = gauge(ns+"breaker_state", "1 for the breaker's current state, 0 for the others.", nil, "state")
		transition = counter(ns+"breaker_transitions_total", "Breaker state changes, by the state entered.", nil, "to")
		served     = counter(ns+"served_total", "Quotes served, by tier.", nil, "tier")
		lastOK     = gauge(ns+"last_success_timestamp_seconds", "When this client's last upstream call succeeded (0 for never).", nil)
		lastFetch  = gauge(ns+"last_fetched_timestamp_seconds", "When the newest value served was fetched (0 for none).", nil)
	)
	return collector(func(ch chan<- prometheus.Metric) {
		s := stats()
		calls.send(ch, float64(s.UpstreamCalls))
		f := s.Failures
		for class, n := range map[string]uint64{
			"network": f.Network, "timeout": f.Timeout, "server": f.Server, "rate_limited": f.RateLimited,
			"auth": f.Auth, "status": f.Status, "invalid": f.Invalid,
		} {
			failures.send(ch, float64(n), class)
		}
		sharedRd.send(ch, float64(s.SharedReads))
		sharedErr.send(ch, float64(s.SharedErrors))
		for _, st := range []string{"closed", "open", "half-open"} {
			breaker.send(ch, bit(string(s.Breaker) == st), st)
		}
		t := s.BreakerTransitions
		transition.send(ch, float64(t.Open), "open")
		transition.send(ch, float64(t.HalfOpen), "half-open")
		transition.send(ch, float64(t.Closed), "closed")
		v := s.Served
		served.send(ch, float64(v.Fresh), "fresh")
		served.send(ch, float64(v.Acceptable), "acceptable")
		served.send(ch, float64(v.Fallback), "fallback")
		served.send(ch, float64(v.Static), "static")
		lastOK.send(ch, unix(s.LastSuccess))
		lastFetch.send(ch, unix(s.LastFetched))
	})
}

// CDN exports a cdncache.Handler's Stats (hardening_cdn_*), labelled with
// the handler's name ("static", "public", "private").
func CDN(handler string, stats func() cdncache.Stats) prometheus.Collector {
	const ns = "hardening_cdn_"
	l := prometheus.Labels{"handler": handler}
	var (
		responses = counter(ns+"responses_total", "Responses by status: 200, 206, 304, 4xx or 5xx.", l, "status")
		sent      = counter(ns+"sent_bytes_total", "Body bytes written.", l)
		saved     = counter(ns+"saved_bytes_total", "Representation bytes not sent thanks to 304s.", l)
		etags     = counter(ns+"etag_lookups_total", "Validator lookups in the ETag cache, by result.", l, "result")
		encoded   = counter(ns+"encoded_lookups_total", "Encoded-body lookups in the compressed-body cache, by result.", l, "result")
		held      = gauge(ns+"encoded_bytes", "Bytes of encoded bodies held in the compressed-body cache.", l)
		evicted   = counter(ns+"encoded_evictions_total", "Encoded bodies dropped to make room.", l)
		encodes   = counter(ns+"encodes_total", "Encoded bodies made, by coding.", l, "coding")
		encodeDur = counter(ns+"encode_seconds_total", "Time spent making encoded bodies, by coding.", l, "coding")
	)
	return collector(func(ch chan<- prometheus.Metric) {
		s := stats()
		responses.send(ch, float64(s.OK), "200")
		responses.send(ch, float64(s.PartialContent), "206")
		responses.send(ch, float64(s.NotModified), "304")
		responses.send(ch, float64(s.ClientErrors), "4xx")
		responses.send(ch, float64(s.ServerErrors), "5xx")
		sent.send(ch, float64(s.BytesSent))
		saved.send(ch, float64(s.BytesSaved))
		etags.send(ch, float64(s.ETagHits), "hit")
		etags.send(ch, float64(s.ETagMisses), "miss")
		encoded.send(ch, float64(s.EncodedHits), "hit")
		encoded.send(ch, float64(s.EncodedMisses), "miss")
		held.send(ch, float64(s.EncodedBytes))
		evicted.send(ch, float64(s.EncodedEvictions))
		for coding, c := range map[string]cdncache.CodingStats{"br": s.Br, "zstd": s.Zstd, "gzip": s.Gzip} {
			encodes.send(ch, float64(c.Encodes), coding)
			encodeDur.send(ch, c.EncodeTime.Seconds(), coding)
		}
	})
}

// Shutdown exports a shutdown.Coordinator's Stats (hardening_shutdown_*) and
// its readiness (hardening_ready), which it learns by asking readiness (the
// coordinator's Readiness handler) on each scrape: the checks' results are
// cached, so a scrape adds at most one run of each, and each scrape counts
// as a probe in hardening_shutdown_probes_total.
func Shutdown(stats func() shutdown.Stats, readiness http.Handler) prometheus.Collector {
	const ns = "hardening_shutdown_"
	var (
		ready    = gauge("hardening_ready", "1 while the readiness endpoint answers 200.", nil)
		draining = gauge(ns+"draining", "1 once the shutdown sequence has begun.", nil)
		done     = counter(ns+"shutdowns_total", "Finished shutdown sequences.", nil)
		timeouts = counter(ns+"hook_timeouts_total", "Shutdown hooks that ran out of their share.", nil)
		hookErrs = counter(ns+"hook_errors_total", "Shutdown hooks that failed, timed out ones included.", nil)
		hookDur  = gauge(ns+"hook_duration_seconds", "How long the finished sequence waited for each hook.", nil, "hook")
		probes   = counter(ns+"probes_total", "Readiness probes served.", nil)
		probeErr = counter(ns+"probe_failures_total", "Readiness probes answered 503.", nil)
		runs     = counter(ns+"check_runs_total", "Readiness check runs.", nil)
		cached   = counter(ns+"check_cache_hits_total", "Readiness check results served from the cache.", nil)
	)
	return collector(func(ch chan<- prometheus.Metric) {
		if readiness != nil {
			rec := httptest.NewRecorder()
			readiness.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
			ready.send(ch, bit(rec.Code == http.StatusOK))
		}
		s := stats()
		draining.send(ch, bit(s.Draining))
		done.send(ch, float64(s.Shutdowns))
		timeouts.send(ch, float64(s.HookTimeouts))
		hookErrs.send(ch, float64(s.HookErrors))
		if s.LastReport != nil {
			for _, h := range s.LastReport.Hooks {
				hookDur.send(ch, h.Duration.Seconds(), h.Name)
			}
		}
		probes.send(ch, float64(s.Probes))
		probeErr.send(ch, float64(s.ProbeFailures))
		runs.send(ch, float64(s.CheckRuns))
		cached.send(ch, float64(s.CheckCacheHits))
	})
}
