package redact

import (
	"errors"
	"fmt"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestString(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		secrets []string
		want    string
	}{
		{"no secret", "dial error", []string{"pw"}, "dial error"},
		{"masked", "password pw123 leaked", []string{"pw123"}, "password xxxxx leaked"},
		{"longest first", "abcdef", []string{"abc", "abcdef"}, "xxxxx"},
		{"mask avoids the secret's characters", "key=x1x", []string{"x1x"}, "key=*****"},
		{"empty secret ignored", "text", []string{""}, "text"},
		{"overlapping occurrences", "aaaa", []string{"aa"}, "xxxxxxxxxx"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, String(tt.text, tt.secrets))
		})
	}
	// Every mask character in the secret: deletion, repeated until clean.
	all := "x*#?-_~ab"
	got := String("x*#?-_~x*#?-_~abab", []string{all})
	assert.NotContains(t, got, all)
}

func TestErrorKeepsTheChain(t *testing.T) {
	cause := fmt.Errorf("dial as app:pw123: %w", errors.ErrUnsupported)
	err := Error(cause, []string{"pw123"})
	assert.Equal(t, "dial as app:xxxxx: unsupported operation", err.Error())
	assert.ErrorIs(t, err, errors.ErrUnsupported)
	assert.NoError(t, Error(nil, []string{"pw123"}))
}

func TestWithoutURL(t *testing.T) {
	inner := errors.New("connection refused")
	err := &url.Error{Op: "Get", URL: "https://h/v1?key=k-123", Err: inner}
	assert.Equal(t, inner, WithoutURL(fmt.Errorf("wrapped: %w", err)))
	assert.Equal(t, inner, WithoutURL(inner))
}

// FuzzString: whatever the text and secrets, no secret survives String.
func FuzzString(f *testing.F) {
	f.Add("password pw123 leaked pw123", "pw123", "pw")
	f.Add("aaaa", "aa", "a")
	f.Add("x*#?-_~x*#?-_~abab", "x*#?-_~ab", "")
	f.Fuzz(func(t *testing.T, text, a, b string) {
		got := String(text, []string{a, b})
		for _, sec := range []string{a, b} {
			if sec != "" {
				require.NotContains(t, got, sec)
			}
		}
	})
}
