// Package metrics turns the Stats() snapshots of the hardening packages into
// Prometheus collectors, so that the packages themselves never depend on
// Prometheus.
//
// A [Collector] calls its snapshot function once per scrape and exports every
// exported numeric field of the returned struct: integers and floats as they
// are, bools as 0 or 1, time.Duration in seconds, time.Time as Unix seconds
// (0 when zero), nested structs with their field names joined by "_", and
// maps with string keys as one series per key (label "key"). Strings are
// exported as a label of an info-style gauge with value 1 (for states such as
// a breaker's "open"). Fields listed as counters are exported as counters
// with a "_total" suffix; the rest are gauges.
package metrics

import (
	"reflect"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/prometheus/client_golang/prometheus"
)

// Collector exports one package's Stats() snapshot.
type Collector struct {
	namespace string
	snapshot  func() any
	counters  map[string]bool
}

// New returns a collector whose metrics are named hardening_<subsystem>_<field>.
// snapshot is called on every scrape; counters names the fields (in their
// exported metric form, without "_total", e.g. "writes" or "upstream_calls")
// that only ever increase.
func New(subsystem string, snapshot func() any, counters ...string) *Collector {
	c := &Collector{namespace: "hardening_" + subsystem, snapshot: snapshot, counters: map[string]bool{}}
	for _, n := range counters {
		c.counters[n] = true
	}
	return c
}

// Describe sends no descriptors: the collector is unchecked, since its
// metrics follow the snapshot's fields.
func (c *Collector) Describe(chan<- *prometheus.Desc) {}

// Collect takes a snapshot and sends one metric per numeric field.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	c.walk(ch, "", reflect.ValueOf(c.snapshot()))
}

var (
	durationType = reflect.TypeOf(time.Duration(0))
	timeType     = reflect.TypeOf(time.Time{})
)

func (c *Collector) walk(ch chan<- prometheus.Metric, name string, v reflect.Value) {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	switch {
	case v.Type() == durationType:
		c.emit(ch, name+"_seconds", time.Duration(v.Int()).Seconds(), nil)
		return
	case v.Type() == timeType:
		t := v.Interface().(time.Time)
		sec := 0.0
		if !t.IsZero() {
			sec = float64(t.UnixNano()) / 1e9
		}
		c.emit(ch, name+"_timestamp_seconds", sec, nil)
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			if f := t.Field(i); f.IsExported() {
				c.walk(ch, join(name, snake(f.Name)), v.Field(i))
			}
		}
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			return
		}
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
		for _, k := range keys {
			if f, ok := number(v.MapIndex(k)); ok {
				c.emit(ch, name, f, prometheus.Labels{"key": k.String()})
			}
		}
	case reflect.String:
		if s := v.String(); s != "" {
			c.emit(ch, name+"_info", 1, prometheus.Labels{"value": s})
		}
	default:
		if f, ok := number(v); ok {
			c.emit(ch, name, f, nil)
		}
	}
}

func number(v reflect.Value) (float64, bool) {
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(v.Int()), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return float64(v.Uint()), true
	case reflect.Float32, reflect.Float64:
		return v.Float(), true
	case reflect.Bool:
		if v.Bool() {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

func (c *Collector) emit(ch chan<- prometheus.Metric, name string, value float64, labels prometheus.Labels) {
	kind, full := prometheus.GaugeValue, c.namespace+"_"+name
	if c.counters[name] {
		kind, full = prometheus.CounterValue, full+"_total"
	}
	var keys, vals []string
	for k, v := range labels {
		keys, vals = append(keys, k), append(vals, v)
	}
	desc := prometheus.NewDesc(full, "hardening "+strings.ReplaceAll(name, "_", " "), keys, nil)
	m, err := prometheus.NewConstMetric(desc, kind, value, vals...)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(desc, err)
		return
	}
	ch <- m
}

func join(a, b string) string {
	if a == "" {
		return b
	}
	return a + "_" + b
}

// snake turns a Go field name into a metric name part: "EmptyAcquireCount"
// becomes "empty_acquire_count", "LastHTTPError" "last_http_error".
func snake(s string) string {
	var b strings.Builder
	r := []rune(s)
	for i, c := range r {
		if unicode.IsUpper(c) {
			if i > 0 && (unicode.IsLower(r[i-1]) || (i+1 < len(r) && unicode.IsLower(r[i+1]))) {
				b.WriteByte('_')
			}
			c = unicode.ToLower(c)
		}
		b.WriteRune(c)
	}
	return b.String()
}
