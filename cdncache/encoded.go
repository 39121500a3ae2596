package cdncache

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// Defaults of the cache of encoded bodies.
const (
	defaultEncodedCacheBytes = 32 << 20
	// encodedObjectShare: an object is kept encoded only when its identity
	// body is at most 1/encodedObjectShare of the cache's bound.
	encodedObjectShare = 16
)

// encodedKey names an encoded body: the identity ETag (a content hash, so
// the key is the content, whatever object or version carries it) and the
// coding.
type encodedKey struct {
	etag   string
	coding int
}

// encodedCache keeps encoded bodies, bounded by their total length; the
// least recently used goes first. Its bound is never exceeded: room is made
// before a body is added.
type encodedCache struct {
	bound int64 // most bytes held

	mu    sync.Mutex // guards lru and bytes
	lru   *simplelru.LRU[encodedKey, []byte]
	bytes int64

	hits, misses, evictions atomic.Uint64
}

func newEncodedCache(bound int64) *encodedCache {
	c := &encodedCache{bound: bound}
	// The count bound is never reached: bytes bound the cache.
	c.lru, _ = simplelru.NewLRU[encodedKey, []byte](1<<30, func(_ encodedKey, b []byte) {
		c.bytes -= int64(len(b))
		c.evictions.Add(1)
	})
	return c
}

func (c *encodedCache) get(k encodedKey) ([]byte, bool) {
	c.mu.Lock()
	b, ok := c.lru.Get(k)
	c.mu.Unlock()
	if ok {
		c.hits.Add(1)
	} else {
		c.misses.Add(1)
	}
	return b, ok
}

// add keeps b under k, evicting the least recently used bodies first.
func (c *encodedCache) add(k encodedKey, b []byte) {
	n := int64(len(b))
	if n > c.bound {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lru.Contains(k) {
		return
	}
	for c.bytes+n > c.bound {
		if _, _, ok := c.lru.RemoveOldest(); !ok {
			break
		}
	}
	c.lru.Add(k, b)
	c.bytes += n
}

func (c *encodedCache) held() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes
}

// cachedEncoding returns o's body in coding c from the cache, encoding it
// now (gzip, zstd: one encoding per content and coding, however many
// requests miss at once) or in the background (brotli: nil until ready).
func (h *Handler) cachedEncoding(o *object, c int) []byte {
	k := encodedKey{etag: o.m.etag, coding: c}
	if b, ok := h.encoded.get(k); ok {
		return b
	}
	if c == codingBr {
		h.queueBrotli(o)
		return nil
	}
	v, err, _ := h.encoding.Do(k.etag+"\x00"+codingNames[c], func() (any, error) {
		// A request that missed the cache just before the previous flight
		// kept its result must not encode again.
		if b, ok := h.encoded.get(k); ok {
			return b, nil
		}
		raw, err := readIdentity(o)
		if err != nil {
			return nil, err
		}
		return h.encodeAndKeep(context.Background(), k, raw)
	})
	if err != nil {
		return nil
	}
	return v.([]byte)
}

// encodeSlots bounds the kept encodings made at once, process-wide.
var encodeSlots = make(chan struct{}, max(2, runtime.GOMAXPROCS(0)))

// errChanged: an object's bytes no longer match its ETag.
var errChanged = errors.New("cdncache: object changed while read")

// readIdentity reads o's whole identity body and rewinds it. The kept
// encodings are found by ETag, so the bytes must be the ETag's: when the
// ETag is a content hash, they are checked against it (a file rewritten
// since its validator was computed fails).
func readIdentity(o *object) ([]byte, error) {
	if _, err := o.body.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	raw := make([]byte, o.info.Size)
	_, err := io.ReadFull(o.body, raw)
	if _, serr := o.body.Seek(0, io.SeekStart); err == nil {
		err = serr
	}
	if err == nil && o.info.Hash == "" && o.m.etag != o.m.interim {
		if sum := sha256.Sum256(raw); sumETag(sum[:]) != o.m.etag {
			return nil, errChanged
		}
	}
	return raw, err
}

// encodeAndKeep encodes raw in k's coding, keeps the result and counts the
// time spent.
func (h *Handler) encodeAndKeep(ctx context.Context, k encodedKey, raw []byte) ([]byte, error) {
	encodeSlots <- struct{}{} // each best-compression encoder holds tens of MiB
	defer func() { <-encodeSlots }()
	start := time.Now()
	var buf bytes.Buffer
	buf.Grow(len(raw) / 3)
	if err := h.enc.encode(ctx, k.coding, &buf, raw); err != nil {
		return nil, err
	}
	h.stats.encodes[k.coding].Add(1)
	h.stats.encodeNanos[k.coding].Add(int64(time.Since(start)))
	b := bytes.Clone(buf.Bytes())
	h.encoded.add(k, b)
	return b, nil
}

// queueBrotli queues the brotli encoding of o's content. The job reads the
// object itself, so a request never reads it for a job that is refused,
// and at most one object's bytes are held for brotli.
func (h *Handler) queueBrotli(o *object) {
	k := encodedKey{etag: o.m.etag, coding: codingBr}
	if h.bg.isPending(k) {
		return
	}
	src, key, vk, m := o.src, o.key, versionOf(o.src, o.key, o.info), o.m
	h.bg.start(k, func(ctx context.Context) {
		obj, info, err := h.sources[src].Open(ctx, key)
		if err != nil {
			return
		}
		defer obj.Close()
		if versionOf(src, key, info) != vk {
			return
		}
		raw, err := readIdentity(&object{body: obj, info: info, m: m})
		if err == nil {
			h.encodeAndKeep(ctx, k, raw)
		}
	})
}
