package shutdown_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/dedw3n/hardening/shutdown"
)

// Hooks run newest first, like deferred calls: the store that uses the pool
// closes before the pool.
func ExampleCoordinator() {
	c := shutdown.New(shutdown.Config{
		Timeout: 2 * time.Second,
		Logger:  slog.New(slog.DiscardHandler),
	})
	c.Register("pool", func(context.Context) error { fmt.Println("close pool"); return nil })
	c.Register("sessions", func(context.Context) error { fmt.Println("close sessions"); return errors.New("flush: disk full") })

	report, err := c.Shutdown(context.Background())
	for _, h := range report.Hooks {
		fmt.Printf("%s: err=%v timed_out=%v\n", h.Name, h.Err, h.TimedOut)
	}
	fmt.Println(err)
	// Output:
	// close sessions
	// close pool
	// sessions: err=flush: disk full timed_out=false
	// pool: err=<nil> timed_out=false
	// shutdown: hook "sessions": flush: disk full
}

// Readiness runs the checks (cached briefly) and never shows a DSN.
func ExampleCoordinator_Readiness() {
	var c shutdown.Coordinator
	c.AddCheck("database", func(context.Context) error {
		return errors.New("connect postgres://app:s3cret@db:5432/market: connection refused")
	})
	c.AddCheck("sessions", func(context.Context) error { return nil })

	rec := httptest.NewRecorder()
	c.Readiness().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	var body struct {
		Status string
		Checks []struct {
			Name  string
			OK    bool
			Error string
		}
	}
	_ = json.Unmarshal(rec.Body.Bytes(), &body)
	fmt.Println(rec.Code, body.Status)
	for _, ch := range body.Checks {
		fmt.Printf("%s ok=%v %s\n", ch.Name, ch.OK, ch.Error)
	}
	// Output:
	// 503 not ready
	// database ok=false connect postgres://[redacted] connection refused
	// sessions ok=true
}

// CheckGrace is a startup sanity check against the orchestrator's
// termination grace period (0 means Kubernetes' default of 30 s).
func ExampleCoordinator_CheckGrace() {
	c := shutdown.New(shutdown.Config{
		DrainDelay: 25 * time.Second,
		Timeout:    10 * time.Second,
		Logger:     slog.New(slog.DiscardHandler),
	})
	fmt.Println(c.CheckGrace(0))
	fmt.Println(c.CheckGrace(time.Minute))
	// Output:
	// shutdown: drain delay 25s + budget 10s = 35s does not fit the termination grace period 30s: the process would be killed mid-shutdown
	// <nil>
}

// Serve runs a server until the shutdown sequence stops it, and bounds slow
// clients with the timeouts of Config where the server sets none of its own.
func ExampleCoordinator_Serve() {
	c := shutdown.New(shutdown.Config{Logger: slog.New(slog.DiscardHandler)})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := &http.Server{
		Handler:     http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "hello") }),
		IdleTimeout: time.Minute, // the server's own value is kept
	}
	served := make(chan error, 1)
	go func() { served <- c.Serve(srv, ln) }()

	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	if resp, err := client.Get("http://" + ln.Addr().String()); err == nil {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(string(body))
	}
	_, _ = c.Shutdown(context.Background())
	fmt.Println(<-served)
	fmt.Println("headers:", srv.ReadHeaderTimeout, "idle:", srv.IdleTimeout)
	// Output:
	// hello
	// <nil>
	// headers: 10s idle: 1m0s
}
