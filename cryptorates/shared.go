package cryptorates

import (
	"context"
	"sync"
	"time"
)

// SharedState is where a fleet of clients keeps its latest snapshot and its
// upstream pacing, so that N instances make the upstream calls of one. It is
// the package's plug point; [NewMemoryState] and [NewPostgresState] implement
// it. Implementations must be safe for concurrent use.
type SharedState interface {
	// Load returns the latest stored snapshot; the zero Snapshot when none
	// has been stored yet.
	Load(ctx context.Context) (Snapshot, error)
	// Exclusive runs fn with the latest snapshot while holding the fleet-wide
	// fetch lock, and stores what fn returns when fn reports store. When
	// another holder has the lock, it returns ran == false at once without
	// running fn: the caller reads the snapshot instead. fn may make one
	// upstream call; it must not call the SharedState.
	Exclusive(ctx context.Context, fn func(cur Snapshot) (next Snapshot, store bool)) (ran bool, err error)
}

// Snapshot is the state a fleet shares. Its Prices map is never modified
// once a Snapshot is handed over, in either direction.
type Snapshot struct {
	// Prices holds the last good value of every pair.
	Prices map[Pair]Price
	// AttemptedAt is the time of the fleet's last upstream call, successful
	// or not: the next one waits until AttemptedAt + MinInterval. A refresh
	// of k calls at t spends k intervals: it sets AttemptedAt to t + (k-1) ×
	// MinInterval.
	AttemptedAt time.Time
	// NotBefore is the end of the upstream's last Retry-After: no upstream
	// call before it.
	NotBefore time.Time
}

// Price is one pair's last good value.
type Price struct {
	Value float64
	// UpdatedAt is the upstream's last_updated_at (zero when not given).
	UpdatedAt time.Time
	// FetchedAt is when the value was fetched.
	FetchedAt time.Time
	// Baseline is the value that moves are measured against (see
	// Config.MaxMove), taken at BaselineAt. Zero means Value.
	Baseline   float64
	BaselineAt time.Time
}

// MemoryState is a SharedState in process memory: the default of every
// client, and a way for several clients in one process to share a budget.
type MemoryState struct {
	lock sync.Mutex // held by the one Exclusive caller

	mu   sync.Mutex // protects snap
	snap Snapshot
}

// NewMemoryState returns an empty in-memory shared state.
func NewMemoryState() *MemoryState { return &MemoryState{} }

// Load returns the stored snapshot.
func (m *MemoryState) Load(context.Context) (Snapshot, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.snap, nil
}

// Exclusive runs fn unless another caller is running one.
func (m *MemoryState) Exclusive(ctx context.Context, fn func(Snapshot) (Snapshot, bool)) (bool, error) {
	if !m.lock.TryLock() {
		return false, nil
	}
	defer m.lock.Unlock()
	cur, _ := m.Load(ctx)
	next, store := fn(cur)
	if store {
		m.mu.Lock()
		m.snap = next
		m.mu.Unlock()
	}
	return true, nil
}
