package cdncache

import (
	"encoding/json"
	"sync/atomic"
	"time"
)

// Stats is a snapshot of a Handler's counters, including the responses that
// went through its Middleware. Its JSON form has the snake_case names of
// the tags, for a status endpoint to return as it is.
type Stats struct {
	OK             uint64 `json:"ok"`              // 200 responses
	PartialContent uint64 `json:"partial_content"` // 206 responses
	NotModified    uint64 `json:"not_modified"`    // 304 responses
	ClientErrors   uint64 `json:"client_errors"`   // 4xx responses (404, 412, 416, ...)
	ServerErrors   uint64 `json:"server_errors"`   // 5xx responses
	BytesSent      int64  `json:"bytes_sent"`      // body bytes written
	BytesSaved     int64  `json:"bytes_saved"`     // bytes not sent thanks to 304s (size of the representation)
	ETagHits       uint64 `json:"etag_hits"`       // validators found in a cache
	ETagMisses     uint64 `json:"etag_misses"`     // validators computed: the object read and hashed (or its store hash taken)

	EncodedHits      uint64 `json:"encoded_hits"`      // encoded bodies found in the cache
	EncodedMisses    uint64 `json:"encoded_misses"`    // encoded bodies looked for and not found
	EncodedBytes     int64  `json:"encoded_bytes"`     // bytes of encoded bodies held now
	EncodedEvictions uint64 `json:"encoded_evictions"` // encoded bodies dropped to make room
	// Br, Zstd and Gzip count the kept encoded bodies made in each coding;
	// on-the-fly compression of large objects is not counted.
	Br   CodingStats `json:"br"`
	Zstd CodingStats `json:"zstd"`
	Gzip CodingStats `json:"gzip"`
}

// CodingStats counts the encoded bodies made in one content coding. Its
// JSON form is {"encodes","encode_seconds"}.
type CodingStats struct {
	Encodes    uint64        `json:"encodes"` // bodies made (once per content, unless evicted)
	EncodeTime time.Duration `json:"-"`       // time spent making them
}

// MarshalJSON encodes c in its JSON form, the time in seconds.
func (c CodingStats) MarshalJSON() ([]byte, error) {
	type plain CodingStats // without the method
	return json.Marshal(struct {
		plain
		EncodeSeconds float64 `json:"encode_seconds"`
	}{plain(c), c.EncodeTime.Seconds()})
}

// counters are the live counters behind Stats.
type counters struct {
	ok, partial, notModified, clientErr, serverErr atomic.Uint64
	bytesSent, bytesSaved                          atomic.Int64
	etagHits, etagMisses                           atomic.Uint64
	encodes                                        [numCodings]atomic.Uint64
	encodeNanos                                    [numCodings]atomic.Int64
}

func (c *counters) record(status int, sent, saved int64) {
	switch {
	case status == 200:
		c.ok.Add(1)
	case status == 206:
		c.partial.Add(1)
	case status == 304:
		c.notModified.Add(1)
	case status >= 400 && status < 500:
		c.clientErr.Add(1)
	case status >= 500:
		c.serverErr.Add(1)
	}
	if sent > 0 {
		c.bytesSent.Add(sent)
	}
	if saved > 0 {
		c.bytesSaved.Add(saved)
	}
}

// Stats returns a snapshot of the counters.
func (h *Handler) Stats() Stats {
	c := &h.stats
	s := Stats{
		OK:             c.ok.Load(),
		PartialContent: c.partial.Load(),
		NotModified:    c.notModified.Load(),
		ClientErrors:   c.clientErr.Load(),
		ServerErrors:   c.serverErr.Load(),
		BytesSent:      c.bytesSent.Load(),
		BytesSaved:     c.bytesSaved.Load(),
		ETagHits:       c.etagHits.Load(),
		ETagMisses:     c.etagMisses.Load(),
	}
	for i, cs := range [numCodings]*CodingStats{codingBr: &s.Br, codingZstd: &s.Zstd, codingGzip: &s.Gzip} {
		*cs = CodingStats{Encodes: c.encodes[i].Load(), EncodeTime: time.Duration(c.encodeNanos[i].Load())}
	}
	if e := h.encoded; e != nil {
		s.EncodedHits, s.EncodedMisses, s.EncodedEvictions = e.hits.Load(), e.misses.Load(), e.evictions.Load()
		s.EncodedBytes = e.held()
	}
	return s
}
