package sessionstore

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sync/atomic"
	"time"

	"github.com/dedw3n/hardening/internal/nostore"
)

// maxReplays bounds how often a save is retried after version conflicts.
const maxReplays = 8

// Manager loads, exposes and commits sessions for HTTP handlers: see
// [Manager.Middleware].
type Manager struct {
	cfg   Config
	store Store
	codec *codec

	// counters for Stats; storeErrors is Stats.Errors
	loads, hits, misses, writes, touches, rejected, storeErrors, conflicts atomic.Uint64
}

// NewManager returns a Manager keeping sessions in store, or an error for a
// configuration that cannot work (no secret, a short one, a __Host-
// cookie that breaks its rules…). The configuration is copied.
func NewManager(store Store, cfg Config) (*Manager, error) {
	if store == nil {
		return nil, errors.New("sessionstore: NewManager needs a Store")
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Manager{cfg: cfg, store: store, codec: newCodec(cfg.Cookie.Name, cfg.Secrets)}, nil
}

// now returns the clock's time at the precision PostgreSQL stores, so that
// both backends see the same values.
func (m *Manager) now() time.Time { return m.cfg.Now().Truncate(time.Microsecond) }

// Middleware loads the session named by the request's cookie, puts it in
// the request's context ([FromContext]), and commits it when the response
// starts (the first WriteHeader, Write or Flush, or the handler's return),
// before anything reaches the client. If the session cannot be loaded the
// handler is not called; if it cannot be saved the handler's response is
// replaced: in both cases ErrorHandler answers (503 by default), keeping
// the headers set before Middleware ran (HSTS, CSP, request IDs…).
//
// A request that does not change its session writes nothing and sets no
// cookie, except once per TouchAfter when it moves the idle expiry.
// A request without a valid cookie gets a new empty session, stored (and
// its cookie set) only if the handler puts something in it.
func (m *Manager) Middleware(next http.Handler) http.Handler {
	return m.handler(next, false)
}

// Tolerant is [Manager.Middleware] for routes that can answer without
// the session, such as a storefront page showing a cart count: when the
// store cannot load the session, the handler is called all the same with
// a session whose [Session.Err] wraps [ErrUnavailable], which reads as
// empty and refuses every change with that error, and the response is
// the handler's own. Otherwise it behaves as Middleware, including when
// a change cannot be saved.
func (m *Manager) Tolerant(next http.Handler) http.Handler {
	return m.handler(next, true)
}

func (m *Manager) handler(next http.Handler, tolerant bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, sawCookie, err := m.load(r)
		if err != nil && !tolerant {
			m.cfg.Logger.Warn("sessionstore: cannot load session", "err", err, "method", r.Method, "path", r.URL.Path)
			m.cfg.ErrorHandler(w, r, err)
			return
		}
		if err != nil {
			m.cfg.Logger.Warn("sessionstore: cannot load session; serving without it", "err", err, "method", r.Method, "path", r.URL.Path)
			s = &Session{m: m, err: wrapf("%w: %w", ErrUnavailable, err)}
		}
		cw := &writer{ResponseWriter: w, m: m, r: r, s: s, vary: sawCookie, outer: w.Header().Clone()}
		next.ServeHTTP(cw, r.WithContext(context.WithValue(r.Context(), ctxKey{}, s)))
		cw.commit()
	})
}

// Bounds on the duplicate session cookies one request may carry (after
// cookie tossing from a sibling domain, or a change of the cookie's Path
// or Domain, a browser sends several): only the first maxCookies of the
// name are considered, and at most maxLookups validly signed ones are
// looked up in the store. The first live session wins.
const (
	maxCookies = 16
	maxLookups = 4
)

// load returns the request's session; err is set only when the store
// failed.
func (m *Manager) load(r *http.Request) (s *Session, sawCookie bool, err error) {
	s = &Session{m: m}
	cookies := r.CookiesNamed(m.cfg.Cookie.Name)
	if len(cookies) == 0 {
		return s, false, nil
	}
	var tried [maxLookups]ID
	lookups := 0
	// A cached copy older than the version this client last saw is never used.
	ctx := withMinVersion(r.Context(), m.clientVersion(r))
	for _, c := range cookies[:min(len(cookies), maxCookies)] {
		token, valid := m.codec.decode(c.Value)
		id := idOf(token[:])
		if !valid || slices.Contains(tried[:lookups], id) {
			continue
		}
		tried[lookups] = id
		lookups++
		m.loads.Add(1)
		rec, found, err := m.store.Load(ctx, id)
		if err != nil {
			m.storeErrors.Add(1)
			return nil, true, err
		}
		if found && rec.alive(m.now()) {
			m.hits.Add(1)
			s.rec, s.found, s.token, s.userID = rec, true, token, rec.UserID
			return s, true, nil
		}
		if lookups == maxLookups {
			break
		}
	}
	if lookups == 0 {
		m.rejected.Add(1)
		m.cfg.Logger.Debug("sessionstore: rejected a session cookie that is not ours", "path", r.URL.Path)
	} else {
		m.misses.Add(1)
	}
	return s, true, nil
}

