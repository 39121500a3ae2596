package main

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"sort"
	"strings"

	dto "github.com/prometheus/client_model/go"

	"github.com/dedw3n/hardening/internal/httpjson"
)

// statusSection is one component of the operator page: a verdict at a
// glance, then every series of its families.
type statusSection struct {
	Title   string
	Verdict string
	OK      bool
	Rows    []statusRow
}

type statusRow struct{ Name, Labels, Value string }

// statusComponents maps each section of /status to its metric prefix.
var statusComponents = []struct{ title, prefix string }{
	{"Readiness", "hardening_ready"},
	{"Database pool", "hardening_dbpool_"},
	{"Sessions", "hardening_sessions_"},
	{"Exchange rates", "hardening_rates_"},
	{"Objects (CDN origin)", "hardening_cdn_"},
	{"Shutdown", "hardening_shutdown_"},
}

// status renders the operator page from the registry that /metrics serves,
// gathered once per request: the page and the scrape can never disagree.
func (a *app) status(w http.ResponseWriter, r *http.Request) {
	mfs, err := a.registry.Gather()
	if err != nil {
		a.log.Warn("status: gathering metrics", "err", err)
	}
	byName := map[string]*dto.MetricFamily{}
	for _, mf := range mfs {
		byName[mf.GetName()] = mf
	}
	sections := make([]statusSection, 0, len(statusComponents))
	for _, c := range statusComponents {
		s := statusSection{Title: c.title}
		for _, mf := range mfs {
			if strings.HasPrefix(mf.GetName(), c.prefix) && mf.GetType() != dto.MetricType_HISTOGRAM {
				s.Rows = append(s.Rows, seriesRows(mf)...)
			}
		}
		s.Verdict, s.OK = verdict(c.prefix, byName)
		if last := a.rates.Stats().LastFailure; c.prefix == "hardening_rates_" && last != "" {
			s.Verdict += ", last upstream failure: " + last
		}
		if len(s.Rows) > 0 {
			sections = append(sections, s)
		}
	}
	var buf bytes.Buffer
	if err := statusPage.Execute(&buf, sections); err != nil {
		a.log.Error("status template", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
}

// statusJSON answers each package's Stats in its own JSON form, the figures
// behind /status and /metrics, for scripts; a part the configuration leaves
// out is left out.
func (a *app) statusJSON(w http.ResponseWriter, _ *http.Request) {
	body := map[string]any{
		"sessions": a.sessions.Stats(),
		"rates":    a.rates.Stats(),
		"static":   a.static.Stats(),
		"shutdown": a.coord.Stats(),
	}
	if a.db != nil {
		st := a.db.pool.Stats()
		if st.Health.LastError != "" { // public, like readiness: driver errors name the host, database and user
			st.Health.LastError = "failed (the error is in the server's log)"
		}
		body["database"] = st
	}
	if a.public != nil {
		body["public_objects"] = a.public.Stats()
	}
	if a.private != nil {
		body["private_objects"] = a.private.Stats()
	}
	httpjson.Write(w, http.StatusOK, body)
}

// seriesRows is one row per series of a counter or gauge family.
func seriesRows(mf *dto.MetricFamily) []statusRow {
	rows := make([]statusRow, 0, len(mf.GetMetric()))
	for _, m := range mf.GetMetric() {
		labels := make([]string, 0, len(m.GetLabel()))
		for _, l := range m.GetLabel() {
			labels = append(labels, l.GetName()+"="+l.GetValue())
		}
		sort.Strings(labels)
		rows = append(rows, statusRow{Name: mf.GetName(), Labels: strings.Join(labels, ", "), Value: fmt.Sprintf("%g", value(m))})
	}
	return rows
}

func value(m *dto.Metric) float64 {
	if m.Counter != nil {
		return m.Counter.GetValue()
	}
	return m.Gauge.GetValue()
}

// sum adds the series of family name whose labels include every pair of
// match (label=value); 0 when the family is absent.
func sum(byName map[string]*dto.MetricFamily, name string, match ...string) (total float64) {
	for _, m := range byName[name].GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		matches := true
		for i := 0; i+1 < len(match); i += 2 {
			matches = matches && have[match[i]] == match[i+1]
		}
		if matches {
			total += value(m)
		}
	}
	return total
}

// ratio formats part/whole as a percentage, or "no traffic yet".
func ratio(part, whole float64) string {
	if whole == 0 {
		return "no traffic yet"
	}
	return fmt.Sprintf("%.1f%%", 100*part/whole)
}

// verdict is a component's state at a glance, read from the same families.
func verdict(prefix string, m map[string]*dto.MetricFamily) (string, bool) {
	switch prefix {
	case "hardening_ready":
		ready := sum(m, "hardening_ready")
		return map[bool]string{true: "ready", false: "NOT READY: see /readyz"}[ready == 1], ready == 1
	case "hardening_dbpool_":
		healthy := sum(m, "hardening_dbpool_health_state", "state", "healthy")
		idle := sum(m, "hardening_dbpool_health_state", "state", "idle")
		used := sum(m, "hardening_dbpool_connections", "state", "acquired")
		limit := sum(m, "hardening_dbpool_max_connections")
		return fmt.Sprintf("health %s, %g of %g connections in use", stateOf(m, "hardening_dbpool_health_state"), used, limit), healthy+idle == 1
	case "hardening_sessions_":
		ready := sum(m, "hardening_sessions_store_ready")
		hits := sum(m, "hardening_sessions_lookups_total", "result", "hit")
		lookups := sum(m, "hardening_sessions_lookups_total")
		errs := sum(m, "hardening_sessions_store_errors_total")
		state := map[bool]string{true: "store ready", false: "STORE UNAVAILABLE"}[ready == 1]
		return fmt.Sprintf("%s, %s, %g store errors", state, "cookies that found a session: "+ratio(hits, lookups), errs), ready == 1
	case "hardening_rates_":
		open := sum(m, "hardening_rates_breaker_state", "state", "open")
		cached := sum(m, "hardening_rates_served_total", "tier", "fresh")
		acceptable := sum(m, "hardening_rates_served_total", "tier", "acceptable")
		served := sum(m, "hardening_rates_served_total")
		return fmt.Sprintf("breaker %s, quotes fresh or acceptable: %s", stateOf(m, "hardening_rates_breaker_state"), ratio(cached+acceptable, served)), open == 0
	case "hardening_cdn_":
		hits := sum(m, "hardening_cdn_etag_lookups_total", "result", "hit")
		lookups := sum(m, "hardening_cdn_etag_lookups_total")
		encHits := sum(m, "hardening_cdn_encoded_lookups_total", "result", "hit")
		encLookups := sum(m, "hardening_cdn_encoded_lookups_total")
		return fmt.Sprintf("ETag cache hit ratio %s, compressed-body cache hit ratio %s", ratio(hits, lookups), ratio(encHits, encLookups)), true
	case "hardening_shutdown_":
		draining := sum(m, "hardening_shutdown_draining")
		return map[bool]string{true: "DRAINING", false: "serving"}[draining == 1], draining == 0
	}
	return "", true
}

// stateOf names the state label of family name whose gauge is 1.
func stateOf(m map[string]*dto.MetricFamily, name string) string {
	if mf := m[name]; mf != nil {
		for _, s := range mf.GetMetric() {
			if value(s) == 1 {
				for _, l := range s.GetLabel() {
					if l.GetName() == "state" {
						return l.GetValue()
					}
				}
			}
		}
	}
	return "unknown"
}

var statusPage = template.Must(template.New("status").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Marketplace status</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/static/app.css"></head>
<body><header><h1>Marketplace status</h1><div>the same numbers as <a href="/metrics">/metrics</a></div></header><main>
{{range .}}<section class="status-{{if .OK}}ok{{else}}bad{{end}}"><h2>{{.Title}}: <span class="verdict">{{.Verdict}}</span></h2>
<table><tr><th>metric</th><th>labels</th><th>value</th></tr>
{{range .Rows}}<tr><td>{{.Name}}</td><td>{{.Labels}}</td><td>{{.Value}}</td></tr>
{{end}}</table></section>
{{end}}</main></body></html>
`))
