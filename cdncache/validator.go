package cdncache

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"time"
)

// racyWindow is how recently an object may have changed for its validator
// not to be cached (git's "racy" rule): a file rewritten twice within its
// file system's timestamp granularity (a scheduler tick for ctime, a second
// or two for some mtimes) keeps its size and times, so only a new hash can
// tell the versions apart. Such versions are hashed on every request until
// they are that old.
const racyWindow = 2 * time.Second

// fileID is what the operating system says about a file's identity; zero
// when the source does not know it.
type fileID struct {
	dev, ino  uint64
	ctimeNano int64
}

// versionKey identifies one version of one object: the caches of
// validators are keyed by it, so a new size, modification time, inode or
// change time means a new entry.
type versionKey struct {
	source  int
	key     string
	size    int64
	modNano int64
	id      fileID
	hash    string
}

// validator is what reading an object's content gives: its ETag and, when
// neither the source nor the extension gives a type, the sniffed one. It is
// small, so many more are kept than metas.
type validator struct {
	etag    string
	sniffed string
	linked  string // the key a symbolic link led to (Dir on Linux); "" if none
}

// linkResolver is implemented by sources that can tell where a symbolic
// link led (Dir).
type linkResolver interface {
	linkedKey(obj io.ReadSeeker, key string) string
}

// defaultHashInBackground is the size from which an object version gets an
// interim validator at once and its content hashed in the background.
const defaultHashInBackground = 16 << 20

// digestCacheFactor is how many more validators than metas are kept.
const digestCacheFactor = 16

// minDigestCacheSize is the least number of validators kept.
const minDigestCacheSize = 64 << 10

func versionOf(src int, key string, info ObjectInfo) versionKey {
	vk := versionKey{source: src, key: key, size: info.Size, hash: info.Hash, id: info.id}
	if !info.ModTime.IsZero() {
		vk.modNano = info.ModTime.UnixNano()
	}
	return vk
}

// racy reports whether an object version changed too recently for its
// validator to be cached (see racyWindow). A version with a store hash is
// never racy; one without any time is assumed never to change.
func (h *Handler) racy(info ObjectInfo) bool {
	if info.Hash != "" {
		return false
	}
	changed := info.ModTime
	if info.id.ctimeNano != 0 {
		changed = time.Unix(0, info.id.ctimeNano)
	}
	if changed.IsZero() {
		return false
	}
	return h.now().Sub(changed) < racyWindow
}

// meta returns what a response needs about an object version: from the
// cache of metas, else from the larger cache of validators, else by reading
// the object (hashing it unless the source gave a hash). Concurrent first
// requests for one version (a miss storm after a deploy) read it once: the
// others wait for that result.
func (h *Handler) meta(src int, key string, obj io.ReadSeekCloser, info ObjectInfo) (*meta, error) {
	vk := versionOf(src, key, info)
	if m, ok := h.metas.Get(vk); ok {
		h.stats.etagHits.Add(1)
		return m, nil
	}
	racy := h.racy(info)
	if !racy {
		if v, ok := h.validators.Get(vk); ok {
			h.stats.etagHits.Add(1)
			m := h.newMeta(vk, info, v, true)
			h.metas.Add(vk, m)
			return m, nil
		}
	}
	obj, err := opened(obj) // the validators are read
	if err != nil {
		return nil, err
	}
	if !racy && h.interimFits(info) {
		return h.interimMeta(src, vk, obj, info)
	}
	h.stats.etagMisses.Add(1)
	flightKey := fmt.Sprintf("%d\x00%s\x00%d\x00%d\x00%v\x00%s", vk.source, vk.key, vk.size, vk.modNano, vk.id, vk.hash)
	// The flight keeps its result before it ends, and looks first: a request
	// that missed the cache just before the previous flight kept its result
	// must not read the object again.
	read := func() (any, error) {
		if m, ok := h.metas.Get(vk); ok && !racy {
			return m, nil
		}
		v, err := readValidator(obj, info, vk.key)
		if err != nil {
			return nil, err
		}
		if lr, ok := h.sources[src].(linkResolver); ok {
			v.linked = lr.linkedKey(obj, vk.key)
		}
		m := h.newMeta(vk, info, v, !racy)
		if !racy {
			h.validators.Add(vk, v)
			h.metas.Add(vk, m)
		}
		return m, nil
	}
	res, err, shared := h.reading.Do(flightKey, read)
	if err != nil && shared {
		// The reading request failed; this one reads its own copy.
		res, err = read()
	}
	if err != nil {
		return nil, err
	}
	return res.(*meta), nil
}

