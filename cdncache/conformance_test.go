package cdncache

import (
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestConformance checks the handler against RFC 9110 (semantics) and
// RFC 9111 (caching) on a 100-byte text object a.txt, over real HTTP.
func TestConformance(t *testing.T) {
	h := New(Config{}, Dir(fixtureDir(t)))
	t.Cleanup(func() { h.Close() })
	srv := serve(t, h)
	c := client(t)

	E := contentETag(fixtureText)
	LM := fixtureTime.Format(http.TimeFormat)
	before := fixtureTime.Add(-time.Hour).Format(http.TimeFormat)
	after := fixtureTime.Add(time.Hour).Format(http.TimeFormat)
	weakE := "W/" + E
	const cc = "public, max-age=300"

	type hdrs = map[string]string
	cases := []struct {
		name    string
		method  string
		path    string
		req     hdrs
		status  int
		want    hdrs     // exact header values
		absent  []string // headers that must not be sent
		body    string   // exact body when set
		bodyLen int      // exact body length when > 0
		noBody  bool     // the body must be empty
	}{
		{name: "RFC9110 9.3.1 GET sends the object with validators and policy", path: "/a.txt", status: 200,
			want: hdrs{"ETag": E, "Last-Modified": LM, "Cache-Control": cc, "Accept-Ranges": "bytes", "Content-Length": "100", "Content-Type": "text/plain; charset=utf-8"},
			body: fixtureText},
		{name: "RFC9110 9.3.2 HEAD sends GET's headers without body", method: "HEAD", path: "/a.txt", status: 200,
			want: hdrs{"ETag": E, "Last-Modified": LM, "Content-Length": "100", "Cache-Control": cc}, noBody: true},
		{name: "RFC9110 8.8.3 a zero-length object has a content ETag", path: "/empty.txt", status: 200,
			want: hdrs{"Content-Length": "0", "ETag": contentETag("")}, noBody: true},

		// §13.1.1 If-Match
		{name: "RFC9110 13.1.1 If-Match current tag proceeds", path: "/a.txt", req: hdrs{"If-Match": E}, status: 200, bodyLen: 100},
		{name: "RFC9110 13.1.1 If-Match in a list proceeds", path: "/a.txt", req: hdrs{"If-Match": `"x", ` + E}, status: 200, bodyLen: 100},
		{name: "RFC9110 13.1.1 If-Match * proceeds for an existing object", path: "/a.txt", req: hdrs{"If-Match": "*"}, status: 200, bodyLen: 100},
		{name: "RFC9110 13.1.1 If-Match other tag is 412", path: "/a.txt", req: hdrs{"If-Match": `"other"`}, status: 412,
			want: hdrs{"Cache-Control": "no-store"}, absent: []string{"ETag"}},
		{name: "RFC9110 13.1.1 If-Match uses strong comparison: weak tag is 412", path: "/a.txt", req: hdrs{"If-Match": weakE}, status: 412},
		{name: "RFC9110 13.1.1 malformed If-Match is 412", path: "/a.txt", req: hdrs{"If-Match": `abc`}, status: 412},
		// §13.1.4 If-Unmodified-Since
		{name: "RFC9110 13.1.4 If-Unmodified-Since before mtime is 412", path: "/a.txt", req: hdrs{"If-Unmodified-Since": before}, status: 412},
		{name: "RFC9110 13.1.4 If-Unmodified-Since at mtime proceeds", path: "/a.txt", req: hdrs{"If-Unmodified-Since": LM}, status: 200},
		{name: "RFC9110 13.1.4 invalid If-Unmodified-Since is ignored", path: "/a.txt", req: hdrs{"If-Unmodified-Since": "yesterday"}, status: 200},
		{name: "RFC9110 13.2.2 step 1: If-Unmodified-Since ignored when If-Match present", path: "/a.txt",
			req: hdrs{"If-Match": E, "If-Unmodified-Since": before}, status: 200},
		{name: "RFC9110 13.2.2 step 1 before step 3: failed If-Match wins over matching If-None-Match", path: "/a.txt",
			req: hdrs{"If-Match": `"other"`, "If-None-Match": E}, status: 412},
		{name: "RFC9110 13.2.2 step 2 before step 3: failed If-Unmodified-Since wins over If-None-Match", path: "/a.txt",
			req: hdrs{"If-Unmodified-Since": before, "If-None-Match": E}, status: 412},
		{name: "RFC9110 13.2.2 steps 1 and 3: If-Match passes, If-None-Match matches: 304", path: "/a.txt",
			req: hdrs{"If-Match": E, "If-None-Match": E}, status: 304},
		{name: "RFC9110 13.2.2 steps 2 and 4: If-Unmodified-Since passes, If-Modified-Since at mtime: 304", path: "/a.txt",
			req: hdrs{"If-Unmodified-Since": after, "If-Modified-Since": LM}, status: 304},
		{name: "RFC9110 13.2.2 steps 1 and 4: If-Match passes, modified since: 200", path: "/a.txt",
			req: hdrs{"If-Match": "*", "If-Modified-Since": before}, status: 200},
		{name: "RFC9110 13.2.2 all four pass: 304 from If-None-Match", path: "/a.txt",
			req: hdrs{"If-Match": E, "If-Unmodified-Since": after, "If-None-Match": "W/" + E, "If-Modified-Since": before}, status: 304},
		// §13.1.2 If-None-Match
		{name: "RFC9110 13.1.2 If-None-Match current tag is 304 with ETag, Cache-Control, Vary and no body", path: "/a.txt",
			req: hdrs{"If-None-Match": E}, status: 304, want: hdrs{"ETag": E, "Cache-Control": cc},
			absent: []string{"Content-Type", "Content-Length", "Content-Encoding", "Content-Range"}, noBody: true},
		{name: "RFC9110 13.1.2 If-None-Match uses weak comparison", path: "/a.txt", req: hdrs{"If-None-Match": weakE}, status: 304, want: hdrs{"ETag": E}},
		{name: "RFC9110 13.1.2 If-None-Match list", path: "/a.txt", req: hdrs{"If-None-Match": `"x", W/"y",` + E}, status: 304},
		{name: "RFC9110 13.1.2 If-None-Match *", path: "/a.txt", req: hdrs{"If-None-Match": "*"}, status: 304, want: hdrs{"ETag": E}},
		{name: "RFC9110 13.1.2 If-None-Match other tag sends the object", path: "/a.txt", req: hdrs{"If-None-Match": `"x"`}, status: 200, bodyLen: 100},
		{name: "RFC9110 13.1.2 HEAD with If-None-Match is 304", method: "HEAD", path: "/a.txt", req: hdrs{"If-None-Match": E}, status: 304},
		{name: "RFC9110 13.1.2 malformed If-None-Match sends the object", path: "/a.txt", req: hdrs{"If-None-Match": `W/x, "`}, status: 200},
		// §13.1.3 If-Modified-Since
		{name: "RFC9110 13.1.3 If-Modified-Since at mtime is 304", path: "/a.txt", req: hdrs{"If-Modified-Since": LM}, status: 304,
			want: hdrs{"ETag": E, "Cache-Control": cc}},
		{name: "RFC9110 13.1.3 If-Modified-Since after mtime is 304", path: "/a.txt", req: hdrs{"If-Modified-Since": after}, status: 304},
		{name: "RFC9110 13.1.3 If-Modified-Since before mtime sends the object", path: "/a.txt", req: hdrs{"If-Modified-Since": before}, status: 200},
		{name: "RFC9110 13.1.3 invalid If-Modified-Since is ignored", path: "/a.txt", req: hdrs{"If-Modified-Since": "not a date"}, status: 200},
		{name: "RFC9110 13.2.2 step 3: If-Modified-Since ignored when If-None-Match present", path: "/a.txt",
			req: hdrs{"If-None-Match": `"x"`, "If-Modified-Since": after}, status: 200},
		// §14 Range
		{name: "RFC9110 14.1.2 first-last range is 206 with Content-Range", path: "/a.txt", req: hdrs{"Range": "bytes=0-9"}, status: 206,
			want: hdrs{"Content-Range": "bytes 0-9/100", "Content-Length": "10", "ETag": E, "Cache-Control": cc, "Content-Type": "text/plain; charset=utf-8"},
			body: "0123456789"},
		{name: "RFC9110 14.1.2 suffix range", path: "/a.txt", req: hdrs{"Range": "bytes=-5"}, status: 206, want: hdrs{"Content-Range": "bytes 95-99/100"}, body: "56789"},
		{name: "RFC9110 14.1.2 open-ended range", path: "/a.txt", req: hdrs{"Range": "bytes=98-"}, status: 206, want: hdrs{"Content-Range": "bytes 98-99/100"}, body: "89"},
		{name: "RFC9110 14.1.2 last-pos past the end is clamped", path: "/a.txt", req: hdrs{"Range": "bytes=95-1000"}, status: 206, want: hdrs{"Content-Range": "bytes 95-99/100"}},
		{name: "RFC9110 14.1.2 suffix longer than the object is the whole object", path: "/a.txt", req: hdrs{"Range": "bytes=-1000"}, status: 206, want: hdrs{"Content-Range": "bytes 0-99/100"}},
		{name: "RFC9110 14.1.2 overflowing last-pos is clamped", path: "/a.txt", req: hdrs{"Range": "bytes=0-99999999999999999999999"}, status: 206, want: hdrs{"Content-Range": "bytes 0-99/100"}},
		{name: "RFC9110 14.1.2 bytes unit is case-insensitive, OWS allowed", path: "/a.txt", req: hdrs{"Range": "Bytes= 0-1 , 4-5"}, status: 206},
		{name: "RFC9110 14.1.1 bytes=-0 is unsatisfiable: 416 with bytes */len", path: "/a.txt", req: hdrs{"Range": "bytes=-0"}, status: 416,
			want: hdrs{"Content-Range": "bytes */100", "Cache-Control": "no-store"}, absent: []string{"ETag"}},
		{name: "RFC9110 14.1.1 first-pos at the end is unsatisfiable", path: "/a.txt", req: hdrs{"Range": "bytes=100-"}, status: 416, want: hdrs{"Content-Range": "bytes */100"}},
		{name: "RFC9110 14.1.1 overflowing first-pos is unsatisfiable", path: "/a.txt", req: hdrs{"Range": "bytes=99999999999999999999999-"}, status: 416},
		{name: "RFC9110 14.1.1 any range of an empty object is unsatisfiable", path: "/empty.txt", req: hdrs{"Range": "bytes=0-"}, status: 416, want: hdrs{"Content-Range": "bytes */0"}},
		{name: "RFC9110 14.1.2 last < first is invalid: 416", path: "/a.txt", req: hdrs{"Range": "bytes=5-2"}, status: 416},
		{name: "RFC9110 14.1.2 garbage spec: 416", path: "/a.txt", req: hdrs{"Range": "bytes=a-b"}, status: 416},
		{name: "RFC9110 14.1.1 an unsatisfiable range among satisfiable ones is dropped", path: "/a.txt", req: hdrs{"Range": "bytes=-0,0-1"}, status: 206,
			want: hdrs{"Content-Range": "bytes 0-1/100"}, body: "01"},
		{name: "RFC9110 14.2 unknown range unit is ignored: 200", path: "/a.txt", req: hdrs{"Range": "items=0-5"}, status: 200, bodyLen: 100},
		{name: "RFC9110 14.2 too many ranges are refused", path: "/a.txt", req: hdrs{"Range": "bytes=" + strings.Repeat("0-0,", 40) + "1-1"}, status: 416},
		{name: "RFC9110 14.2 more than two overlapping ranges are refused", path: "/a.txt", req: hdrs{"Range": "bytes=0-,0-,0-"}, status: 416},
		{name: "RFC9110 14.2 many small ranges out of order are refused", path: "/a.txt", req: hdrs{"Range": "bytes=50-51,10-11,0-1"}, status: 416},
		{name: "RFC9110 14.2 Range on HEAD answers GET's headers", method: "HEAD", path: "/a.txt", req: hdrs{"Range": "bytes=0-9"}, status: 206,
			want: hdrs{"Content-Range": "bytes 0-9/100", "Content-Length": "10"}, noBody: true},
		// §13.1.5 If-Range
		{name: "RFC9110 13.1.5 If-Range matching strong tag honours Range", path: "/a.txt", req: hdrs{"Range": "bytes=0-1", "If-Range": E}, status: 206},
		{name: "RFC9110 13.1.5 If-Range other tag sends the whole object", path: "/a.txt", req: hdrs{"Range": "bytes=0-1", "If-Range": `"x"`}, status: 200, bodyLen: 100},
		{name: "RFC9110 13.1.5 If-Range weak tag never matches", path: "/a.txt", req: hdrs{"Range": "bytes=0-1", "If-Range": weakE}, status: 200, bodyLen: 100},
		{name: "RFC9110 13.1.5 If-Range equal date sends the whole object (8.8.2.2: a file time is a weak validator)", path: "/a.txt", req: hdrs{"Range": "bytes=0-1", "If-Range": LM}, status: 200, bodyLen: 100},
		{name: "RFC9110 13.1.5 If-Range other date sends the whole object", path: "/a.txt", req: hdrs{"Range": "bytes=0-1", "If-Range": after}, status: 200},
		{name: "RFC9110 13.1.5 If-Range failing also skips an unsatisfiable Range", path: "/a.txt", req: hdrs{"Range": "bytes=-0", "If-Range": `"x"`}, status: 200},
		{name: "RFC9110 13.2.2 step 3 before step 5: If-None-Match match with Range is 304", path: "/a.txt", req: hdrs{"Range": "bytes=0-1", "If-None-Match": E}, status: 304},
		{name: "RFC9110 13.2.2 step 1 before step 5: failed If-Match with Range is 412", path: "/a.txt", req: hdrs{"Range": "bytes=0-1", "If-Match": `"x"`}, status: 412},
		// Errors (RFC 9111 §3, §5.2.2)
		{name: "RFC9111 5.2.2.5 404 is no-store", path: "/missing.txt", status: 404, want: hdrs{"Cache-Control": "no-store"}, absent: []string{"ETag", "Last-Modified"}},
		{name: "RFC9110 15.5.6 POST is 405 with Allow, no-store", method: "POST", path: "/a.txt", status: 405, want: hdrs{"Allow": "GET, HEAD", "Cache-Control": "no-store"}},
		{name: "RFC9110 15.5.6 OPTIONS is 405", method: "OPTIONS", path: "/a.txt", status: 405},
		{name: "RFC9110 15.5.5 dotfile is 404", path: "/.env", status: 404},
		{name: "RFC9110 15.5.5 directory is 404, no listing", path: "/sub/", status: 404},
		{name: "RFC9110 15.5.5 directory without slash is 404", path: "/sub", status: 404},
		{name: "RFC9110 15.5.5 root is 404", path: "/", status: 404},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			method := tc.method
			if method == "" {
				method = "GET"
			}
			resp, body := do(t, c, method, srv.URL+tc.path, tc.req)
			require.Equal(t, tc.status, resp.StatusCode, "status; body %q", body)
			assert.Equal(t, "Accept-Encoding", resp.Header.Get("Vary"), "RFC9110 12.5.5 Vary on every response")
			for k, v := range tc.want {
				assert.Equal(t, v, resp.Header.Get(k), "header %s", k)
			}
			for _, k := range tc.absent {
				assert.Empty(t, resp.Header.Values(k), "header %s must be absent", k)
			}
			if tc.status >= 400 {
				assert.NotContains(t, resp.Header.Get("Cache-Control"), "public", "RFC9111 errors are never publicly cached")
				assert.NotEmpty(t, resp.Header.Get("Cache-Control"))
			}
			if tc.status == 304 {
				assert.Empty(t, body)
				assert.NotEmpty(t, resp.Header.Get("ETag"), "RFC9110 15.4.5 304 carries ETag")
				assert.NotEmpty(t, resp.Header.Get("Cache-Control"), "RFC9110 15.4.5 304 carries Cache-Control")
			}
			if tc.body != "" {
				assert.Equal(t, tc.body, body)
			}
			if tc.bodyLen > 0 {
				assert.Len(t, body, tc.bodyLen)
			}
			if tc.noBody {
				assert.Empty(t, body)
			}
		})
	}
}

