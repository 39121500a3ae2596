// Package redact keeps secrets out of error texts and logs. It has two
// mechanisms, for the two things a package may know:
//
//   - the secrets themselves (a password parsed from a DSN, an API key):
//     String and Error mask every occurrence, and Error keeps the original
//     for errors.Is and errors.As;
//   - nothing but the shape of a secret (an error text from a hook or a
//     check): Scrub removes URLs, secret-named key=value pairs and bearer
//     credentials, and bounds the length.
//
// Package pgdsn (apart, so that redacting never links pgx) covers what pgx
// leaves behind: a parse error that quotes the connection string; WithoutURL
// drops the URL net/http wraps
// around a transport error; Leaks finds a piece of a secret in a text.
// dbpool, sessionstore, cryptorates, configcheck and shutdown share it, so
// that "redacted" means one thing throughout the module.
package redact

import (
	"errors"
	"net/url"
	"sort"
	"strings"
)

// maskedError carries a masked text and keeps the original for errors.Is
// and errors.As (e.g. context.DeadlineExceeded, *pgconn.PgError).
type maskedError struct {
	text string
	err  error
}

func (e *maskedError) Error() string { return e.text }
func (e *maskedError) Unwrap() error { return e.err }

// Error returns err with every secret masked in its text, or nil. The
// result unwraps to err.
func Error(err error, secrets []string) error {
	if err == nil {
		return nil
	}
	return &maskedError{text: String(err.Error(), secrets), err: err}
}

// String replaces every occurrence of each secret in s by a mask made of a
// character that occurs in no secret, so that no masked text can form a
// secret again. Empty secrets are ignored.
func String(s string, secrets []string) string {
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
		s = deleteAll(s, secrets)
	}
	return s
}

// deleteAll removes every secret from s. Deleting can join the two sides
// into a secret again, so it repeats until none is left (each pass shortens
// s).
func deleteAll(s string, secrets []string) string {
	for again := true; again; {
		again = false
		for _, sec := range secrets {
			if sec != "" && strings.Contains(s, sec) {
				s, again = strings.ReplaceAll(s, sec, ""), true
			}
		}
	}
	return s
}

// maskFor returns "xxxxx", or five of the first candidate character that
// occurs in no secret, or "" when every candidate occurs in one.
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
	return ""
}

// WithoutURL returns the error a *url.Error wraps, or err itself: net/http
// quotes the request URL around transport errors, and a URL may carry a
// key or user info.
func WithoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
