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
	"strings"
)

// CacheControl is the Cache-Control of a response that sets a cookie.
const CacheControl = "private, no-store"

// purgeTags are the purge-tag fields of the common CDNs (Fastly, Varnish
// xkey, Cloudflare, Akamai); a response no cache may store has nothing to
// purge.
var purgeTags = [...]string{"Surrogate-Key", "Xkey", "Cache-Tag", "Edge-Cache-Tag"}

// IfCookie makes h uncacheable by shared caches when it holds Set-Cookie,
// and reports whether it did. See [Apply].
func IfCookie(h http.Header, extraTags ...string) bool {
	if _, ok := h["Set-Cookie"]; !ok {
		return false
	}
	Apply(h, extraTags...)
	return true
}

// Apply sets Cache-Control to "private, no-store" and deletes every field
// that targets a cache other than the browser, whatever it says: the
// targeted fields of RFC 9213 (any "<target>-Cache-Control", such as
// CDN-Cache-Control or Cloudflare-CDN-Cache-Control), Surrogate-Control and
// Edge-Control, and the purge tags (Surrogate-Key, Cache-Tag, … and
// extraTags, the canonical names of other tag fields the caller sends).
func Apply(h http.Header, extraTags ...string) {
	h["Cache-Control"] = []string{CacheControl}
	for k := range h {
		if isTargeted(k) {
			delete(h, k)
		}
	}
	for _, k := range purgeTags {
		delete(h, k)
	}
	for _, k := range extraTags {
		delete(h, http.CanonicalHeaderKey(k))
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
