package seamtest

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSharedStorable(t *testing.T) {
	cases := []struct {
		name string
		h    http.Header
		want bool
	}{
		{"no Cache-Control: heuristic", http.Header{}, true},
		{"public", http.Header{"Cache-Control": {"public, max-age=60"}}, true},
		{"no-store", http.Header{"Cache-Control": {"no-store"}}, false},
		{"private", http.Header{"Cache-Control": {"private, no-cache"}}, false},
		{"PRIVATE in capitals", http.Header{"Cache-Control": {"PRIVATE"}}, false},
		{"qualified private stores the rest", http.Header{"Cache-Control": {`private="Set-Cookie", max-age=60`}}, true},
		{"quoted comma", http.Header{"Cache-Control": {`no-cache="a, b", no-store`}}, false},
		{"unparsable Cache-Control is ignored", http.Header{"Cache-Control": {`no-store "x"`}}, true},
		{"CDN-Cache-Control wins", http.Header{"Cache-Control": {"private, no-store"}, "Cdn-Cache-Control": {"public, max-age=86400"}}, true},
		{"CDN-Cache-Control no-store leaves other caches to Cache-Control", http.Header{"Cache-Control": {"public"}, "Cdn-Cache-Control": {"no-store"}}, true},
		{"both no-store", http.Header{"Cache-Control": {"private"}, "Cdn-Cache-Control": {"no-store"}}, false},
		{"invalid targeted field falls back", http.Header{"Cache-Control": {"no-store"}, "Cdn-Cache-Control": {"Max-Age=5"}}, false},
		{"private=?0 is not private", http.Header{"Cache-Control": {"no-store"}, "Cdn-Cache-Control": {"private=?0"}}, true},
		{"vendor targeted field", http.Header{"Cache-Control": {"no-store"}, "Cloudflare-Cdn-Cache-Control": {"max-age=60"}}, true},
		{"Surrogate-Control", http.Header{"Cache-Control": {"no-store"}, "Surrogate-Control": {"max-age=60"}}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, why := sharedStorable(tc.h)
			assert.Equal(t, tc.want, got, why)
		})
	}
}

// FuzzCacheControl: the parsers never panic, and what parses has lower-case
// token names, so that directive lookups cannot be fooled by case.
func FuzzCacheControl(f *testing.F) {
	for _, s := range []string{"public, max-age=60", `private="Set-Cookie", no-store`, "no-store;a=1, max-age=9", "", ",,", `a="\"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		for _, parse := range []func(string) (directives, error){parseCacheControl, parseTargeted} {
			d, err := parse(v)
			if err != nil {
				continue
			}
			for k := range d {
				if k != strings.ToLower(k) || !isToken(k) {
					t.Fatalf("%q: directive %q", v, k)
				}
			}
		}
		_, _ = sharedStorable(http.Header{"Cache-Control": {v}, "Cdn-Cache-Control": {v}})
	})
}
