package metrics

import (
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// HTTP returns a middleware that records each request's duration in
// hardening_http_request_duration_seconds{route, status}: route is the
// ServeMux pattern that matched ("GET /api/cart", "/static/"), or
// "unmatched", so that the label's values stay few; status is the class of
// the answer ("2xx" … "5xx"). Wrap the ServeMux itself: it sets the
// request's Pattern, which the middleware reads once the mux returns.
func HTTP(reg prometheus.Registerer) func(http.Handler) http.Handler {
	hist := register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "hardening_http_request_duration_seconds",
		Help:    "HTTP requests served, by the route pattern that matched and the status class.",
		Buckets: latencyBuckets,
	}, []string{"route", "status"}))
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			sw := &statusWriter{ResponseWriter: w}
			observe := func() {
				route := r.Pattern
				if route == "" {
					route = "unmatched"
				}
				hist.WithLabelValues(route, statusClass(sw.status)).Observe(time.Since(start).Seconds())
			}
			defer func() {
				if p := recover(); p != nil {
					if sw.status == 0 {
						sw.status = http.StatusInternalServerError // what the client sees: no answer
					}
					observe()
					panic(p)
				}
			}()
			next.ServeHTTP(sw, r)
			observe()
		})
	}
}

func statusClass(code int) string {
	if code == 0 {
		code = http.StatusOK // nothing written: net/http answers 200
	}
	if code < 100 || code > 599 {
		return "other"
	}
	return strconv.Itoa(code/100) + "xx"
}

// upstreamCode is the code label of an upstream answer: the status itself
// for those that tell an operator what happened (success, redirects, a bad
// key, rate limiting, the upstream's own failures), else its class.
func upstreamCode(status int) string {
	switch status {
	case 200, 301, 302, 307, 308, 400, 401, 403, 404, 408, 414, 429, 500, 502, 503, 504:
		return strconv.Itoa(status)
	}
	return statusClass(status)
}

// statusWriter remembers the status code written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// ReadFrom keeps the wrapped writer's ReadFrom, so that files served
// through this middleware still go out with sendfile(2).
func (w *statusWriter) ReadFrom(src io.Reader) (int64, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(src)
	}
	return io.Copy(w.ResponseWriter, src)
}

// Flush sends what is buffered, for handlers that assert http.Flusher.
func (w *statusWriter) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach Flush, deadlines and the rest.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Upstream returns base (http.DefaultTransport when nil) recording each
// call's duration in hardening_rates_upstream_request_duration_seconds{code}:
// code is the HTTP status when it is one a rates API answers on purpose
// (see upstreamCode), its class ("4xx") otherwise, or "error" when no
// response came back: the upstream cannot make series without bound.
func Upstream(reg prometheus.Registerer, base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	hist := register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "hardening_rates_upstream_request_duration_seconds",
		Help:    "Calls to the rates upstream, by HTTP status (or \"error\").",
		Buckets: latencyBuckets,
	}, []string{"code"}))
	return roundTripper(func(r *http.Request) (*http.Response, error) {
		start := time.Now()
		res, err := base.RoundTrip(r)
		code := "error"
		if err == nil {
			code = upstreamCode(res.StatusCode)
		}
		hist.WithLabelValues(code).Observe(time.Since(start).Seconds())
		return res, err
	})
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
