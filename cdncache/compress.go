package cdncache

import (
	"cmp"
	"context"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Content codings this package knows, in server preference order for equal
// q-values. Each is served from a fresh precompressed sibling when there is
// one, else from the cache of encoded bodies; brotli is encoded in the
// background, gzip and zstd when first asked. Objects too large to keep are
// compressed on the fly with gzip or zstd.
const (
	codingBr = iota
	codingZstd
	codingGzip
	numCodings
)

var codingNames = [numCodings]string{"br", "zstd", "gzip"}

// siblingExt is the file extension of a precompressed sibling; "" when the
// coding has none.
var siblingExt = [numCodings]string{".br", ".zst", ".gz"}

// acceptedCodings parses Accept-Encoding (RFC 9110 §12.5.3) and returns the
// q-value of each known coding (0 means not acceptable). A "*" applies to the
// codings not named; malformed elements are skipped.
func acceptedCodings(fields []string) (q [numCodings]float64) {
	var named [numCodings]bool
	star := -1.0
	for _, field := range fields {
		for elem := range strings.SplitSeq(field, ",") {
			coding, params, _ := strings.Cut(elem, ";")
			coding = strings.TrimSpace(coding)
			if coding == "" {
				continue
			}
			qv, ok := qValue(params)
			if !ok {
				continue
			}
			if coding == "*" {
				star = qv
				continue
			}
			for c := range numCodings {
				if strings.EqualFold(coding, codingNames[c]) || c == codingGzip && strings.EqualFold(coding, "x-gzip") {
					q[c], named[c] = qv, true
				}
			}
		}
	}
	if star > 0 {
		for c := range numCodings {
			if !named[c] {
				q[c] = star
			}
		}
	}
	return q
}

// qValue parses the weight of an Accept-Encoding element: "" means 1.
func qValue(params string) (float64, bool) {
	params = strings.TrimSpace(params)
	if params == "" {
		return 1, true
	}
	name, val, ok := strings.Cut(params, "=")
	if !ok || !strings.EqualFold(strings.TrimSpace(name), "q") {
		return 0, false
	}
	val = strings.TrimSpace(val)
	if len(val) == 0 || len(val) > 5 || val[0] != '0' && val[0] != '1' {
		return 0, false
	}
	f, err := strconv.ParseFloat(val, 64)
	if err != nil || f < 0 || f > 1 {
		return 0, false
	}
	return f, true
}

// codingOrder returns the acceptable codings, most preferred first.
func codingOrder(q [numCodings]float64) []int {
	order := make([]int, 0, numCodings)
	for c := range numCodings {
		if q[c] > 0 {
			order = append(order, c)
		}
	}
	// By descending q; ties keep preference order.
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(q[b], q[a]) })
	return order
}

// encoders pools the on-the-fly compressors.
type encoders struct {
	gzip sync.Pool // *gzip.Writer
	zstd sync.Pool // *zstd.Encoder
}

// compress copies src to w through the coding's compressor.
func (e *encoders) compress(coding int, w io.Writer, src io.Reader) error {
	switch coding {
	case codingGzip:
		gw, _ := e.gzip.Get().(*gzip.Writer)
		if gw == nil {
			gw = gzip.NewWriter(w)
		} else {
			gw.Reset(w)
		}
		defer func() { gw.Reset(io.Discard); e.gzip.Put(gw) }()
		if _, err := io.Copy(gw, src); err != nil {
			return err
		}
		return gw.Close()
	case codingZstd:
		zw, _ := e.zstd.Get().(*zstd.Encoder)
		if zw == nil {
			var err error
			zw, err = zstd.NewWriter(w, zstd.WithEncoderConcurrency(1), zstd.WithLowerEncoderMem(true))
			if err != nil {
				return err
			}
		} else {
			zw.Reset(w)
		}
		defer func() { zw.Reset(nil); e.zstd.Put(zw) }()
		if _, err := io.Copy(zw, src); err != nil {
			return err
		}
		return zw.Close()
	}
	_, err := io.Copy(w, src)
	return err
}

// bestZstd pools the kept encodings' zstd encoders (about 50 MiB each to build).
var bestZstd sync.Pool

// encodeChunk is how much input the kept encodings take between two checks
// of their context.
const encodeChunk = 64 << 10

// encode writes raw to w in the coding, at the best compression: the result
// is kept and sent many times. It stops early when ctx is cancelled.
func (e *encoders) encode(ctx context.Context, coding int, w io.Writer, raw []byte) error {
	var enc io.WriteCloser
	var err error
	switch coding {
	case codingBr:
		enc = brotli.NewWriterLevel(w, brotli.BestCompression)
	case codingZstd:
		if zw, _ := bestZstd.Get().(*zstd.Encoder); zw != nil {
			zw.Reset(w)
			enc = zw
		} else {
			enc, err = zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.SpeedBestCompression), zstd.WithEncoderConcurrency(1))
		}
		if err == nil {
			defer func() { enc.(*zstd.Encoder).Reset(nil); bestZstd.Put(enc) }()
		}
	default:
		enc, err = gzip.NewWriterLevel(w, gzip.BestCompression)
	}
	if err != nil {
		return err
	}
	for len(raw) > 0 {
		if err := ctx.Err(); err != nil {
			return err // dropped unclosed: closing would encode what is buffered
		}
		n := min(len(raw), encodeChunk)
		if _, err := enc.Write(raw[:n]); err != nil {
			return err
		}
		raw = raw[n:]
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return enc.Close()
}
