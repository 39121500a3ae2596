package sessionstore

// Stats is a snapshot of a Manager's counters, all monotonic since
// NewManager (the store's since its construction).
type Stats struct {
	// Loads counts store lookups of a session named by a valid cookie
	// (including reloads after a conflict).
	Loads uint64
	// Hits counts requests whose cookie named a live session.
	Hits uint64
	// Misses counts valid cookies whose session was missing or expired.
	Misses uint64
	// Writes counts saves, deletions and revocations that reached the
	// store (touches are counted apart).
	Writes uint64
	// Touches counts data-free expiry updates that moved the expiry.
	Touches uint64
	// RejectedCookies counts session cookies refused before any store
	// lookup: bad length, encoding or signature.
	RejectedCookies uint64
	// Errors counts failed store operations.
	Errors uint64
	// Conflicts counts saves that met a concurrent save and were replayed.
	Conflicts uint64
	// InitAttempts counts the store's initialisation attempts (PostgreSQL).
	InitAttempts uint64
	// Pruned counts expired sessions deleted by pruning.
	Pruned uint64
	// Cache counts the work of the store's read cache (PostgreSQL with
	// PostgresConfig.Cache.Enabled); zero otherwise.
	Cache CacheStats
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
		Errors:          m.errors.Load(),
		Conflicts:       m.conflicts.Load(),
	}
	if s, ok := m.store.(statser); ok {
		ss := s.Stats()
		st.InitAttempts, st.Pruned, st.Cache = ss.InitAttempts, ss.Pruned, ss.Cache
	}
	return st
}
