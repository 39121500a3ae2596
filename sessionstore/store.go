package sessionstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// ID identifies a stored session: the SHA-256 hash of its token. Stores key
// on it, so the raw token never reaches a database. An ID cannot be turned
// back into a cookie, which makes it safe to show (for example in a list of
// a user's sessions) and to pass to [Manager.Revoke].
type ID [32]byte

// idOf returns the ID of a raw token.
func idOf(token []byte) ID { return sha256.Sum256(token) }

// String returns the ID in hexadecimal.
func (id ID) String() string { return hex.EncodeToString(id[:]) }

// IsZero reports whether id is the zero ID, which names no session.
func (id ID) IsZero() bool { return id == ID{} }

// Record is one stored session.
type Record struct {
	ID ID
	// Data is a JSON object, the session's values by key.
	Data []byte
	// UserID is the user the session belongs to; empty for none.
	UserID string
	// Created is when the session was first saved.
	Created time.Time
	// Touched is when the session was last saved or touched.
	Touched time.Time
	// Expires is the idle expiry: the session is dead from then on unless
	// touched before. It never lies after Deadline.
	Expires time.Time
	// Deadline is the absolute end of the session, whatever its activity.
	Deadline time.Time
	// Version counts the saves of the session's data, starting at 1. It
	// detects concurrent modifications: see [Store.Save].
	Version int64
}

// alive reports whether the record may still be used at now.
func (r *Record) alive(now time.Time) bool {
	return now.Before(r.Expires) && now.Before(r.Deadline)
}

// Store is where sessions live: the package's plug point. [PostgresStore]
// and [MemoryStore] implement it with identical semantics; another backend
// must pass the same behavioural tests.
//
// Stores return records as saved, expired or not: the [Manager] decides
// what is alive by its own clock. Methods return an error wrapping the
// cause when the backend is unreachable.
//
// The Manager also uses three optional methods when a store has them:
// Stats() StoreStats, Ready(context.Context) error and CachesReads() bool
// (see [PostgresStore]). A Store that wraps another (for metrics, say)
// passes them on; without CachesReads a cached store loses read-your-writes.
type Store interface {
	// Load returns the record with the ID; found is false when there is
	// none.
	Load(ctx context.Context, id ID) (rec Record, found bool, err error)

	// Save writes rec (Data, UserID, Touched and Expires; Created and
	// Deadline only when it creates the row) if the stored version of
	// rec.ID equals rec.Version, where 0 means "no such row", and returns
	// the new version (the old one plus 1, or 1 for a new row). Otherwise
	// it writes nothing and returns [ErrConflict].
	//
	// When replace is not the zero ID (token renewal), the check applies to
	// the row named replace instead: Save deletes that row and creates
	// rec.ID at version 1, both or neither.
	Save(ctx context.Context, rec Record, replace ID) (version int64, err error)

	// Touch moves the idle expiry of a live session: it sets Touched to
	// now and Expires to the earlier of expires and the session's
	// Deadline, only if the row exists, was last touched before
	// touchedBefore, and has not expired at now. It writes no data and
	// reports whether the row was updated.
	Touch(ctx context.Context, id ID, now, expires, touchedBefore time.Time) (moved bool, err error)

	// Delete removes the session; deleting a missing one is not an error.
	Delete(ctx context.Context, id ID) error

	// ListUser returns the sessions of a user, without their Data, in no
	// particular order.
	ListUser(ctx context.Context, userID string) ([]Record, error)

	// DeleteUser removes every session of the user except keep (which may
	// be the zero ID) and returns how many it removed.
	DeleteUser(ctx context.Context, userID string, keep ID) (int, error)
}

// StoreStats are counters of a store's own work, reported by the stores of
// this package through [Manager.Stats]. Its JSON form has the snake_case
// names of the tags.
type StoreStats struct {
	// InitAttempts counts attempts to initialise the backend (create the
	// table); 0 for stores that need none.
	InitAttempts uint64 `json:"init_attempts"`
	// Pruned counts expired sessions removed by pruning.
	Pruned uint64 `json:"pruned"`
	// PruneRuns counts prunings that ran (not skipped for another
	// instance holding the lock).
	PruneRuns uint64 `json:"prune_runs"`
	// Cache counts the work of a PostgresStore's read cache.
	Cache CacheStats `json:"cache"`
}

// statser is implemented by stores that count their own work.
type statser interface{ Stats() StoreStats }

// readier is implemented by stores that can tell whether they serve.
type readier interface {
	Ready(ctx context.Context) error
}
