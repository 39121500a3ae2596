package seamtest

import (
	"fmt"
	"net/http"
	"strings"
)

// directives is a parsed Cache-Control (or targeted field): lower-case
// directive names to their argument ("" when none).
type directives map[string]string

// isToken reports whether s is an RFC 9110 token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"(),/:;<=>?@[\\]{}", c) >= 0 {
			return false
		}
	}
	return true
}

// parseCacheControl parses a Cache-Control field value per RFC 9111 §5.2:
// #( token [ "=" ( token / quoted-string ) ] ). A list that does not parse
// is an error; a cache would then ignore the directives it cannot read.
func parseCacheControl(v string) (directives, error) {
	d := directives{}
	for v != "" {
		v = strings.TrimLeft(v, " \t")
		if v == "" {
			break
		}
		if v[0] == ',' {
			v = v[1:]
			continue
		}
		i := strings.IndexAny(v, "=, \t")
		if i < 0 {
			i = len(v)
		}
		name := v[:i]
		if !isToken(name) {
			return nil, fmt.Errorf("bad directive name %q", name)
		}
		v = strings.TrimLeft(v[i:], " \t")
		arg := ""
		if strings.HasPrefix(v, "=") {
			var err error
			if arg, v, err = parseArg(v[1:]); err != nil {
				return nil, err
			}
		}
		d[strings.ToLower(name)] = arg
		v = strings.TrimLeft(v, " \t")
		if v != "" && v[0] != ',' {
			return nil, fmt.Errorf("junk after %q", name)
		}
	}
	return d, nil
}

// parseArg reads a token or a quoted-string and returns it unquoted with
// the rest of the value.
func parseArg(v string) (arg, rest string, err error) {
	if !strings.HasPrefix(v, `"`) {
		i := strings.IndexAny(v, ", \t")
		if i < 0 {
			i = len(v)
		}
		if !isToken(v[:i]) {
			return "", "", fmt.Errorf("bad argument %q", v[:i])
		}
		return v[:i], v[i:], nil
	}
	var b strings.Builder
	for i := 1; i < len(v); i++ {
		switch c := v[i]; {
		case c == '"':
			return b.String(), v[i+1:], nil
		case c == '\\' && i+1 < len(v):
			i++
			b.WriteByte(v[i])
		case c == '\t' || c >= ' ' && c != 0x7f:
			b.WriteByte(c)
		default:
			return "", "", fmt.Errorf("bad character in quoted-string")
		}
	}
	return "", "", fmt.Errorf("unterminated quoted-string")
}

// parseTargeted parses a targeted cache-control field per RFC 9213 §2.1: a
// Structured Field Dictionary (RFC 8941 §3.2) of directives. A field that
// does not parse is ignored by the cache, which then falls back to the next
// field it understands. Only the members cdncache and CDNs use are read:
// keys, booleans, integers and tokens, with parameters skipped.
func parseTargeted(v string) (directives, error) {
	d := directives{}
	v = strings.Trim(v, " ")
	for v != "" {
		i := 0
		for i < len(v) && (v[i] >= 'a' && v[i] <= 'z' || v[i] >= '0' && v[i] <= '9' || strings.IndexByte("_-.*", v[i]) >= 0) {
			i++
		}
		key := v[:i]
		if key == "" || !(key[0] >= 'a' && key[0] <= 'z' || key[0] == '*') {
			return nil, fmt.Errorf("bad key at %q", v)
		}
		v = v[i:]
		arg := "?1"
		if strings.HasPrefix(v, "=") {
			j := strings.IndexAny(v, ";,")
			if j < 0 {
				j = len(v)
			}
			arg = strings.TrimSpace(v[1:j])
			if arg == "" || strings.ContainsAny(arg, " \t\"") {
				return nil, fmt.Errorf("bad value for %q", key)
			}
			v = v[j:]
		}
		for strings.HasPrefix(v, ";") { // parameters: skipped
			j := strings.IndexByte(v, ',')
			if j < 0 {
				j = len(v)
			}
			v = v[j:]
		}
		d[key] = arg
		v = strings.TrimLeft(v, " \t")
		if v == "" {
			break
		}
		if v[0] != ',' {
			return nil, fmt.Errorf("junk after %q", key)
		}
		v = strings.TrimLeft(v[1:], " \t")
		if v == "" {
			return nil, fmt.Errorf("trailing comma")
		}
	}
	return d, nil
}

// forbidsSharedStorage reports whether directives keep a shared cache
// from storing a response: no-store, or an unqualified private (RFC 9111
// §3 and §5.2.2.7). A qualified private="Set-Cookie" lets the rest be
// stored, so it does not count. In a Structured Field, a boolean directive
// is "?1" (private=?0 is false).
func (d directives) forbidsSharedStorage() bool {
	for _, k := range []string{"no-store", "private"} {
		if v, ok := d[k]; ok && (v == "" || v == "?1") {
			return true
		}
	}
	return false
}

// sharedStorable reports whether some shared cache could store a response
// with header h, and which field lets it: a cache that follows RFC 9213
// uses the first targeted field it understands (any "<target>-Cache-Control",
// or Surrogate-Control for the Edge Architecture caches) instead of
// Cache-Control; every other shared cache follows Cache-Control (RFC 9111).
// A response without Cache-Control is storable (heuristic freshness).
func sharedStorable(h http.Header) (bool, string) {
	for k, vs := range h {
		lk := strings.ToLower(k)
		if !strings.HasSuffix(lk, "-cache-control") && lk != "surrogate-control" && lk != "edge-control" {
			continue
		}
		var d directives
		var err error
		if lk == "surrogate-control" || lk == "edge-control" {
			d, err = parseCacheControl(strings.Join(vs, ", "))
		} else {
			d, err = parseTargeted(strings.Join(vs, ", "))
		}
		if err == nil && !d.forbidsSharedStorage() {
			return true, k + ": " + strings.Join(vs, ", ")
		}
	}
	cc := strings.Join(h.Values("Cache-Control"), ", ")
	d, err := parseCacheControl(cc)
	if err != nil || !d.forbidsSharedStorage() {
		return true, "Cache-Control: " + cc
	}
	return false, ""
}
