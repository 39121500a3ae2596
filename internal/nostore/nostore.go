// Package nostore keeps responses that set a cookie out of shared caches.
//
// RFC 9111 §7.3 lets a shared cache store a response carrying Set-Cookie
// unless its Cache-Control says otherwise, and a CDN that follows RFC 9213
// reads a targeted field such as CDN-Cache-Control instead of Cache-Control.
// So whichever middleware adds a cookie, the response must say "private,
// no-store" in Cache-Control and carry no targeted field that could allow
// storage. [IfCookie] does that, and every writer of the module that adds a
// cookie or a caching policy calls it when the response header is written,
// not before the handler runs, so the order of the middlewares does not
// matter.
package nostore

import (
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// CacheControl is the Cache-Control of a response that sets a cookie.
const CacheControl = "private, no-store"

// purgeTags are the purge-tag fields Apply and Untarget delete: those of
// the common CDNs (Fastly, Varnish xkey, Cloudflare, Akamai) and any that
// AddPurgeTag named. A response no cache may store has nothing to purge.
var (
	purgeTags atomic.Pointer[[]string]
	addMu     sync.Mutex // serializes AddPurgeTag
)

func init() { purgeTags.Store(&[]string{"Surrogate-Key", "Xkey", "Cache-Tag", "Edge-Cache-Tag"}) }

// AddPurgeTag adds name to the purge-tag fields deleted from every
// response that sets a cookie, in the whole process. A handler that sends
// purge tags under a name of its own registers it once, so that a
// middleware that knows nothing of it (a session middleware outside the
// handler) still removes it.
func AddPurgeTag(name string) {
	addMu.Lock()
	defer addMu.Unlock()
	tags := *purgeTags.Load()
	if !slices.ContainsFunc(tags, func(t string) bool { return strings.EqualFold(t, name) }) {
		tags = append(slices.Clip(tags), name)
		purgeTags.Store(&tags)
	}
}

// IfCookie makes h uncacheable by shared caches when it holds Set-Cookie
// (under any case of the name), and reports whether it did. See [Apply].
func IfCookie(h http.Header) bool {
	_, ok := h["Set-Cookie"]
	for k := range h {
		ok = ok || strings.EqualFold(k, "Set-Cookie")
	}
	if ok {
		Apply(h)
	}
	return ok
}

// Apply sets Cache-Control to "private, no-store", the only Cache-Control
// field left (in any case of the name), and deletes what [Untarget]
// deletes.
func Apply(h http.Header) {
	drop(h, true)
	h["Cache-Control"] = []string{CacheControl}
}

// Untarget deletes every field, whatever it says and in any case of its
// name, that targets a cache other than the browser: the targeted fields
// of RFC 9213 (any "<target>-Cache-Control", such as CDN-Cache-Control or
// Cloudflare-CDN-Cache-Control), Surrogate-Control and Edge-Control, and
// the purge tags (Surrogate-Key, Cache-Tag, … and those of AddPurgeTag).
func Untarget(h http.Header) { drop(h, false) }

func drop(h http.Header, cacheControl bool) {
	tags := *purgeTags.Load()
	for k := range h {
		if isTargeted(k) || cacheControl && strings.EqualFold(k, "Cache-Control") ||
			slices.ContainsFunc(tags, func(t string) bool { return strings.EqualFold(k, t) }) {
			delete(h, k)
		}
	}
}

// isTargeted reports whether the header name k (in any case) is a cache
// directive field for a cache other than the browser.
func isTargeted(k string) bool {
	const suffix = "-cache-control"
	if len(k) > len(suffix) && strings.EqualFold(k[len(k)-len(suffix):], suffix) {
		return true
	}
	return strings.EqualFold(k, "Surrogate-Control") || strings.EqualFold(k, "Edge-Control")
}
