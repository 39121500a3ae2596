package cdncache

import (
	"net/http"
	"slices"
	"strings"
	"time"
)

// precondition is the outcome of evaluating the conditional headers.
type precondition int

const (
	condProceed     precondition = iota // evaluate Range, then send the content
	condNotModified                     // 304
	condFailed                          // 412
)

// checkPreconditions evaluates If-Match, If-Unmodified-Since, If-None-Match
// and If-Modified-Since in the order of RFC 9110 §13.2.2 (steps 1 to 4).
// selected are the tags of the representation to be sent (its ETag first),
// the only ones If-Match accepts; others are those of the object's other
// current representations, which If-None-Match accepts too (a cache holding
// the gzip body may keep it). lastMod is zero when the object has no real
// modification time. For a 304 it also returns the tag that matched, to be
// sent back.
func checkPreconditions(h http.Header, method string, selected, others []string, lastMod time.Time) (precondition, string) {
	// Step 1: If-Match, strong comparison with the selected representation (§13.1.1).
	if im, ok := h["If-Match"]; ok {
		if _, match := matchList(strings.Join(im, ","), selected, false); !match {
			return condFailed, ""
		}
	} else if ius, ok := httpDate(h, "If-Unmodified-Since"); ok && !lastMod.IsZero() {
		// Step 2: If-Unmodified-Since, only without If-Match (§13.1.4).
		if lastMod.Truncate(time.Second).After(ius) {
			return condFailed, ""
		}
	}
	safe := method == http.MethodGet || method == http.MethodHead
	// Step 3: If-None-Match, weak comparison (§13.1.2).
	if inm, ok := h["If-None-Match"]; ok {
		if tag, match := matchList(strings.Join(inm, ","), slices.Concat(selected, others), true); match {
			if safe {
				return condNotModified, tag
			}
			return condFailed, ""
		}
		return condProceed, ""
	}
	// Step 4: If-Modified-Since, only without If-None-Match (§13.1.3).
	if ims, ok := httpDate(h, "If-Modified-Since"); ok && safe && !lastMod.IsZero() {
		if !lastMod.Truncate(time.Second).After(ims) {
			return condNotModified, selected[0]
		}
	}
	return condProceed, ""
}

// ifRangeAllows reports whether a Range header may be honoured given
// If-Range (RFC 9110 §13.1.5): absent, or a strong entity-tag equal to etag.
// Weak tags, invalid values and dates never match, so the full
// representation is sent. A date would need a strong Last-Modified
// (§8.8.2.2), and a modification time is not one: a deploy that keeps file
// times (rsync -t, tar, reproducible builds) can replace an object by
// another of the same size, and a 206 of the new bytes would be spliced onto
// the old ones. Every response carries a strong ETag to resume with.
func ifRangeAllows(h http.Header, etag string) bool {
	v, ok := h["If-Range"]
	if !ok || len(v) == 0 {
		return true
	}
	if len(v) > 1 {
		return false
	}
	val := strings.TrimSpace(v[0])
	if strings.HasPrefix(val, `"`) || strings.HasPrefix(val, "W/") {
		tag, rest := scanETag(val)
		return tag != "" && strings.TrimSpace(rest) == "" && etagMatch(tag, etag, false)
	}
	return false
}

// httpDate returns the HTTP-date in header name; ok is false when it is
// absent, repeated or invalid, in which case it must be ignored.
func httpDate(h http.Header, name string) (time.Time, bool) {
	v := h[name]
	if len(v) != 1 {
		return time.Time{}, false
	}
	t, err := http.ParseTime(strings.TrimSpace(v[0]))
	return t, err == nil
}
