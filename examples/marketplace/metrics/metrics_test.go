package metrics_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dedw3n/hardening/cdncache"
	"github.com/dedw3n/hardening/cryptorates"
	"github.com/dedw3n/hardening/dbpool"
	"github.com/dedw3n/hardening/examples/marketplace/internal/promtool"
	"github.com/dedw3n/hardening/examples/marketplace/metrics"
	"github.com/dedw3n/hardening/sessionstore"
	"github.com/dedw3n/hardening/shutdown"
)

// exposition registers every collector and hook of the package, drives each
// once for real (an HTTP request, an upstream 429, a session write, a pool
// acquire) and returns the text a scrape of /metrics answers.
func exposition(t *testing.T) string {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()

	reg.MustRegister(metrics.DBPool(func() dbpool.Stats {
		return dbpool.Stats{MaxConns: 10, IdleConns: 2, AcquiredConns: 3, EmptyAcquireCount: 4,
			EmptyAcquireWaitTime: 1500 * time.Millisecond, MaxIdleDestroyCount: 5,
			Health: dbpool.Report{State: dbpool.StateDegraded, Latency: 1200 * time.Millisecond, Checks: 9, Failures: 1}}
	}))
	reg.MustRegister(metrics.Rates(func() cryptorates.Stats {
		return cryptorates.Stats{UpstreamCalls: 12, Failures: cryptorates.Failures{RateLimited: 7, Auth: 1},
			Breaker: "open", BreakerTransitions: cryptorates.Transitions{Open: 2, HalfOpen: 1, Closed: 1},
			Served: cryptorates.Served{Fresh: 40, Static: 3}}
	}))
	reg.MustRegister(metrics.CDN("static", func() cdncache.Stats {
		return cdncache.Stats{OK: 5, NotModified: 2, BytesSent: 2048, BytesSaved: 512, ETagHits: 6, ETagMisses: 1,
			EncodedHits: 9, EncodedMisses: 2, EncodedBytes: 4096, EncodedEvictions: 1,
			Br: cdncache.CodingStats{Encodes: 1, EncodeTime: 250 * time.Millisecond}, Gzip: cdncache.CodingStats{Encodes: 1}}
	}))
	reg.MustRegister(metrics.CDN("private", func() cdncache.Stats { return cdncache.Stats{ClientErrors: 1} }))

	coord := shutdown.New(shutdown.Config{})
	coord.AddCheck("database", func(context.Context) error { return errors.New("down") })
	coord.Register("cache", func(context.Context) error { return nil })
	reg.MustRegister(metrics.Shutdown(coord.Stats, coord.Readiness()))
	_, err := coord.Shutdown(context.Background())
	require.NoError(t, err)

	mem := sessionstore.NewMemoryStore(sessionstore.MemoryConfig{})
	t.Cleanup(func() { _ = mem.Close() })
	store := metrics.SessionStore(reg, mem)
	sessions, err := sessionstore.NewManager(store, sessionstore.Config{Secrets: [][]byte{[]byte("0123456789abcdef0123456789abcdef")}})
	require.NoError(t, err)
	reg.MustRegister(metrics.Sessions(sessions, store))

	mux := http.NewServeMux()
	mux.Handle("POST /cart", sessions.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.NoError(t, sessionstore.FromContext(r.Context()).Put("cart", []string{"mug"}))
		w.WriteHeader(http.StatusCreated)
	})))
	h := metrics.HTTP(reg)(mux)
	for _, req := range []*http.Request{httptest.NewRequest("POST", "/cart", nil), httptest.NewRequest("GET", "/nowhere", nil)} {
		h.ServeHTTP(httptest.NewRecorder(), req)
	}

	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "slow down", http.StatusTooManyRequests)
	}))
	defer up.Close()
	res, err := (&http.Client{Transport: metrics.Upstream(reg, nil)}).Get(up.URL)
	require.NoError(t, err)
	res.Body.Close()

	pc, err := pgxpool.ParseConfig("postgres://app@127.0.0.1:1/app")
	require.NoError(t, err)
	metrics.PoolTracer(reg)(pc)
	tr := pc.ConnConfig.Tracer.(pgxpool.AcquireTracer)
	tr.TraceAcquireStart(context.Background(), nil, pgxpool.TraceAcquireStartData{}) // one still waiting
	ctx := tr.TraceAcquireStart(context.Background(), nil, pgxpool.TraceAcquireStartData{})
	tr.TraceAcquireEnd(ctx, nil, pgxpool.TraceAcquireEndData{})

	return scrape(t, reg)
}

// scrape returns what /metrics answers for reg, in the text format.
func scrape(t *testing.T, reg prometheus.Gatherer) string {
	t.Helper()
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	return rec.Body.String()
}

// TestEveryPoolStateHasItsSeries: whatever state dbpool reports (every
// State up to the first that names itself "unknown" again), its series is
// the one at 1.
func TestEveryPoolStateHasItsSeries(t *testing.T) {
	at1 := regexp.MustCompile(`(?m)^hardening_dbpool_health_state\{state="(\w+)"\} 1$`)
	for st := dbpool.StateUnknown; st == dbpool.StateUnknown || st.String() != "unknown"; st++ {
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(metrics.DBPool(func() dbpool.Stats { return dbpool.Stats{Health: dbpool.Report{State: st}} }))
		var got []string
		for _, m := range at1.FindAllStringSubmatch(scrape(t, reg), -1) {
			got = append(got, m[1])
		}
		require.Equal(t, []string{st.String()}, got, "state %d", int(st))
	}
}