// commitSession saves what the request changed, or touches the session,
// and sets the cookie headers on h. It runs once, before the response
// starts.
func (m *Manager) commitSession(ctx context.Context, h http.Header, s *Session) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return nil
	}
	s.done = true
	// The client may go away; what the handler did should still be saved.
	ctx = context.WithoutCancel(ctx)
	now := m.now()
	if !s.destroy.IsZero() {
		if err := m.store.Delete(ctx, s.destroy); err != nil {
			m.storeErrors.Add(1)
			return err
		}
		m.writes.Add(1)
	}
	switch {
	case s.modified():
		if err := m.save(ctx, s, now); err != nil {
			return err
		}
		m.setCookie(h, m.codec.encode(s.token[:]), s.rec.Expires.Sub(now))
		m.setVersionCookie(h, s.rec.Version, s.rec.Expires.Sub(now))
	case s.cleared:
		m.setCookie(h, "", -1)
		m.setVersionCookie(h, 0, -1)
	case s.found && s.rec.Touched.Before(now.Add(-m.cfg.TouchAfter)):
		expires := m.expiry(now, s.rec.Deadline)
		moved, err := m.store.Touch(ctx, s.rec.ID, now, expires, now.Add(-m.cfg.TouchAfter))
		if err != nil {
			// Nothing the handler did is lost: the session keeps its old
			// expiry, and a later request touches it.
			m.storeErrors.Add(1)
			m.cfg.Logger.Warn("sessionstore: cannot touch session", "err", err)
			return nil
		}
		if moved {
			m.touches.Add(1)
			m.setCookie(h, m.codec.encode(s.token[:]), expires.Sub(now))
		}
	}
	return nil
}

func (m *Manager) expiry(now, deadline time.Time) time.Time {
	e := now.Add(m.cfg.IdleTimeout)
	if e.After(deadline) {
		return deadline
	}
	return e
}

// save writes the session, replaying the request's changes on a fresh copy
// after each version conflict. A session whose absolute deadline passed
// while the request ran has ended: its changes are refused, as reload
// refuses those of a session that ended otherwise, rather than written
// into a row no request can load again (and answered 200 with the cookie
// deleted). The deadline is the only end a stored copy can tell: it never
// changes, while the idle expiry moves with every touch.
func (m *Manager) save(ctx context.Context, s *Session, now time.Time) error {
	if s.found && !now.Before(s.rec.Deadline) {
		return wrapf("%w: the session reached the end of its lifetime while this request changed it; its changes were not saved", ErrConflict)
	}
	for replay := 0; ; replay++ {
		if err := s.parseCanonical(); err != nil {
			m.storeErrors.Add(1)
			return err
		}
		rec, token, replace := m.record(s, now)
		v, err := m.store.Save(ctx, rec, replace)
		if err == nil {
			m.writes.Add(1)
			rec.Version = v
			s.rec, s.found, s.token, s.renew = rec, true, token, false
			return nil
		}
		if !errors.Is(err, ErrConflict) {
			m.storeErrors.Add(1)
			return err
		}
		m.conflicts.Add(1)
		if replay >= maxReplays {
			return wrapf("save: still conflicting after %d replays: %w", replay, err)
		}
		if err := m.reload(ctx, s, now); err != nil {
			if !errors.Is(err, ErrConflict) { // the replay's refusal is the request's, not the store's
				m.storeErrors.Add(1)
			}
			return err
		}
	}
}

// record returns the record to save for s, the token naming it, and the
// ID of the stored session it replaces (token renewal) or the zero ID.
func (m *Manager) record(s *Session, now time.Time) (rec Record, token [tokenLen]byte, replace ID) {
	rec = Record{Data: encode(s.values), UserID: s.userID, Touched: now}
	if s.found {
		rec.Created, rec.Deadline, rec.Version = s.rec.Created, s.rec.Deadline, s.rec.Version
		if s.renew {
			token, replace = newToken(), s.rec.ID
		} else {
			token = s.token
		}
	} else {
		token = newToken()
		rec.Created, rec.Deadline = now, now.Add(m.cfg.Lifetime)
	}
	rec.ID = idOf(token[:])
	rec.Expires = m.expiry(now, rec.Deadline)
	return rec, token, replace
}

