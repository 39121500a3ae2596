package cdncache

import (
	"cmp"
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dedw3n/hardening/internal/nostore"
	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/sync/singleflight"
)

// Handler serves objects from its sources, first match wins, with the
// caching policy, validators, conditional and range handling of the package.
// Its Middleware method applies the same policy to any handler. A Handler is
// safe for concurrent use; build it with New.
type Handler struct {
	sources          []Source
	pol              *policies
	metas            *lru.Cache[versionKey, *meta]
	validators       *lru.Cache[versionKey, validator] // many more than metas: each is small
	reading          singleflight.Group                // one read per object version at a time
	encoded          *encodedCache                     // nil when EncodedCacheBytes < 0
	maxEncoded       int64                             // largest identity body kept encoded
	encoding         singleflight.Group                // one encoding per content and coding at a time
	bg               *background                       // brotli encodings
	now              func() time.Time                  // the racy rule's clock
	hashInBackground int64                             // versions this large get an interim validator
	maxRanges        int
	minCompress      int
	tags             func(key string) []string
	tagHeader        string
	tagSep           string
	log              *slog.Logger
	enc              encoders
	stats            counters
}

// New returns a Handler serving the objects of sources, tried in order for
// every request; the first that has the object wins. The request path (after
// any http.StripPrefix) without its leading slash is the object key. With no
// sources every request is a 404, which is fine for a Handler used only for
// its Middleware.
func New(cfg Config, sources ...Source) *Handler {
	size := cfg.ETagCacheSize
	if size <= 0 {
		size = defaultETagCacheSize
	}
	metas, _ := lru.New[versionKey, *meta](size) // errors only for a size <= 0
	validators, _ := lru.New[versionKey, validator](max(minDigestCacheSize, digestCacheFactor*size))
	h := &Handler{
		sources:          append([]Source(nil), sources...),
		pol:              newPolicies(&cfg),
		metas:            metas,
		validators:       validators,
		now:              time.Now,
		hashInBackground: defaultHashInBackground,
		maxRanges:        cfg.MaxRanges,
		minCompress:      cmp.Or(cfg.MinCompressSize, defaultMinCompressSize),
		tags:             cfg.Tags,
		tagHeader:        cmp.Or(http.CanonicalHeaderKey(cfg.TagHeader), "Surrogate-Key"),
		log:              cmp.Or(cfg.Logger, slog.Default()),
	}
	if h.maxRanges <= 0 {
		h.maxRanges = defaultMaxRanges
	}
	h.tagSep = ", "
	if h.tagHeader == "Surrogate-Key" {
		h.tagSep = " "
	}
	nostore.AddPurgeTag(h.tagHeader) // removed from any response that sets a cookie, by any middleware
	h.bg = newBackground()
	if budget := cmp.Or(cfg.EncodedCacheBytes, defaultEncodedCacheBytes); budget > 0 {
		h.encoded = newEncodedCache(budget)
		h.maxEncoded = budget / encodedObjectShare
	}
	return h
}

// Close stops the background encodings and closes the sources that hold
// resources (the directories of Dir sources). It is safe to call more than
// once; a Dir source used again reopens its directory, but no more brotli
// bodies are made.
func (h *Handler) Close() error {
	h.bg.close()
	var errs []error
	for _, s := range h.sources {
		if c, ok := s.(io.Closer); ok {
			errs = append(errs, c.Close())
		}
	}
	return errors.Join(errs...)
}

// object is the target of a request: an object version found in a source.
type object struct {
	key     string
	src     int // index of the source that has it
	body    io.ReadSeekCloser
	info    ObjectInfo
	m       *meta
	lastMod time.Time           // zero when the object has no real modification time
	q       [numCodings]float64 // accepted codings, for compressible objects
	stat    bool                // files are opened when their bytes are sent (lazyFile)
	changed bool                // not found as stat said: serve again
}

// representation is the selected form of an object: identity, a
// precompressed sibling, or compressed on the fly.
type representation struct {
	body    io.ReadSeekCloser
	data    []byte // a kept encoded body, instead of body
	pending bool   // a gzip/zstd body to be kept, made after the preconditions
	size    int64  // -1 when compressed on the fly
	etag    string
	coding  int // -1 for identity
	dynamic bool
}

