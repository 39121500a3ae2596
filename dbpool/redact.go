package dbpool

import (
	"errors"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Passwords must never reach an error or a log line. pgx is careful, but
// not everywhere: a pgconn.ParseConfigError keeps the raw connection string
// and redacts its text only "on a best-effort basis", and a url.Error quotes
// the URL it failed on. So every error text that leaves this package passes
// through redact, with every password we know of.

// redactedError carries a redacted text and keeps the original for
// errors.Is and errors.As (e.g. context.DeadlineExceeded, *pgconn.PgError).
type redactedError struct {
	text string
	err  error
}

func (e *redactedError) Error() string { return e.text }
func (e *redactedError) Unwrap() error { return e.err }

// sanitize returns err with every secret removed from its text, or nil.
func sanitize(err error, secrets []string) error {
	if err == nil {
		return nil
	}
	return &redactedError{text: redact(err.Error(), secrets), err: err}
}

// redact replaces every occurrence of each secret in s by a mask made of a
// character that occurs in no secret, so that no masked text can form a
// secret again.
func redact(s string, secrets []string) string {
	live := make([]string, 0, len(secrets))
	for _, sec := range secrets {
		if sec != "" && strings.Contains(s, sec) {
			live = append(live, sec)
		}
	}
	if len(live) == 0 {
		return s
	}
	mask := maskFor(secrets)
	// Longest first, so that a secret containing another is masked whole.
	sort.Slice(live, func(i, j int) bool { return len(live[i]) > len(live[j]) })
	for _, sec := range live {
		s = strings.ReplaceAll(s, sec, mask)
	}
	if mask == "" {
		// Deleting can join the two sides into a secret again: repeat
		// until none is left (each pass shortens s).
		for again := true; again; {
			again = false
			for _, sec := range secrets {
				if sec == "" {
					continue
				}
				if strings.Contains(s, sec) {
					s, again = strings.ReplaceAll(s, sec, ""), true
				}
			}
		}
	}
	return s
}

// maskFor returns "xxxxx", or five of the first candidate character that
// occurs in no secret.
func maskFor(secrets []string) string {
	for _, c := range "x*#?-_~" {
		used := false
		for _, sec := range secrets {
			used = used || strings.ContainsRune(sec, c)
		}
		if !used {
			return strings.Repeat(string(c), 5)
		}
	}
	return "" // every candidate occurs in a secret: drop the secrets outright
}

var kvPassword = regexp.MustCompile(`(?i)password\s*=\s*(?:'((?:\\.|[^'])*)'|([^\s&]*))`)

// dsnSecrets finds what may be a password in a connection string, even a
// malformed one: the URL's user info, password= parameters, and the
// PGPASSWORD environment variable that pgconn also reads.
func dsnSecrets(dsn string) []string {
	var out []string
	add := func(s string) {
		if s != "" {
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
	}
	if i := strings.Index(dsn, "://"); i >= 0 {
		rest := dsn[i+3:]
		// A malformed URL is ambiguous about where the user info ends:
		// take the password up to every '@' (the parser uses the last).
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
	for _, m := range kvPassword.FindAllStringSubmatch(dsn, -1) {
		add(m[1])
		add(strings.ReplaceAll(strings.ReplaceAll(m[1], `\'`, `'`), `\\`, `\`))
		add(m[2])
	}
	add(os.Getenv("PGPASSWORD"))
	return out
}

// passwords lists the passwords a parsed configuration will send.
func passwords(cc *pgx.ConnConfig) []string {
	return []string{cc.Password} // fallbacks share the primary's password
}

// parseError turns a DSN parse failure into an error that neither shows
// nor unwraps to the connection string (pgconn.ParseConfigError keeps it in
// a field).
func parseError(err error, secrets []string) error {
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
		var ue *url.Error
		if errors.As(inner, &ue) {
			inner = ue.Err
		}
		if inner != nil {
			text += " (" + inner.Error() + ")"
		}
	}
	return errors.New("dbpool: cannot parse DSN: " + redact(text, secrets))
}
