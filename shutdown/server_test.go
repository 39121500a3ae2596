package shutdown

import (
	"context"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newClient returns a client that opens a new connection per request, so
// that every request tests whether the listener still accepts.
func newClient(t *testing.T) *http.Client {
	tr := &http.Transport{DisableKeepAlives: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

func listen(t *testing.T) net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	return ln
}

type response struct {
	code int
	body string
	err  error
}

func get(client *http.Client, url string) response {
	resp, err := client.Get(url)
	if err != nil {
		return response{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return response{code: resp.StatusCode, body: string(b), err: err}
}

// TestServeDrainSequence drives a real http.Server through the sequence:
// readiness 503 while the listener still accepts, then the listener closes
// and new connections are refused while a slow in-flight request finishes,
// then the other hooks run.
func TestServeDrainSequence(t *testing.T) {
	logger, logs := newLogger()
	c := New(Config{DrainDelay: time.Second, Timeout: 5 * time.Second, Logger: logger})
	c.AddCheck("database", func(context.Context) error { return nil })
	client := newClient(t)

	var poolClosedAt, slowDoneAt atomic.Int64
	slowEntered := make(chan struct{})
	releaseSlow := make(chan struct{})
	mux := http.NewServeMux()
	mux.Handle("/readyz", c.Readiness())
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		close(slowEntered)
		<-releaseSlow
		_, _ = io.WriteString(w, "done")
		slowDoneAt.Store(time.Now().UnixNano())
	})
	ln := listen(t)
	addr := ln.Addr().String()
	base := "http://" + addr
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}

	serveErr := make(chan error, 1)
	go func() { serveErr <- c.Serve(srv, ln) }()
	require.Eventually(t, func() bool { return c.Stats().Hooks == 1 }, 5*time.Second, time.Millisecond)
	// Registered after the server, but servers stop first whatever the order.
	c.Register("pool", func(context.Context) error {
		poolClosedAt.Store(time.Now().UnixNano())
		return nil
	})

	require.Equal(t, http.StatusOK, get(client, base+"/readyz").code)

	slow := make(chan response, 1)
	go func() {
		slow <- get(client, base+"/slow")
	}()
	<-slowEntered

	reports := make(chan Report, 1)
	go func() {
		r, _ := c.Shutdown(context.Background())
		reports <- r
	}()

	// 1. Draining: readiness is 503 over a new connection, so the listener
	// is still open.
	require.Eventually(t, func() bool { return c.Stats().Step == stepDrain }, 5*time.Second, time.Millisecond)
	ready := get(client, base+"/readyz")
	require.NoError(t, ready.err, "the listener must still accept during the drain delay")
	assert.Equal(t, http.StatusServiceUnavailable, ready.code)
	assert.JSONEq(t, `{"status":"draining"}`, ready.body)

	// 2. After the drain delay the server shuts down: new connections are
	// refused while the slow request is still in flight.
	require.Eventually(t, func() bool {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			return true
		}
		_ = conn.Close()
		return false
	}, 5*time.Second, 5*time.Millisecond, "new connections must be refused once the server shuts down")
	assert.Equal(t, "http server "+addr, c.Stats().Step)
	refused := get(client, base+"/readyz")
	assert.Error(t, refused.err)

	// 3. The in-flight request completes during the shutdown.
	close(releaseSlow)
	got := <-slow
	require.NoError(t, got.err)
	assert.Equal(t, http.StatusOK, got.code)
	assert.Equal(t, "done", got.body)

	r := <-reports
	require.NoError(t, r.Err())
	require.Len(t, r.Hooks, 2)
	assert.Equal(t, "http server "+addr, r.Hooks[0].Name)
	assert.Equal(t, "pool", r.Hooks[1].Name)
	assert.Less(t, slowDoneAt.Load(), poolClosedAt.Load(), "the pool closes after the in-flight handler returned")
	assert.NoError(t, <-serveErr, "Serve returns nil after a clean shutdown")
	assert.Contains(t, logs.String(), "shutdown: complete")
}