// close closes a precompressed sibling's file.
func (rep representation) close() {
	if rep.body != nil && rep.coding >= 0 && !rep.dynamic {
		rep.body.Close()
	}
}

// ServeHTTP serves the object named by the request path, in RFC 9110's
// order of evaluation: the method, the target resource, the selected
// representation (content negotiation, §12), the preconditions (§13.2.2),
// the range (§14.2), then the whole representation.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		h.fail(w, r, http.StatusMethodNotAllowed)
		return
	}
	if !h.serve(w, r, true) {
		h.serve(w, r, false) // the object changed between its stat and its open
	}
}

// serve answers r; with stat, it opens the object's file only when the
// answer needs its bytes (see statter). It returns false, having written
// nothing, when the file opened was not the version looked at.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, stat bool) bool {
	o, ok := h.target(w, r, stat)
	if !ok {
		return !o.changed
	}
	defer o.body.Close() // o.body may be replaced by the file it opened
	rep := h.selectRepresentation(r, &o)
	defer rep.close()
	hdr := w.Header()
	addVary(hdr)
	if h.answeredPreconditions(w, r, &o, rep) {
		return true
	}
	if rep.pending { // made only now: a 304 or 412 needs no body
		if b := h.cachedEncoding(&o, rep.coding); b != nil {
			rep.data, rep.size, rep.pending = b, int64(len(b)), false
		} else {
			rep = representation{body: o.body, size: o.info.Size, etag: o.m.etag, coding: -1}
		}
	}
	if rep.data == nil { // bytes of a file are sent: open it (lazyFile)
		f, err := opened(rep.body)
		if errors.Is(err, errChanged) {
			return false
		}
		if err != nil {
			h.openFailed(w, r, o.key, err)
			return true
		}
		if rep.body == o.body {
			o.body = f
		}
		rep.body = f
	}
	h.setCacheHeaders(hdr, o.m, o.key, rep.etag)
	if o.m.lastModified != "" {
		hdr["Last-Modified"] = []string{o.m.lastModified}
	}
	if h.answeredRange(w, r, &o) {
		return true
	}
	h.serveWhole(w, r, &o, rep)
	return true
}

// target finds the object the request path names and its validators, or
// answers with the error and returns false. With stat, the object's file
// is opened only if its validators must be read; a file found changed
// since its stat answers nothing and sets changed.
func (h *Handler) target(w http.ResponseWriter, r *http.Request, stat bool) (object, bool) {
	key, status := cleanKey(r.URL.Path)
	if status != 0 {
		h.fail(w, r, status)
		return object{}, false
	}
	ctx := r.Context()
	stat = stat && mayNotRead(r, key)
	body, info, src, err := h.open(ctx, key, stat)
	if err != nil {
		h.openFailed(w, r, key, err)
		return object{}, false
	}
	m, err := h.meta(src, key, body, info)
	if err != nil {
		body.Close()
		if errors.Is(err, errChanged) && stat {
			return object{changed: true}, false
		}
		h.log.LogAttrs(ctx, slog.LevelWarn, "cdncache: validator failed", slog.String("key", key), slog.Any("err", err))
		h.fail(w, r, http.StatusInternalServerError)
		return object{}, false
	}
	if m.linked != "" && !h.pol.samePrefixPolicy(key, m.linked) {
		body.Close() // a symbolic link into another prefix's policy
		h.fail(w, r, http.StatusNotFound)
		return object{}, false
	}
	o := object{key: key, src: src, body: body, info: info, m: m, stat: stat}
	if m.lastModified != "" {
		o.lastMod = info.ModTime
	}
	if m.compressible {
		o.q = acceptedCodings(r.Header["Accept-Encoding"])
	}
	return o, true
}

// openFailed answers a request whose object could not be opened.
func (h *Handler) openFailed(w http.ResponseWriter, r *http.Request, key string, err error) {
	if errors.Is(err, fs.ErrNotExist) {
		h.fail(w, r, http.StatusNotFound)
		return
	}
	h.log.LogAttrs(r.Context(), slog.LevelWarn, "cdncache: open failed", slog.String("key", key), slog.Any("err", err))
	h.fail(w, r, http.StatusInternalServerError)
}

