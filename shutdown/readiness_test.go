package shutdown

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeClock is a settable clock for the readiness cache.
type fakeClock struct {
	mu  sync.Mutex // protects now
	now time.Time
}

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

func newClock() *fakeClock { return &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

// probe calls h over a real HTTP server and decodes the body.
func probe(t *testing.T, url string) (int, readinessBody, string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	var raw json.RawMessage
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&raw))
	var body readinessBody
	require.NoError(t, json.Unmarshal(raw, &body))
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
	return resp.StatusCode, body, string(raw)
}

func TestReadinessAllChecksPass(t *testing.T) {
	c := New(Config{Logger: discard})
	c.AddCheck("database", func(context.Context) error { return nil })
	c.AddCheck("sessions", func(context.Context) error { return nil })
	srv := httptest.NewServer(c.Readiness())
	defer srv.Close()

	code, body, _ := probe(t, srv.URL)
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "ready", body.Status)
	require.Len(t, body.Checks, 2)
	assert.Equal(t, "database", body.Checks[0].Name)
	assert.Equal(t, "sessions", body.Checks[1].Name)
	for _, ch := range body.Checks {
		assert.True(t, ch.OK)
		assert.Empty(t, ch.Error)
	}
}

func TestReadinessWithoutChecksIsReady(t *testing.T) {
	var c Coordinator
	srv := httptest.NewServer(c.Readiness())
	defer srv.Close()
	code, body, _ := probe(t, srv.URL)
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "ready", body.Status)
}

func TestReadinessOneFailingCheckIs503(t *testing.T) {
	c := New(Config{Logger: discard})
	c.AddCheck("database", func(context.Context) error { return nil })
	c.AddCheck("sessions", func(context.Context) error { return errors.New("connection refused") })
	srv := httptest.NewServer(c.Readiness())
	defer srv.Close()

	code, body, _ := probe(t, srv.URL)
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Equal(t, "not ready", body.Status)
	assert.True(t, body.Checks[0].OK)
	assert.False(t, body.Checks[1].OK)
	assert.Equal(t, "connection refused", body.Checks[1].Error)
	assert.Equal(t, uint64(1), c.Stats().ProbeFailures)
}

func TestReadinessChecksAreCached(t *testing.T) {
	clock := newClock()
	c := New(Config{CheckCacheTTL: time.Second, Now: clock.Now, Logger: discard})
	var calls atomic.Int64
	c.AddCheck("database", func(context.Context) error { calls.Add(1); return nil })
	srv := httptest.NewServer(c.Readiness())
	defer srv.Close()

	for range 5 {
		code, _, _ := probe(t, srv.URL)
		assert.Equal(t, http.StatusOK, code)
	}
	assert.Equal(t, int64(1), calls.Load(), "probes inside the TTL must reuse the result")
	_, body, _ := probe(t, srv.URL)
	assert.True(t, body.Checks[0].Cached)

	clock.Advance(999 * time.Millisecond)
	probe(t, srv.URL)
	assert.Equal(t, int64(1), calls.Load())

	clock.Advance(time.Millisecond)
	_, body, _ = probe(t, srv.URL)
	assert.Equal(t, int64(2), calls.Load(), "after the TTL the check runs again")
	assert.False(t, body.Checks[0].Cached)

	st := c.Stats()
	assert.Equal(t, uint64(2), st.CheckRuns)
	assert.Equal(t, uint64(6), st.CheckCacheHits)
	assert.Equal(t, uint64(8), st.Probes)
}

func TestReadinessFailuresAreCachedToo(t *testing.T) {
	clock := newClock()
	c := New(Config{Now: clock.Now, Logger: discard})
	var calls atomic.Int64
	c.AddCheck("database", func(context.Context) error { calls.Add(1); return errors.New("down") })
	srv := httptest.NewServer(c.Readiness())
	defer srv.Close()
	for range 3 {
		code, _, _ := probe(t, srv.URL)
		assert.Equal(t, http.StatusServiceUnavailable, code)
	}
	assert.Equal(t, int64(1), calls.Load(), "a failing database must not be hammered either")
}

func TestReadinessCachingOff(t *testing.T) {
	c := New(Config{CheckCacheTTL: -1, Logger: discard})
	var calls atomic.Int64
	c.AddCheck("database", func(context.Context) error { calls.Add(1); return nil })
	srv := httptest.NewServer(c.Readiness())
	defer srv.Close()
	for range 3 {
		probe(t, srv.URL)
	}
	assert.Equal(t, int64(3), calls.Load())
}

func TestReadinessConcurrentProbesShareOneRun(t *testing.T) {
	clock := newClock()
	c := New(Config{CheckTimeout: 5 * time.Second, Now: clock.Now, Logger: discard})
	var calls atomic.Int64
	release := make(chan struct{})
	c.AddCheck("database", func(context.Context) error {
		calls.Add(1)
		<-release
		return nil
	})
	srv := httptest.NewServer(c.Readiness())
	defer srv.Close()

	var wg sync.WaitGroup
	codes := make([]int, 8)
	for i := range codes {
		wg.Go(func() { codes[i], _, _ = probe(t, srv.URL) })
	}
	require.Eventually(t, func() bool { return calls.Load() == 1 }, 5*time.Second, time.Millisecond)
	close(release)
	wg.Wait()
	assert.Equal(t, int64(1), calls.Load(), "concurrent probes must share one check run")
	for _, code := range codes {
		assert.Equal(t, http.StatusOK, code)
	}
}

