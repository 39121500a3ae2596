package sessionstore

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
)

type ctxKey struct{}

// FromContext returns the request's session, or nil outside
// [Manager.Middleware] (the methods of a nil *Session return
// [ErrNoSession] or zero values).
func FromContext(ctx context.Context) *Session {
	s, _ := ctx.Value(ctxKey{}).(*Session)
	return s
}

// Session is one request's view of a session. Its methods are safe for
// concurrent use by the handler's goroutines. Changes are kept in memory
// and committed by the Manager when the response starts: see the package
// documentation for how concurrent requests' changes are merged.
type Session struct {
	m   *Manager
	err error // set by Manager.Tolerant when the session could not be loaded; never changes

	mu      sync.Mutex                 // protects everything below
	token   [tokenLen]byte             // the session's token, valid when found
	rec     Record                     // as loaded; rec.Version 0 when not stored
	found   bool                       // the session exists in the store
	values  map[string]json.RawMessage // parsed rec.Data; nil until first needed
	canon   bool                       // values are canonical and size is their encoded size (parseCanonical)
	size    int                        // encoded size of values, valid when canon
	ops     []op                       // this request's changes, in order, replayed on conflict
	userID  string
	userSet bool // this request set userID
	renew   bool // RenewToken was called
	destroy ID   // a stored session to delete at commit (Destroy)
	cleared bool // Destroy was called: the cookie is deleted unless a new session replaces it
	done    bool // committed: further changes are refused
}

type opKind uint8

const (
	opPut opKind = iota
	opDelete
	opUpdate
)

// op is one recorded change: the request's delta is the list of them.
type op struct {
	kind opKind
	key  string
	val  json.RawMessage                                                // opPut
	fn   func(old json.RawMessage, found bool) (json.RawMessage, error) // opUpdate
}

// parse fills values from rec.Data on first use, as they are stored: a
// request that only reads its session costs one pass over the data.
func (s *Session) parse() error {
	if s.values != nil {
		return nil
	}
	vals := map[string]json.RawMessage{}
	if len(s.rec.Data) > 0 {
		var err error
		if vals, err = rawValues(s.rec.Data); err != nil {
			return wrapf("stored session data: %w", err)
		}
	}
	s.values, s.canon = vals, false
	return nil
}

// parseCanonical is parse, then every value in its canonical form (see
// canonical) and the size known, before a change: sizes then do not depend
// on the store nor on how often the data was read back.
func (s *Session) parseCanonical() error {
	if err := s.parse(); err != nil || s.canon {
		return err
	}
	for k, v := range s.values {
		c, err := canonical(v)
		if err != nil {
			return wrapf("stored session data: %w", err)
		}
		s.values[k] = c
	}
	s.size, s.canon = len(encode(s.values)), true
	return nil
}

// encode returns the session's data as stored: the canonical JSON object
// of values.
func encode(vals map[string]json.RawMessage) []byte {
	ms := make([]member, 0, len(vals))
	for k, v := range vals {
		ms = append(ms, member{key: k, val: v})
	}
	b, _ := appendMembers(nil, ms)
	return b // keys were checked when they were set
}

func entrySize(k string, v json.RawMessage) int {
	q, _ := appendString(nil, k) // checked by checkKey
	return len(q) + 1 + len(v)
}

// set applies one change to values, refusing it if the result would exceed
// the size limit.
func (s *Session) set(key string, val json.RawMessage, del bool) error {
	old, had := s.values[key]
	size, count := s.size, len(s.values)
	if had {
		size -= entrySize(key, old)
		if count--; count > 0 {
			size-- // its comma
		}
	}
	if !del {
		size += entrySize(key, val)
		if count > 0 {
			size++
		}
	}
	if limit := s.m.cfg.MaxSize; size > limit && !del {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, size, limit)
	}
	if del {
		delete(s.values, key)
	} else {
		s.values[key] = val
	}
	s.size = size
	return nil
}

// apply applies a recorded change (at first, or replayed after a conflict).
func (s *Session) apply(o op) error {
	switch o.kind {
	case opPut:
		return s.set(o.key, o.val, false)
	case opDelete:
		return s.set(o.key, nil, true)
	default:
		old, found := s.values[o.key]
		val, err := o.fn(old, found)
		if err != nil {
			return err
		}
		return s.set(o.key, val, false)
	}
}

// edit runs fn under the session's lock, unless the request has no session
// or its response was already committed.
func (s *Session) edit(fn func() error) error {
	if s == nil {
		return ErrNoSession
	}
	if s.err != nil {
		return s.err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return ErrCommitted
	}
	return fn()
}

// change applies a change now and records it for replay.
func (s *Session) change(o op) error {
	return s.edit(func() error {
		if err := s.parseCanonical(); err != nil {
			return err
		}
		if err := s.apply(o); err != nil {
			return err
		}
		s.ops = append(s.ops, o)
		return nil
	})
}

// Put stores the JSON encoding of v under key. It returns [ErrTooLarge]
// (and changes nothing) when the session would exceed the size limit, and
// [ErrInvalidValue] for a key or value no store can hold. A Put that
// returns nil is never refused when the session is saved, except when a
// concurrent request made the session larger meanwhile (see
// [Config].ErrorHandler).
// Two requests putting the same key concurrently: the later commit wins;
// use [Update] to merge instead.
func (s *Session) Put(key string, v any) error {
	if s == nil {
		return ErrNoSession
	}
	b, err := marshal(key, v, s.m.cfg.MaxSize)
	if err != nil {
		return wrapf("put %q: %w", key, err)
	}
	return s.change(op{kind: opPut, key: key, val: b})
}

// marshal returns the canonical JSON encoding of v, or an error if key
// or v cannot be stored, or v alone is over limit bytes ([ErrTooLarge]).
func marshal(key string, v any, limit int) (json.RawMessage, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return canonicalWithin(b, limit)
}

