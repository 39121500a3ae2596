package sessionstore

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits of what PostgreSQL's jsonb accepts, applied by every store so
// that a value one store takes, all take.
const (
	// maxDepth bounds the nesting of arrays and objects: jsonb's parser
	// recurses, and fails with "stack depth limit exceeded" at a depth set
	// by the server's max_stack_depth; 1000 levels is well within the
	// default (2 MB).
	maxDepth = 1000
	// maxIntDigits and maxFracDigits bound numbers, which jsonb keeps as
	// numeric: at most 131072 digits before the decimal point and 16383
	// after it.
	maxIntDigits  = 131072
	maxFracDigits = 16383
)

// canonical returns the canonical encoding of the JSON value raw, the
// form in which sessions are measured and stored: compact, object keys in
// jsonb's order (shorter first, then bytewise) without duplicates (the
// last wins), strings escaped only where JSON requires it, numbers
// written the way PostgreSQL's numeric prints them (1e3 is 1000, 1.50
// stays 1.50). It is what jsonb gives back, spaces aside, so a value has
// the same size in every store and however often it is read back.
//
// Values jsonb cannot hold (a U+0000 character, nesting deeper than
// maxDepth, numbers beyond numeric's range) are refused with an error
// wrapping [ErrInvalidValue].
func canonical(raw []byte) ([]byte, error) { return canonicalWithin(raw, math.MaxInt) }

// canonicalWithin is canonical, refusing with [ErrTooLarge], before writing
// them, numbers whose canonical forms together are over limit bytes: a few
// bytes of JSON ("1e131071") make a number of 128 KiB. Everything else in
// the canonical form is no longer than in raw, so what canonicalWithin
// writes is bounded by len(raw) + limit; the caller measures the result.
func canonicalWithin(raw []byte, limit int) ([]byte, error) {
	if !json.Valid(raw) {
		return nil, fmt.Errorf("%w: not valid JSON", ErrInvalidValue)
	}
	p := parser{b: raw, limit: limit}
	return p.value(make([]byte, 0, len(raw)), 0)
}

// parser rewrites valid JSON into its canonical form in one pass.
type parser struct {
	b       []byte // valid JSON (json.Valid): the parser does not check syntax
	i       int    // position in b
	limit   int    // the most bytes of numbers written
	numbers int    // the bytes of numbers written so far
}

func (p *parser) skipSpace() {
	for p.i < len(p.b) && (p.b[p.i] == ' ' || p.b[p.i] == '\t' || p.b[p.i] == '\n' || p.b[p.i] == '\r') {
		p.i++
	}
}

func (p *parser) value(dst []byte, depth int) ([]byte, error) {
	p.skipSpace()
	switch c := p.b[p.i]; c {
	case '{', '[':
		if depth >= maxDepth {
			return nil, fmt.Errorf("%w: nested deeper than %d levels", ErrInvalidValue, maxDepth)
		}
		if c == '{' {
			return p.object(dst, depth)
		}
		return p.array(dst, depth)
	case '"':
		s, err := p.str()
		if err != nil {
			return nil, err
		}
		return appendString(dst, s)
	case 't', 'n':
		p.i += 4
		return append(dst, p.b[p.i-4:p.i]...), nil
	case 'f':
		p.i += 5
		return append(dst, "false"...), nil
	}
	start := p.i
	for p.i < len(p.b) && strings.IndexByte("+-.0123456789eE", p.b[p.i]) >= 0 {
		p.i++
	}
	n := len(dst)
	dst, err := appendNumber(dst, string(p.b[start:p.i]), p.limit-p.numbers)
	p.numbers += len(dst) - n
	return dst, err
}

// str reads a string token and returns its value; invalid UTF-8 becomes
// U+FFFD, as encoding/json decodes it.
func (p *parser) str() (string, error) {
	start, escaped := p.i, false
	for p.i++; p.b[p.i] != '"'; p.i++ {
		if p.b[p.i] == '\\' {
			escaped = true
			p.i++
		}
	}
	p.i++
	tok := p.b[start:p.i]
	if !escaped && utf8.Valid(tok) {
		return string(tok[1 : len(tok)-1]), nil
	}
	var s string
	err := json.Unmarshal(tok, &s)
	return s, err
}

