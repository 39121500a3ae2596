package sessionstore

// Stats is a snapshot of a Manager's counters, all monotonic since
// NewManager (the store's since its construction). Its JSON form has the
// snake_case names of the tags, for a status endpoint to return as it is.
type Stats struct {
	// Loads counts store lookups of a session named by a valid cookie
	// (including reloads after a conflict).
	Loads uint64 `json:"loads"`
	// Hits counts requests whose cookie named a live session.
	Hits uint64 `json:"hits"`
	// Misses counts requests whose validly signed cookies (up to 4 of
	// them, see the package documentation) all named sessions missing or
	// expired.
	Misses uint64 `json:"misses"`
	// Writes counts saves, deletions and revocations that reached the
	// store (touches are counted apart).
	Writes uint64 `json:"writes"`
	// Touches counts data-free expiry updates that moved the expiry.
	Touches uint64 `json:"touches"`
	// RejectedCookies counts requests whose session cookies were all
	// refused before any store lookup: bad length, encoding or signature.
	RejectedCookies uint64 `json:"rejected_cookies"`
	// Errors counts failed store operations, and saves refused because a
	// request's changes no longer fit after merging a concurrent request's.
	Errors uint64 `json:"errors"`
	// Conflicts counts saves that met a concurrent save and were replayed.
	Conflicts uint64 `json:"conflicts"`
	// InitAttempts counts the store's initialisation attempts (PostgreSQL).
	InitAttempts uint64 `json:"init_attempts"`
	// Pruned counts expired sessions deleted by pruning.
	Pruned uint64 `json:"pruned"`
	// Cache counts the work of the store's read cache (PostgreSQL with
	// PostgresConfig.Cache.Enabled); zero otherwise.
	Cache CacheStats `json:"cache"`
}

// Stats returns a snapshot of the counters.
func (m *Manager) Stats() Stats {
	st := Stats{
		Loads:           m.loads.Load(),
		Hits:            m.hits.Load(),
		Misses:          m.misses.Load(),
		Writes:          m.writes.Load(),
		Touches:         m.touches.Load(),
		RejectedCookies: m.rejected.Load(),
		Errors:          m.storeErrors.Load(),
		Conflicts:       m.conflicts.Load(),
	}
	if s, ok := m.store.(statser); ok {
		ss := s.Stats()
		st.InitAttempts, st.Pruned, st.Cache = ss.InitAttempts, ss.Pruned, ss.Cache
	}
	return st
}