func TestExpositionPassesPromtool(t *testing.T) {
	text := exposition(t)
	promtool.Run(t, text, "check", "metrics")
}

func TestExpositionValues(t *testing.T) {
	text := exposition(t)
	for _, want := range []string{
		`hardening_rates_failures_total{class="rate_limited"} 7`,
		`hardening_rates_failures_total{class="auth"} 1`,
		`hardening_rates_breaker_state{state="open"} 1`,
		`hardening_rates_breaker_state{state="closed"} 0`,
		`hardening_rates_breaker_transitions_total{to="open"} 2`,
		`hardening_rates_served_total{tier="static"} 3`,
		`hardening_rates_upstream_request_duration_seconds_count{code="429"} 1`,
		`hardening_dbpool_connections{state="acquired"} 3`,
		`hardening_dbpool_health_state{state="degraded"} 1`,
		`hardening_dbpool_health_check_latency_seconds 1.2`,
		`hardening_dbpool_acquire_wait_seconds_total 1.5`,
		`hardening_dbpool_connections_closed_total{reason="max_idle"} 5`,
		`hardening_dbpool_acquires_in_progress 1`,
		`hardening_dbpool_acquire_duration_seconds_count 1`,
		`hardening_cdn_responses_total{handler="static",status="304"} 2`,
		`hardening_cdn_responses_total{handler="private",status="4xx"} 1`,
		`hardening_cdn_sent_bytes_total{handler="static"} 2048`,
		`hardening_cdn_etag_lookups_total{handler="static",result="hit"} 6`,
		`hardening_cdn_encoded_lookups_total{handler="static",result="hit"} 9`,
		`hardening_cdn_encoded_lookups_total{handler="static",result="miss"} 2`,
		`hardening_cdn_encoded_bytes{handler="static"} 4096`,
		`hardening_cdn_encoded_evictions_total{handler="static"} 1`,
		`hardening_cdn_encodes_total{coding="br",handler="static"} 1`,
		`hardening_cdn_encodes_total{coding="zstd",handler="static"} 0`,
		`hardening_cdn_encode_seconds_total{coding="br",handler="static"} 0.25`,
		`hardening_ready 0`,
		`hardening_shutdown_shutdowns_total 1`,
		`hardening_shutdown_hook_duration_seconds{hook="cache"} `,
		`hardening_sessions_store_writes_total 1`,
		`hardening_sessions_store_ready 1`,
		`hardening_sessions_store_duration_seconds_count{op="save",result="ok"} 1`,
		`hardening_http_request_duration_seconds_count{route="POST /cart",status="2xx"} 1`,
		`hardening_http_request_duration_seconds_count{route="unmatched",status="4xx"} 1`,
	} {
		if strings.HasSuffix(want, " ") {
			require.Contains(t, text, want) // a measured duration
		} else {
			require.Contains(t, text, want+"\n")
		}
	}
	require.NotContains(t, text, "e_tag", "no names mangled from Go fields")
}

// families returns the metric family names of an exposition.
func families(text string) map[string]bool {
	out := map[string]bool{}
	for _, line := range strings.Split(text, "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[0] == "#" && f[1] == "TYPE" && strings.HasPrefix(f[2], "hardening_") {
			out[f[2]] = true
		}
	}
	return out
}

// TestReadmeNamesTheExposedFamilies keeps README's "Operating it" section
// and the adapter in agreement, both ways.
func TestReadmeNamesTheExposedFamilies(t *testing.T) {
	b, err := os.ReadFile("../../../README.md")
	require.NoError(t, err)
	readme := string(b)
	start := strings.Index(readme, "\n## Operating it")
	require.GreaterOrEqual(t, start, 0, "README has an \"Operating it\" section")
	section := readme[start+1:]
	if end := strings.Index(section[3:], "\n## "); end >= 0 {
		section = section[:end+3]
	}
	named := map[string]bool{}
	for _, n := range regexp.MustCompile(`hardening_[a-z0-9_]+[a-z0-9]`).FindAllString(section, -1) {
		named[n] = true
	}
	exposed := families(exposition(t))
	var missing, undocumented []string
	for n := range named {
		if !exposed[n] {
			missing = append(missing, n)
		}
	}
	for n := range exposed {
		if !named[n] {
			undocumented = append(undocumented, n)
		}
	}
	sort.Strings(missing)
	sort.Strings(undocumented)
	require.Empty(t, missing, "README names families the adapter does not expose")
	require.Empty(t, undocumented, "the adapter exposes families README does not name")
}

// TestUpstreamCodesAreBounded: an upstream answering every status from 100
// to 999 makes a bounded set of code series (the statuses an operator acts
// on, then classes), not one each.
func TestUpstreamCodesAreBounded(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	var status atomic.Int64
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(int(status.Load()))
	}))
	defer up.Close()
	client := &http.Client{Transport: metrics.Upstream(reg, nil),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for code := 200; code <= 999; code++ {
		status.Store(int64(code))
		res, err := client.Get(up.URL)
		require.NoError(t, err)
		res.Body.Close()
	}
	codes := regexp.MustCompile(`hardening_rates_upstream_request_duration_seconds_count\{code="([^"]+)"\}`).FindAllStringSubmatch(scrape(t, reg), -1)
	var got []string
	for _, m := range codes {
		got = append(got, m[1])
	}
	assert.Subset(t, got, []string{"200", "429", "503", "4xx", "5xx", "other"})
	assert.LessOrEqual(t, len(got), 24, "%v", got)
}
