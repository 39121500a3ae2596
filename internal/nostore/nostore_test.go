package nostore

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestIfCookie(t *testing.T) {
	full := func() http.Header {
		return http.Header{
			"Cache-Control":                []string{"public, max-age=60"},
			"Cdn-Cache-Control":            []string{"public, max-age=86400"},
			"Cloudflare-Cdn-Cache-Control": []string{"max-age=86400"},
			"Akamai-Cache-Control":         []string{"max-age=86400"},
			"Surrogate-Control":            []string{"max-age=86400"},
			"Edge-Control":                 []string{"cache-maxage=1d"},
			"Surrogate-Key":                []string{"static"},
			"Cache-Tag":                    []string{"static"},
			"X-Purge":                      []string{"static"},
			"Etag":                         []string{`"abc"`},
			"Vary":                         []string{"Accept-Encoding"},
		}
	}
	AddPurgeTag("x-purge") // a handler's own tag field, named in any case
	AddPurgeTag("X-Purge") // twice
	assert.Len(t, *purgeTags.Load(), 5)
	t.Run("without a cookie nothing changes", func(t *testing.T) {
		h := full()
		assert.False(t, IfCookie(h))
		assert.Equal(t, full(), h)
	})
	t.Run("with a cookie only the browser may keep it", func(t *testing.T) {
		h := full()
		h["Set-Cookie"] = []string{"session=x"}
		assert.True(t, IfCookie(h))
		want := http.Header{
			"Cache-Control": []string{"private, no-store"},
			"Set-Cookie":    []string{"session=x"},
			"Etag":          []string{`"abc"`},
			"Vary":          []string{"Accept-Encoding"},
		}
		assert.Equal(t, want, h)
	})
	t.Run("header names in any case", func(t *testing.T) {
		h := http.Header{"Set-Cookie": {"a=b"}, "cdn-cache-control": {"public"}, "surrogate-control": {"max-age=9"}}
		IfCookie(h)
		assert.Equal(t, http.Header{"Set-Cookie": {"a=b"}, "Cache-Control": {CacheControl}}, h)

		// net/http sends a key as it is written: a cookie under a key that
		// is not canonical counts, and no other Cache-Control stays.
		h = http.Header{"set-cookie": {"a=b"}, "cache-control": {"public, max-age=60"}, "surrogate-key": {"x"}}
		assert.True(t, IfCookie(h))
		assert.Equal(t, http.Header{"set-cookie": {"a=b"}, "Cache-Control": {CacheControl}}, h)
	})
	t.Run("Untarget keeps Cache-Control", func(t *testing.T) {
		h := full()
		Untarget(h)
		assert.Equal(t, http.Header{"Cache-Control": {"public, max-age=60"}, "Etag": {`"abc"`}, "Vary": {"Accept-Encoding"}}, h)
	})
}

func TestIsTargeted(t *testing.T) {
	for k, want := range map[string]bool{
		"Cache-Control": false, "-Cache-Control": false, "Cdn-Cache-Control": true,
		"X-Cache-Control": true, "Surrogate-Control": true, "Cache-Status": false, "Control": false,
	} {
		assert.Equal(t, want, isTargeted(k), k)
	}
}
