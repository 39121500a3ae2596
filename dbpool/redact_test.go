package dbpool

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRedact(t *testing.T) {
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
			assert.Equal(t, tt.want, redact(tt.text, tt.secrets))
		})
	}
	// Every mask character in the secret: deletion, repeated until clean.
	all := "x*#?-_~ab"
	got := redact("x*#?-_~x*#?-_~abab", []string{all})
	assert.NotContains(t, got, all)
}

func TestDSNSecrets(t *testing.T) {
	tests := []struct {
		dsn  string
		want string
	}{
		{"postgres://u:p%40ss@h/db", "p@ss"},
		{"postgres://u:plain@h/db", "plain"},
		{"postgres://u@h/db?password=qp", "qp"},
		{"host=h password='it''s' user=u", "it"},
		{"host=h password='a\\'b' user=u", "a'b"},
		{"host=h password=kv user=u", "kv"},
		{"postgres://u:bro ken@h:xx/db", "bro ken"},
	}
	for _, tt := range tests {
		assert.Contains(t, dsnSecrets(tt.dsn), tt.want, tt.dsn)
	}
}

// FuzzParseDSN feeds New malformed and odd connection strings carrying a
// password: it must never panic, and no error may show the password.
func FuzzParseDSN(f *testing.F) {
	f.Add("s3cret", "h/db", 0)
	f.Add("s3cret", "h:port/db?pool_max_conns=x", 0)
	f.Add("p@ss:word", "h:5432/db?sslmode=bogus", 0)
	f.Add("s3cret", "host=h pool_min_conns=-x", 1)
	f.Add("it's", "dbname='unterminated", 1)
	f.Add("s3cret", "h/db?pool_max_conn_lifetime=forever&x=", 2)
	f.Add("ab cd", "h/%zz", 0)
	f.Fuzz(func(t *testing.T, pw, rest string, form int) {
		if len(pw) < 4 || strings.ContainsAny(pw, "\x00") {
			t.Skip("short passwords are masked everywhere, not worth asserting on")
		}
		var dsn string
		switch form % 3 {
		case 0:
			dsn = "postgres://user:" + pw + "@" + rest
		case 1:
			dsn = "user=app password='" + strings.ReplaceAll(strings.ReplaceAll(pw, `\`, `\\`), `'`, `\'`) + "' " + rest
		default:
			// A query parameter's value is escaped, as a URL requires.
			dsn = "postgres://user@" + rest + "?password=" + url.QueryEscape(pw)
		}
		s, err := resolve(dsn, Config{ConnectBudget: -1})
		if err != nil {
			require.NotContains(t, err.Error(), pw, "dsn %q", dsn)
			if q := url.QueryEscape(pw); len(q) >= 4 {
				require.NotContains(t, err.Error(), q, "dsn %q", dsn)
			}
			return
		}
		// Parsed: the password New would redact is the one pgx will send.
		msg := redact("failed: "+s.pool.ConnConfig.Password+" "+s.target, s.secrets)
		if s.pool.ConnConfig.Password != "" {
			require.NotContains(t, msg, s.pool.ConnConfig.Password)
		}
	})
}

func TestParseErrorDoesNotUnwrapToTheDSN(t *testing.T) {
	_, err := New(context.Background(), "postgres://u:hidden-pw@h/db?pool_max_conns=x", Config{})
	require.Error(t, err)
	for e := err; e != nil; {
		assert.NotContains(t, e.Error(), "hidden-pw")
		u, ok := e.(interface{ Unwrap() error })
		if !ok {
			break
		}
		e = u.Unwrap()
	}
}

// FuzzRedact: whatever the text and secrets, no secret survives redact.
func FuzzRedact(f *testing.F) {
	f.Add("password pw123 leaked pw123", "pw123", "pw")
	f.Add("aaaa", "aa", "a")
	f.Add("x*#?-_~x*#?-_~abab", "x*#?-_~ab", "")
	f.Fuzz(func(t *testing.T, text, a, b string) {
		got := redact(text, []string{a, b})
		for _, sec := range []string{a, b} {
			if sec != "" {
				require.NotContains(t, got, sec)
			}
		}
	})
}
