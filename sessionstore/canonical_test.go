package sessionstore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// referenceCanonical is canonical written the obvious way, through
// encoding/json's decoder: the one-pass parser must agree with it.
func referenceCanonical(raw []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("data after the value")
	}
	return referenceValue(nil, v, 0)
}

func referenceValue(dst []byte, v any, depth int) ([]byte, error) {
	var err error
	switch v := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case bool:
		return strconv.AppendBool(dst, v), nil
	case json.Number:
		return appendNumber(dst, string(v), math.MaxInt)
	case string:
		return appendString(dst, v)
	case []any:
		if depth >= maxDepth {
			return nil, fmt.Errorf("too deep")
		}
		dst = append(dst, '[')
		for i, e := range v {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, err = referenceValue(dst, e, depth+1); err != nil {
				return nil, err
			}
		}
		return append(dst, ']'), nil
	case map[string]any:
		if depth >= maxDepth {
			return nil, fmt.Errorf("too deep")
		}
		var ms []member
		for k, e := range v {
			b, err := referenceValue(nil, e, depth+1)
			if err != nil {
				return nil, err
			}
			ms = append(ms, member{key: k, val: b})
		}
		return appendMembers(dst, ms)
	}
	return nil, fmt.Errorf("unexpected %T", v)
}

// FuzzCanonical: the one-pass canonical form equals the reference
// decoder's, accepts and refuses the same inputs, and is idempotent.
func FuzzCanonical(f *testing.F) {
	for _, c := range sizeCases {
		f.Add(c.raw)
	}
	for _, s := range []string{` {"b" : [1, {"a":"\u00e9","a":null}], "a": false} `, `"\ud800x"`, "\"\xff\xfe\"", `"a\\\"b"`,
		`[1e5, -0.0e-3, 12.340E+2]`, strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth), `{"":1, "\u0000":2}`, `1 2`,
		`{"a":"}]\"[{" , "b":[{"c":"\\"},[]],"d":1e2 ,"e" : true,"a":{"x":null}}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, err := canonical([]byte(raw))
		want, werr := referenceCanonical([]byte(raw))
		require.Equal(t, werr == nil, err == nil, "same verdict: %v / %v", err, werr)
		if err != nil {
			assert.ErrorIs(t, err, ErrInvalidValue)
			return
		}
		require.Equal(t, string(want), string(got))
		// The size bound refuses no canonical value that fits, and a
		// number that does not, before writing it.
		within, err := canonicalWithin(got, len(got))
		require.NoError(t, err)
		require.Equal(t, string(got), string(within))
		if c := got[0]; c == '-' || c >= '0' && c <= '9' {
			_, err := canonicalWithin([]byte(raw), len(got)-1)
			require.ErrorIs(t, err, ErrTooLarge)
		}
		again, err := canonical(got)
		require.NoError(t, err)
		assert.Equal(t, string(got), string(again), "idempotent")
		assert.True(t, json.Valid(got))
	})
}

// FuzzRawValues: splitting stored session data into its values gives, value
// for value and byte for byte, what encoding/json's decoding into
// map[string]json.RawMessage gives, and refuses what it refuses (and
// anything but an object or null).
func FuzzRawValues(f *testing.F) {
	for _, s := range []string{`{}`, ` { "a" : 1 , "b":[1, {"c":"]}\""}], "a":{"x":null} } `, `null`, `[1]`, `"s"`,
		`{"n":1e999999,"t":true,"f":false,"z":null,"s":"\u00e9\n"}`, "{\"\xff\":1}", `{"a":1`, `{"a":1} x`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		got, err := rawValues([]byte(data))
		var want map[string]json.RawMessage
		werr := json.Unmarshal([]byte(data), &want)
		if werr == nil && want == nil {
			want = map[string]json.RawMessage{} // null
		}
		require.Equal(t, werr == nil, err == nil, "same verdict on %q: %v / %v", data, err, werr)
		if err != nil {
			assert.ErrorIs(t, err, ErrInvalidValue)
			return
		}
		require.Equal(t, len(want), len(got))
		for k, v := range want {
			assert.Equal(t, string(v), string(got[k]), "value of %q", k)
		}
	})
}
