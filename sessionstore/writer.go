package sessionstore

import (
	"bufio"
	"io"
	"maps"
	"net"
	"net/http"
)

// writer commits the session when the response starts: before the first
// WriteHeader (other than 1xx), Write, Flush or Hijack, or when the handler
// returns. If the commit fails, the error handler answers instead and the
// handler's writes are discarded (they return an error).
type writer struct {
	http.ResponseWriter
	m    *Manager
	r    *http.Request
	s    *Session
	vary bool // the request carried a session cookie: the response depends on it
	// outer holds the headers set before the middleware ran (HSTS, CSP,
	// request IDs…): an error response keeps them.
	outer http.Header

	started bool // commit ran
	failed  bool // commit failed: the error handler answered
}

// commit runs the session commit once and reports whether the handler's
// response may go on.
func (w *writer) commit() bool {
	if w.started {
		return !w.failed
	}
	w.started = true
	h := w.ResponseWriter.Header()
	if w.vary {
		addVary(h)
	}
	if err := w.m.commitSession(w.r.Context(), h, w.s); err != nil {
		w.failed = true
		w.m.cfg.Logger.Warn("sessionstore: cannot save session; answering with the error handler",
			"err", err, "method", w.r.Method, "path", w.r.URL.Path)
		clear(h) // the handler's headers describe a response that will not be sent
		maps.Copy(h, w.outer)
		w.m.cfg.ErrorHandler(w.ResponseWriter, w.r, err)
	}
	return !w.failed
}

func (w *writer) WriteHeader(code int) {
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		w.ResponseWriter.WriteHeader(code) // informational: the response has not started
		return
	}
	if w.commit() {
		w.ResponseWriter.WriteHeader(code)
	}
}

func (w *writer) Write(b []byte) (int, error) {
	if !w.commit() {
		return 0, errNotSaved
	}
	return w.ResponseWriter.Write(b)
}

// ReadFrom commits, then keeps the wrapped writer's ReadFrom, so that a
// file served behind the middleware still goes out with sendfile(2).
func (w *writer) ReadFrom(src io.Reader) (int64, error) {
	if !w.commit() {
		return 0, errNotSaved
	}
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(src)
	}
	return io.Copy(w.ResponseWriter, src)
}

// Flush commits, then flushes: a streaming handler's session is saved
// before its first bytes leave.
func (w *writer) Flush() { _ = w.FlushError() }

// FlushError is Flush for http.ResponseController.
func (w *writer) FlushError() error {
	if !w.commit() {
		return errNotSaved
	}
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack commits, then hands the connection over (for WebSockets). The
// Set-Cookie header, if any, is the hijacker's to send.
func (w *writer) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if !w.commit() {
		return nil, nil, errNotSaved
	}
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// Unwrap lets http.ResponseController reach the underlying writer's
// other features (deadlines, full-duplex).
func (w *writer) Unwrap() http.ResponseWriter { return w.ResponseWriter }