// Delete removes key. Deleting a missing key still counts as a change.
func (s *Session) Delete(key string) error {
	return s.change(op{kind: opDelete, key: key})
}

// Get decodes the value under key into a T; found is false (and v the zero
// T) when there is none.
func Get[T any](s *Session, key string) (v T, found bool, err error) {
	if s == nil {
		return v, false, ErrNoSession
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.parse(); err != nil {
		return v, false, err
	}
	raw, ok := s.values[key]
	if !ok {
		return v, false, nil
	}
	if !s.canon { // a value reads as it would once saved, whichever store it came from
		c, err := canonical(raw)
		if err != nil {
			return v, true, wrapf("get %q: stored session data: %w", key, err)
		}
		raw, s.values[key] = c, c
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return v, true, fmt.Errorf("sessionstore: get %q: %w", key, err)
	}
	return v, true, nil
}

// Update changes the value under key with fn, which receives the current
// value (the zero T when there is none) and modifies it in place. If
// another request saved the session in the meantime, the Manager reloads
// it and calls fn again on the fresh value before saving, so concurrent
// updates (two tabs adding to one cart) both take effect. fn must
// therefore be a pure function of its argument, and must not call the
// session. An error from fn is returned and nothing changes. The merged
// value is in the session once the response has started (the commit runs
// then): a handler that answers with it reads it after WriteHeader, or its
// answer may lack the other request's change.
func Update[T any](s *Session, key string, fn func(v *T) error) error {
	return s.change(op{kind: opUpdate, key: key, fn: func(old json.RawMessage, found bool) (json.RawMessage, error) {
		var v T
		if found {
			if err := json.Unmarshal(old, &v); err != nil {
				return nil, fmt.Errorf("sessionstore: update %q: %w", key, err)
			}
		}
		if err := fn(&v); err != nil {
			return nil, err
		}
		b, err := marshal(key, v, s.m.cfg.MaxSize)
		if err != nil {
			return nil, wrapf("update %q: %w", key, err)
		}
		return b, nil
	}})
}

// Keys returns the session's keys, sorted.
func (s *Session) Keys() []string {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.parse() != nil {
		return nil
	}
	keys := make([]string, 0, len(s.values))
	for k := range s.values {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// UserID returns the user the session belongs to; "" for none.
func (s *Session) UserID() string {
	if s == nil {
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.userID
}

// maxUserIDLen is the longest user ID, in bytes, that [Session.SetUserID]
// accepts: a B-tree index entry of PostgreSQL holds at most about 2.7 kB,
// and user IDs are short (a number, a UUID, an e-mail address).
const maxUserIDLen = 1024

// SetUserID ties the session to a user, for [Manager.ListUser] and
// [Manager.RevokeUser]; "" unties it. At login, call [Session.RenewToken]
// too. A user ID that PostgreSQL's text cannot hold (U+0000, invalid
// UTF-8) or longer than 1024 bytes (PostgreSQL's index of user IDs cannot
// hold much more) is refused with [ErrInvalidValue], by every store.
func (s *Session) SetUserID(userID string) error {
	if len(userID) > maxUserIDLen {
		return wrapf("set user ID: %w: %d bytes, over %d", ErrInvalidValue, len(userID), maxUserIDLen)
	}
	if err := checkKey(userID); err != nil {
		return wrapf("set user ID: %w", err)
	}
	return s.edit(func() error {
		s.userID, s.userSet = userID, true
		return nil
	})
}

// RenewToken gives the session a new token, keeping its data, when the
// request commits: the old token stops working at once (it is deleted in
// the same transaction). Call it when privileges change, at login above
// all, against session fixation. A session not stored yet gets a new
// token when it is first saved anyway: renewing it alone stores nothing.
func (s *Session) RenewToken() error {
	return s.edit(func() error {
		s.renew = true
		return nil
	})
}

// Destroy ends the session (logout): its data is dropped and, when the
// request commits, it is deleted from the store and the cookie is
// removed. Changes made after Destroy (a Put, a user) start a new session
// with a new token; RenewToken after Destroy adds nothing, and the cookie
// is still removed.
func (s *Session) Destroy() error {
	return s.edit(func() error {
		if s.found {
			s.destroy = s.rec.ID
		}
		s.cleared = true
		s.found = false
		s.rec = Record{}
		s.values, s.size, s.canon = map[string]json.RawMessage{}, 2, true
		s.ops = nil
		s.userID, s.userSet, s.renew = "", false, false
		return nil
	})
}

// Err returns nil when the session was loaded. In a handler wrapped by
// [Manager.Tolerant] while the store is unreachable, it returns an error
// wrapping [ErrUnavailable]: the session then reads as empty (and new),
// and every change returns that error. It returns [ErrNoSession] for a nil
// session.
func (s *Session) Err() error {
	if s == nil {
		return ErrNoSession
	}
	return s.err
}

// IsNew reports whether the session is not stored yet (no valid cookie, or
// its session had expired or was destroyed).
func (s *Session) IsNew() bool {
	if s == nil {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.found
}

// ID returns the stored session's ID (the hash of its token, safe to
// show), or the zero ID for a session not stored yet.
func (s *Session) ID() ID {
	if s == nil {
		return ID{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.found {
		return ID{}
	}
	return s.rec.ID
}

// modified reports whether the request changed anything to save. A
// session not stored yet (new, or destroyed by this request) is saved only
// once it holds something, data or a user: renewing its token, which is
// new anyway, or untying it from a user gives it nothing to store.
func (s *Session) modified() bool {
	if !s.found {
		return len(s.ops) > 0 || s.userID != ""
	}
	return len(s.ops) > 0 || s.userSet || s.renew
}
