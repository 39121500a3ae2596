package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
)

// newProxy starts an in-process toxiproxy on a free loopback port in front
// of upstream (host:port) and stops it, closing every proxied connection,
// when the test ends.
func newProxy(t testing.TB, upstream string) *toxiproxy.Proxy {
	t.Helper()
	srv := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	p := toxiproxy.NewProxy(srv, "pg", "127.0.0.1:0", upstream)
	require.NoError(t, p.Start())
	t.Cleanup(p.Stop)
	return p
}

// toxic is one toxiproxy toxic as its JSON API describes it.
type toxic struct {
	Name       string         `json:"name"`
	Type       string         `json:"type"`
	Stream     string         `json:"stream"`
	Toxicity   float32        `json:"toxicity"`
	Attributes map[string]any `json:"attributes"`
}

func addToxic(t testing.TB, p *toxiproxy.Proxy, tx toxic) {
	t.Helper()
	if tx.Toxicity == 0 {
		tx.Toxicity = 1
	}
	body, err := json.Marshal(tx)
	require.NoError(t, err)
	_, err = p.Toxics.AddToxicJson(bytes.NewReader(body))
	require.NoError(t, err, "adding toxic %s", tx.Name)
}

func removeToxic(t testing.TB, p *toxiproxy.Proxy, name string) {
	t.Helper()
	require.NoError(t, p.Toxics.RemoveToxic(context.Background(), name), "removing toxic %s", name)
}

// replaceHost points a postgres:// URL at addr (the proxy) instead of its
// own host:port.
func replaceHost(t testing.TB, dsn, addr string) string {
	t.Helper()
	u, err := parseURL(dsn)
	require.NoError(t, err)
	u.Host = addr
	return u.String()
}
