package main

// The end-to-end harness: builds the real binary once, runs it as a child
// process against a real PostgreSQL from internal/pgtest and a fake upstream
// over HTTP, and talks to it over real HTTP.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dedw3n/hardening/internal/pgtest"
	"github.com/dedw3n/hardening/internal/testlog"
)

var (
	binDir  string // temporary directory holding the built binary
	binOnce sync.Once
	binErr  error
)

type cleanup struct{ m *testing.M }

func (c cleanup) Run() int {
	code := c.m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	return code
}

func TestMain(m *testing.M) { pgtest.Main(cleanup{m}) }

// binary builds the marketplace once per test binary.
func binary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "marketplace-e2e-")
		if binErr != nil {
			return
		}
		gobin, err := exec.LookPath("go")
		if err != nil {
			binErr = err
			return
		}
		out, err := exec.Command(gobin, "build", "-o", filepath.Join(binDir, "marketplace"), ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	require.NoError(t, binErr)
	return filepath.Join(binDir, "marketplace")
}

// proc is one running marketplace process.
type proc struct {
	t      *testing.T
	url    string
	cmd    *exec.Cmd
	out    *testlog.Buffer
	done   chan struct{}
	exit   int // valid after done is closed
	client *http.Client
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// closedURL is an address where nothing listens: an upstream with no network.
func closedURL(t *testing.T) string {
	return fmt.Sprintf("http://127.0.0.1:%d/api/v3", freePort(t))
}

// startApp runs the marketplace with env (KEY=value pairs) on a free port and
// waits until /healthz answers. The process is stopped when the test ends.
func startApp(t *testing.T, env ...string) *proc {
	t.Helper()
	a := launch(t, env...)
	a.waitHealthy()
	return a
}

func launch(t *testing.T, env ...string) *proc {
	t.Helper()
	port := freePort(t)
	cmd := exec.Command(binary(t))
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
		"PORT=" + strconv.Itoa(port),
		"SESSION_SECRET=e2e-test-secret-0123456789abcdefghijklmnopqrstuvwxyz",
		"RATES_MIN_INTERVAL=100ms",
	}, env...)
	out := &testlog.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	require.NoError(t, cmd.Start())
	jar, _ := cookiejar.New(nil)
	a := &proc{
		t: t, url: fmt.Sprintf("http://127.0.0.1:%d", port), cmd: cmd, out: out,
		done:   make(chan struct{}),
		client: &http.Client{Jar: jar, Timeout: 10 * time.Second},
	}
	go func() {
		err := cmd.Wait()
		a.exit = cmd.ProcessState.ExitCode()
		_ = err
		close(a.done)
	}()
	t.Cleanup(func() {
		a.stop()
		if t.Failed() {
			t.Logf("marketplace output:\n%s", out.String())
		}
	})
	return a
}

func (a *proc) waitHealthy() {
	a.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-a.done:
			a.t.Fatalf("marketplace exited (code %d) before it was healthy:\n%s", a.exit, a.out.String())
		default:
		}
		res, err := http.Get(a.url + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	a.t.Fatalf("marketplace not healthy after 30s:\n%s", a.out.String())
}

// stop sends SIGTERM and waits for the exit, killing after 20 s.
func (a *proc) stop() {
	select {
	case <-a.done:
		return
	default:
	}
	_ = a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-a.done:
	case <-time.After(20 * time.Second):
		_ = a.cmd.Process.Kill()
		<-a.done
	}
}

// cookies returns the session cookies the app's client holds.
func (a *proc) cookies() []*http.Cookie {
	u, err := url.Parse(a.url)
	require.NoError(a.t, err)
	return a.client.Jar.Cookies(u)
}

// do sends a request with the app's cookie jar and returns status, headers and body.
func (a *proc) do(method, path string, body any) (int, http.Header, []byte) {
	a.t.Helper()
	var r io.Reader
	if body != nil {
		switch b := body.(type) {
		case string:
			r = strings.NewReader(b)
		case []byte:
			r = bytes.NewReader(b)
		default:
			j, err := json.Marshal(b)
			require.NoError(a.t, err)
			r = bytes.NewReader(j)
		}
	}
	req, err := http.NewRequestWithContext(context.Background(), method, a.url+path, r)
	require.NoError(a.t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := a.client.Do(req)
	require.NoError(a.t, err, "%s %s", method, path)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(a.t, err)
	return res.StatusCode, res.Header, b
}

// eventually polls f until it returns true or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// upstream is a fake CoinGecko: /simple/price answers for every coin and
// currency asked, unless its mode says to misbehave.
type upstream struct {
	*httptest.Server
	calls atomic.Int64
	mode  atomic.Value // "ok" or "429"
}

func newUpstream(t *testing.T) *upstream {
	u := &upstream{}
	u.mode.Store("ok")
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/simple/price") {
			http.NotFound(w, r)
			return
		}
		u.calls.Add(1)
		if u.mode.Load() == "429" {
			w.Header().Set("Retry-After", "1")
			http.Error(w, `{"status":{"error_code":429,"error_message":"rate limited"}}`, http.StatusTooManyRequests)
			return
		}
		prices := map[string]map[string]float64{}
		base := map[string]float64{"bitcoin": 60000, "ethereum": 3000, "solana": 150, "polkadot": 7, "avalanche-2": 35}
		for _, coin := range strings.Split(r.URL.Query().Get("ids"), ",") {
			m := map[string]float64{"last_updated_at": float64(time.Now().Unix())}
			for _, cur := range strings.Split(r.URL.Query().Get("vs_currencies"), ",") {
				v := base[coin]
				if v == 0 {
					v = 1
				}
				switch cur {
				case "eur":
					v *= 0.9
				case "gbp":
					v *= 0.8
				}
				m[cur] = v
			}
			prices[coin] = m
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(prices)
	}))
	t.Cleanup(u.Close)
	return u
}

// URL is the base URL to pass as COINGECKO_BASE_URL.
func (u *upstream) URL() string { return u.Server.URL + "/api/v3" }
