package shutdown

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// cancelLead is the fraction of the server's share left when Serve cancels
// the base context of the handlers still running: they get the last fifth
// of the share to return before the server closes their connections.
const cancelLead = 5

// Serve runs srv under the coordinator: it serves on ln (or, when ln is nil,
// listens on srv.Addr), and registers a hook named "http server ADDR" that
// runs before every other hook. That hook calls srv.Shutdown, so the
// listeners close and new connections are refused while in-flight requests
// finish; when four fifths of the hook's share have passed, it cancels the
// base context of the requests still running (Serve sets srv.BaseContext,
// wrapping any existing one), and when the share runs out it closes the
// server.
//
// Serve returns when the whole shutdown sequence has finished, with its
// joined error, so that main can return right after. If the server stops for
// another reason (the address is in use, say), Serve starts the sequence,
// so the other hooks still release their resources, and returns both errors.
// If srv is shut down directly rather than through the coordinator, Serve
// returns nil at once.
//
// Serve also bounds slow clients with the timeouts of Config, each one
// only where srv does not set its own: ReadHeaderTimeout and IdleTimeout
// fill srv's fields when they are 0; BodyReadTimeout (unless srv sets
// ReadTimeout) and SendTimeout (unless srv sets WriteTimeout) wrap srv's
// handler. Call Serve before srv serves anywhere else.
func (c *Coordinator) Serve(srv *http.Server, ln net.Listener) error {
	c.init()
	bound(srv, c.cfg)
	base, cancelBase := context.WithCancel(context.Background())
	defer cancelBase()
	orig := srv.BaseContext
	srv.BaseContext = func(l net.Listener) context.Context {
		if orig == nil {
			return base
		}
		ctx, cancel := context.WithCancel(orig(l))
		context.AfterFunc(base, cancel)
		return ctx
	}

	addr := srv.Addr
	if ln != nil {
		addr = ln.Addr().String()
	}
	name := "http server " + addr
	if !c.register(hook{name: name, fn: serverHook(srv, cancelBase), server: true}) {
		if ln != nil {
			_ = ln.Close()
		}
		return fmt.Errorf("shutdown: serve %s: the shutdown sequence has already started", addr)
	}

	var err error
	if ln != nil {
		err = srv.Serve(ln)
	} else {
		err = srv.ListenAndServe()
	}
	if errors.Is(err, http.ErrServerClosed) {
		if !c.draining.Load() {
			return nil
		}
		<-c.done
		return c.lastReport().Err()
	}
	_, serr := c.shutdown(context.Background(), "serve error")
	return errors.Join(fmt.Errorf("shutdown: serve %s: %w", addr, err), serr)
}

// serverHook shuts srv down within the hook's share, cancelling the base
// context of running handlers when the share is nearly spent.
func serverHook(srv *http.Server, cancelBase context.CancelFunc) func(context.Context) error {
	return func(ctx context.Context) error {
		if deadline, ok := ctx.Deadline(); ok {
			left := time.Until(deadline)
			t := time.AfterFunc(left-left/cancelLead, cancelBase)
			defer t.Stop()
		}
		err := srv.Shutdown(ctx)
		cancelBase()
		if err != nil {
			return errors.Join(err, srv.Close())
		}
		return nil
	}
}
