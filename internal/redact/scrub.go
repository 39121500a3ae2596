package redact

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// Redacted replaces whatever Scrub removes.
const Redacted = "[redacted]"

// MaxScrubbed bounds, in bytes, a text Scrub returns; a longer one is cut
// and ends with "…".
const MaxScrubbed = 256

const ellipsis = "…"

var (
	// urlPattern matches a URL of any scheme: a DSN such as
	// postgres://user:pass@host/db must never be shown, with or without
	// credentials, so the whole URL after the scheme goes. Its user info
	// runs to the last '@' of the whitespace-delimited text, whatever it
	// holds (pgx accepts a password with '"' or '<'); after it, or without
	// one, the URL ends before a space, a quote or an angle bracket.
	urlPattern = regexp.MustCompile(`(?i)\b([a-z][a-z0-9+.\-]*://)(?:\S*@)?[^\s"'<>]*`)

	// secretPattern matches key=value and key: value pairs whose key names a
	// secret, in libpq/pgx connection strings, query strings, headers, JSON.
	// A quoted value ends at its closing quote, not at one escaped with a
	// backslash (libpq's password='a\'b c'). A value that is already
	// Redacted, ended as a quoted value's redaction ends, is kept with what
	// ends it (group 4), so a second Scrub changes nothing.
	secretPattern = regexp.MustCompile(`(?i)\b([a-z0-9_.\-]*(?:password|passwd|pwd|pass|secret|token|api[_\-]?key|access[_\-]?key|private[_\-]?key|credentials?|authorization|cookie|session[_\-]?id|dsn|conn[_\-]?str(?:ing)?))(["']?\s*[=:]\s*)((?:(?:bearer|basic|token|digest|negotiate)\s+)?(?:\[redacted\]([\s,;}]|$)|"(?:[^"\\]|\\.)*"[^\s,;}]*|'(?:[^'\\]|\\.)*'[^\s,;}]*|\S+))`)

	// schemePattern matches HTTP authentication scheme credentials outside
	// an Authorization header ("Token x" is left alone there: "token
	// expired" is no credential).
	schemePattern = regexp.MustCompile(`(?i)\b(bearer|basic)(\s+)[a-z0-9._~+/=\-]+`)
)

// maxScrubInput is how much of a text Scrub reads: far more than the
// MaxScrubbed bytes it can show, even after redactions shorten it.
const maxScrubInput = 16 * MaxScrubbed

// Scrub removes from a text anything that may be a secret or a DSN (URLs,
// secret-named key/value pairs, bearer credentials), makes it valid UTF-8
// and bounds its length to MaxScrubbed, so the text can be shown to anyone
// who can reach a probe or read a log. Use it when the secrets are not
// known; String masks known ones exactly.
func Scrub(s string) string {
	// Only a text's start can be shown, so the patterns run over a bounded
	// prefix and their cost is bounded too (they take about 0.25 s a
	// megabyte). The cut drops the word it splits: a URL cut before its
	// '@' would no longer show where its user info ends.
	if len(s) > maxScrubInput {
		s = s[:maxScrubInput]
		if i := strings.LastIndexAny(s, " \t\n\f\r"); i > 0 {
			s = s[:i]
		}
		s += ellipsis
	}
	// URLs first, then key/value pairs, then scheme credentials: each must
	// find its text before a later pattern eats into it ("Bearer
	// postgres://...", "Bearer password='a b'"). URLs again last: a
	// redacted quoted value may join a URL to an '@' after it, which the
	// URL's user info then reaches.
	s = urlPattern.ReplaceAllString(s, "${1}"+Redacted)
	s = secretPattern.ReplaceAllString(s, "${1}${2}"+Redacted+"${4}")
	s = schemePattern.ReplaceAllString(s, "${1}${2}"+Redacted)
	s = urlPattern.ReplaceAllString(s, "${1}"+Redacted)
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) > MaxScrubbed {
		cut := MaxScrubbed - len(ellipsis)
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + ellipsis
	}
	return s
}
