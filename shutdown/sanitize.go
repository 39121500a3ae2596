package shutdown

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// redacted replaces whatever sanitize removes.
const redacted = "[redacted]"

// maxErrorLen bounds an error text in a readiness body.
const maxErrorLen = 256

var (
	// urlPattern matches a URL of any scheme: a DSN such as
	// postgres://user:pass@host/db must never be shown, with or without
	// credentials, so the whole URL after the scheme goes.
	urlPattern = regexp.MustCompile(`(?i)\b([a-z][a-z0-9+.\-]*://)[^\s"'<>]*`)

	// secretPattern matches key=value and key: value pairs whose key names a
	// secret, in libpq/pgx connection strings, query strings, headers, JSON.
	secretPattern = regexp.MustCompile(`(?i)\b([a-z0-9_.\-]*(?:password|passwd|pwd|pass|secret|token|api[_\-]?key|access[_\-]?key|private[_\-]?key|credentials?|authorization|cookie|session[_\-]?id|dsn|conn[_\-]?str(?:ing)?))(["']?\s*[=:]\s*)("[^"]*"|'[^']*'|\S+)`)

	// schemePattern matches HTTP authentication scheme credentials.
	schemePattern = regexp.MustCompile(`(?i)\b(bearer|basic|token)(\s+)[a-z0-9._~+/=\-]+`)
)

// sanitize removes from an error text anything that may be a secret or a
// DSN (URLs, secret-named key/value pairs, bearer credentials) and bounds its
// length, so the text can be shown to anyone who can reach a probe or read a
// log.
func sanitize(s string) string {
	s = urlPattern.ReplaceAllString(s, "${1}"+redacted)
	// Scheme credentials first: "Authorization: Bearer x" must lose x, not
	// only the word Bearer.
	s = schemePattern.ReplaceAllString(s, "${1}${2}"+redacted)
	s = secretPattern.ReplaceAllString(s, "${1}${2}"+redacted)
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) > maxErrorLen {
		cut := maxErrorLen
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}
