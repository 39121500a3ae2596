package cdncache

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path"
	"strings"
)

// meta is what a response needs about an object version: its validator
// and what follows from its key and type.
type meta struct {
	etag         string // strong ETag of the identity representation, quoted
	contentType  string
	lastModified string // HTTP date; "" when the object has no real mtime
	policy       headerPolicy
	compressible bool
	linked       string // the key a symbolic link led to; "" if none
	interim      string // a large version's interim ETag, also valid once etag is its content hash; "" if none
}

// etagFromHash turns a store's own hash into a strong ETag, hashing it again
// when it holds characters an entity-tag cannot carry.
func etagFromHash(h string) string {
	h = strings.TrimPrefix(h, "W/")
	h = strings.Trim(h, `"`)
	ok := h != "" && len(h) <= 128
	for i := 0; ok && i < len(h); i++ {
		c := h[i]
		ok = c > 0x20 && c != '"' && c != 0x7f && c < 0x80
	}
	if ok {
		return `"` + h + `"`
	}
	sum := sha256.Sum256([]byte(h))
	return `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`
}

// hashContent reads r to its end and returns a strong ETag of its content
// plus its first 512 bytes for content sniffing, then rewinds r.
func hashContent(r io.ReadSeeker) (etag string, head []byte, err error) {
	h := sha256.New()
	buf := make([]byte, 32<<10)
	first := true
	for {
		n, rerr := r.Read(buf)
		if n > 0 {
			if first {
				head = append([]byte(nil), buf[:min(n, 512)]...)
				first = false
			}
			h.Write(buf[:n])
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return "", nil, fmt.Errorf("cdncache: hash: %w", rerr)
		}
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return "", nil, fmt.Errorf("cdncache: rewind: %w", err)
	}
	return sumETag(h.Sum(nil)), head, nil
}

// sumETag renders a SHA-256 sum as a strong ETag.
func sumETag(sum []byte) string {
	return `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`
}

// sniff reads up to 512 bytes of r for http.DetectContentType and rewinds.
func sniff(r io.ReadSeeker) (string, error) {
	buf := make([]byte, 512)
	n, err := io.ReadFull(r, buf)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return "", fmt.Errorf("cdncache: sniff: %w", err)
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return "", fmt.Errorf("cdncache: rewind: %w", err)
	}
	return http.DetectContentType(buf[:n]), nil
}

// builtinTypes are the media types of the extensions this package has
// policies for, so that the result never depends on the system's mime tables.
var builtinTypes = map[string]string{
	".css":         "text/css; charset=utf-8",
	".js":          "text/javascript; charset=utf-8",
	".mjs":         "text/javascript; charset=utf-8",
	".json":        "application/json",
	".map":         "application/json",
	".webmanifest": "application/manifest+json",
	".html":        "text/html; charset=utf-8",
	".htm":         "text/html; charset=utf-8",
	".txt":         "text/plain; charset=utf-8",
	".md":          "text/markdown; charset=utf-8",
	".csv":         "text/csv; charset=utf-8",
	".xml":         "application/xml",
	".svg":         "image/svg+xml",
	".png":         "image/png",
	".jpg":         "image/jpeg",
	".jpeg":        "image/jpeg",
	".gif":         "image/gif",
	".webp":        "image/webp",
	".avif":        "image/avif",
	".ico":         "image/vnd.microsoft.icon",
	".mp4":         "video/mp4",
	".m4v":         "video/mp4",
	".webm":        "video/webm",
	".mov":         "video/quicktime",
	".ogv":         "video/ogg",
	".mp3":         "audio/mpeg",
	".ogg":         "audio/ogg",
	".wav":         "audio/wav",
	".woff":        "font/woff",
	".woff2":       "font/woff2",
	".ttf":         "font/ttf",
	".otf":         "font/otf",
	".eot":         "application/vnd.ms-fontobject",
	".pdf":         "application/pdf",
	".wasm":        "application/wasm",
	".zip":         "application/zip",
	".gz":          "application/gzip",
}

// typeByExtension returns the media type of key's extension, or "".
func typeByExtension(key string) string {
	ext := strings.ToLower(path.Ext(key))
	if ext == "" {
		return ""
	}
	if t, ok := builtinTypes[ext]; ok {
		return t
	}
	return mime.TypeByExtension(ext)
}

// compressible reports whether a media type is text worth compressing.
func compressible(contentType string) bool {
	mt := mediaType(contentType)
	switch {
	case strings.HasPrefix(mt, "text/"):
		return true
	case mt == "image/svg+xml", mt == "application/javascript", mt == "application/wasm",
		mt == "application/xml", mt == "application/json", mt == "application/manifest+json":
		return true
	case strings.HasSuffix(mt, "+json"), strings.HasSuffix(mt, "+xml"):
		return true
	}
	return false
}

// etagMatch compares two entity-tags; weak comparison ignores "W/" prefixes,
// strong comparison requires both to be strong and equal (RFC 9110 §8.8.3.2).
func etagMatch(a, b string, weak bool) bool {
	if weak {
		return strings.TrimPrefix(a, "W/") == strings.TrimPrefix(b, "W/")
	}
	return a == b && !strings.HasPrefix(a, "W/")
}

// scanETag returns the first entity-tag of s and what follows it; etag is
// "" when s does not start with a syntactically valid one (RFC 9110 §8.8.3).
func scanETag(s string) (etag, rest string) {
	s = strings.TrimLeft(s, " \t")
	start := 0
	if strings.HasPrefix(s, "W/") {
		start = 2
	}
	if len(s[start:]) < 2 || s[start] != '"' {
		return "", ""
	}
	for i := start + 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == 0x21 || c >= 0x23 && c <= 0x7E || c >= 0x80:
		case c == '"':
			return s[:i+1], s[i+1:]
		default:
			return "", ""
		}
	}
	return "", ""
}

// matchList evaluates an If-Match or If-None-Match field value against the
// candidate tags of the current representation. It returns the matching
// candidate (or the first one for "*") and whether any matched; a malformed
// list matches only through the tags before the error.
func matchList(field string, candidates []string, weak bool) (string, bool) {
	if strings.TrimSpace(field) == "*" {
		return candidates[0], true
	}
	for field != "" {
		field = strings.TrimLeft(field, " \t")
		if field == "" {
			break
		}
		if field[0] == ',' {
			field = field[1:]
			continue
		}
		tag, rest := scanETag(field)
		if tag == "" {
			break
		}
		for _, c := range candidates {
			if etagMatch(tag, c, weak) {
				return c, true
			}
		}
		field = rest
	}
	return "", false
}
