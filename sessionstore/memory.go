package sessionstore

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// MemoryConfig configures a [MemoryStore]. The zero value is ready to use.
type MemoryConfig struct {
	// PruneInterval is how often expired sessions are removed, jittered by
	// ±10%. The default is 1 minute; a negative value turns pruning off
	// (call [MemoryStore.Prune] yourself).
	PruneInterval time.Duration
	// Now is the clock pruning compares expiries with (the Manager's clock
	// writes them). The default is time.Now; nil means the default.
	Now func() time.Time
	// Logger receives a line per pruning that removed something. nil means
	// slog.Default().
	Logger *slog.Logger
}

// MemoryStore keeps sessions in the process's memory: for development,
// tests and single-instance deployments where losing sessions on restart
// is acceptable. It has the same semantics as [PostgresStore].
type MemoryStore struct {
	cfg MemoryConfig

	mu   sync.Mutex     // protects rows
	rows map[ID]*Record // stored records; never mutated after insertion, only replaced

	pruned    atomic.Uint64
	pruneRuns atomic.Uint64
	loop      *loop
}

// NewMemoryStore returns an empty in-memory store and starts its pruning,
// which [MemoryStore.Close] stops.
func NewMemoryStore(cfg MemoryConfig) *MemoryStore {
	if cfg.PruneInterval == 0 {
		cfg.PruneInterval = time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &MemoryStore{cfg: cfg, rows: make(map[ID]*Record)}
	s.loop = startLoop(cfg.PruneInterval, func(ctx context.Context) {
		if n, _, _ := s.Prune(ctx); n > 0 {
			s.cfg.Logger.Info("sessionstore: pruned expired sessions", "count", n, "store", "memory")
		}
	})
	return s
}

// Close stops pruning. It is safe to call more than once. The data stays
// readable.
func (s *MemoryStore) Close() error {
	s.loop.stop()
	return nil
}

// Load implements [Store].
func (s *MemoryStore) Load(ctx context.Context, id ID) (Record, bool, error) {
	if err := ctx.Err(); err != nil {
		return Record{}, false, err
	}
	s.mu.Lock()
	r, ok := s.rows[id]
	s.mu.Unlock()
	if !ok {
		return Record{}, false, nil
	}
	return *r, true, nil // Data is never mutated in place: sharing it is safe
}

// Save implements [Store].
func (s *MemoryStore) Save(ctx context.Context, rec Record, replace ID) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	rec.Data = append([]byte(nil), rec.Data...)
	s.mu.Lock()
	defer s.mu.Unlock()
	checked := rec.ID // the row whose version rec was read at
	if !replace.IsZero() {
		checked = replace
	}
	old, ok := s.rows[checked]
	var v int64
	if ok {
		v = old.Version
	}
	if v != rec.Version {
		return 0, ErrConflict
	}
	if !replace.IsZero() { // a renewal: rec is a new row under a new ID
		if _, taken := s.rows[rec.ID]; taken {
			return 0, ErrConflict
		}
		delete(s.rows, replace)
		ok, v = false, 0
	}
	if ok {
		rec.Created, rec.Deadline = old.Created, old.Deadline
		if rec.Expires.After(rec.Deadline) {
			rec.Expires = rec.Deadline
		}
	}
	rec.Version = v + 1
	s.rows[rec.ID] = &rec
	return rec.Version, nil
}

// Touch implements [Store].
func (s *MemoryStore) Touch(ctx context.Context, id ID, now, expires, touchedBefore time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.rows[id]
	if !ok || !old.Touched.Before(touchedBefore) || !old.Expires.After(now) {
		return false, nil
	}
	r := *old
	r.Touched = now
	r.Expires = expires
	if r.Expires.After(r.Deadline) {
		r.Expires = r.Deadline
	}
	s.rows[id] = &r
	return true, nil
}

// Delete implements [Store].
func (s *MemoryStore) Delete(ctx context.Context, id ID) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	delete(s.rows, id)
	s.mu.Unlock()
	return nil
}

// ListUser implements [Store].
func (s *MemoryStore) ListUser(ctx context.Context, userID string) ([]Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Record
	for _, r := range s.rows {
		if r.UserID == userID && userID != "" {
			c := *r
			c.Data = nil
			out = append(out, c)
		}
	}
	return out, nil
}

// DeleteUser implements [Store].
func (s *MemoryStore) DeleteUser(ctx context.Context, userID string, keep ID) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if userID == "" {
		return 0, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for id, r := range s.rows {
		if r.UserID == userID && id != keep {
			delete(s.rows, id)
			n++
		}
	}
	return n, nil
}

// Prune removes the sessions expired at the store's clock and returns how
// many. ran is always true: one process has no fleet to coordinate with.
func (s *MemoryStore) Prune(ctx context.Context) (deleted int, ran bool, err error) {
	if err := ctx.Err(); err != nil {
		return 0, false, err
	}
	now := s.cfg.Now()
	s.mu.Lock()
	for id, r := range s.rows {
		if !r.Expires.After(now) || !r.Deadline.After(now) {
			delete(s.rows, id)
			deleted++
		}
	}
	s.mu.Unlock()
	s.pruneRuns.Add(1)
	s.pruned.Add(uint64(deleted))
	return deleted, true, nil
}

// Stats returns the store's counters.
func (s *MemoryStore) Stats() StoreStats {
	return StoreStats{Pruned: s.pruned.Load(), PruneRuns: s.pruneRuns.Load()}
}
