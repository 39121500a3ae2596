package sessionstore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits of what PostgreSQL's jsonb accepts, applied by every store so
// that a value one store takes, all take.
const (
	// maxDepth bounds the nesting of arrays and objects: jsonb's parser
	// recurses and fails with "stack depth limit exceeded" far below
	// encoding/json's own limit.
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
func canonical(raw []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidValue, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the JSON value", ErrInvalidValue)
	}
	return appendValue(make([]byte, 0, len(raw)), v, 0)
}

func appendValue(dst []byte, v any, depth int) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case bool:
		return strconv.AppendBool(dst, v), nil
	case json.Number:
		return appendNumber(dst, string(v))
	case string:
		return appendString(dst, v)
	case []any:
		if depth >= maxDepth {
			return nil, fmt.Errorf("%w: nested deeper than %d levels", ErrInvalidValue, maxDepth)
		}
		dst = append(dst, '[')
		for i, e := range v {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = appendValue(dst, e, depth+1); err != nil {
				return nil, err
			}
		}
		return append(dst, ']'), nil
	case map[string]any:
		if depth >= maxDepth {
			return nil, fmt.Errorf("%w: nested deeper than %d levels", ErrInvalidValue, maxDepth)
		}
		return appendObject(dst, v, func(dst []byte, e any) ([]byte, error) { return appendValue(dst, e, depth+1) })
	}
	return nil, fmt.Errorf("%w: unexpected %T", ErrInvalidValue, v) // not produced by the decoder
}

// appendObject writes the object m with its keys in jsonb's order.
func appendObject[V any](dst []byte, m map[string]V, value func([]byte, V) ([]byte, error)) ([]byte, error) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if len(a) != len(b) {
			return len(a) - len(b)
		}
		return strings.Compare(a, b)
	})
	dst = append(dst, '{')
	var err error
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		if dst, err = appendString(dst, k); err != nil {
			return nil, err
		}
		dst = append(dst, ':')
		if dst, err = value(dst, m[k]); err != nil {
			return nil, err
		}
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
// zero.
func appendNumber(dst []byte, s string) ([]byte, error) {
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

var errNumberRange = fmt.Errorf("%w: a number is beyond PostgreSQL's numeric range (%d digits before the decimal point, %d after)",
	ErrInvalidValue, maxIntDigits, maxFracDigits)

func appendZeros(dst []byte, n int) []byte {
	for range n {
		dst = append(dst, '0')
	}
	return dst
}

// checkKey refuses keys that would not come back unchanged from a store.
func checkKey(key string) error {
	_, err := appendString(nil, key)
	return err
}
