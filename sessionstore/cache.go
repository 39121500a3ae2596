package sessionstore

import (
	"bytes"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// CacheConfig turns on and bounds the read cache of a [PostgresStore]: see
// "Read cache" in the package documentation for what it guarantees. The
// zero value leaves the cache off.
type CacheConfig struct {
	// Enabled turns the cache on. The default is off.
	Enabled bool
	// ListenURL is a direct connection string (not through a transaction
	// pooler) for the LISTEN connection that receives invalidations. The
	// default is "": the store's own URL, or the configuration of the Pool
	// passed in; if that leads to a transaction pooler, the cache stays off
	// and the store logs why once at start.
	ListenURL string
	// MaxEntries bounds the number of cached sessions. The default is
	// 10000.
	MaxEntries int
	// MaxBytes bounds the cached sessions' size (data, user ID and a fixed
	// 256 bytes each). The default is 16 MiB.
	MaxBytes int64
	// MaxLag is the longest a change committed anywhere in the fleet may
	// still be served from this cache. The listener proves it is no further
	// behind with a heartbeat NOTIFY, sent at most every MaxLag/4 (and 25 ms), only
	// while reads use the cache; while it cannot, reads bypass the cache.
	// The default is 100 ms.
	MaxLag time.Duration

	idle time.Duration // how long the listener waits before it pings; tests shorten or lengthen it
}

// CacheStats are the counters of a [PostgresStore]'s read cache, all zero
// when it is off.
type CacheStats struct {
	// Hits counts loads answered from the cache, without a query.
	Hits uint64 `json:"hits"`
	// Misses counts loads the cache could have answered but did not hold
	// (absent, older than the client's version, or expired).
	Misses uint64 `json:"misses"`
	// Invalidations counts notifications of changed or deleted sessions
	// received by the listener, and local writes whose committed record
	// the cache could not keep.
	Invalidations uint64 `json:"invalidations"`
	// Bypassed counts loads sent to PostgreSQL because the listener was
	// down, reconnecting or could not prove it was within MaxLag.
	Bypassed uint64 `json:"bypassed"`
	// Reconnects counts listener connections made after the first.
	Reconnects uint64 `json:"reconnects"`
	// Malformed counts notifications the listener could not read; each
	// dropped the session it named, or the whole cache if it named none.
	Malformed uint64 `json:"malformed"`
	// Entries and Bytes are the cache's current size.
	Entries int   `json:"entries"`
	Bytes   int64 `json:"bytes"`
}

const entryOverhead = 256 // bytes counted for each entry beyond its data and user ID

// shards is how many invalidation counters the cache keeps: a load or a
// write may store its result only if no invalidation of its shard that
// could concern it happened while it ran.
const shards = 256

// notice is one invalidation: a deletion (or anything that says only which
// session changed) when changed is false, else the committed state of an
// updated row, which a cached copy at that state or a later version
// survives.
type notice struct {
	id               ID
	changed          bool
	version          int64
	touched, expires int64 // Unix microseconds
}

// covers reports whether r is at least as new as the row n announces: a
// later version, or the same state. Within a version only touches change a
// row, so any other touched or expiry may be newer.
func (n notice) covers(r Record) bool {
	if !n.changed || r.ID != n.id {
		return false
	}
	return r.Version > n.version || r.Version == n.version &&
		r.Touched.UnixMicro() == n.touched && r.Expires.UnixMicro() == n.expires
}

// cache is a bounded LRU of records whose use is allowed only while the
// listener is provably within maxLag of the database.
type cache struct {
	maxBytes int64
	maxLag   time.Duration
	kick     chan struct{} // asks the heartbeat loop for a heartbeat

	mu      sync.Mutex // protects everything below
	lru     *simplelru.LRU[ID, Record]
	bytes   int64
	epoch   uint64         // bumped by every flush and listener state change
	gens    [shards]uint64 // bumped by every invalidation of an ID in the shard
	last    [shards]notice // the newest invalidation of each shard
	ackedAt time.Time      // send time of the newest heartbeat received; zero while the listener is down
	live    bool           // the listener is listening
	minSeq  uint64         // heartbeats before this were sent before the current LISTEN

	hits, misses, invalidations, bypassed, reconnects, malformed atomic.Uint64
}

// ticket is what a load that missed may store its result with.
type ticket struct {
	ok    bool
	epoch uint64
	gen   uint64
}

func newCache(cfg CacheConfig) *cache {
	c := &cache{maxBytes: cfg.MaxBytes, maxLag: cfg.MaxLag, kick: make(chan struct{}, 1)}
	c.lru, _ = simplelru.NewLRU(cfg.MaxEntries, func(_ ID, r Record) { c.bytes -= recSize(r) }) // size > 0: no error
	return c
}

func recSize(r Record) int64 { return int64(len(r.Data)+len(r.UserID)) + entryOverhead }

// usableLocked reports whether the listener has shown, within maxLag, that
// it had received every change committed before.
func (c *cache) usableLocked(now time.Time) bool {
	return !c.ackedAt.IsZero() && now.Sub(c.ackedAt) <= c.maxLag
}

// lookup returns a cached copy of id at least at minVersion and alive at
// now. On a miss, t says whether the caller may store what it loads.
func (c *cache) lookup(id ID, minVersion int64, now time.Time) (rec Record, hit bool, t ticket) {
	mono := time.Now()
	c.mu.Lock()
	if c.ackedAt.IsZero() || mono.Sub(c.ackedAt) > c.maxLag/2 {
		c.askHeartbeat()
	}
	if !c.usableLocked(mono) {
		c.mu.Unlock()
		c.bypassed.Add(1)
		return Record{}, false, ticket{}
	}
	r, ok := c.lru.Get(id)
	if ok && (r.Version < minVersion || !r.alive(now)) {
		c.lru.Remove(id)
		ok = false
	}
	t = ticket{ok: true, epoch: c.epoch, gen: c.gens[id[0]]}
	c.mu.Unlock()
	if !ok {
		c.misses.Add(1)
		return Record{}, false, t
	}
	c.hits.Add(1)
	r.Data = bytes.Clone(r.Data)
	return r, true, ticket{}
}

// begin returns the ticket a write of id stores its committed record with.
func (c *cache) begin(id ID) ticket {
	c.mu.Lock()
	defer c.mu.Unlock()
	return ticket{ok: true, epoch: c.epoch, gen: c.gens[id[0]]}
}

func (c *cache) askHeartbeat() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// put stores rec, loaded or written with t, unless an invalidation that
// could concern it happened since t was issued (any but a single one that
// rec covers: a write's own notification), or it does not fit at all. A
// cached copy of a later version or touch stays. It reports whether rec is
// now the cached copy or a newer one is.
func (c *cache) put(t ticket, rec Record) bool {
	size := recSize(rec)
	if !t.ok || size > c.maxBytes {
		return false
	}
	rec.Data = bytes.Clone(rec.Data)
	c.mu.Lock()
	defer c.mu.Unlock()
	sh := rec.ID[0]
	raced := t.gen != c.gens[sh] && (t.gen+1 != c.gens[sh] || !c.last[sh].covers(rec))
	if t.epoch != c.epoch || raced || !c.usableLocked(time.Now()) {
		return false
	}
	if old, ok := c.lru.Peek(rec.ID); ok && (old.Version > rec.Version || old.Version == rec.Version && old.Touched.After(rec.Touched)) {
		return true
	}
	c.lru.Remove(rec.ID)   // the eviction callback subtracts every removed entry
	c.lru.Add(rec.ID, rec) // may evict the oldest
	c.bytes += size
	for c.bytes > c.maxBytes {
		c.lru.RemoveOldest()
	}
	return true
}

// invalidate drops id and refuses the results of loads of its shard under
// way.
func (c *cache) invalidate(id ID) { c.notify(notice{id: id}) }

// notify applies n: it drops the cached copy of n.id unless n covers it,
// and refuses the results of loads and writes of its shard under way that
// n does not cover.
func (c *cache) notify(n notice) {
	c.invalidations.Add(1)
	sh := n.id[0]
	c.mu.Lock()
	c.gens[sh]++
	c.last[sh] = n
	if r, ok := c.lru.Peek(n.id); ok && !n.covers(r) {
		c.lru.Remove(n.id)
	}
	c.mu.Unlock()
}

// invalidateUser drops the sessions of userID.
func (c *cache) invalidateUser(userID string) {
	c.invalidations.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	for _, id := range c.lru.Keys() {
		if r, ok := c.lru.Peek(id); ok && r.UserID == userID {
			c.lru.Remove(id)
		}
	}
}

// flushLocked empties the cache and refuses every load under way.
func (c *cache) flushLocked() {
	c.epoch++
	c.lru.Purge()
	c.bytes = 0
}

// flush empties the cache (a notification it cannot read, a TRUNCATE).
func (c *cache) flush() {
	c.invalidations.Add(1)
	c.mu.Lock()
	c.flushLocked()
	c.mu.Unlock()
}

// down marks the listener down: reads bypass the cache, which is emptied.
func (c *cache) down() {
	c.mu.Lock()
	c.ackedAt, c.live = time.Time{}, false
	c.flushLocked()
	c.mu.Unlock()
}

// isLive reports whether the listener is listening: heartbeats are
// pointless otherwise.
func (c *cache) isLive() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.live
}

// listening records a new LISTEN: the cache is emptied again, and stays
// unused until a heartbeat numbered from nextSeq comes back.
func (c *cache) listening(nextSeq uint64) {
	c.mu.Lock()
	c.ackedAt, c.live = time.Time{}, true
	c.minSeq = nextSeq
	c.flushLocked()
	c.mu.Unlock()
	c.askHeartbeat()
}

// acked records that heartbeat seq, sent at sentAt, came back: every
// notification committed before it has been handled.
func (c *cache) acked(seq uint64, sentAt time.Time) {
	c.mu.Lock()
	if seq >= c.minSeq && sentAt.After(c.ackedAt) {
		c.ackedAt = sentAt
	}
	c.mu.Unlock()
}

func (c *cache) stats() CacheStats {
	c.mu.Lock()
	n, b := c.lru.Len(), c.bytes
	c.mu.Unlock()
	return CacheStats{
		Hits: c.hits.Load(), Misses: c.misses.Load(), Invalidations: c.invalidations.Load(),
		Bypassed: c.bypassed.Load(), Reconnects: c.reconnects.Load(), Malformed: c.malformed.Load(), Entries: n, Bytes: b,
	}
}
