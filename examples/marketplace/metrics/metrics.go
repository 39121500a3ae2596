// Package metrics exports the hardening packages to Prometheus, so that the
// packages themselves never depend on it: each constructor here reads one
// package's Stats() snapshot (or wraps one of its plug points) and names
// what it reads by the Prometheus conventions.
//
// Unlike a reflective exporter that turns every Stats field into a series,
// the names are written out: one family per concept with labels for the
// class, tier, state or route (hardening_rates_failures_total{class="auth"}),
// counters only for counts that never go down, base units (_seconds,
// _bytes), and histograms for latencies. README's "Operating it" section
// lists every family; a test keeps the two in agreement and lints the
// exposition with promtool.
//
// Collectors built from snapshots are unchecked (their Describe sends
// nothing), since a family such as the CDN's is registered once per
// handler with a different constant "handler" label.
package metrics

import "github.com/prometheus/client_golang/prometheus"

// family is one metric family read from a snapshot.
type family struct {
	desc *prometheus.Desc
	kind prometheus.ValueType
}

func counter(name, help string, constLabels prometheus.Labels, labels ...string) family {
	return family{prometheus.NewDesc(name, help, labels, constLabels), prometheus.CounterValue}
}

func gauge(name, help string, constLabels prometheus.Labels, labels ...string) family {
	return family{prometheus.NewDesc(name, help, labels, constLabels), prometheus.GaugeValue}
}

// send emits one sample of the family.
func (f family) send(ch chan<- prometheus.Metric, v float64, labelValues ...string) {
	ch <- prometheus.MustNewConstMetric(f.desc, f.kind, v, labelValues...)
}

// collector calls collect on every scrape.
type collector func(ch chan<- prometheus.Metric)

// Describe sends nothing: the collector is unchecked.
func (collector) Describe(chan<- *prometheus.Desc) {}

// Collect sends the current samples.
func (c collector) Collect(ch chan<- prometheus.Metric) { c(ch) }

func bit(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// register registers c with reg, or returns the collector of the same
// name registered before (so that building a handler twice is harmless).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		if are, ok := err.(prometheus.AlreadyRegisteredError); ok {
			if old, ok := are.ExistingCollector.(C); ok {
				return old
			}
		}
		panic(err)
	}
	return c
}

// latencyBuckets suit calls that take from a millisecond to tens of seconds.
var latencyBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}