// TestConformanceMultipart checks a multipart/byteranges 206 (RFC 9110 §14.6).
func TestConformanceMultipart(t *testing.T) {
	h := New(Config{}, Dir(fixtureDir(t)))
	t.Cleanup(func() { h.Close() })
	srv := serve(t, h)
	resp, body := do(t, client(t), "GET", srv.URL+"/a.txt", map[string]string{"Range": "bytes=0-1, 10-12, -2"})
	require.Equal(t, 206, resp.StatusCode)
	assert.Equal(t, "Accept-Encoding", resp.Header.Get("Vary"))
	assert.Empty(t, resp.Header.Get("Content-Range"), "multipart has Content-Range per part only")
	assert.Equal(t, contentETag(fixtureText), resp.Header.Get("ETag"))
	mt, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	require.NoError(t, err)
	require.Equal(t, "multipart/byteranges", mt)
	assert.Equal(t, resp.ContentLength, int64(len(body)), "Content-Length is exact")

	mr := multipart.NewReader(strings.NewReader(body), params["boundary"])
	want := []struct{ cr, data string }{{"bytes 0-1/100", "01"}, {"bytes 10-12/100", "012"}, {"bytes 98-99/100", "89"}}
	for _, w := range want {
		p, err := mr.NextPart()
		require.NoError(t, err)
		assert.Equal(t, w.cr, p.Header.Get("Content-Range"))
		assert.Equal(t, "text/plain; charset=utf-8", p.Header.Get("Content-Type"))
		data, err := io.ReadAll(p)
		require.NoError(t, err)
		assert.Equal(t, w.data, string(data))
	}
	_, err = mr.NextPart()
	assert.Error(t, err, "exactly three parts")
}
