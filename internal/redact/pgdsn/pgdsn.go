// Package pgdsn finds the secrets of a PostgreSQL connection string and
// states a pgx parse error without them. It is apart from package redact so
// that redacting text never links pgx into a package that has no database.
package pgdsn

import (
	"errors"
	"net/url"
	"os"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dedw3n/hardening/internal/redact"
)

// pgx is careful with passwords, but not everywhere: a
// pgconn.ParseConfigError keeps the raw connection string and redacts its
// text only "on a best-effort basis", and a url.Error quotes the URL it
// failed on. Secrets and ParseError close those gaps.

var kvPassword = regexp.MustCompile(`(?i)password\s*=\s*(?:'((?:\\.|[^'])*)'|([^\s&]*))`)

// Secrets finds what may be a password in a connection string, even a
// malformed one: the URL's user info, password= parameters, and the
// PGPASSWORD environment variable that pgconn also reads. Each comes in
// its escaped and unescaped forms.
func Secrets(dsn string) []string {
	var out []string
	add := func(s string) {
		if s == "" {
			return
		}
		out = append(out, s)
		if u, err := url.PathUnescape(s); err == nil && u != s {
			out = append(out, u)
		}
		if u, err := url.QueryUnescape(s); err == nil && u != s {
			out = append(out, u)
		}
		if q := url.QueryEscape(s); q != s {
			out = append(out, q)
		}
	}
	if i := strings.Index(dsn, "://"); i >= 0 {
		urlSecrets(dsn, dsn[i+3:], add)
	}
	for _, m := range kvPassword.FindAllStringSubmatch(dsn, -1) {
		add(m[1])
		add(strings.ReplaceAll(strings.ReplaceAll(m[1], `\'`, `'`), `\\`, `\`))
		add(m[2])
	}
	add(os.Getenv("PGPASSWORD"))
	return out
}

// urlSecrets passes to add the passwords of a URL-form DSN; rest is what
// follows "://".
func urlSecrets(dsn, rest string, add func(string)) {
	// A malformed URL is ambiguous about where the user info ends: take
	// the password up to every '@' (the parser uses the last).
	if c := strings.IndexByte(rest, ':'); c >= 0 {
		for at := c + 1; at < len(rest); at++ {
			if rest[at] == '@' {
				add(rest[c+1 : at])
			}
		}
	}
	if u, err := url.Parse(dsn); err == nil {
		if pw, ok := u.User.Password(); ok {
			add(pw)
		}
		for _, pw := range u.Query()["password"] {
			add(pw)
		}
	}
}

// ParseError returns the text of a DSN parse failure without the
// connection string that pgconn.ParseConfigError quotes (and keeps in a
// field), with every secret masked. Wrap it in a new error: err itself
// must not be kept in the chain.
func ParseError(err error, secrets []string) string {
	text := err.Error()
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) {
		inner := errors.Unwrap(pe)
		// pgconn's text is "cannot parse `<dsn>`: <msg>[ (<inner>)]": keep
		// <msg> and a cause without the DSN.
		if inner != nil {
			text = strings.TrimSuffix(text, " ("+inner.Error()+")")
		}
		if i := strings.LastIndex(text, "`: "); i >= 0 {
			text = text[i+3:]
		} else {
			text = "invalid connection string"
		}
		if inner = redact.WithoutURL(inner); inner != nil {
			text += " (" + inner.Error() + ")"
		}
	}
	return redact.String(text, secrets)
}
