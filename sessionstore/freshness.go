package sessionstore

import (
	"context"
	"net/http"
	"strconv"
	"time"
)

// This file holds what read-your-writes needs beside the cache: the
// client's last known version travels in a companion cookie, and reaches
// the store's Load in the context.

// versionCookieSuffix names the companion cookie: the session cookie's name
// plus this suffix.
const versionCookieSuffix = "_v"

type minVersionKey struct{}

// withMinVersion asks the store's Load not to answer from a cached copy
// older than v.
func withMinVersion(ctx context.Context, v int64) context.Context {
	if v <= 0 {
		return ctx
	}
	return context.WithValue(ctx, minVersionKey{}, v)
}

func minVersion(ctx context.Context) int64 {
	v, _ := ctx.Value(minVersionKey{}).(int64)
	return v
}

// versionTracker is implemented by stores that answer loads from a cache
// and so need the client's version, as Stats and Ready are: a Store that
// wraps another passes CachesReads on, or read-your-writes is lost.
type versionTracker interface{ CachesReads() bool }

// CachesReads reports whether the store answers loads from its read cache
// (PostgresConfig.Cache). The Manager then keeps the companion version
// cookie that gives a client its own changes at once on every instance. A
// Store that wraps a PostgresStore must pass it on, like Stats and Ready.
func (s *PostgresStore) CachesReads() bool { return s.cache != nil }

func (m *Manager) tracksVersions() bool {
	v, ok := m.store.(versionTracker)
	return ok && v.CachesReads()
}

// clientVersion returns the version the request's companion cookie names,
// 0 for none. The cookie is not signed: a client can only make its own
// reads skip the cache.
func (m *Manager) clientVersion(r *http.Request) int64 {
	c, err := r.Cookie(m.cfg.Cookie.Name + versionCookieSuffix)
	if err != nil || len(c.Value) > 19 {
		return 0
	}
	v, err := strconv.ParseInt(c.Value, 10, 64)
	if err != nil {
		return 0
	}
	return v
}

// setVersionCookie sets (or with maxAge under a second deletes) the
// companion cookie, when the store caches.
func (m *Manager) setVersionCookie(h http.Header, version int64, maxAge time.Duration) {
	if m.tracksVersions() {
		m.addCookie(h, m.cfg.Cookie.Name+versionCookieSuffix, strconv.FormatInt(version, 10), maxAge, false)
	}
}

// cached records the outcome of a write of id in the local cache, when on:
// the committed record (rec, when written) is cached unless an
// invalidation raced the write (t was issued before it); otherwise the
// copy of id, and of replace (a renewal), are dropped. Other instances
// learn of the write from the trigger's notification.
func (s *PostgresStore) cached(t ticket, id, replace ID, rec Record, written bool) {
	if s.cache == nil {
		return
	}
	if !written || !s.cache.put(t, rec) {
		s.cache.invalidate(id)
	}
	if !replace.IsZero() {
		s.cache.invalidate(replace)
	}
}

// begin issues the ticket a write of id caches its result with.
func (s *PostgresStore) begin(id ID) ticket {
	if s.cache == nil {
		return ticket{}
	}
	return s.cache.begin(id)
}

func (s *PostgresStore) forgetUser(userID string) {
	if s.cache != nil {
		s.cache.invalidateUser(userID)
	}
}
