package cryptorates

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestHostileUpstreams(t *testing.T) {
	huge := `{"bitcoin":{"usd":1,"pad":"` + strings.Repeat("x", 2<<20) + `"}}`
	cases := []struct {
		name    string
		handler http.HandlerFunc // nil: connection refused
		class   func(Failures) uint64
	}{
		{"huge body", body(huge), func(f Failures) uint64 { return f.Invalid }},
		{"truncated JSON", body(goodBody("60000")[:40]), func(f Failures) uint64 { return f.Invalid }},
		{"deeply nested JSON", body(strings.Repeat("[", 20000) + strings.Repeat("]", 20000)), func(f Failures) uint64 { return f.Invalid }},
		{"huge numbers", body(`{"bitcoin":{"usd":1e400}}`), func(f Failures) uint64 { return f.Invalid }},
		{"HTML error page", body(`<html>oops</html>`), func(f Failures) uint64 { return f.Invalid }},
		{"duplicate currency key", body(`{"bitcoin":{"usd":90000,"usd":0.0001}}`), func(f Failures) uint64 { return f.Invalid }},
		{"duplicate coin key", body(`{"bitcoin":{"usd":90000},"bitcoin":{"usd":0.0001}}`), func(f Failures) uint64 { return f.Invalid }},
		{"two objects", body(`{"bitcoin":{"usd":90000}} {"bitcoin":{"usd":0.0001}}`), func(f Failures) uint64 { return f.Invalid }},
		{"implausible first values", body(`{"bitcoin":{"usd":1e300,"eur":1e-300,"gbp":5}}`), func(f Failures) uint64 { return f.Invalid }},
		{"empty body", body(``), func(f Failures) uint64 { return f.Invalid }},
		{"slow body", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"bitcoin":{"usd":`))
			w.(http.Flusher).Flush()
			<-r.Context().Done() // the rest never comes
		}, func(f Failures) uint64 { return f.Timeout }},
		{"no response", hang, func(f Failures) uint64 { return f.Timeout }},
		{"500", status(500), func(f Failures) uint64 { return f.Server }},
		{"502", status(502), func(f Failures) uint64 { return f.Server }},
		{"404", status(404), func(f Failures) uint64 { return f.Status }},
		{"connection refused", nil, func(f Failures) uint64 { return f.Network }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			url := refusedURL(t)
			if tc.handler != nil {
				up := newUpstream(t)
				up.set(tc.handler)
				url = up.URL
			}
			c, logs := newTestClient(t, Config{HTTPTimeout: 200 * time.Millisecond, ColdWait: 10 * time.Second}, clk, url)
			start := time.Now()
			q := rate(t, c, "bitcoin", "usd")
			require.Less(t, time.Since(start), 5*time.Second, "bounded by HTTPTimeout")
			require.Equal(t, TierStatic, q.Tier)
			require.Equal(t, 93500.0, q.Value)
			require.Equal(t, uint64(1), tc.class(c.Stats().Failures), "%+v", c.Stats().Failures)
			require.NotEmpty(t, c.Stats().LastFailure)
			require.Contains(t, logs.String(), "failure=1/5")
			require.Less(t, len(logs.String()), 8<<10, "a hostile body is not echoed into the log")
		})
	}
}

func TestNoNetworkStartsOnStaticWithinColdWait(t *testing.T) {
	// The example server's start: no network at all, default ColdWait.
	c, err := New(Config{BaseURL: refusedURL(t), Logger: discardLogger()})
	require.NoError(t, err)
	defer c.Close()
	start := time.Now()
	qs, err := c.Rates(t.Context())
	require.NoError(t, err)
	require.Less(t, time.Since(start), 2*time.Second+time.Second)
	require.Len(t, qs, 15)
	for _, q := range qs {
		require.Equal(t, TierStatic, q.Tier)
		require.Positive(t, q.Value)
	}
}
