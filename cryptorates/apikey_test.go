package cryptorates

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
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

// The upstream redirected to another host: net/http forwarded the key's
// header there.
func TestAPIKeyIsNotSentToAnotherHost(t *testing.T) {
	for _, plan := range []Plan{PlanDemo, PlanPro} {
		t.Run(string(plan), func(t *testing.T) {
			other, up := newUpstream(t), newUpstream(t)
			elsewhere := strings.Replace(other.URL, "127.0.0.1", "localhost", 1) // another host name
			up.set(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, elsewhere+r.URL.RequestURI(), http.StatusFound)
			})
			hc := &http.Client{}
			c, logs := newTestClient(t, Config{Plan: plan, APIKey: testKey, HTTPClient: hc, ColdWait: time.Second}, newClock(), up.URL)
			q := rate(t, c, "bitcoin", "usd")
			idle(t, c)
			if h := other.headers.Load(); h != nil {
				require.Empty(t, h.Get("x-cg-demo-api-key")+h.Get("x-cg-pro-api-key"), "the key reached another host")
			}
			require.Zero(t, other.calls.Load(), "the redirect was followed")
			require.Equal(t, TierStatic, q.Tier)
			require.Equal(t, uint64(1), c.Stats().Failures.Status, "%+v", c.Stats().Failures)
			require.Contains(t, logs.String(), "refused a redirect to another host")
			require.NotContains(t, logs.String(), testKey)
			require.Nil(t, hc.CheckRedirect, "the caller's client is left as it is")
		})
	}
}

// A redirect within the upstream's host is still followed, through the
// configured client's own policy, with the key.
func TestAPIKeyFollowsRedirectOnItsHost(t *testing.T) {
	up := newUpstream(t)
	up.set(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/moved/") {
			up.ok(w, r)
			return
		}
		http.Redirect(w, r, "/moved"+r.URL.RequestURI(), http.StatusMovedPermanently)
	})
	var asked atomic.Int64
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { asked.Add(1); return nil }}
	c, _ := newTestClient(t, Config{APIKey: testKey, HTTPClient: hc}, newClock(), up.URL)
	require.Equal(t, TierFresh, rate(t, c, "bitcoin", "usd").Tier)
	require.EqualValues(t, 2, up.calls.Load())
	require.Equal(t, testKey, (*up.headers.Load()).Get("x-cg-demo-api-key"))
	require.EqualValues(t, 1, asked.Load(), "the configured CheckRedirect decides the rest")
}

func TestKeyStaysHomeRedirectPolicy(t *testing.T) {
	from := "https://api.example.com/api/v3/simple/price"
	cases := []struct {
		to      string
		allowed bool
	}{
		{"https://api.example.com/v3/simple/price", true},
		{"https://API.Example.com/v3/simple/price", true},
		{"https://evil.example.net/simple/price", false},
		{"https://api.example.com:8443/simple/price", false},
		{"http://api.example.com/simple/price", false},
		{"https://user@evil.example.net/simple/price", false},
	}
	check := keyStaysHome(http.DefaultClient).CheckRedirect
	for _, tc := range cases {
		via := []*http.Request{httptest.NewRequest(http.MethodGet, from, nil)}
		err := check(httptest.NewRequest(http.MethodGet, tc.to, nil), via)
		require.Equal(t, tc.allowed, err == nil, "%s: %v", tc.to, err)
	}
}
