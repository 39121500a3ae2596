package shutdown

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/dedw3n/hardening/internal/httpjson"
	"github.com/dedw3n/hardening/internal/redact"
)

// Readiness statuses, as found in the "status" field of the body.
const (
	statusReady    = "ready"
	statusNotReady = "not ready"
	statusDraining = "draining"
	statusAlive    = "alive"
)

// check is one named readiness check with its cached result.
type check struct {
	name string
	fn   func(context.Context) error

	mu      sync.Mutex    // protects the fields below
	last    checkResult   // result of the last completed run
	at      time.Time     // when last was stored (Config.Now)
	has     bool          // last is set
	running chan struct{} // non-nil while a run is under way; closed when it ends
}

// checkResult is one readiness check's outcome, as shown in the readiness
// body.
type checkResult struct {
	// Name is the name the check was added with.
	Name string `json:"name"`
	// OK reports that the check passed.
	OK bool `json:"ok"`
	// Error is the check's error text, sanitized: URLs and secret-looking
	// key=value pairs are redacted and the text is bounded in length.
	Error string `json:"error,omitempty"`
	// DurationSeconds is how long the check ran, in seconds (as in every
	// JSON form of the module).
	DurationSeconds float64 `json:"duration_seconds"`
	// Cached reports that the result came from the cache.
	Cached bool `json:"cached,omitempty"`
}

// readinessBody is the JSON body of both probes.
type readinessBody struct {
	Status string        `json:"status"`
	Checks []checkResult `json:"checks,omitempty"`
}

// AddCheck adds a readiness check. Readiness answers 200 only when every
// check passes and the sequence has not begun. A check runs with a context
// bounded by Config.CheckTimeout; its result, failure included, is reused
// for Config.CheckCacheTTL, and concurrent probes share one run. A check that
// ignores its context keeps its goroutine until it returns, while probes
// report it as timed out.
func (c *Coordinator) AddCheck(name string, fn func(context.Context) error) {
	c.init()
	c.mu.Lock()
	c.checks = append(c.checks, &check{name: name, fn: fn})
	c.mu.Unlock()
}

// Readiness returns the readiness probe handler (for /readyz). It answers
// 503 with status "draining" as soon as the shutdown sequence begins, before
// any listener closes; otherwise it runs the checks concurrently and answers
// 200 with status "ready" when all pass, 503 with status "not ready" when
// any fails. The JSON body lists each check's result in the order the
// checks were added; error texts are sanitized. Methods other than GET and
// HEAD get 405.
func (c *Coordinator) Readiness() http.Handler {
	c.init()
	return http.HandlerFunc(c.serveReadiness)
}

// Liveness returns the liveness probe handler (for /healthz). It answers 200
// with {"status":"alive"} while the process runs, during the shutdown
// sequence too, so that the orchestrator does not restart a draining
// process. Methods other than GET and HEAD get 405.
func (c *Coordinator) Liveness() http.Handler {
	c.init()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !allowProbe(w, r) {
			return
		}
		httpjson.Write(w, http.StatusOK, readinessBody{Status: statusAlive})
	})
}

func (c *Coordinator) serveReadiness(w http.ResponseWriter, r *http.Request) {
	if !allowProbe(w, r) {
		return
	}
	c.probes.Add(1)
	if c.draining.Load() {
		c.probeFailures.Add(1)
		httpjson.Write(w, http.StatusServiceUnavailable, readinessBody{Status: statusDraining})
		return
	}
	c.mu.Lock()
	checks := append([]*check(nil), c.checks...)
	c.mu.Unlock()

	results := make([]checkResult, len(checks))
	var wg sync.WaitGroup
	for i, k := range checks {
		wg.Go(func() { results[i] = c.runCheck(r.Context(), k) })
	}
	wg.Wait()

	body := readinessBody{Status: statusReady, Checks: results}
	for _, res := range results {
		if !res.OK {
			body.Status = statusNotReady
		}
	}
	if c.draining.Load() { // began while the checks ran
		body.Status = statusDraining
	}
	code := http.StatusOK
	if body.Status != statusReady {
		code = http.StatusServiceUnavailable
		c.probeFailures.Add(1)
	}
	httpjson.Write(w, code, body)
}

// runCheck returns k's cached result, or waits (at most the check timeout)
// for a run, starting one unless one is under way.
func (c *Coordinator) runCheck(ctx context.Context, k *check) checkResult {
	now := c.cfg.Now()
	k.mu.Lock()
	if k.has && c.cfg.CheckCacheTTL > 0 && now.Sub(k.at) < c.cfg.CheckCacheTTL {
		res := k.last
		k.mu.Unlock()
		c.checkCacheHits.Add(1)
		res.Cached = true
		return res
	}
	running := k.running
	if running == nil {
		running = make(chan struct{})
		k.running = running
		c.checkRuns.Add(1)
		go c.execCheck(k, running)
	}
	k.mu.Unlock()

	// A tenth more than the run's own timeout, so that a check that honours
	// its context reports its own error rather than a bare time-out.
	t := time.NewTimer(c.cfg.CheckTimeout + c.cfg.CheckTimeout/10)
	defer t.Stop()
	select {
	case <-running:
		k.mu.Lock()
		defer k.mu.Unlock()
		return k.last
	case <-t.C:
		return checkResult{Name: k.name, Error: fmt.Sprintf("timed out after %v", c.cfg.CheckTimeout), DurationSeconds: c.cfg.CheckTimeout.Seconds()}
	case <-ctx.Done():
		return checkResult{Name: k.name, Error: "probe canceled"}
	}
}

// execCheck runs k once, detached from any probe's context so that one
// impatient client cannot poison the cache, and stores the result.
func (c *Coordinator) execCheck(k *check, running chan struct{}) {
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.CheckTimeout)
	defer cancel()
	start := c.cfg.Now()
	err := callHook(ctx, k.fn)
	res := checkResult{Name: k.name, OK: err == nil, DurationSeconds: c.cfg.Now().Sub(start).Seconds()}
	if err != nil {
		res.Error = redact.Scrub(err.Error())
	}
	k.mu.Lock()
	k.last, k.at, k.has = res, c.cfg.Now(), true
	k.running = nil
	k.mu.Unlock()
	close(running)
}

// allowProbe answers 405 to methods other than GET and HEAD.
func allowProbe(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", "GET, HEAD")
	http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	return false
}
