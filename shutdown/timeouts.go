package shutdown

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"time"
)

// bound gives srv the slow-client timeouts of cfg: ReadHeaderTimeout and
// IdleTimeout where srv leaves them 0 (and ReadTimeout, which net/http uses
// for both then, is 0 too), and, in front of its handler, a body read
// deadline (unless srv sets ReadTimeout) and a send progress deadline
// (unless srv sets WriteTimeout).
func bound(srv *http.Server, cfg Config) {
	if srv.ReadHeaderTimeout == 0 && srv.ReadTimeout == 0 {
		srv.ReadHeaderTimeout = cfg.ReadHeaderTimeout
	}
	if srv.IdleTimeout == 0 && srv.ReadTimeout == 0 {
		srv.IdleTimeout = cfg.IdleTimeout
	}
	body, send := cfg.BodyReadTimeout, cfg.SendTimeout
	if srv.ReadTimeout != 0 {
		body = 0
	}
	if srv.WriteTimeout != 0 {
		send = 0
	}
	if body <= 0 && send <= 0 {
		return
	}
	next := srv.Handler
	if next == nil {
		next = http.DefaultServeMux
	}
	srv.Handler = deadlines(next, body, send)
}

// deadlines sets a read deadline of body on requests that have a body, and
// gives next a ResponseWriter that pushes its write deadline send ahead
// before every write and flush. 0 turns either off.
func deadlines(next http.Handler, body, send time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		// Only with a body: without one the server is already reading the
		// connection in the background, and a deadline there would cancel
		// the request's context. Once the body is read the server clears it.
		if body > 0 && r.Body != nil && r.Body != http.NoBody {
			_ = rc.SetReadDeadline(time.Now().Add(body))
		}
		if send <= 0 {
			next.ServeHTTP(w, r)
			return
		}
		pw := &progressWriter{ResponseWriter: w, rc: rc, send: send}
		next.ServeHTTP(pw, r)
		pw.extend() // bounds the server's final flush of what is buffered
	})
}

// sendChunk is the most a progressWriter writes under one deadline: a client
// must accept this much per SendTimeout (io.Copy's buffer size).
const sendChunk = 32 << 10

// progressWriter is a ResponseWriter whose write deadline moves send ahead
// before every write, flush and header write, so a response fails only when
// the client accepts nothing for that long. Flush, Hijack and
// http.ResponseController keep working through it.
type progressWriter struct {
	http.ResponseWriter
	rc       *http.ResponseController // of the wrapped ResponseWriter
	send     time.Duration
	hijacked bool // the connection belongs to the handler: deadlines are its own
}

func (w *progressWriter) extend() {
	if !w.hijacked {
		_ = w.rc.SetWriteDeadline(time.Now().Add(w.send))
	}
}

func (w *progressWriter) WriteHeader(code int) {
	w.extend() // 1xx responses are written at once
	w.ResponseWriter.WriteHeader(code)
}

// Write passes p on in pieces of at most sendChunk bytes, each with a fresh
// deadline, so that one large write to a slow but progressing client does
// not have to get through within a single SendTimeout.
func (w *progressWriter) Write(p []byte) (int, error) {
	if len(p) <= sendChunk {
		w.extend()
		return w.ResponseWriter.Write(p)
	}
	n := 0
	for len(p) > 0 {
		piece := p[:min(len(p), sendChunk)]
		w.extend()
		m, err := w.ResponseWriter.Write(piece)
		n += m
		if err != nil {
			return n, err
		}
		p = p[len(piece):]
	}
	return n, nil
}

// ReadFrom keeps the wrapped writer's own ReadFrom (net/http's sends an
// *os.File with sendfile(2), also through an io.LimitedReader, as
// http.ServeContent and io.Copy pass it), one sendChunk at a time, each
// under a fresh deadline.
func (w *progressWriter) ReadFrom(r io.Reader) (int64, error) {
	rf, ok := w.ResponseWriter.(io.ReaderFrom)
	if !ok {
		return io.Copy(struct{ io.Writer }{w}, r) // Write's chunks; hides this ReadFrom
	}
	var total int64
	for {
		w.extend()
		n, err := rf.ReadFrom(&io.LimitedReader{R: r, N: sendChunk})
		total += n
		if err != nil || n < sendChunk {
			return total, err
		}
	}
}

// FlushError is what http.ResponseController.Flush calls.
func (w *progressWriter) FlushError() error {
	w.extend()
	return w.rc.Flush()
}

func (w *progressWriter) Flush() { _ = w.FlushError() }

func (w *progressWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := w.rc.Hijack()
	if err == nil {
		w.hijacked = true
	}
	return conn, rw, err
}

// Unwrap lets http.ResponseController reach the wrapped ResponseWriter.
func (w *progressWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
