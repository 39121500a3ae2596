package cdncache

import (
	"fmt"
	"io"
	"math"
	"mime/multipart"
	"net/textproto"
	"strconv"
	"strings"
)

// byteRange is a satisfiable range of a representation.
type byteRange struct {
	start, length int64
}

func (r byteRange) contentRange(size int64) string {
	return "bytes " + strconv.FormatInt(r.start, 10) + "-" + strconv.FormatInt(r.start+r.length-1, 10) + "/" + strconv.FormatInt(size, 10)
}

// rangeResult is what to do with a Range header.
type rangeResult int

const (
	rangeIgnore        rangeResult = iota // no usable Range: send 200
	rangeSatisfiable                      // send 206
	rangeUnsatisfiable                    // send 416
)

// parseRange parses a Range field value (RFC 9110 §14.1.2) for a
// representation of size bytes. A unit other than "bytes" is ignored
// (§14.2). Malformed byte ranges, more than maxRanges ranges and abusive
// sets are refused as unsatisfiable (§14.2, §15.5.17): more than one pair of
// overlapping ranges, or three or more ranges not in ascending order. Ranges
// that cannot be satisfied ("bytes=-0", a first position at or past the end)
// are dropped; if none is left the result is rangeUnsatisfiable. The work
// is linear in len(v) and stops at the first spec past maxRanges.
func parseRange(v string, size int64, maxRanges int) ([]byteRange, rangeResult) {
	v = strings.TrimLeft(v, " \t")
	const unit = "bytes"
	if len(v) < len(unit) || !strings.EqualFold(v[:len(unit)], unit) {
		return nil, rangeIgnore
	}
	v = strings.TrimLeft(v[len(unit):], " \t")
	if v == "" || v[0] != '=' {
		return nil, rangeIgnore
	}
	v = v[1:]
	var out []byteRange
	specs := 0
	for spec := range strings.SplitSeq(v, ",") {
		spec = strings.Trim(spec, " \t")
		if spec == "" {
			continue // empty list elements are allowed (RFC 9110 §5.6.1)
		}
		specs++
		if specs > maxRanges {
			return nil, rangeUnsatisfiable
		}
		br, ok, valid := parseSpec(spec, size)
		if !valid {
			return nil, rangeUnsatisfiable
		}
		if ok {
			out = append(out, br)
		}
	}
	if specs == 0 {
		return nil, rangeUnsatisfiable
	}
	if len(out) == 0 || abusive(out) {
		return nil, rangeUnsatisfiable
	}
	return out, rangeSatisfiable
}

// parseSpec parses one range-spec; ok reports whether it is satisfiable,
// valid whether it is well formed.
func parseSpec(spec string, size int64) (br byteRange, ok, valid bool) {
	dash := strings.IndexByte(spec, '-')
	if dash < 0 {
		return br, false, false
	}
	first, last := strings.TrimRight(spec[:dash], " \t"), strings.TrimLeft(spec[dash+1:], " \t")
	if first == "" { // suffix-range: the last N bytes
		n, okN := digits(last)
		if !okN {
			return br, false, false
		}
		if n == 0 || size == 0 {
			return br, false, true
		}
		n = min(n, size)
		return byteRange{start: size - n, length: n}, true, true
	}
	start, okS := digits(first)
	if !okS {
		return br, false, false
	}
	end := int64(math.MaxInt64)
	if last != "" {
		e, okE := digits(last)
		if !okE || e < start {
			return br, false, false
		}
		end = e
	}
	if start >= size {
		return br, false, true
	}
	end = min(end, size-1)
	return byteRange{start: start, length: end - start + 1}, true, true
}

// digits parses a non-empty run of ASCII digits, saturating at MaxInt64.
func digits(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if n > (math.MaxInt64-int64(c-'0'))/10 {
			n = math.MaxInt64
			continue
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// abusive reports a set of ranges a server may refuse (RFC 9110 §14.2):
// more than two ranges overlapping, or many ranges out of order.
func abusive(rs []byteRange) bool {
	if len(rs) < 2 {
		return false
	}
	ascending, overlaps := true, 0
	for i := 1; i < len(rs); i++ {
		if rs[i].start < rs[i-1].start {
			ascending = false
		}
	}
	if !ascending && len(rs) >= 3 {
		return true
	}
	// Count overlapping pairs; n is small (≤ MaxRanges) so O(n²) is fine.
	for i := range rs {
		for j := i + 1; j < len(rs); j++ {
			a, b := rs[i], rs[j]
			if a.start < b.start+b.length && b.start < a.start+a.length {
				overlaps++
			}
		}
	}
	return overlaps > 1
}

// multipartBody writes ranges of content as multipart/byteranges
// (RFC 9110 §14.6) with the given boundary.
type multipartBody struct {
	ranges      []byteRange
	contentType string
	size        int64
	boundary    string
}

func newMultipartBody(ranges []byteRange, contentType string, size int64) *multipartBody {
	return &multipartBody{ranges: ranges, contentType: contentType, size: size, boundary: multipart.NewWriter(io.Discard).Boundary()}
}

func (m *multipartBody) mediaType() string {
	return "multipart/byteranges; boundary=" + m.boundary
}

func (m *multipartBody) partHeader(r byteRange) textproto.MIMEHeader {
	h := textproto.MIMEHeader{"Content-Range": {r.contentRange(m.size)}}
	if m.contentType != "" {
		h["Content-Type"] = []string{m.contentType}
	}
	return h
}

// length returns the exact body length, for Content-Length.
func (m *multipartBody) length() int64 {
	cw := &countingWriter{w: io.Discard}
	mw := multipart.NewWriter(cw)
	_ = mw.SetBoundary(m.boundary)
	for _, r := range m.ranges {
		_, _ = mw.CreatePart(m.partHeader(r))
		cw.n += r.length
	}
	_ = mw.Close()
	return cw.n
}

// writeTo writes the body, reading the ranges from content.
func (m *multipartBody) writeTo(w io.Writer, content io.ReadSeeker) (int64, error) {
	cw := &countingWriter{w: w}
	mw := multipart.NewWriter(cw)
	if err := mw.SetBoundary(m.boundary); err != nil {
		return 0, err
	}
	for _, r := range m.ranges {
		pw, err := mw.CreatePart(m.partHeader(r))
		if err != nil {
			return cw.n, err
		}
		if _, err := content.Seek(r.start, io.SeekStart); err != nil {
			return cw.n, fmt.Errorf("cdncache: seek: %w", err)
		}
		if _, err := io.CopyN(pw, content, r.length); err != nil {
			return cw.n, err
		}
	}
	err := mw.Close()
	return cw.n, err
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