// selectRepresentation chooses the representation to send: identity for a
// range request or an incompressible object, else the client's preferred
// coding that can be served.
func (h *Handler) selectRepresentation(r *http.Request, o *object) representation {
	identity := representation{body: o.body, size: o.info.Size, etag: o.m.etag, coding: -1}
	if _, ranged := r.Header["Range"]; ranged || !o.m.compressible {
		return identity
	}
	return h.selectEncoding(r.Context(), o, identity)
}

// answeredPreconditions evaluates If-Match, If-Unmodified-Since,
// If-None-Match and If-Modified-Since (RFC 9110 §13.2.2) and answers 412
// or 304 when they say so.
func (h *Handler) answeredPreconditions(w http.ResponseWriter, r *http.Request, o *object, rep representation) bool {
	if !hasConditional(r.Header) {
		return false
	}
	selected, others := []string{rep.etag}, candidates(rep.etag, o.m.etag, o.q)
	if i := o.m.interim; i != "" && i != o.m.etag { // a large version's first validator still names it
		if rep.coding < 0 {
			selected = append(selected, i)
		} else {
			others = append(others, i)
		}
	}
	switch cond, tag := checkPreconditions(r.Header, r.Method, selected, others, o.lastMod); cond {
	case condFailed:
		h.fail(w, r, http.StatusPreconditionFailed)
		return true
	case condNotModified:
		h.setCacheHeaders(w.Header(), o.m, o.key, tag)
		w.WriteHeader(http.StatusNotModified)
		saved := rep.size
		if saved < 0 {
			saved = o.info.Size
		}
		h.stats.record(http.StatusNotModified, 0, saved)
		return true
	}
	return false
}

// answeredRange serves a Range request that If-Range allows (RFC 9110
// §14.2, §13.1.5): 206 for satisfiable ranges, 416 otherwise. It returns
// false when the whole representation is to be sent.
func (h *Handler) answeredRange(w http.ResponseWriter, r *http.Request, o *object) bool {
	if _, ranged := r.Header["Range"]; !ranged {
		return false
	}
	if !ifRangeAllows(r.Header, o.m.etag) && (o.m.interim == "" || !ifRangeAllows(r.Header, o.m.interim)) {
		return false
	}
	size := o.info.Size
	ranges, res := parseRange(strings.Join(r.Header["Range"], ","), size, h.maxRanges)
	switch res {
	case rangeUnsatisfiable:
		w.Header().Set("Content-Range", "bytes */"+strconv.FormatInt(size, 10))
		h.fail(w, r, http.StatusRequestedRangeNotSatisfiable)
		return true
	case rangeSatisfiable:
		h.servePartial(w, r, o.body, o.m, size, ranges)
		return true
	}
	return false
}

// serveWhole sends the whole selected representation with a 200.
func (h *Handler) serveWhole(w http.ResponseWriter, r *http.Request, o *object, rep representation) {
	hdr := w.Header()
	hdr["Content-Type"] = []string{o.m.contentType}
	if rep.coding >= 0 {
		hdr["Content-Encoding"] = []string{codingNames[rep.coding]}
	} else {
		hdr["Accept-Ranges"] = []string{"bytes"}
	}
	if rep.size >= 0 {
		hdr["Content-Length"] = []string{strconv.FormatInt(rep.size, 10)}
	}
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		h.stats.record(http.StatusOK, 0, 0)
		return
	}
	var n int64
	var err error
	switch {
	case rep.data != nil:
		var nw int
		nw, err = w.Write(rep.data)
		n = int64(nw)
	case rep.dynamic:
		cw := &countingWriter{w: w}
		err = h.enc.compress(rep.coding, cw, rep.body)
		n = cw.n
	default:
		n, err = io.CopyN(w, rep.body, rep.size)
	}
	h.stats.record(http.StatusOK, n, 0)
	if ctx := r.Context(); err != nil && ctx.Err() == nil {
		h.log.LogAttrs(ctx, slog.LevelDebug, "cdncache: body write failed", slog.String("key", o.key), slog.Any("err", err))
	}
}

