package cdncache

import (
	"log/slog"
	"time"
)

// Config configures a Handler. The zero Config serves public objects with the
// default policies (DefaultTypes); every field documents its default. New copies the Config,
// so changing it afterwards has no effect.
type Config struct {
	// Private marks every object as private (content behind a session): the
	// browser Cache-Control is always "private, no-cache", CDN-Cache-Control is
	// "no-store" and Types, Prefixes and fingerprints are ignored. Shared
	// caches never store the responses; browsers keep them and revalidate with
	// the ETag. The default is false (public).
	Private bool

	// Types maps a media type ("text/css") or a major-type wildcard
	// ("image/*") to its policy, on top of DefaultTypes; "*/*" replaces the
	// fallback policy. Exact types win over wildcards. The default (nil) is
	// DefaultTypes unchanged.
	Types map[string]Policy

	// Prefixes maps an object-key prefix (the request path after any
	// http.StripPrefix, without its leading slash, e.g. "avatars/") to a
	// policy. The longest matching prefix wins over fingerprints and Types.
	// Keys are matched after cleaning ("//a/x", "/b/../a/x" are "a/x"). A
	// Dir's symbolic link into another prefix's policy is refused (404) on
	// Linux; through Middleware, the file server's links take the policy of
	// the path requested.
	// The default (nil) has no prefix policies.
	Prefixes map[string]Policy

	// Fingerprinted reports whether an object key carries a content hash in
	// its file name; such objects get one year, immutable,
	// whatever their type. The default (nil) recognises a '.' or '-'
	// separated hex token of 8 to 64 characters mixing digits and letters
	// ("app.3f2a9c1b.js", "logo-8d1e0c4fa7.svg").
	Fingerprinted func(key string) bool

	// NotFoundMaxAge lets caches keep a 404 for this long ("max-age=N",
	// never "public"). The default 0 means 404s are "no-store". Every other
	// error status is always "no-store".
	NotFoundMaxAge time.Duration

	// BrowserMaxAge enables CDN-Cache-Control (RFC 9213): when > 0, the full
	// policy goes to CDN-Cache-Control and the browser Cache-Control keeps the
	// same directives with max-age capped at BrowserMaxAge (immutable policies
	// are not capped). The default 0 means no CDN-Cache-Control header
	// (except "no-store" on private responses, which is always sent).
	BrowserMaxAge time.Duration

	// Tags returns purge tags for an object key, sent in TagHeader on
	// successful responses. Tags with spaces, commas or control characters
	// are dropped. The default (nil) sends no tags.
	Tags func(key string) []string

	// TagHeader names the purge-tag header: "Surrogate-Key" (space
	// separated, Fastly style) or any other name such as "Cache-Tag" (comma
	// separated, Cloudflare style). The default "" means "Surrogate-Key".
	// New registers the name for the whole process, so that a response
	// that sets a cookie loses it whichever of the module's middlewares
	// (sessionstore's too) sees the cookie.
	TagHeader string

	// ETagCacheSize bounds the LRU of what a response needs per object
	// version (ETag, content type, Last-Modified, policy). Behind it the
	// validators themselves (a content hash, about 100 bytes with the key)
	// are kept for 16 times as many versions, at least 65536, so an object
	// pushed out of the first LRU is not read again to be hashed. Versions
	// are told apart by key, size and modification time, and on Linux by
	// device, inode and change time too. The default 0 means 4096 entries.
	ETagCacheSize int

	// EncodedCacheBytes bounds the memory this Handler holds in encoded
	// bodies: each compressible object of at most 1/16 of it (2 MiB by
	// default) is compressed once per content and coding, gzip and zstd
	// when first asked, brotli in the background (gzip or zstd are served
	// until it is ready), and kept; the least recently used go first.
	// Larger objects are compressed on the fly with gzip or zstd, as are all
	// objects when the value is negative. The default 0 means 32 MiB.
	EncodedCacheBytes int64

	// MaxRanges caps the ranges in one Range header; more are refused with
	// 416. The default 0 means 16.
	MaxRanges int

	// MinCompressSize is the smallest compressible object compressed on the
	// fly. The default 0 means 1024 bytes; a negative value turns on-the-fly
	// compression off (precompressed .br/.gz siblings are still served).
	MinCompressSize int

	// Logger receives warnings about failing sources. The default nil means
	// slog.Default().
	Logger *slog.Logger
}

// Policy is a public caching policy, rendered as a Cache-Control value.
// The zero Policy is "public, no-cache": stored, but revalidated every time.
type Policy struct {
	// MaxAge is the freshness lifetime; 0 means no-cache (always revalidate).
	MaxAge time.Duration
	// StaleWhileRevalidate lets caches serve a stale copy while they
	// revalidate in the background (RFC 5861); 0 omits it.
	StaleWhileRevalidate time.Duration
	// StaleIfError lets caches serve a stale copy when the origin fails
	// (RFC 5861); 0 omits it.
	StaleIfError time.Duration
	// Immutable tells browsers not to revalidate while fresh (RFC 8246).
	Immutable bool
	// NoStore forbids storing at all; the other fields are then ignored.
	NoStore bool
}

// DefaultTypes returns the policies by media type that Config.Types
// extends: images 24 h with stale-while-revalidate,
// video 7 days with stale-if-error, fonts 30 days immutable, CSS/JS 1 day with
// stale-while-revalidate, PDF 12 h and 5 minutes for everything else ("*/*").
func DefaultTypes() map[string]Policy {
	const day = 24 * time.Hour
	swr := Policy{MaxAge: day, StaleWhileRevalidate: 8640 * time.Second}
	font := Policy{MaxAge: 30 * day, Immutable: true}
	return map[string]Policy{
		"image/*":                       swr,
		"video/*":                       {MaxAge: 7 * day, StaleIfError: day},
		"font/*":                        font,
		"application/vnd.ms-fontobject": font,
		"application/font-woff":         font,
		"text/css":                      swr,
		"text/javascript":               swr,
		"application/javascript":        swr,
		"application/pdf":               {MaxAge: 12 * time.Hour},
		"*/*":                           {MaxAge: 5 * time.Minute},
	}
}

// fingerprintPolicy is the policy of fingerprinted object names.
var fingerprintPolicy = Policy{MaxAge: 365 * 24 * time.Hour, Immutable: true}

const (
	defaultETagCacheSize   = 4096
	defaultMaxRanges       = 16
	defaultMinCompressSize = 1024
)
