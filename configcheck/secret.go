package configcheck

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"unicode/utf8"
)

// Secret holds a resolved value that must not be shown. Every way of
// printing it (String, GoString, fmt verbs, JSON, text marshalling,
// slog.LogValue) yields only its length and the documented prefix it starts
// with, such as "[secret: 32 characters, starts with sk_test_]". Reveal
// returns the value itself. The zero Secret is empty.
//
// The value sits behind a pointer so that even a struct that embeds a Secret
// in an unexported field, printed with %v, shows an address, not the value.
type Secret struct {
	p *secretBox
}

type secretBox struct {
	value    string
	prefixes []string
}

func newSecret(value string, prefixes []string) Secret {
	return Secret{p: &secretBox{value: value, prefixes: prefixes}}
}

// Reveal returns the secret value.
func (s Secret) Reveal() string {
	if s.p == nil {
		return ""
	}
	return s.p.value
}

// String describes the secret without showing it.
func (s Secret) String() string {
	if s.p == nil {
		return "[secret: unset]"
	}
	return "[" + describeSecret(s.p.value, s.p.prefixes) + "]"
}

// GoString is String, for %#v.
func (s Secret) GoString() string { return s.String() }

// Format makes every fmt verb (%v, %+v, %#v, %s, %q, %x, …) print String.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		fmt.Fprintf(f, "%q", s.String())
		return
	}
	_, _ = f.Write([]byte(s.String()))
}

// MarshalJSON encodes String as a JSON string.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// MarshalText encodes String, for encoders that use encoding.TextMarshaler.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// LogValue logs String.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// matchedPrefix returns the longest of prefixes that value starts with.
func matchedPrefix(value string, prefixes []string) string {
	best := ""
	for _, p := range prefixes {
		if len(p) > len(best) && strings.HasPrefix(value, p) {
			best = p
		}
	}
	return best
}

// describeSecret is the only rendering of a secret value: its length in
// characters and the documented prefix it starts with, if any.
func describeSecret(value string, prefixes []string) string {
	n := utf8.RuneCountInString(value)
	d := "secret, " + plural(n, "character")
	if n == 0 {
		d = "secret, empty"
	}
	if p := matchedPrefix(value, prefixes); p != "" {
		d += ", starts with " + p
	}
	return d
}
