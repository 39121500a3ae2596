package shutdown

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestOnePrefixPerError walks the package's exported error paths, each
// driven into failure for real: each line of an error says "shutdown:"
// once, at its start. A hook's own error is kept as it is, after the hook's
// name, and stays reachable through errors.Is.
func TestOnePrefixPerError(t *testing.T) {
	var errs []error
	check := func(err error) error {
		t.Helper()
		require.Error(t, err)
		errs = append(errs, err)
		return err
	}

	// A grace period the sequence does not fit in.
	c := New(Config{DrainDelay: 20 * time.Second, Timeout: 20 * time.Second, Logger: discard})
	check(c.CheckGrace(30 * time.Second))

	// Hooks that fail, panic, are nil or run out of their share; a second
	// caller that gives up waiting; a server added too late.
	errFlush := errors.New("flush failed")
	c = New(Config{Timeout: time.Second, Logger: discard})
	entered, release := make(chan struct{}), make(chan struct{})
	c.Register("slow", func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() })
	c.Register("flush", func(context.Context) error { return errFlush })
	c.Register("boom", func(context.Context) error { panic("kaboom") })
	c.Register("nil", nil)
	c.Register("stores", func(context.Context) error { return errors.Join(errFlush, errFlush) })
	c.Register("first", func(context.Context) error { close(entered); <-release; return nil })
	done := make(chan error)
	go func() { _, err := c.Shutdown(context.Background()); done <- err }()
	<-entered
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := c.Shutdown(ctx)
	require.ErrorIs(t, check(err), context.Canceled)
	check(c.Serve(&http.Server{Addr: "127.0.0.1:0"}, nil))
	close(release)
	err = check(<-done)
	require.ErrorIs(t, err, errFlush)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Len(t, strings.Split(err.Error(), "\n"), 5, err.Error())

	// A server that cannot listen: Serve runs the sequence and returns both.
	c = New(Config{Logger: discard})
	c.Register("close", func(context.Context) error { return errFlush })
	err = check(c.Serve(&http.Server{Addr: "127.0.0.1:-1"}, nil))
	require.ErrorIs(t, err, errFlush)

	for _, err := range errs {
		t.Log(err)
		for _, line := range strings.Split(err.Error(), "\n") {
			require.True(t, strings.HasPrefix(line, "shutdown: "), line)
			require.Equal(t, 1, strings.Count(line, "shutdown:"), line)
		}
	}
}

// TestMultiLineHookErrorIsOneLine: a hook's error of several lines (an
// errors.Join) is one line of Report.Err, so every line still starts with
// "shutdown: ", and errors.Is and errors.As still reach each part. Its
// second line used to come without the prefix.
func TestMultiLineHookErrorIsOneLine(t *testing.T) {
	errCache := errors.New("close cache: broken pipe")
	errDB := &net.OpError{Op: "close", Net: "tcp", Err: errors.New("timeout")}
	c := New(Config{Logger: discard})
	c.Register("stores", func(context.Context) error { return errors.Join(errCache, errDB) })
	_, err := c.Shutdown(context.Background())
	require.EqualError(t, err, `shutdown: hook "stores": close cache: broken pipe; close tcp: timeout`)
	require.ErrorIs(t, err, errCache)
	var opErr *net.OpError
	require.ErrorAs(t, err, &opErr)
	require.Same(t, errDB, opErr)
}
