package dbpool

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dedw3n/hardening/internal/redact"
)

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
	f.Add("correct horse9 battery", "dbname=shop", 3)
	f.Add("S3cret@Pa55word-9", "127.0.0.1:1/shop", 0)
	f.Add("2024/SpringSale9", "127.0.0.1:1/shop", 0)
	f.Add("Zx81&Qm7TsecretTail9", "h/db", 4)
	f.Fuzz(func(t *testing.T, pw, rest string, form int) {
		if len(pw) < 4 || strings.ContainsAny(pw, "\x00") {
			t.Skip("short passwords are masked everywhere, not worth asserting on")
		}
		var dsn string
		switch form % 5 {
		case 0:
			dsn = "postgres://user:" + pw + "@" + rest
		case 1:
			dsn = "user=app password='" + strings.ReplaceAll(strings.ReplaceAll(pw, `\`, `\\`), `'`, `\'`) + "' " + rest
		case 2:
			// A query parameter's value is escaped, as a URL requires.
			dsn = "postgres://user@" + rest + "?password=" + url.QueryEscape(pw)
		case 3: // unquoted, as people write it by mistake
			dsn = "user=app password=" + pw + " " + rest
		default: // unescaped, as people write it by mistake
			dsn = "postgres://user@" + rest + "?password=" + pw
		}
		s, err := resolve(dsn, Config{ConnectBudget: -1})
		if err != nil {
			require.NotContains(t, err.Error(), pw, "dsn %q", dsn)
			if q := url.QueryEscape(pw); len(q) >= 4 {
				require.NotContains(t, err.Error(), q, "dsn %q", dsn)
			}
			// Nor a piece of it: pgx quotes the word after a space, the
			// part after '&' or '@'. Pieces with a digit, 6 bytes or more,
			// are not words of the fixed texts.
			for _, piece := range strings.FieldsFunc(pw, func(r rune) bool { return strings.ContainsRune(" \t&@/?#='\\", r) }) {
				if len(piece) >= 6 && strings.ContainsAny(piece, "0123456789") {
					require.NotContains(t, err.Error(), piece, "dsn %q", dsn)
				}
			}
			return
		}
		// Parsed: the password New would redact is the one pgx will send.
		msg := redact.String("failed: "+s.pool.ConnConfig.Password+" "+s.target, s.secrets)
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
