package sessionstore

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// Config configures a [Manager]. Only Secrets is required; every other
// zero field means its documented default.
type Config struct {
	// Secrets sign the session cookie with HMAC-SHA256: the first signs,
	// all verify, so a secret can be rotated by putting the new one first
	// and keeping the old one until its cookies expire. Each must be at
	// least 32 bytes. Required.
	Secrets [][]byte

	// IdleTimeout ends a session not used for that long. The default is
	// 7 days.
	IdleTimeout time.Duration
	// TouchAfter is how old the last write of a session must be before a
	// request that does not change it moves its idle expiry (one data-free
	// UPDATE, and a reissued cookie). Below it, reading a session costs no
	// write. The default is 2 hours; it must be shorter than IdleTimeout.
	TouchAfter time.Duration
	// Lifetime ends a session that long after its creation, however active.
	// A request still changing it then gets 409 ([ErrConflict]): its
	// changes are not saved. The default is 30 days.
	Lifetime time.Duration

	// MaxSize bounds a session's data, in bytes of its canonical JSON
	// encoding (compact, escaped only where JSON requires, numbers as
	// PostgreSQL prints them: what every store keeps and gives back, spaces
	// aside). Put and Update refuse changes beyond it with [ErrTooLarge]. The
	// default is 64 KiB.
	MaxSize int

	// Cookie configures the session cookie.
	Cookie CookieConfig

	// ErrorHandler answers a request whose session could not be loaded or
	// saved. The handler's own response, if it had started one, is
	// discarded; headers set before [Manager.Middleware] ran are kept. The
	// default answers 503 Service Unavailable with Retry-After: 5 when the
	// store failed, and 409 Conflict without Retry-After when err wraps
	// [ErrConflict]: the request's changes, accepted by Put or Update, no
	// longer apply after a concurrent request's changes were merged (they
	// no longer fit, or an Update function refused them), which no retry of
	// the same request fixes.
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)

	// Now is the clock the Manager reads for idle and absolute expiry,
	// renewal and the cookie's Expires. The default is time.Now; nil means
	// the default.
	Now func() time.Time
	// Logger receives store errors and rejected cookies (never a token or
	// cookie value). nil means slog.Default().
	Logger *slog.Logger
}

// CookieConfig configures the session cookie. The cookie is always
// HttpOnly.
type CookieConfig struct {
	// Name is the cookie's name. The default is "session".
	Name string
	// HostPrefix prefixes Name with "__Host-", which browsers accept only
	// for a Secure cookie with Path=/ and no Domain: NewManager enforces
	// those rules. Recommended in production.
	HostPrefix bool
	// Insecure drops the Secure attribute, for local development over
	// plain HTTP. The default (false) sends Secure cookies.
	Insecure bool
	// Path is the cookie's path. The default is "/".
	Path string
	// Domain is the cookie's domain. The default is "" (the host only).
	Domain string
	// SameSite is the cookie's SameSite attribute. The default is
	// http.SameSiteLaxMode.
	SameSite http.SameSite
}

// withDefaults returns the config with defaults applied, or an error for
// values that cannot work.
func (c Config) withDefaults() (Config, error) {
	secrets, err := copySecrets(c.Secrets)
	if err != nil {
		return c, err
	}
	c.Secrets = secrets
	if c.IdleTimeout == 0 {
		c.IdleTimeout = 7 * 24 * time.Hour
	}
	if c.TouchAfter == 0 {
		c.TouchAfter = 2 * time.Hour
	}
	if c.Lifetime == 0 {
		c.Lifetime = 30 * 24 * time.Hour
	}
	if c.IdleTimeout < 0 || c.TouchAfter < 0 || c.Lifetime < 0 {
		return c, errors.New("sessionstore: IdleTimeout, TouchAfter and Lifetime must not be negative")
	}
	if c.TouchAfter >= c.IdleTimeout {
		return c, fmt.Errorf("sessionstore: TouchAfter (%v) must be shorter than IdleTimeout (%v)", c.TouchAfter, c.IdleTimeout)
	}
	if c.MaxSize <= 0 {
		c.MaxSize = 64 << 10
	}
	if c.ErrorHandler == nil {
		c.ErrorHandler = unavailable
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	c.Cookie, err = c.Cookie.withDefaults()
	return c, err
}

// copySecrets checks the secrets and returns a copy of them.
func copySecrets(in [][]byte) ([][]byte, error) {
	if len(in) == 0 {
		return nil, errors.New("sessionstore: Config.Secrets needs at least one secret")
	}
	secrets := make([][]byte, len(in))
	for i, s := range in {
		if len(s) < 32 {
			return nil, fmt.Errorf("sessionstore: Config.Secrets[%d] is %d bytes; at least 32 are needed", i, len(s))
		}
		secrets[i] = append([]byte(nil), s...)
	}
	return secrets, nil
}

// withDefaults returns the cookie config with defaults applied and its
// name prefixed, or an error for attributes browsers would refuse.
func (ck CookieConfig) withDefaults() (CookieConfig, error) {
	if ck.Name == "" {
		ck.Name = "session"
	}
	if ck.Path == "" {
		ck.Path = "/"
	}
	if ck.SameSite == 0 {
		ck.SameSite = http.SameSiteLaxMode
	}
	// Browsers match the prefixes in any case (RFC 6265bis), so does this.
	if hasPrefixFold(ck.Name, "__Host-") {
		ck.HostPrefix = true
	} else if ck.HostPrefix {
		ck.Name = "__Host-" + ck.Name
	}
	if ck.HostPrefix && (ck.Insecure || ck.Domain != "" || ck.Path != "/") {
		return ck, errors.New("sessionstore: a __Host- cookie must be Secure, with Path=/ and no Domain")
	}
	if hasPrefixFold(ck.Name, "__Secure-") && ck.Insecure {
		return ck, errors.New("sessionstore: a __Secure- cookie must be Secure")
	}
	if ck.SameSite == http.SameSiteNoneMode && ck.Insecure {
		return ck, errors.New("sessionstore: browsers refuse SameSite=None without Secure")
	}
	if err := (&http.Cookie{Name: ck.Name, Value: "x", Path: ck.Path, Domain: ck.Domain}).Valid(); err != nil {
		return ck, fmt.Errorf("sessionstore: cookie: %w", err)
	}
	return ck, nil
}

// hasPrefixFold reports whether s begins with prefix, in any case.
func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// unavailable is the default ErrorHandler.
func unavailable(w http.ResponseWriter, _ *http.Request, err error) {
	switch {
	case errors.Is(err, ErrTooLarge):
		w.Header().Set("Cache-Control", "no-store")
		http.Error(w, "Conflict: the session is full once a concurrent request's changes are merged; this change was not saved.", http.StatusConflict)
		return
	case errors.Is(err, ErrConflict):
		w.Header().Set("Cache-Control", "no-store")
		http.Error(w, "Conflict: a concurrent request changed the session and this request's changes no longer apply; they were not saved.", http.StatusConflict)
		return
	}
	w.Header().Set("Retry-After", "5")
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, "Service temporarily unavailable: sessions cannot be loaded or saved. Please retry.", http.StatusServiceUnavailable)
}
