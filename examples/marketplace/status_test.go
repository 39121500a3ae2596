package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func getBody(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	return rec.Code, rec.Body.String()
}

// TestStatusPageShowsWhatMetricsShows: /status renders, per component, a
// verdict and the very series /metrics exposes, with the same values.
func TestStatusPageShowsWhatMetricsShows(t *testing.T) {
	h := testApp(t)
	// The test app's upstream refuses connections: one rates request makes
	// a failed upstream call and serves the static table.
	if code, _ := getBody(t, h, "/api/rates"); code != http.StatusOK {
		t.Fatalf("GET /api/rates: %d", code)
	}
	code, page := getBody(t, h, "/status")
	if code != http.StatusOK {
		t.Fatalf("GET /status: %d", code)
	}
	for _, want := range []string{
		"Readiness: <span class=\"verdict\">ready</span>",
		"Sessions: <span class=\"verdict\">store ready",
		"Exchange rates: <span class=\"verdict\">breaker closed",
		"last upstream failure: network",
		"Objects (CDN origin): <span class=\"verdict\">ETag cache hit ratio",
		"Shutdown: <span class=\"verdict\">serving",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("/status lacks %q", want)
		}
	}
	_, metricsText := getBody(t, h, "/metrics")
	row := regexp.MustCompile(`<tr><td>(hardening_rates_served_total)</td><td>tier=static</td><td>([0-9.e+]+)</td></tr>`)
	m := row.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("/status has no row for the static tier's quotes:\n%s", page)
	}
	if want := `hardening_rates_served_total{tier="static"} ` + m[2]; !strings.Contains(metricsText, want) {
		t.Errorf("/status says %s=%s, /metrics has no %q", m[1], m[2], want)
	}
}

// TestStatusPageSaysNotReadyWhileDraining: the verdicts follow the state.
func TestStatusPageSaysNotReadyWhileDraining(t *testing.T) {
	a := testAppParts(t)
	done := make(chan struct{})
	go func() { _, _ = a.coord.Shutdown(context.Background()); close(done) }()
	eventually(t, 5*time.Second, "the coordinator drains", a.coord.Draining)
	_, page := getBody(t, a.routes(), "/status")
	for _, want := range []string{"NOT READY", "DRAINING", "status-bad"} {
		if !strings.Contains(page, want) {
			t.Errorf("/status while draining lacks %q", want)
		}
	}
	<-done
}

// TestStatusJSON: /api/status carries each package's Stats in its JSON
// form, under snake_case names.
func TestStatusJSON(t *testing.T) {
	h := testApp(t)
	if code, _ := getBody(t, h, "/api/rates"); code != http.StatusOK {
		t.Fatalf("GET /api/rates: %d", code)
	}
	code, body := getBody(t, h, "/api/status")
	if code != http.StatusOK {
		t.Fatalf("GET /api/status: %d", code)
	}
	var got struct {
		Sessions map[string]any `json:"sessions"`
		Rates    struct {
			Breaker     string            `json:"breaker"`
			LastFailure string            `json:"last_failure"`
			Served      map[string]uint64 `json:"served"`
		} `json:"rates"`
		Static   map[string]any `json:"static"`
		Shutdown map[string]any `json:"shutdown"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	if got.Rates.Breaker != "closed" || got.Rates.LastFailure != "network" || got.Rates.Served["static"] == 0 {
		t.Errorf("rates: %+v", got.Rates)
	}
	for name, m := range map[string]map[string]any{"sessions": got.Sessions, "static": got.Static, "shutdown": got.Shutdown} {
		if len(m) == 0 {
			t.Errorf("%s: missing in %s", name, body)
		}
	}
	for _, k := range []string{"rejected_cookies", "etag_hits", "hook_timeouts"} {
		if !strings.Contains(body, `"`+k+`"`) {
			t.Errorf("/api/status lacks %q: %s", k, body)
		}
	}
	if got.Shutdown["draining"] != false {
		t.Errorf("shutdown: %v", got.Shutdown)
	}
}

// TestStatusPageReadsBeforeTraffic: before any traffic, the verdicts read
// as sentences ("no traffic yet of cookies found a session" before).
func TestStatusPageReadsBeforeTraffic(t *testing.T) {
	code, body := getBody(t, testApp(t), "/status")
	require.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, "cookies that found a session: no traffic yet")
	assert.NotContains(t, body, "no traffic yet of")
}

// TestStatusJSONKeepsTheDatabaseAddressOut: /api/status is public like
// /readyz, and says a health check failed without the driver's error, which
// names the host, database and user.
func TestStatusJSONKeepsTheDatabaseAddressOut(t *testing.T) {
	a := startApp(t, fmt.Sprintf("DATABASE_URL=postgres://billing_admin@127.0.0.1:%d/customers_prod?sslmode=disable", freePort(t)),
		"COINGECKO_BASE_URL="+closedURL(t))
	var body []byte
	require.Eventually(t, func() bool {
		_, _, body = a.do("GET", "/api/status", nil)
		return strings.Contains(string(body), `"last_error":"failed`)
	}, 20*time.Second, 50*time.Millisecond, "a failed check in %s", body)
	for _, s := range []string{"billing_admin", "customers_prod", "127.0.0.1"} {
		assert.NotContains(t, string(body), s)
	}
}
