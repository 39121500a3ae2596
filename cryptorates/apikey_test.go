package cryptorates

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// testKey has characters that query escaping changes.
const testKey = "CG-k3y/with+plus"

// The upstream answered 302 with an unparsable Location quoting the key it
// was sent: net/http's error quotes the Location, and the client logged it.
func TestAPIKeyInRedirectErrorIsMasked(t *testing.T) {
	for name, key := range map[string]string{"raw": testKey, "query-escaped": url.QueryEscape(testKey)} {
		t.Run(name, func(t *testing.T) {
			up := newUpstream(t)
			up.set(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Location", "http://[::1%zz/login?x_cg_demo_api_key="+key)
				w.WriteHeader(http.StatusFound)
			})
			c, logs := newTestClient(t, Config{APIKey: testKey, ColdWait: time.Second}, newClock(), up.URL)
			require.Equal(t, TierStatic, rate(t, c, "bitcoin", "usd").Tier)
			idle(t, c)
			require.Equal(t, uint64(1), c.Stats().Failures.Network, "%+v", c.Stats().Failures)
			out := logs.String()
			require.Contains(t, out, "Location", "the error is logged")
			require.NotContains(t, out, testKey)
			require.NotContains(t, out, url.QueryEscape(testKey))
		})
	}
}
