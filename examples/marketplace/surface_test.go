package main

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestProductsAndMetrics(t *testing.T) {
	a := startApp(t, "COINGECKO_BASE_URL="+closedURL(t))
	code, _, body := a.do("GET", "/api/products", nil)
	require.Equal(t, 200, code)
	var got struct {
		Products []struct {
			ID       string             `json:"id"`
			Name     string             `json:"name"`
			PriceUSD float64            `json:"price_usd"`
			Prices   map[string]float64 `json:"prices"`
			Image    string             `json:"image"`
		} `json:"products"`
	}
	require.NoError(t, json.Unmarshal(body, &got))
	require.Len(t, got.Products, len(catalog))
	for _, p := range got.Products {
		require.NotEmpty(t, p.ID)
		require.Positive(t, p.PriceUSD)
		require.Greater(t, p.Prices["bitcoin"], 0.0, "priced in crypto from the static tier")
		code, _, _ := a.do("GET", p.Image, nil)
		require.Equal(t, 200, code, "the product image is served")
	}

	code, _, body = a.do("GET", "/metrics", nil)
	require.Equal(t, 200, code)
	for _, m := range []string{
		"hardening_sessions_store_loads_total", "hardening_sessions_store_ready 1", "hardening_rates_upstream_calls_total",
		`hardening_rates_served_total{tier="static"}`, `hardening_rates_breaker_state{state="closed"} 1`,
		`hardening_cdn_responses_total{handler="static",status="200"}`, "hardening_shutdown_draining 0", "hardening_ready 1",
		`hardening_http_request_duration_seconds_count{route="GET /api/products",status="2xx"} 1`,
		"go_goroutines",
	} {
		require.Contains(t, string(body), m)
	}
}

func TestObjectStores(t *testing.T) {
	pubA, pubB, priv := t.TempDir(), t.TempDir(), t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(pubA, "a.txt"), []byte("from A"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(pubB, "a.txt"), []byte("from B"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(pubB, "b.txt"), []byte("only B"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(priv, "invoice.pdf"), []byte("%PDF-1.4 private"), 0o644))
	a := startApp(t,
		"COINGECKO_BASE_URL="+closedURL(t),
		"PUBLIC_OBJECT_SEARCH_PATHS="+pubA+","+pubB,
		"PRIVATE_OBJECT_DIR="+priv,
	)

	code, h, body := a.do("GET", "/objects/public/a.txt", nil)
	require.Equal(t, 200, code)
	require.Equal(t, "from A", string(body), "the first search path wins")
	require.Contains(t, h.Get("Cache-Control"), "public")
	require.NotEmpty(t, h.Get("ETag"))
	_, _, body = a.do("GET", "/objects/public/b.txt", nil)
	require.Equal(t, "only B", string(body))
	code, h, _ = a.do("GET", "/objects/public/../../etc/passwd", nil)
	require.Contains(t, []int{400, 404}, code)
	require.NotContains(t, h.Get("Cache-Control"), "public")

	code, _, _ = a.do("GET", "/objects/private/invoice.pdf", nil)
	require.Equal(t, http.StatusUnauthorized, code, "anonymous sessions get 401")
	code, _, _ = a.do("POST", "/login", map[string]any{"user": "ada"})
	require.Equal(t, 200, code)
	code, h, body = a.do("GET", "/objects/private/invoice.pdf", nil)
	require.Equal(t, 200, code)
	require.Equal(t, "%PDF-1.4 private", string(body))
	require.NotContains(t, h.Get("Cache-Control"), "public")
	require.Contains(t, h.Get("Cache-Control"), "private")
}

// runOnce runs the binary to completion and returns its exit code and output.
func runOnce(t *testing.T, env []string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	done := make(chan struct{})
	var out []byte
	var err error
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("marketplace %v did not exit:\n%s", args, out)
	}
	if err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			t.Fatal(err)
		}
	}
	return cmd.ProcessState.ExitCode(), string(out)
}

func TestCheckConfig(t *testing.T) {
	const secretKey = "sk_test_Zq3kT9vRw2LmXn8PbY5cHa1D"
	prod := []string{"APP_ENV=production", "CHECKOUT=stripe", "STRIPE_SECRET_KEY=" + secretKey}

	code, out := runOnce(t, prod, "check-config")
	require.Equal(t, 1, code, out)
	for _, v := range []string{"DATABASE_URL", "SESSION_SECRET", "PUBLIC_OBJECT_SEARCH_PATHS", "PRIVATE_OBJECT_DIR",
		"STRIPE_SECRET_KEY", "STRIPE_PUBLISHABLE_KEY"} {
		require.Contains(t, out, v, "every problem in one report")
	}
	require.NotContains(t, out, secretKey[8:], "never a secret")

	code, out = runOnce(t, prod, "check-config", "--format", "json")
	require.Equal(t, 1, code)
	var rep struct {
		Problems []map[string]any `json:"problems"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &rep), out)
	require.NotEmpty(t, rep.Problems)

	code, out = runOnce(t, nil, "check-config")
	require.Equal(t, 0, code, "an empty development environment is clean: %s", out)

	env := filepath.Join(t.TempDir(), "prod.env")
	require.NoError(t, os.WriteFile(env, []byte("APP_ENV=production\nPORT=notaport\n"), 0o600))
	code, out = runOnce(t, nil, "check-config", "--env-file", env)
	require.Equal(t, 1, code, out)
	require.Contains(t, out, "PORT")

	code, _ = runOnce(t, nil, "check-config", "--no-such-flag")
	require.Equal(t, 2, code, "usage errors exit 2")
}

func TestProductionRefusesToStartOnAFailedCheck(t *testing.T) {
	code, out := runOnce(t, []string{"APP_ENV=production", "PORT=0"})
	require.Equal(t, 1, code)
	require.Contains(t, out, "refusing to start")
	require.Contains(t, out, "SESSION_SECRET")
}

func TestMalformedValueIsAStartupError(t *testing.T) {
	code, out := runOnce(t, []string{"PORT=0", "SESSION_TTL=7 days", "DB_MAX_CONNS=lots"})
	require.Equal(t, 1, code)
	require.Contains(t, out, "SESSION_TTL")
	require.Contains(t, out, "DB_MAX_CONNS", "every malformed variable at once")
	require.False(t, strings.Contains(out, "listening"), "it never starts serving")
}
