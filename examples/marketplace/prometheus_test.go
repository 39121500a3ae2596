package main

// The live monitoring test: a real Prometheus scrapes the marketplace on
// loopback with monitoring/alerts.yml loaded (every "for:" and range window
// shortened), while the test stops PostgreSQL and makes the fake upstream
// answer 429. Assertions read Prometheus's own HTTP API.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dedw3n/hardening/examples/marketplace/internal/promtool"
	"github.com/dedw3n/hardening/internal/pgtest"
	"github.com/dedw3n/hardening/internal/testlog"
)

// prom is a running Prometheus server.
type prom struct {
	t      *testing.T
	url    string
	config string // prometheus.yml
	cmd    *exec.Cmd
}

// writeConfig points the scrape at app's /metrics.
func (p *prom) writeConfig(app *proc) {
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 900ms
  evaluation_interval: 1s
rule_files: [alerts.yml]
scrape_configs:
  - job_name: marketplace
    static_configs: [{targets: [%q]}]
`, strings.TrimPrefix(app.url, "http://"))
	require.NoError(p.t, os.WriteFile(p.config, []byte(cfg), 0o600))
}

// retarget scrapes app instead, and waits until Prometheus has it.
func (p *prom) retarget(app *proc) {
	p.t.Helper()
	p.writeConfig(app)
	require.NoError(p.t, p.cmd.Process.Signal(syscall.SIGHUP))
	want := strings.TrimPrefix(app.url, "http://")
	eventually(p.t, 20*time.Second, "prometheus scrapes "+want, func() bool {
		var data struct {
			ActiveTargets []struct {
				Labels map[string]string
				Health string
			}
		}
		if err := p.api("/api/v1/targets", nil, &data); err != nil {
			return false
		}
		return len(data.ActiveTargets) == 1 && data.ActiveTargets[0].Labels["instance"] == want &&
			data.ActiveTargets[0].Health == "up"
	})
}

// startPrometheus runs Prometheus scraping target every second, with a copy
// of the alert rules whose "for:" durations become 2 s and whose range
// windows become 20 s, so that the alerts fire and resolve within seconds.
func startPrometheus(t *testing.T, app *proc) *prom {
	t.Helper()
	bin := promtool.Path(t, "prometheus")
	dir := t.TempDir()
	rules, err := os.ReadFile("monitoring/alerts.yml")
	require.NoError(t, err)
	fast := regexp.MustCompile(`(?m)^(\s+)for: \S+$`).ReplaceAll(rules, []byte("${1}for: 2s"))
	fast = regexp.MustCompile(`\[\d+[smh]\]`).ReplaceAll(fast, []byte("[20s]"))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "alerts.yml"), fast, 0o600))
	p := &prom{t: t, config: filepath.Join(dir, "prometheus.yml")}
	p.writeConfig(app)

	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cmd := exec.Command(bin, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+addr)
	out := &testlog.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	require.NoError(t, cmd.Start())
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
		if t.Failed() {
			t.Logf("prometheus output:\n%s", out.String())
		}
	})
	p.url, p.cmd = "http://"+addr, cmd
	eventually(t, 30*time.Second, "prometheus ready", func() bool {
		res, err := http.Get(p.url + "/-/ready")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	})
	return p
}

// api GETs a Prometheus API path and decodes its data field into v.
func (p *prom) api(path string, q url.Values, v any) error {
	res, err := http.Get(p.url + path + "?" + q.Encode())
	if err != nil {
		return err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	var env struct {
		Status, Error string
		Data          json.RawMessage
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return fmt.Errorf("%s: %w: %s", path, err, body)
	}
	if env.Status != "success" {
		return fmt.Errorf("%s %s: %s", path, q.Encode(), env.Error)
	}
	return json.Unmarshal(env.Data, v)
}

// firing returns the names of the alerts in state "firing".
func (p *prom) firing() map[string]bool {
	p.t.Helper()
	var data struct {
		Alerts []struct {
			Labels map[string]string
			State  string
		}
	}
	require.NoError(p.t, p.api("/api/v1/alerts", nil, &data))
	out := map[string]bool{}
	for _, a := range data.Alerts {
		if a.State == "firing" {
			out[a.Labels["alertname"]] = true
		}
	}
	return out
}

// waitAlerts waits until each named alert is firing (want true) or not.
func (p *prom) waitAlerts(timeout time.Duration, want bool, names ...string) {
	p.t.Helper()
	eventually(p.t, timeout, fmt.Sprintf("alerts %v firing=%v", names, want), func() bool {
		f := p.firing()
		for _, n := range names {
			if f[n] != want {
				return false
			}
		}
		return true
	})
}

// load sends requests to the session and rates routes until stop is called:
// the traffic whose errors the session alerts measure.
func load(a *proc) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			for _, path := range []string{"/api/cart", "/api/rates"} {
				req, _ := http.NewRequestWithContext(ctx, "GET", a.url+path, nil)
				if res, err := a.client.Do(req); err == nil {
					_, _ = io.Copy(io.Discard, res.Body)
					res.Body.Close()
				}
			}
			select {
			case <-ctx.Done():
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return func() { cancel(); wg.Wait() }
}

func TestPrometheusAlertsFireAndResolve(t *testing.T) {
	db := pgtest.NewServer(t, pgtest.Options{})
	up := newUpstream(t)
	up.mode.Store("429")
	env := []string{
		"DATABASE_URL=" + db.URL(),
		"COINGECKO_BASE_URL=" + up.URL(),
		"DB_HEALTH_INTERVAL=200ms",
		"RATES_FRESH=1s", "RATES_ACCEPTABLE=1m", "RATES_FALLBACK=2m",
		"RATES_FAILURE_THRESHOLD=1", "RATES_COOLDOWN=1s", "RATES_MIN_INTERVAL=50ms",
	}
	a := startApp(t, env...)
	p := startPrometheus(t, a)
	stop := load(a)

	// The upstream answers 429 from the start: the breaker keeps reopening
	// and quotes come from the static tier.
	p.waitAlerts(30*time.Second, true, "RatesUpstreamRateLimited", "RatesBreakerFlapping", "RatesCacheHitRateLow")
	require.False(t, p.firing()["SessionErrorRateHigh"])

	// PostgreSQL stops while serving: session operations fail, readiness
	// fails; the store had initialised, so that alert stays quiet.
	up.mode.Store("ok")
	code, _, body := a.do("POST", "/api/cart/items", map[string]any{"product_id": "mug", "quantity": 1})
	require.Equal(t, http.StatusOK, code, "%s", body)
	require.NoError(t, db.Stop())
	p.waitAlerts(30*time.Second, true, "SessionErrorRateHigh", "MarketplaceNotReady")
	require.False(t, p.firing()["SessionStoreInitFailing"], "an outage after initialisation is not an initialisation error")

	require.NoError(t, db.Start())
	p.waitAlerts(45*time.Second, false, "SessionErrorRateHigh", "MarketplaceNotReady",
		"RatesUpstreamRateLimited", "RatesBreakerFlapping")
	t.Run("rules evaluate", func(t *testing.T) { checkRules(t, p) })
	t.Run("dashboard queries evaluate", func(t *testing.T) { checkDashboard(t, p) })
	t.Run("live exposition passes promtool", func(t *testing.T) {
		_, _, body := a.do("GET", "/metrics", nil)
		promtool.Run(t, string(body), "check", "metrics")
	})

	// A process that starts while PostgreSQL is down cannot initialise the
	// session store; it does once the database is back.
	stop()
	require.NoError(t, db.Stop())
	a.stop()
	b := startApp(t, env...)
	p.retarget(b)
	defer load(b)()
	p.waitAlerts(30*time.Second, true, "SessionStoreInitFailing", "MarketplaceNotReady")
	require.NoError(t, db.Start())
	p.waitAlerts(30*time.Second, false, "SessionStoreInitFailing", "MarketplaceNotReady")
}

// checkRules requires every loaded rule to be healthy (its last evaluation
// raised no error) and to carry a summary and a runbook.
func checkRules(t *testing.T, p *prom) {
	var data struct {
		Groups []struct {
			Rules []struct {
				Name, Health, LastError string
				Annotations             map[string]string
			}
		}
	}
	require.NoError(t, p.api("/api/v1/rules", nil, &data))
	n := 0
	for _, g := range data.Groups {
		for _, r := range g.Rules {
			n++
			require.Equal(t, "ok", r.Health, "%s: %s", r.Name, r.LastError)
			require.NotEmpty(t, r.Annotations["summary"], r.Name)
			require.NotEmpty(t, r.Annotations["runbook"], r.Name)
		}
	}
	require.Equal(t, 9, n)
}

// checkDashboard evaluates every query of dashboard.json (Grafana's
// $__rate_interval as 10s) and requires each to succeed, and most to return
// data: a panel on a metric that does not exist would stay empty.
func checkDashboard(t *testing.T, p *prom) {
	b, err := os.ReadFile("monitoring/dashboard.json")
	require.NoError(t, err)
	var d struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	require.NoError(t, json.Unmarshal(b, &d))
	var queries, empty int
	for _, panel := range d.Panels {
		for _, q := range panel.Targets {
			expr := strings.ReplaceAll(q.Expr, "$__rate_interval", "10s")
			var res struct{ Result []json.RawMessage }
			require.NoError(t, p.api("/api/v1/query", url.Values{"query": {expr}}, &res), "panel %q", panel.Title)
			queries++
			if len(res.Result) == 0 {
				empty++
				t.Logf("panel %q: no data for %s", panel.Title, expr)
			}
		}
	}
	require.Greater(t, queries, 0)
	require.LessOrEqual(t, empty, queries/4, "most queries return data")
}
