package sessionstore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
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
		return appendNumber(dst, string(v))
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
		checkCanonicalValues(t, []byte(raw))
		if err != nil {
			assert.ErrorIs(t, err, ErrInvalidValue)
			return
		}
		require.Equal(t, string(want), string(got))
		again, err := canonical(got)
		require.NoError(t, err)
		assert.Equal(t, string(got), string(again), "idempotent")
		assert.True(t, json.Valid(got))
	})
}

// checkCanonicalValues: splitting stored session data into its values in
// one pass, then canonicalizing each, gives what decoding it with
// encoding/json and canonicalizing each value gives.
func checkCanonicalValues(t *testing.T, data []byte) {
	t.Helper()
	got, err := rawValues(data)
	for k, v := range got {
		if err == nil {
			got[k], err = canonical(v)
		}
	}
	var want map[string]json.RawMessage
	werr := json.Unmarshal(data, &want)
	for k, v := range want {
		if werr == nil {
			want[k], werr = canonical(v)
		}
	}
	require.Equal(t, werr == nil, err == nil, "same verdict on %q: %v / %v", data, err, werr)
	if err == nil {
		if want == nil {
			want = map[string]json.RawMessage{} // null
		}
		assert.Equal(t, want, got)
	}
}
