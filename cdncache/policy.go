package cdncache

import (
	"net/http"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Cache-Control values that never depend on configuration.
const (
	ccNoStore = "no-store"
	ccPrivate = "private, no-cache"
)

// String renders p as a Cache-Control value.
func (p Policy) String() string { return p.render(0) }

// render renders p, capping max-age at maxCap when maxCap > 0 and p is not
// immutable.
func (p Policy) render(maxCap time.Duration) string {
	if p.NoStore {
		return ccNoStore
	}
	age := p.MaxAge
	if maxCap > 0 && !p.Immutable && age > maxCap {
		age = maxCap
	}
	var b strings.Builder
	b.WriteString("public")
	if age <= 0 {
		b.WriteString(", no-cache")
	} else {
		b.WriteString(", max-age=")
		b.WriteString(seconds(age))
	}
	if p.StaleWhileRevalidate > 0 {
		b.WriteString(", stale-while-revalidate=")
		b.WriteString(seconds(p.StaleWhileRevalidate))
	}
	if p.StaleIfError > 0 {
		b.WriteString(", stale-if-error=")
		b.WriteString(seconds(p.StaleIfError))
	}
	if p.Immutable && age > 0 {
		b.WriteString(", immutable")
	}
	return b.String()
}

func seconds(d time.Duration) string {
	return strconv.FormatInt(int64(d/time.Second), 10)
}

// headerPolicy is a resolved policy: the two header values to send.
type headerPolicy struct {
	cc  string // Cache-Control
	cdn string // CDN-Cache-Control; "" means none
}

// policies resolves the policy of an object; it is read-only after New.
type policies struct {
	private     bool
	browserCap  time.Duration
	types       map[string]headerPolicy // media type or "major/*" or "*/*"
	prefixes    []prefixPolicy          // longest first
	fingerprint headerPolicy
	isFP        func(key string) bool
	notFound    string
}

type prefixPolicy struct {
	prefix string
	hp     headerPolicy
}

func newPolicies(cfg *Config) *policies {
	ps := &policies{
		private:    cfg.Private,
		browserCap: cfg.BrowserMaxAge,
		types:      make(map[string]headerPolicy),
		isFP:       cfg.Fingerprinted,
		notFound:   ccNoStore,
	}
	if ps.isFP == nil {
		ps.isFP = isFingerprinted
	}
	if cfg.NotFoundMaxAge > 0 {
		ps.notFound = "max-age=" + seconds(cfg.NotFoundMaxAge)
	}
	types := DefaultTypes()
	for k, v := range cfg.Types {
		types[strings.ToLower(strings.TrimSpace(k))] = v
	}
	for k, v := range types {
		ps.types[k] = ps.resolve(v)
	}
	for k, v := range cfg.Prefixes {
		ps.prefixes = append(ps.prefixes, prefixPolicy{prefix: strings.TrimPrefix(k, "/"), hp: ps.resolve(v)})
	}
	sort.Slice(ps.prefixes, func(i, j int) bool {
		return len(ps.prefixes[i].prefix) > len(ps.prefixes[j].prefix)
	})
	ps.fingerprint = ps.resolve(fingerprintPolicy)
	return ps
}

func (ps *policies) resolve(p Policy) headerPolicy {
	if ps.private {
		return headerPolicy{cc: ccPrivate, cdn: ccNoStore}
	}
	if ps.browserCap <= 0 {
		return headerPolicy{cc: p.render(0)}
	}
	return headerPolicy{cc: p.render(ps.browserCap), cdn: p.render(0)}
}

// forObject returns the policy of a successful response for key with the
// given Content-Type.
func (ps *policies) forObject(key, contentType string) headerPolicy {
	if ps.private {
		return headerPolicy{cc: ccPrivate, cdn: ccNoStore}
	}
	if i := ps.prefixIndex(key); i >= 0 {
		return ps.prefixes[i].hp
	}
	if ps.isFP(key) {
		return ps.fingerprint
	}
	mt := mediaType(contentType)
	if hp, ok := ps.types[mt]; ok {
		return hp
	}
	if i := strings.IndexByte(mt, '/'); i > 0 {
		if hp, ok := ps.types[mt[:i]+"/*"]; ok {
			return hp
		}
	}
	return ps.types["*/*"]
}

// samePrefixPolicy reports whether keys a and b fall under the same
// Config.Prefixes entry (or both under none).
func (ps *policies) samePrefixPolicy(a, b string) bool {
	return ps.prefixIndex(a) == ps.prefixIndex(b)
}

// prefixIndex returns the index of the longest prefix policy matching key,
// or -1.
func (ps *policies) prefixIndex(key string) int {
	for i, pp := range ps.prefixes {
		if strings.HasPrefix(key, pp.prefix) {
			return i
		}
	}
	return -1
}

// forError returns the Cache-Control of an error status.
func (ps *policies) forError(status int) string {
	if status == http.StatusNotFound && !ps.private {
		return ps.notFound
	}
	return ccNoStore
}

// mediaType lowercases a Content-Type and drops its parameters.
func mediaType(ct string) string {
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	return strings.ToLower(strings.TrimSpace(ct)) // no copy when already lower case
}

// isFingerprinted is the default Config.Fingerprinted: the file name (without
// its extension) has a '.' or '-' separated token of 8 to 64 hex characters
// holding at least one digit and one letter, all in one case.
func isFingerprinted(key string) bool {
	name := path.Base(key)
	ext := path.Ext(name)
	if ext == "" || len(ext) == len(name) {
		return false
	}
	stem := name[:len(name)-len(ext)]
	for tok := range strings.FieldsFuncSeq(stem, func(r rune) bool { return r == '.' || r == '-' }) {
		if isHexHash(tok) {
			return true
		}
	}
	return false
}

func isHexHash(s string) bool {
	if len(s) < 8 || len(s) > 64 {
		return false
	}
	var digit, lower, upper bool
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case '0' <= c && c <= '9':
			digit = true
		case 'a' <= c && c <= 'f':
			lower = true
		case 'A' <= c && c <= 'F':
			upper = true
		default:
			return false
		}
	}
	return digit && (lower != upper)
}