func (p *parser) array(dst []byte, depth int) ([]byte, error) {
	p.i++ // [
	dst = append(dst, '[')
	for first := true; ; {
		p.skipSpace()
		switch p.b[p.i] {
		case ']':
			p.i++
			return append(dst, ']'), nil
		case ',':
			p.i++
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		var err error
		if dst, err = p.value(dst, depth+1); err != nil {
			return nil, err
		}
	}
}

func (p *parser) object(dst []byte, depth int) ([]byte, error) {
	var members []member
	var vals []byte // the members' canonical values, end to end
	err := p.members(func(key string) error {
		m := member{key: key, start: len(vals)}
		var err error
		if vals, err = p.value(vals, depth+1); err != nil {
			return err
		}
		m.end = len(vals)
		members = append(members, m)
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i := range members {
		members[i].val = vals[members[i].start:members[i].end]
	}
	return appendMembers(dst, members)
}

// members reads the object at p.i, calling fn with each key and p.i at its
// value, which fn reads.
func (p *parser) members(fn func(key string) error) error {
	p.i++ // {
	for {
		p.skipSpace()
		switch p.b[p.i] {
		case '}':
			p.i++
			return nil
		case ',':
			p.i++
			p.skipSpace()
		}
		key, err := p.str()
		if err != nil {
			return err
		}
		p.skipSpace()
		p.i++ // :
		p.skipSpace()
		if err := fn(key); err != nil {
			return err
		}
	}
}

// rawValues returns the values of the JSON object data by key, as they
// are written there (see Session.parse); of duplicate keys the last wins.
// A JSON null is the empty object.
func rawValues(data []byte) (map[string]json.RawMessage, error) {
	if !json.Valid(data) {
		return nil, fmt.Errorf("%w: not valid JSON", ErrInvalidValue)
	}
	p := parser{b: data}
	p.skipSpace()
	switch p.b[p.i] {
	case 'n':
		return map[string]json.RawMessage{}, nil
	case '{':
	default:
		return nil, fmt.Errorf("%w: not a JSON object", ErrInvalidValue)
	}
	vals := map[string]json.RawMessage{}
	err := p.members(func(key string) error {
		vals[key] = p.skip()
		return nil
	})
	return vals, err
}

// skip moves past one value and returns it.
func (p *parser) skip() []byte {
	start := p.i
	switch p.b[p.i] {
	case '"':
		p.skipString()
	case '{', '[':
		for depth := 0; ; {
			switch p.b[p.i] {
			case '"':
				p.skipString()
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
			}
			p.i++
			if depth == 0 {
				break
			}
		}
	default: // a number, true, false or null
		for p.i < len(p.b) && strings.IndexByte(",}] \t\n\r", p.b[p.i]) < 0 {
			p.i++
		}
	}
	return p.b[start:p.i:p.i]
}

func (p *parser) skipString() {
	for p.i++; p.b[p.i] != '"'; p.i++ {
		if p.b[p.i] == '\\' {
			p.i++
		}
	}
	p.i++
}

// member is one key and canonical value of an object.
type member struct {
	key        string
	val        []byte
	start, end int // val's place in the parser's buffer, until it is complete
}

// appendMembers writes an object of members in jsonb's key order; of
// duplicate keys, the last wins.
func appendMembers(dst []byte, ms []member) ([]byte, error) {
	slices.SortStableFunc(ms, func(a, b member) int {
		if len(a.key) != len(b.key) {
			return len(a.key) - len(b.key)
		}
		return strings.Compare(a.key, b.key)
	})
	dst = append(dst, '{')
	var err error
	written := 0
	for i, m := range ms {
		if i+1 < len(ms) && ms[i+1].key == m.key {
			continue // a later duplicate wins
		}
		if written++; written > 1 {
			dst = append(dst, ',')
		}
		if dst, err = appendString(dst, m.key); err != nil {
			return nil, err
		}
		dst = append(dst, ':')
		dst = append(dst, m.val...)
	}
	return append(dst, '}'), nil
}

// appendString writes s as jsonb does: only '"', '\\' and control
// characters are escaped. U+0000 cannot be stored, nor invalid UTF-8
// (encoding/json would turn it into U+FFFD, changing a key).
func appendString(dst []byte, s string) ([]byte, error) {
	if strings.IndexByte(s, 0) >= 0 {
		return nil, fmt.Errorf("%w: a string contains U+0000, which PostgreSQL cannot store", ErrInvalidValue)
	}
	if !utf8.ValidString(s) {
		return nil, fmt.Errorf("%w: a string is not valid UTF-8", ErrInvalidValue)
	}
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c == '\b':
			dst = append(dst, `\b`...)
		case c == '\f':
			dst = append(dst, `\f`...)
		case c == '\n':
			dst = append(dst, `\n`...)
		case c == '\r':
			dst = append(dst, `\r`...)
		case c == '\t':
			dst = append(dst, `\t`...)
		case c < 0x20:
			dst = append(dst, `\u00`...)
			dst = append(dst, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&0xf])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"'), nil
}

// appendNumber writes the JSON number s as PostgreSQL's numeric prints
// it: in plain decimal notation, with as many fractional digits as s
// has after its exponent is applied (its "display scale"), no sign on
// zero. It writes nothing when that takes more than room bytes.
func appendNumber(dst []byte, s string, room int) ([]byte, error) {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	mant, exp := s, 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		mant = s[:i]
		e, err := strconv.Atoi(strings.TrimPrefix(s[i+1:], "+"))
		if err != nil || e > 1<<20 || e < -1<<20 {
			return nil, errNumberRange
		}
		exp = e
	}
	intPart, frac, _ := strings.Cut(mant, ".")
	digits := intPart + frac
	point := len(intPart) + exp // digits before the decimal point
	scale := max(len(frac)-exp, 0)
	trimmed := strings.TrimLeft(digits, "0")
	point -= len(digits) - len(trimmed)
	digits = trimmed
	if point > maxIntDigits || scale > maxFracDigits {
		return nil, errNumberRange
	}
	if n := numberLen(neg, digits, point, scale); n > room {
		return nil, fmt.Errorf("%w: a number takes %d bytes written out, over what the limit leaves", ErrTooLarge, n)
	}
	if neg && digits != "" {
		dst = append(dst, '-')
	}
	switch {
	case point <= 0 || digits == "":
		dst = append(dst, '0')
	case point <= len(digits):
		dst = append(dst, digits[:point]...)
	default:
		dst = append(dst, digits...)
		dst = appendZeros(dst, point-len(digits))
	}
	if scale == 0 {
		return dst, nil
	}
	dst = append(dst, '.')
	n := len(dst)
	if point < 0 && digits != "" {
		dst = appendZeros(dst, -point)
	}
	if point < len(digits) && digits != "" {
		dst = append(dst, digits[max(point, 0):]...)
	}
	return appendZeros(dst, scale-(len(dst)-n)), nil
}

// numberLen is how many bytes appendNumber writes for a number of the
// given sign, significant digits, decimal point position and scale.
func numberLen(neg bool, digits string, point, scale int) int {
	n := 1 // "0"
	if digits != "" {
		if neg {
			n++
		}
		n = max(n, n-1+point)
	}
	if scale > 0 {
		n += 1 + scale
	}
	return n
}

var errNumberRange = fmt.Errorf("%w: a number is beyond PostgreSQL's numeric range (%d digits before the decimal point, %d after)",
	ErrInvalidValue, maxIntDigits, maxFracDigits)

func appendZeros(dst []byte, n int) []byte {
	for range n {
		dst = append(dst, '0')
	}
	return dst
}

// checkKey refuses keys (and user IDs) that would not come back unchanged
// from a store.
func checkKey(key string) error {
	_, err := appendString(nil, key)
	return err
}
