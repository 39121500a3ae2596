package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"
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