// reload loads the session a concurrent request saved and replays this
// request's changes on it. A session that ended meanwhile (a logout, a
// revocation, or a login in another tab, which renews the token) is not
// resurrected, nor are the changes moved to a new session, which would
// give the client another cookie: the request fails with ErrConflict.
func (m *Manager) reload(ctx context.Context, s *Session, now time.Time) error {
	var fresh Record
	if s.found {
		m.loads.Add(1)
		// Newer than the copy that conflicted: never a cached one.
		rec, found, err := m.store.Load(withMinVersion(ctx, s.rec.Version+1), s.rec.ID)
		if err != nil {
			return err
		}
		if !found || !rec.alive(now) {
			return wrapf("%w: the session ended (a logout, a revocation, a login in another tab) while this request changed it; its changes were not saved", ErrConflict)
		}
		fresh = rec
	}
	if err := s.rebase(fresh, s.found); err != nil {
		return wrapf("%w: this request's changes no longer apply to the session a concurrent request saved: %w", ErrConflict, err)
	}
	return nil
}

// rebase replaces the session's base with fresh (found: a stored session,
// otherwise a new one) and replays the request's changes on it.
func (s *Session) rebase(fresh Record, found bool) error {
	s.rec, s.found, s.values = fresh, found, nil
	if err := s.parseCanonical(); err != nil {
		return err
	}
	for _, o := range s.ops {
		if err := s.apply(o); err != nil {
			return err
		}
	}
	if !s.userSet {
		s.userID = fresh.UserID
	}
	return nil
}

// setCookie sets the session cookie (or, with maxAge under a second,
// deletes it) and the headers that keep shared caches from storing the
// response, whatever an inner handler (such as cdncache) already put there.
func (m *Manager) setCookie(h http.Header, value string, maxAge time.Duration) {
	m.addCookie(h, m.cfg.Cookie.Name, value, maxAge, true)
	nostore.Apply(h)
	addVary(h)
}

// addCookie adds a Set-Cookie for name with the configured attributes,
// kept for maxAge; under a second (already expired, or negative) it
// deletes the cookie rather than keep it for the browser session. expires
// also sets Expires, for clients that ignore Max-Age.
func (m *Manager) addCookie(h http.Header, name, value string, maxAge time.Duration, expires bool) {
	ck := m.cfg.Cookie
	c := &http.Cookie{Name: name, Value: value, Path: ck.Path, Domain: ck.Domain, Secure: !ck.Insecure,
		HttpOnly: true, SameSite: ck.SameSite, MaxAge: int(maxAge / time.Second)}
	switch {
	case c.MaxAge <= 0:
		c.Value, c.MaxAge = "", -1
	case expires:
		c.Expires = m.cfg.Now().Add(maxAge).UTC()
	}
	if v := c.String(); v != "" {
		h.Add("Set-Cookie", v)
	}
}

func addVary(h http.Header) {
	for _, v := range h.Values("Vary") {
		if v == "Cookie" || v == "*" {
			return
		}
	}
	h.Add("Vary", "Cookie")
}

// Ready reports whether the store serves: for a [PostgresStore], whether it
// is initialised and its database answers. Use it in a readiness probe.
func (m *Manager) Ready(ctx context.Context) error {
	if r, ok := m.store.(readier); ok {
		return r.Ready(ctx)
	}
	return nil
}

// ListUser returns the live sessions of a user (without their data), for
// a "your devices" page. IDs are hashes, safe to show and to pass to
// [Manager.Revoke]. A user ID that [Session.SetUserID] refuses as no store
// can hold it (U+0000, invalid UTF-8) has none, in every store.
func (m *Manager) ListUser(ctx context.Context, userID string) ([]Record, error) {
	if userID == "" {
		return nil, nil
	}
	recs, err := m.store.ListUser(ctx, userID)
	if err != nil {
		m.storeErrors.Add(1)
		return nil, err
	}
	now := m.now()
	live := recs[:0]
	for _, r := range recs {
		if r.alive(now) {
			live = append(live, r)
		}
	}
	return live, nil
}

// Revoke ends one session by its ID, at once.
func (m *Manager) Revoke(ctx context.Context, id ID) error {
	if err := m.store.Delete(ctx, id); err != nil {
		m.storeErrors.Add(1)
		return err
	}
	m.writes.Add(1)
	return nil
}

// RevokeUser ends every session of a user except keep (the zero ID keeps
// none; pass [Session.ID] to keep the current one): "log out everywhere".
// It returns how many sessions it ended: 0, and no error, for a user ID
// that [Session.SetUserID] refuses, in every store.
func (m *Manager) RevokeUser(ctx context.Context, userID string, keep ID) (int, error) {
	if userID == "" {
		return 0, nil
	}
	n, err := m.store.DeleteUser(ctx, userID, keep)
	if err != nil {
		m.storeErrors.Add(1)
		return 0, err
	}
	if n > 0 {
		m.writes.Add(1)
	}
	return n, nil
}
