// Package cdncache serves objects behind a CDN with exact cache headers,
// strong validators, conditional and range requests.
//
// It is what http.FileServer and http.ServeContent would be with a caching
// policy: unlike them it sends a Cache-Control chosen by content type, path
// prefix and fingerprinted name, makes strong content-hash ETags (also for
// embed.FS, which has no modification times), answers "bytes=-0" with 416,
// refuses abusive range sets, compresses text without breaking ETags or
// ranges, and never lets a shared cache store errors, private objects or a
// response that sets a cookie.
//
// # Sources
//
// A Handler tries its sources in order, first match wins: FS for any fs.FS
// (embed.FS included), Dir for a directory opened with os.OpenRoot (symbolic
// links cannot escape it), or any object store implementing Source. Dotfiles,
// directories, "..", backslashes and NUL are refused before a source is
// asked. On Linux a symbolic link inside a Dir whose target lies under
// another Config.Prefixes policy (from "public/" into "private/") is refused
// as not found: a link never loosens a policy. The check reads the opened
// file's path from /proc once per object version.
//
// # Policy
//
// DefaultTypes holds the default policies: images 24 h and video 7 days with
// stale-while-revalidate or stale-if-error, fonts 30 days immutable, CSS/JS
// 1 day, PDF 12 h, 5 minutes otherwise. Fingerprinted names
// ("app.3f2a9c1b.js") get one year immutable. Config.Types and
// Config.Prefixes override them; Config.Private makes every response
// "private, no-cache". Errors are "no-store". Config.BrowserMaxAge adds
// CDN-Cache-Control (RFC 9213) and Config.Tags adds Surrogate-Key or
// Cache-Tag purge tags. Handler.Middleware applies the same policy to the
// responses of any other handler, choosing it by the cleaned path (the one
// http.FileServer serves).
//
// A response that sets a cookie is "private, no-store" with no
// CDN-Cache-Control, Surrogate-Control or purge tag, whatever the policy
// says. The check runs when the response header is written, so a cookie
// added by next or by a middleware inside Handler.Middleware, even one that
// adds it when the response starts, is seen. A middleware outside that adds
// its cookie when the response starts (as scs's LoadAndSave does) writes it
// after the check, and must make the response private itself: sessionstore
// does, removing every field of a shared cache, purge tags included (a
// TagHeader of the user's own too). Keep static objects outside session
// middleware all the same: Vary: Cookie splits a CDN's cache per visitor.
//
// # Validators and conditional requests
//
// ETags are a SHA-256 of the content (or the store's own hash), so they are
// the same in every process serving the same bytes. The content is read
// once per object version: concurrent first requests for a version wait for
// one read (golang.org/x/sync/singleflight), so a miss storm after a deploy
// reads a large video once. The validators are kept by version identity
// (key, size, modification time, and on Linux device, inode and change
// time) in a cache of small entries, 16 times larger than ETagCacheSize, so
// a range request for a few bytes of a known version reads those bytes only.
// Preconditions follow RFC 9110 §13.2.2: If-Match, If-Unmodified-Since,
// If-None-Match, If-Modified-Since, then If-Range. If-Match names the
// representation to be sent (a range is sent from identity, so the tag of
// a gzip body does not match it); If-None-Match may name any current one
// the client accepts. A date in If-Range never matches: a file's
// modification time is not a strong validator (a deploy may keep it), so
// only the ETag resumes a download.
//
// The trade-offs: the first request for a version under 16 MiB (unless its
// Source gives a Hash) reads it whole before answering. A larger version is
// answered at once with an interim ETag ("i-…", a hash of its identity:
// key, size, modification time, and on Linux device, inode and change
// time) while its content is hashed in the background, one object at a
// time; later responses carry the content ETag, and the interim one still
// validates the same version (If-None-Match, If-Range). Interim ETags
// differ between machines, so a CDN fetching from several origins may
// refetch such an object once. Beyond the validator cache's capacity a
// version is read again. A version changed in the last 2 seconds is hashed
// on every request (git's "racy" rule): a file rewritten twice within its
// file system's timestamp granularity keeps its size and times, and only
// its content tells the two apart. Object stores should give Hash (an S3
// ETag, a stored SHA-256) to avoid reading at all.
//
// # Compression
//
// Text types are compressed once per content and coding and kept in memory
// (Config.EncodedCacheBytes, 32 MiB by default, least recently used out
// first): gzip and zstd (klauspost/compress, best compression) when first
// asked, with concurrent first requests waiting for one encoding; brotli
// (andybalholm/brotli, quality 11) in the background, one at a time, while
// gzip or zstd is served. Fresh precompressed siblings (".br", ".zst",
// ".gz") win; a sibling older than its source is ignored. Objects larger
// than 1/16 of the cache's bound stream, compressed on the fly with gzip or
// zstd. Each encoding has its own ETag ("abc-gzip"), and If-None-Match
// naming any encoding the client accepts is a 304. Range requests are
// always served uncompressed; images, video and fonts are never compressed.
// Every response carries Vary: Accept-Encoding.
//
// The hidden costs: the kept bodies hold up to EncodedCacheBytes (plus about
// 200 bytes per body); the encoding in progress holds its object's bytes
// and its encoder's state (tens of MiB for zstd at its best level, whose
// encoders are reused), and the process makes at most GOMAXPROCS (at least
// 2) kept encodings at once; queued brotli jobs read their object when they
// run, so a full queue (64) costs requests nothing. A 304 or 412 makes no
// body. Brotli at quality 11 encodes
// about 0.4 MB/s on one core of a shared server, so a 150 KB bundle is
// served as brotli about 0.4 s after its first request (gzip or zstd until
// then); Close waits for the encoding in progress and starts no more.
//
// # Performance
//
// A request a Dir object can answer without its bytes (a kept encoded
// body, a 304) costs a stat of the object and one of its sibling and opens
// nothing; the file is opened only when its bytes are sent, and if it was
// replaced since the stat, the request is served again from the new file.
// BENCHMARKS.md at the repository's root compares the Handler with
// http.FileServer, gzhttp and nginx serving the same files in the same run,
// and with the ceiling: the same bytes written from memory by a bare
// net/http handler.
package cdncache
