package cdncache

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"path"
	"strings"

	"github.com/dedw3n/hardening/internal/nostore"
)

// Middleware wraps next so that its responses follow the Handler's caching
// policy, as a func(http.Handler) http.Handler:
//   - every response gets Vary: Accept-Encoding;
//   - a 2xx or 304 without a Cache-Control of its own gets the policy of its
//     path (as a key, leading slash removed) and type (by extension, else its
//     Content-Type), with CDN-Cache-Control and purge tags as configured;
//     other 3xx responses are left as they are;
//   - an error status always gets the error policy ("no-store", or the short
//     404 policy), replacing whatever the handler set;
//   - in private mode every response is private;
//   - an error, or any response in private mode, keeps no other field for a
//     shared cache (RFC 9213 targeted fields such as
//     Cloudflare-CDN-Cache-Control, Surrogate-Control, purge tags);
//   - a response that sets a cookie (next, or a middleware inside this one,
//     when the response starts) is "private, no-store" with no
//     CDN-Cache-Control, Surrogate-Control or purge tag, whatever was set. A
//     middleware outside this one that adds a cookie when the response
//     starts does so after this check (see the package doc).
//
// The policy is chosen by the cleaned path, the one http.FileServer serves:
// "//private/x", "/./private/x" and "/public/../private/x" all take the
// policy of "private/x". A symbolic link is the file server's business: the
// policy follows the path requested, not the link's target, so a link from
// a public prefix into a private one is served with the public policy.
//
// It does not add validators or compress; use the Handler itself (or
// http.ServeContent in next) for those. Responses are counted in Stats.
func (h *Handler) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pw := &policyWriter{ResponseWriter: w, h: h, r: r}
		next.ServeHTTP(pw, r)
		if pw.hijacked {
			return // the connection is the handler's now
		}
		if !pw.wroteHeader {
			pw.WriteHeader(http.StatusOK)
		}
		h.stats.record(pw.status, pw.n, 0)
	})
}

// policyWriter applies the policy when the status is known.
type policyWriter struct {
	http.ResponseWriter
	h           *Handler
	r           *http.Request
	wroteHeader bool
	hijacked    bool
	status      int
	n           int64
}

func (pw *policyWriter) WriteHeader(status int) {
	if pw.wroteHeader {
		pw.ResponseWriter.WriteHeader(status) // let net/http report it
		return
	}
	if status >= 100 && status < 200 && status != http.StatusSwitchingProtocols {
		pw.ResponseWriter.WriteHeader(status) // informational: more to come
		return
	}
	pw.wroteHeader, pw.status = true, status
	pw.h.applyPolicy(pw.Header(), pw.r, status)
	pw.ResponseWriter.WriteHeader(status)
}

func (pw *policyWriter) Write(p []byte) (int, error) {
	if !pw.wroteHeader {
		pw.WriteHeader(http.StatusOK)
	}
	n, err := pw.ResponseWriter.Write(p)
	pw.n += int64(n)
	return n, err
}

// ReadFrom keeps sendfile working for handlers such as http.FileServer.
func (pw *policyWriter) ReadFrom(src io.Reader) (int64, error) {
	if !pw.wroteHeader {
		pw.WriteHeader(http.StatusOK)
	}
	n, err := io.Copy(pw.ResponseWriter, src)
	pw.n += n
	return n, err
}

// Flush implements http.Flusher.
func (pw *policyWriter) Flush() {
	if !pw.wroteHeader {
		pw.WriteHeader(http.StatusOK)
	}
	_ = http.NewResponseController(pw.ResponseWriter).Flush()
}

// Hijack implements http.Hijacker (also for http.ResponseController): a
// hijacked connection gets no response from the Middleware.
func (pw *policyWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := http.NewResponseController(pw.ResponseWriter).Hijack()
	if err == nil {
		pw.hijacked = true
	}
	return c, rw, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (pw *policyWriter) Unwrap() http.ResponseWriter { return pw.ResponseWriter }

// applyPolicy sets the caching headers of a response from any handler,
// when its status is known: a cookie set by next or by a middleware inside
// this one is seen here.
func (h *Handler) applyPolicy(hdr http.Header, r *http.Request, status int) {
	addVary(hdr)
	ps := h.pol
	switch {
	case status >= 400:
		nostore.Untarget(hdr)
		hdr.Set("Cache-Control", ps.forError(status))
		if ps.private {
			hdr.Set("Cdn-Cache-Control", ccNoStore)
		}
	case ps.private:
		if !hasDirective(hdr.Get("Cache-Control"), "no-store") {
			hdr.Set("Cache-Control", ccPrivate)
		}
		nostore.Untarget(hdr)
		hdr.Set("Cdn-Cache-Control", ccNoStore)
	default:
		h.applyObjectPolicy(hdr, r, status)
	}
	nostore.IfCookie(hdr)
}

// applyObjectPolicy gives a 2xx or 304 without a Cache-Control of its own
// the policy of its path and type.
func (h *Handler) applyObjectPolicy(hdr http.Header, r *http.Request, status int) {
	if _, ok := hdr["Cache-Control"]; ok || (status >= 300 && status != http.StatusNotModified) {
		return
	}
	key := policyKey(r.URL.Path)
	ct := typeByExtension(key)
	if ct == "" {
		ct = hdr.Get("Content-Type")
	}
	hp := h.pol.forObject(key, ct)
	hdr.Set("Cache-Control", hp.cc)
	if hp.cdn != "" {
		hdr.Set("Cdn-Cache-Control", hp.cdn)
	}
	if h.tags != nil {
		if v := joinTags(h.tags(key), h.tagSep); v != "" {
			hdr.Set(h.tagHeader, v)
		}
	}
}

// policyKey is the object key a file server sees for a request path: the
// path cleaned as http.FileServer cleans it ("//a", "/./a", "/b/../a" and
// "/b/%2e%2e/a" are all "a"), without its leading slash; a directory keeps
// its trailing slash.
func policyKey(p string) string {
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	key := strings.TrimPrefix(path.Clean(p), "/")
	if key != "" && strings.HasSuffix(p, "/") {
		key += "/" // a directory: "private/" matches its prefix policy
	}
	return key
}

// hasDirective reports whether a Cache-Control value holds directive name.
func hasDirective(cc, name string) bool {
	for d := range strings.SplitSeq(cc, ",") {
		d, _, _ = strings.Cut(d, "=")
		if strings.EqualFold(strings.TrimSpace(d), name) {
			return true
		}
	}
	return false
}