// servePartial writes a 206 for one or several satisfiable ranges; a 206 is
// never compressed.
func (h *Handler) servePartial(w http.ResponseWriter, r *http.Request, obj io.ReadSeeker, m *meta, size int64, ranges []byteRange) {
	hdr := w.Header()
	hdr["Accept-Ranges"] = []string{"bytes"}
	var err error
	var n int64
	if len(ranges) == 1 {
		rg := ranges[0]
		hdr["Content-Type"] = []string{m.contentType}
		hdr["Content-Range"] = []string{rg.contentRange(size)}
		hdr["Content-Length"] = []string{strconv.FormatInt(rg.length, 10)}
		w.WriteHeader(http.StatusPartialContent)
		if r.Method != http.MethodHead {
			if _, err = obj.Seek(rg.start, io.SeekStart); err == nil {
				n, err = io.CopyN(w, obj, rg.length)
			}
		}
	} else {
		mb := newMultipartBody(ranges, m.contentType, size)
		hdr["Content-Type"] = []string{mb.mediaType()}
		hdr["Content-Length"] = []string{strconv.FormatInt(mb.length(), 10)}
		w.WriteHeader(http.StatusPartialContent)
		if r.Method != http.MethodHead {
			n, err = mb.writeTo(w, obj)
		}
	}
	h.stats.record(http.StatusPartialContent, n, 0)
	if err != nil && r.Context().Err() == nil {
		h.log.LogAttrs(r.Context(), slog.LevelDebug, "cdncache: body write failed", slog.Any("err", err))
	}
}

// selectEncoding picks the most preferred acceptable coding that can be
// served: a fresh precompressed sibling, else a kept encoded body (brotli
// once it is ready), else on-the-fly gzip or zstd for objects too large to
// keep. Objects under MinCompressSize are sent as they are.
func (h *Handler) selectEncoding(ctx context.Context, o *object, identity representation) representation {
	for _, c := range codingOrder(o.q) {
		if rep, ok := h.sibling(ctx, o, c); ok {
			return rep
		}
		if h.minCompress <= 0 || o.info.Size < int64(h.minCompress) {
			continue
		}
		etag := withSuffix(o.m.etag, codingNames[c])
		if h.encoded != nil && o.info.Size <= h.maxEncoded {
			if b, ok := h.encoded.get(encodedKey{etag: o.m.etag, coding: c}); ok {
				return representation{data: b, size: int64(len(b)), etag: etag, coding: c}
			}
			if c != codingBr {
				return representation{size: -1, etag: etag, coding: c, pending: true}
			}
			h.queueBrotli(o)
			continue // brotli not ready yet: the next coding
		}
		if c != codingBr {
			return representation{body: identity.body, size: -1, etag: etag, coding: c, dynamic: true}
		}
	}
	return identity
}

// sibling opens the precompressed sibling of o in coding c ("app.js.br"),
// unless it is missing, older than o (left behind by a deploy) or a link
// into another prefix's policy.
func (h *Handler) sibling(ctx context.Context, o *object, c int) (representation, bool) {
	sib, sinfo, err := openOrStat(ctx, h.sources[o.src], o.key+siblingExt[c], o.stat)
	if err != nil {
		return representation{}, false
	}
	if sinfo.ModTime.Before(o.info.ModTime) {
		sib.Close()
		return representation{}, false
	}
	sm, err := h.meta(o.src, o.key+siblingExt[c], sib, sinfo)
	if err != nil || sm.linked != "" && !h.pol.samePrefixPolicy(o.key, sm.linked) {
		sib.Close()
		return representation{}, false
	}
	return representation{body: sib, size: sinfo.Size, etag: withSuffix(sm.etag, codingNames[c]), coding: c}, true
}

// withSuffix returns the entity-tag of an encoded representation:
// "abc" becomes "abc-gzip".
func withSuffix(etag, coding string) string {
	return etag[:len(etag)-1] + "-" + coding + `"`
}

// candidates lists the tags, besides the selected representation's, that an
// If-None-Match may name for the current object: identity and the encodings
// made here of the codings the client accepts, so that a cache holding any
// of them gets its 304.
func candidates(selected, identity string, q [numCodings]float64) []string {
	var c []string
	if identity != selected {
		c = append(c, identity)
	}
	for _, coding := range []int{codingBr, codingZstd, codingGzip} {
		if q[coding] > 0 {
			if t := withSuffix(identity, codingNames[coding]); t != selected {
				c = append(c, t)
			}
		}
	}
	return c
}