func TestReadinessCheckTimeout(t *testing.T) {
	c := New(Config{CheckTimeout: 50 * time.Millisecond, Logger: discard})
	release := make(chan struct{})
	defer close(release)
	c.AddCheck("honours-context", func(ctx context.Context) error {
		<-ctx.Done()
		return fmt.Errorf("ping: %w", ctx.Err())
	})
	c.AddCheck("ignores-context", func(context.Context) error {
		<-release
		return nil
	})
	srv := httptest.NewServer(c.Readiness())
	defer srv.Close()

	code, body, _ := probe(t, srv.URL)
	assert.Equal(t, http.StatusServiceUnavailable, code)
	require.Len(t, body.Checks, 2)
	assert.False(t, body.Checks[0].OK)
	assert.NotEmpty(t, body.Checks[0].Error)
	assert.False(t, body.Checks[1].OK)
	assert.Equal(t, "timed out after 50ms", body.Checks[1].Error)
}

func TestReadinessDrainingIs503AndLivenessStays200(t *testing.T) {
	c := New(Config{Logger: discard})
	c.AddCheck("database", func(context.Context) error { return nil })
	mux := http.NewServeMux()
	mux.Handle("/readyz", c.Readiness())
	mux.Handle("/healthz", c.Liveness())
	srv := httptest.NewServer(mux)
	defer srv.Close()

	code, _, _ := probe(t, srv.URL+"/readyz")
	assert.Equal(t, http.StatusOK, code)
	code, body, _ := probe(t, srv.URL+"/healthz")
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "alive", body.Status)

	_, err := c.Shutdown(context.Background())
	require.NoError(t, err)

	code, body, _ = probe(t, srv.URL+"/readyz")
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Equal(t, "draining", body.Status)
	code, _, _ = probe(t, srv.URL+"/healthz")
	assert.Equal(t, http.StatusOK, code, "liveness must stay 200 while draining")
}

func TestProbesRejectOtherMethods(t *testing.T) {
	var c Coordinator
	for _, h := range []http.Handler{c.Readiness(), c.Liveness()} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", nil))
		assert.Equal(t, http.StatusMethodNotAllowed, rec.Code)
		assert.Equal(t, "GET, HEAD", rec.Header().Get("Allow"))
	}
	rec := httptest.NewRecorder()
	c.Readiness().ServeHTTP(rec, httptest.NewRequest(http.MethodHead, "/", nil))
	assert.Equal(t, http.StatusOK, rec.Code)
}

func TestReadinessBodyHasNoSecrets(t *testing.T) {
	secrets := []string{"s3cr3tPass", "hunter2hunter2", "tok_live_abcdef123", "eyJhbGciOi.payload.sig", "AKIAEXAMPLEKEY"}
	c := New(Config{Logger: discard})
	c.AddCheck("database", func(context.Context) error {
		return fmt.Errorf("failed to connect to postgres://app:s3cr3tPass@db.internal:5432/market?sslmode=require: %w", errors.New("dial tcp: i/o timeout"))
	})
	c.AddCheck("kv", func(context.Context) error {
		return errors.New(`cannot parse "host=db user=app password=hunter2hunter2 dbname=market": invalid port`)
	})
	c.AddCheck("upstream", func(context.Context) error {
		return errors.New(`request failed: Authorization: Bearer eyJhbGciOi.payload.sig; api_key="tok_live_abcdef123"`)
	})
	c.AddCheck("json", func(context.Context) error {
		return errors.New(`config {"aws_access_key": "AKIAEXAMPLEKEY"} rejected`)
	})
	srv := httptest.NewServer(c.Readiness())
	defer srv.Close()

	code, body, raw := probe(t, srv.URL)
	assert.Equal(t, http.StatusServiceUnavailable, code)
	for _, s := range secrets {
		assert.NotContains(t, raw, s)
	}
	assert.NotContains(t, raw, "postgres://app")
	assert.NotContains(t, raw, "db.internal", "no DSN, not even its host")
	// What is left still helps an operator.
	assert.Contains(t, body.Checks[0].Error, "dial tcp: i/o timeout")
	assert.Contains(t, body.Checks[1].Error, "invalid port")
	assert.Contains(t, body.Checks[1].Error, "password=[redacted]")
}

// TestReadinessBodyHidesDSNsPgxAccepts: DSNs pgx accepts, quoted in a
// check's error, with a URL password holding '"' or '<' or a quoted
// password with an escaped quote, show no piece of the password. The part
// after the '"', '<' or "\'" used to reach the body.
func TestReadinessBodyHidesDSNsPgxAccepts(t *testing.T) {
	for _, msg := range []string{
		`connect postgres://app:Xy"Zw9kLm2pQr@db.internal:5432/shop failed`,
		`connect postgres://app:Xy<Zw9kLm2pQr@db.internal:5432/shop failed`,
		`connect host=db password='Xy\'Zw9k Lm2pQr' user=app failed`,
	} {
		c := New(Config{Logger: discard})
		c.AddCheck("db", func(context.Context) error { return errors.New(msg) })
		rec := httptest.NewRecorder()
		c.Readiness().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		body := rec.Body.String()
		assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
		for _, piece := range []string{"Zw9k", "Lm2pQr", "db.internal"} {
			assert.NotContains(t, body, piece, msg)
		}
		assert.Contains(t, body, "failed", "what is left still helps an operator")
	}
}
