// Package monitoring_test checks the marketplace's alert rules and
// dashboard with Prometheus's own tools; the live end-to-end test
// (examples/marketplace/prometheus_test.go) loads them into a real server.
package monitoring_test

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dedw3n/hardening/examples/marketplace/internal/promtool"
)

func TestAlertRulesAreValid(t *testing.T) {
	out := promtool.Run(t, "", "check", "rules", "alerts.yml")
	require.Contains(t, out, "SUCCESS")
}

// TestAlertRulesFireAndResolve runs rules_test.yml: synthetic series on
// either side of each threshold.
func TestAlertRulesFireAndResolve(t *testing.T) {
	out := promtool.Run(t, "", "test", "rules", "rules_test.yml")
	require.Contains(t, out, "SUCCESS")
}

// TestEveryAlertIsTested requires, for each alert, a summary and a runbook
// in alerts.yml and a case in rules_test.yml where it fires.
func TestEveryAlertIsTested(t *testing.T) {
	rules, err := os.ReadFile("alerts.yml")
	require.NoError(t, err)
	tests, err := os.ReadFile("rules_test.yml")
	require.NoError(t, err)

	blocks := regexp.MustCompile(`(?m)^\s+- alert: `).Split(string(rules), -1)[1:]
	require.Len(t, blocks, 9, "one rule per documented alert")
	for _, b := range blocks {
		name := strings.Fields(b)[0]
		require.Contains(t, b, "summary: ", name)
		require.Contains(t, b, "runbook: ", name)
		fires := regexp.MustCompile(`(?m)^\s+- alertname: ` + name + `\n\s+eval_time: \S+\n\s+exp_alerts:\n\s+- exp_labels:`)
		require.Regexp(t, fires, string(tests), "%s has a case where it fires", name)
		quiet := regexp.MustCompile(`\{alertname: ` + name + `, eval_time: \S+, exp_alerts: \[\]\}`)
		require.GreaterOrEqual(t, len(quiet.FindAllString(string(tests), -1)), 2,
			"%s has cases where it is quiet before and after", name)
	}
}

// TestDashboardIsImportable checks the structure Grafana 10 needs to
// import dashboard.json: panels with a Prometheus datasource input and at
// least one query each. The live test evaluates every query.
func TestDashboardIsImportable(t *testing.T) {
	b, err := os.ReadFile("dashboard.json")
	require.NoError(t, err)
	var d struct {
		Inputs []struct{ Name, Type, PluginID string } `json:"__inputs"`
		Title  string
		UID    string
		Schema int `json:"schemaVersion"`
		Panels []struct {
			Title   string
			Type    string
			Targets []struct{ Expr, RefID string }
		}
	}
	require.NoError(t, json.Unmarshal(b, &d))
	require.NotEmpty(t, d.Title)
	require.NotEmpty(t, d.UID)
	require.GreaterOrEqual(t, d.Schema, 36, "Grafana 10 schema")
	require.Len(t, d.Inputs, 1)
	require.Equal(t, "prometheus", d.Inputs[0].PluginID)
	queries := 0
	for _, p := range d.Panels {
		if p.Type == "row" {
			continue
		}
		require.NotEmpty(t, p.Targets, "panel %q has a query", p.Title)
		for _, q := range p.Targets {
			require.NotEmpty(t, q.Expr, p.Title)
			require.NotEmpty(t, q.RefID, p.Title)
			queries++
		}
	}
	require.GreaterOrEqual(t, queries, 15)
}