func hasConditional(h http.Header) bool {
	for _, k := range [...]string{"If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since"} {
		if _, ok := h[k]; ok {
			return true
		}
	}
	return false
}

// open finds key in the sources, first match wins. With stat, a source
// that can describe an object without opening it returns a lazyFile.
func (h *Handler) open(ctx context.Context, key string, stat bool) (io.ReadSeekCloser, ObjectInfo, int, error) {
	for i, s := range h.sources {
		obj, info, err := openOrStat(ctx, s, key, stat)
		if err == nil {
			if info.Size < 0 {
				obj.Close()
				return nil, ObjectInfo{}, 0, errors.New("cdncache: negative object size")
			}
			return obj, info, i, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, ObjectInfo{}, 0, err
		}
	}
	return nil, ObjectInfo{}, 0, fs.ErrNotExist
}

// setCacheHeaders sets the headers shared by 200, 206 and 304.
func (h *Handler) setCacheHeaders(hdr http.Header, m *meta, key, etag string) {
	hp := m.policy
	hdr["Cache-Control"] = []string{hp.cc}
	if hp.cdn != "" {
		hdr["Cdn-Cache-Control"] = []string{hp.cdn}
	}
	hdr["Etag"] = []string{etag}
	hdr["X-Content-Type-Options"] = []string{"nosniff"}
	if h.tags != nil && !h.pol.private {
		if v := joinTags(h.tags(key), h.tagSep); v != "" {
			hdr[h.tagHeader] = []string{v}
		}
	}
	nostore.IfCookie(hdr)
}

// joinTags joins purge tags, dropping the ones that would break the header.
func joinTags(tags []string, sep string) string {
	var b strings.Builder
	for _, t := range tags {
		if t == "" || strings.ContainsFunc(t, func(r rune) bool { return r <= ' ' || r == ',' || r == 0x7f }) {
			continue
		}
		if b.Len() > 0 {
			b.WriteString(sep)
		}
		b.WriteString(t)
	}
	return b.String()
}

// fail writes an error status with a policy that never lets it be cached
// publicly.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, status int) {
	hdr := w.Header()
	for _, k := range []string{"Etag", "Last-Modified", "Content-Encoding", "Accept-Ranges"} {
		delete(hdr, k)
	}
	nostore.Untarget(hdr)
	hdr.Set("Cache-Control", h.pol.forError(status))
	if h.pol.private {
		hdr.Set("Cdn-Cache-Control", ccNoStore)
	}
	addVary(hdr)
	hdr.Set("Content-Type", "text/plain; charset=utf-8")
	hdr.Set("X-Content-Type-Options", "nosniff")
	body := http.StatusText(status) + "\n"
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	nostore.IfCookie(hdr)
	w.WriteHeader(status)
	var n int
	if r.Method != http.MethodHead {
		n, _ = io.WriteString(w, body)
	}
	h.stats.record(status, int64(n), 0)
}

// addVary makes sure Vary lists Accept-Encoding.
func addVary(hdr http.Header) {
	vs := hdr["Vary"]
	if len(vs) == 0 {
		hdr["Vary"] = []string{"Accept-Encoding"}
		return
	}
	for _, v := range vs {
		for _, f := range strings.Split(v, ",") {
			f = strings.TrimSpace(f)
			if f == "*" || strings.EqualFold(f, "Accept-Encoding") {
				return
			}
		}
	}
	hdr.Add("Vary", "Accept-Encoding")
}

// cleanKey turns a request path into an object key. It refuses what could
// reach outside a source or reveal hidden files: backslashes, NUL and
// invalid UTF-8 (400); "." and ".." segments, empty segments, directories
// (trailing slash) and dotfile segments (404).
func cleanKey(p string) (string, int) {
	if strings.ContainsAny(p, "\\\x00") || !utf8.ValidString(p) {
		return "", http.StatusBadRequest
	}
	key := strings.TrimPrefix(p, "/")
	if key == "" || strings.HasSuffix(key, "/") || !fs.ValidPath(key) {
		return "", http.StatusNotFound
	}
	for seg := range strings.SplitSeq(key, "/") {
		if seg[0] == '.' {
			return "", http.StatusNotFound
		}
	}
	return key, 0
}
