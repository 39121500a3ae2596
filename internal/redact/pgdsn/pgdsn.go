// Package pgdsn finds the secrets of a PostgreSQL connection string and
// says what is wrong with one without quoting it.
package pgdsn

import (
	"net/url"
	"os"
	"regexp"
	"strings"
)

// pgx is careful with passwords, but not everywhere: a
// pgconn.ParseConfigError keeps the raw connection string and redacts its
// text only "on a best-effort basis", a url.Error quotes the URL it failed
// on, and a keyword/value error quotes the word after a space. Secrets and
// Problem close those gaps.

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
	// the password up to every '@' (pgx ends it at the first, as libpq
	// does; Problem refuses such a URL).
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

// poolKeys are the pool_* options pgxpool.ParseConfig understands.
var poolKeys = []string{
	"pool_max_conns", "pool_min_conns", "pool_min_idle_conns",
	"pool_max_conn_lifetime", "pool_max_conn_idle_time", "pool_health_check_period",
	"pool_max_conn_lifetime_jitter", "pool_ping_timeout",
}

// parseErrors maps fixed fragments of pgx's parse errors to fixed
// explanations. pgx's errors quote the connection string (redacted only on
// a best-effort basis), the values of some settings, and pieces of a
// malformed one (the word after a space in a password), so they are never
// passed on: only one of these texts is.
var parseErrors = []struct{ fragment, text string }{
	{"failed to parse as URL", "is not a valid postgres:// URL"},
	{"failed to parse as keyword/value", "is not a valid keyword=value connection string"},
	{"forbidden NUL byte", "contains a NUL byte"},
	{"invalid port", "has an invalid port"},
	{"could not match", "lists a different number of ports than hosts"},
	{"sslmode is invalid", "has an unknown sslmode"},
	{"failed to configure TLS", "has TLS settings (sslmode, sslrootcert, sslcert, sslkey) that are invalid or name unreadable files"},
	{"invalid sslcertmode", "has an invalid sslcertmode"},
	{"invalid connect_timeout", "has an invalid connect_timeout"},
	{"target_session_attrs", "has an unknown target_session_attrs"},
	{"failed to read service", "names a service that cannot be read"},
	{"protocol_version", "has an invalid min_protocol_version or max_protocol_version"},
	{"channel_binding", "has an unknown channel_binding"},
	{"require_auth", "has an invalid require_auth"},
	{"statement_cache_capacity", "has an invalid statement_cache_capacity"},
	{"description_cache_capacity", "has an invalid description_cache_capacity"},
	{"default_query_exec_mode", "has an invalid default_query_exec_mode"},
	{"pool_max_conns too small", "has pool_max_conns below 1"},
}

// misreadText is Problem's text for a URL whose user info pgx would misread.
const misreadText = "has an unescaped '@' or '/' in its user name or password (percent-encode them: %40, %2F)"

// Problem says what is wrong with dsn, given err from parsing it with pgx
// (pgconn, pgx or pgxpool ParseConfig), in a fixed text that holds no part
// of it, or returns "" when nothing is. A connection string pgx parsed is
// still refused when it is a URL with an '@' outside its user info: pgx
// ends the password at the first '@' (or '/'), as libpq does, so the rest
// of an unescaped password would become the host or the database, and be
// printed in every connection error as such.
func Problem(dsn string, err error) string {
	switch {
	case err != nil:
		msg := err.Error()
		for _, key := range poolKeys {
			if strings.Contains(msg, "cannot parse "+key) {
				return "has a " + key + " that is not a valid number or duration"
			}
		}
		for _, e := range parseErrors {
			if strings.Contains(msg, e.fragment) {
				return e.text
			}
		}
		return "is not a valid PostgreSQL connection string"
	case misread(dsn):
		return misreadText
	}
	return ""
}

// misread reports whether dsn is a URL with an '@' after its first '/' or
// more than one, before its query: in the host or database, where no
// legitimate one has it.
func misread(dsn string) bool {
	i := strings.Index(dsn, "://")
	if i < 0 {
		return false
	}
	rest := dsn[i+3:]
	if q := strings.IndexAny(rest, "?#"); q >= 0 {
		rest = rest[:q]
	}
	at := strings.IndexByte(rest, '@')
	if at < 0 {
		return false
	}
	slash := strings.IndexByte(rest, '/')
	return strings.Count(rest, "@") > 1 || slash >= 0 && slash < at
}