// readValidator computes the validator of an object version from obj (left
// rewound): the store's hash, else a hash of the content; and the sniffed
// type when neither the store nor the extension gives one.
func readValidator(obj io.ReadSeeker, info ObjectInfo, key string) (validator, error) {
	var v validator
	var head []byte
	var err error
	if info.Hash != "" {
		v.etag = etagFromHash(info.Hash)
	} else if v.etag, head, err = hashContent(obj); err != nil {
		return validator{}, err
	}
	if info.ContentType == "" && typeByExtension(key) == "" {
		if head != nil || info.Size == 0 {
			v.sniffed = http.DetectContentType(head)
		} else if v.sniffed, err = sniff(obj); err != nil {
			return validator{}, err
		}
	}
	return v, nil
}

// newMeta completes a validator with what follows from the object's key,
// type and times. settled says the version is not racy, so that its
// interim validator, if it has one, still names it.
func (h *Handler) newMeta(vk versionKey, info ObjectInfo, v validator, settled bool) *meta {
	m := &meta{etag: v.etag, contentType: info.ContentType, linked: v.linked}
	if settled && h.interimFits(info) {
		m.interim = interimETag(vk)
	}
	if m.contentType == "" {
		m.contentType = typeByExtension(vk.key)
	}
	if m.contentType == "" {
		m.contentType = v.sniffed
	}
	if t := info.ModTime; !t.IsZero() && !t.Equal(time.Unix(0, 0)) {
		m.lastModified = t.UTC().Format(http.TimeFormat)
	}
	m.policy = h.pol.forObject(vk.key, m.contentType)
	m.compressible = compressible(m.contentType)
	return m
}

// interimFits reports whether a version is large enough to be hashed in the
// background, and has the modification time an interim validator needs.
func (h *Handler) interimFits(info ObjectInfo) bool {
	return info.Hash == "" && info.Size >= h.hashInBackground && !info.ModTime.IsZero()
}

// interimETag is the validator of a large version until its content is
// hashed: a hash of its identity (key, size, modification time, and on
// Linux device, inode and change time). It names the version as exactly as
// the cache of validators does, but differs between machines.
func interimETag(vk versionKey) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%d\x00%s\x00%d\x00%d\x00%v", vk.source, vk.key, vk.size, vk.modNano, vk.id))
	return `"i-` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`
}

// interimMeta answers for a large version whose content hash is not known
// yet: with its interim validator, reading no more than a sniff, while the
// content is hashed in the background for later requests.
func (h *Handler) interimMeta(src int, vk versionKey, obj io.ReadSeeker, info ObjectInfo) (*meta, error) {
	v := validator{etag: interimETag(vk)}
	if info.ContentType == "" && typeByExtension(vk.key) == "" {
		var err error
		if v.sniffed, err = sniff(obj); err != nil {
			return nil, err
		}
	}
	if lr, ok := h.sources[src].(linkResolver); ok {
		v.linked = lr.linkedKey(obj, vk.key)
	}
	h.bg.start(vk, func(ctx context.Context) { h.hashInBackgroundJob(ctx, src, vk) })
	return h.newMeta(vk, info, v, true), nil
}

// hashInBackgroundJob hashes a large version and keeps its validator, if
// it is still the version the source has.
func (h *Handler) hashInBackgroundJob(ctx context.Context, src int, vk versionKey) {
	obj, info, err := h.sources[src].Open(ctx, vk.key)
	if err != nil {
		return
	}
	defer obj.Close()
	if versionOf(src, vk.key, info) != vk || h.racy(info) {
		return
	}
	h.stats.etagMisses.Add(1)
	v, err := readValidator(ctxReader{obj, ctx}, info, vk.key)
	if err != nil {
		return
	}
	if lr, ok := h.sources[src].(linkResolver); ok {
		v.linked = lr.linkedKey(obj, vk.key)
	}
	h.validators.Add(vk, v)
}

// ctxReader stops reading when its context is done (the Handler closes).
type ctxReader struct {
	io.ReadSeeker
	ctx context.Context
}

func (r ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.ReadSeeker.Read(p)
}
