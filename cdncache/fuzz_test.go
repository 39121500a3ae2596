package cdncache

import (
	"net/http"
	"net/http/httptest"
	"path"
	"strings"
	"testing"
	"testing/fstest"
)

// FuzzParseRange: any Range value and size give ranges inside the object, a
// bounded number of them, and never a panic.
func FuzzParseRange(f *testing.F) {
	for _, s := range []string{
		"bytes=0-9", "bytes=-0", "bytes=-5", "bytes=5-", "bytes=5-2", "bytes=0-,0-,0-", "bytes=50-51,10-11,0-1",
		"bytes=99999999999999999999-", "bytes=0-99999999999999999999", "bytes=--1", "bytes=1--2", "items=0-1",
		"bytes=" + strings.Repeat("0-0,", 100), "bytes= , ,0-1", "BYTES=0-1", "bytes=-9223372036854775808",
		"bytes=0-1,-0,2-3", "bytes=", "bytes", "",
	} {
		f.Add(s, int64(100))
	}
	f.Add("bytes=0-", int64(0))
	f.Fuzz(func(t *testing.T, v string, size int64) {
		if size < 0 {
			size = -size
			if size < 0 {
				size = 0
			}
		}
		const maxRanges = 16
		ranges, res := parseRange(v, size, maxRanges)
		if res != rangeSatisfiable {
			if len(ranges) != 0 {
				t.Fatalf("%q: ranges returned with result %d", v, res)
			}
			return
		}
		if len(ranges) == 0 || len(ranges) > maxRanges {
			t.Fatalf("%q: %d ranges", v, len(ranges))
		}
		for _, r := range ranges {
			if r.start < 0 || r.length <= 0 || r.start+r.length > size || r.start+r.length < r.start {
				t.Fatalf("%q size %d: bad range %+v", v, size, r)
			}
		}
	})
}

// FuzzConditional drives the whole handler with arbitrary conditional and
// range headers: only the statuses RFC 9110 allows, and the precondition
// evaluation agrees with the response.
func FuzzConditional(f *testing.F) {
	content := strings.Repeat("0123456789", 10)
	fsys := fstest.MapFS{"a.txt": {Data: []byte(content), ModTime: fixtureTime}}
	h := New(Config{}, FS(fsys))
	E := contentETag(content)
	LM := fixtureTime.Format(http.TimeFormat)
	f.Add(E, "", "", "", "", "")
	f.Add("", E, "", "", "", "")
	f.Add("", "W/"+E, LM, "", "", "bytes=0-1")
	f.Add(`"x"`, "*", "", LM, E, "bytes=-0")
	f.Add("*", `"x", W/"y"`, "garbage", "Mon, 02 Jan 2006 15:04:05 GMT", LM, "bytes=0-1,5-6")
	f.Add(`W/"`, `"`, "", "", `W/"x"`, "bytes=0-,0-,0-")
	f.Add("", "", "Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994", "bytes=9-1")
	f.Fuzz(func(t *testing.T, ifMatch, ifNoneMatch, ims, ius, ifRange, rng string) {
		req := httptest.NewRequest("GET", "/a.txt", nil)
		set := func(k, v string) {
			if v != "" {
				req.Header[k] = []string{v}
			}
		}
		set("If-Match", ifMatch)
		set("If-None-Match", ifNoneMatch)
		set("If-Modified-Since", ims)
		set("If-Unmodified-Since", ius)
		set("If-Range", ifRange)
		set("Range", rng)

		cond, _ := checkPreconditions(req.Header, "GET", []string{E}, nil, fixtureTime)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case 200, 206, 304, 412, 416:
		default:
			t.Fatalf("status %d", rec.Code)
		}
		if want := map[precondition]int{condFailed: 412, condNotModified: 304}[cond]; want != 0 && rec.Code != want {
			t.Fatalf("precondition %d but status %d", cond, rec.Code)
		}
		if rec.Header().Get("Vary") != "Accept-Encoding" {
			t.Fatalf("no Vary on %d", rec.Code)
		}
		if rec.Code >= 400 && strings.Contains(rec.Header().Get("Cache-Control"), "public") {
			t.Fatalf("public error %d", rec.Code)
		}
		if rec.Code == 200 && rec.Body.String() != content {
			t.Fatalf("200 with a wrong body")
		}
		if rec.Code == 416 && rec.Header().Get("Content-Range") != "bytes */100" {
			t.Fatalf("416 Content-Range %q", rec.Header().Get("Content-Range"))
		}
		_ = ifRangeAllows(req.Header, E)
	})
}

// FuzzAcceptEncoding: any Accept-Encoding gives q-values in [0, 1].
func FuzzAcceptEncoding(f *testing.F) {
	for _, s := range []string{"gzip", "br;q=0.9, gzip;q=0.8", "*;q=0", "gzip;q=1.001", "x-gzip, zstd;Q=0.1", ",;=,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q := acceptedCodings([]string{s})
		for _, v := range q {
			if v < 0 || v > 1 {
				t.Fatalf("%q: q %v", s, q)
			}
		}
		if len(codingOrder(q)) > numCodings {
			t.Fatal("too many codings")
		}
	})
}

// FuzzCleanKey: a key that passes never climbs out or names a dotfile.
func FuzzCleanKey(f *testing.F) {
	for _, s := range []string{"/a.txt", "/../a", "/a/..", "/.env", "/a\\b", "/a\x00", "//a", "/a/./b", "/%2e%2e"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		key, status := cleanKey(p)
		if status != 0 {
			if key != "" || (status != 400 && status != 404) {
				t.Fatalf("%q: %q %d", p, key, status)
			}
			return
		}
		if strings.HasPrefix(key, "/") || strings.ContainsAny(key, "\\\x00") {
			t.Fatalf("%q: key %q", p, key)
		}
		for _, seg := range strings.Split(key, "/") {
			if seg == "" || seg[0] == '.' {
				t.Fatalf("%q: segment %q", p, seg)
			}
		}
	})
}

// FuzzPolicyKey: the Middleware chooses its policy by the key of the file
// http.FileServer serves for the same path: no "." or ".." segment, no
// empty segment, no leading slash, and a fixed point.
func FuzzPolicyKey(f *testing.F) {
	for _, s := range []string{"/private/x", "//private/x", "/./private/x", "/public/../private/x", "/a/", "", "..", "/../..//a/./"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		key := policyKey(p)
		if strings.HasPrefix(key, "/") {
			t.Fatalf("%q: key %q has a leading slash", p, key)
		}
		for seg := range strings.SplitSeq(strings.TrimSuffix(key, "/"), "/") {
			if key != "" && (seg == "" || seg == "." || seg == "..") {
				t.Fatalf("%q: key %q has segment %q", p, key, seg)
			}
		}
		if again := policyKey("/" + key); again != key {
			t.Fatalf("%q: key %q, then %q", p, key, again)
		}
		if served := strings.TrimPrefix(path.Clean("/"+p), "/"); strings.TrimSuffix(key, "/") != served && served != "." {
			t.Fatalf("%q: key %q, file server serves %q", p, key, served)
		}
	})
}