// TestServeCancelsBaseContextNearBudget: a handler that waits for its
// request context is cancelled when the server's share is nearly spent,
// through the base context (an existing BaseContext is kept).
func TestServeCancelsBaseContextNearBudget(t *testing.T) {
	c := New(Config{Timeout: 400 * time.Millisecond, Logger: discard})
	client := newClient(t)
	type key struct{}
	entered := make(chan struct{})
	var handlerDone atomic.Bool
	handlerErr := make(chan error, 1)
	var value atomic.Value
	srv := &http.Server{
		ReadHeaderTimeout: 5 * time.Second,
		BaseContext: func(net.Listener) context.Context {
			return context.WithValue(context.Background(), key{}, "kept")
		},
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			value.Store(r.Context().Value(key{}))
			close(entered)
			<-r.Context().Done()
			handlerDone.Store(true)
			handlerErr <- r.Context().Err()
			w.WriteHeader(http.StatusServiceUnavailable)
		}),
	}
	ln := listen(t)
	serveErr := make(chan error, 1)
	go func() { serveErr <- c.Serve(srv, ln) }()

	resp := make(chan response, 1)
	go func() { resp <- get(client, "http://"+ln.Addr().String()+"/") }()
	<-entered

	go func() { _, _ = c.Shutdown(context.Background()) }()
	require.Eventually(t, func() bool { return c.Stats().Step != "" }, 5*time.Second, time.Millisecond)
	assert.False(t, handlerDone.Load(), "the base context must not be cancelled at the start of the share")

	select {
	case err := <-handlerErr:
		assert.ErrorIs(t, err, context.Canceled)
	case <-time.After(5 * time.Second):
		t.Fatal("the handler's context was never cancelled")
	}
	assert.Equal(t, "kept", value.Load())
	<-resp // a 503 or a closed connection, depending on who wins
	<-serveErr
	r := c.Stats().LastReport
	require.NotNil(t, r)
	assert.Len(t, r.Hooks, 1)
}

func TestServeFailureStillRunsTheHooks(t *testing.T) {
	c := New(Config{Logger: discard})
	busy := listen(t)
	defer busy.Close()
	closed := false
	c.Register("pool", func(context.Context) error { closed = true; return nil })

	srv := &http.Server{Addr: busy.Addr().String(), ReadHeaderTimeout: time.Second}
	err := c.Serve(srv, nil)
	require.Error(t, err)
	assert.ErrorContains(t, err, "shutdown: serve "+busy.Addr().String())
	assert.True(t, closed, "a server that cannot start must not leave the pool open")
	assert.Equal(t, "serve error", c.Stats().LastReport.Trigger)
}

func TestServeAfterShutdownStarted(t *testing.T) {
	c := New(Config{Logger: discard})
	_, err := c.Shutdown(context.Background())
	require.NoError(t, err)
	ln := listen(t)
	err = c.Serve(&http.Server{ReadHeaderTimeout: time.Second}, ln)
	require.ErrorContains(t, err, "already started")
	_, err = ln.Accept()
	assert.ErrorIs(t, err, net.ErrClosed, "Serve must close the listener it will not use")
}

func TestServeStoppedDirectlyReturnsNil(t *testing.T) {
	c := New(Config{Logger: discard})
	srv := &http.Server{ReadHeaderTimeout: time.Second}
	ln := listen(t)
	serveErr := make(chan error, 1)
	go func() { serveErr <- c.Serve(srv, ln) }()
	require.Eventually(t, func() bool { return c.Stats().Hooks == 1 }, 5*time.Second, time.Millisecond)
	// Serve may not have reached srv.Serve yet; either way it must return.
	require.NoError(t, srv.Shutdown(context.Background()))
	select {
	case err := <-serveErr:
		assert.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after the server was shut down directly")
	}
	assert.False(t, c.Draining())
}

// TestServeStopsWhenTheContextEndsDuringTheDrainDelay: a Shutdown context
// that ends during the drain delay still stops the servers (the other hooks
// are skipped as before), so new connections are refused once the sequence
// has finished and Serve returns. The servers used to be skipped too: they
// kept serving and Serve never returned.
func TestServeStopsWhenTheContextEndsDuringTheDrainDelay(t *testing.T) {
	c := New(Config{DrainDelay: time.Hour, Timeout: time.Second, Logger: discard})
	poolClosed := false
	c.Register("pool", func(context.Context) error { poolClosed = true; return nil })
	client := newClient(t)
	ln := listen(t)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })}
	served := make(chan error, 1)
	go func() { served <- c.Serve(srv, ln) }()
	url := "http://" + ln.Addr().String() + "/"
	require.Equal(t, "ok", get(client, url).body)

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	r, err := c.Shutdown(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded, "the pool was not closed")
	require.Len(t, r.Hooks, 2)
	assert.Equal(t, "http server "+ln.Addr().String(), r.Hooks[0].Name)
	assert.True(t, r.Hooks[1].TimedOut)
	assert.False(t, poolClosed, "the other hooks left are still not called")

	assert.Error(t, get(client, url).err, "a new connection after the sequence must be refused")
	select {
	case err := <-served:
		assert.ErrorIs(t, err, context.DeadlineExceeded)
	case <-time.After(5 * time.Second):
		_ = srv.Close() // let the test end
		<-served
		t.Fatal("Serve did not return after the sequence finished")
	}
}
