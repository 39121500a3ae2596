package seamtest

import (
	"fmt"
	"testing"

	"github.com/dedw3n/hardening/internal/nginxtest"
)

// frontConf is the http block of a proxy_cache configuration with two
// front servers for one origin:
//   - "stock" is nginx's default proxy_cache: it follows Cache-Control and
//     Vary, and never stores a response that sets a cookie;
//   - "cdn" behaves like a CDN that follows RFC 9213 and RFC 9111 §7.3 to
//     the letter: a targeted CDN-Cache-Control replaces Cache-Control,
//     Set-Cookie alone does not prevent storage, and Vary: Cookie is ignored
//     (as several CDNs do). Only "private" or "no-store" in the field it
//     follows keeps it from storing.
const frontConf = `
	proxy_cache_path %[1]s/cache-stock keys_zone=stock:1m;
	proxy_cache_path %[1]s/cache-cdn keys_zone=cdn:1m;

	map "$upstream_http_cdn_cache_control|$upstream_http_cache_control" $cdn_no_store {
		default 0;
		"~*^\|.*(private|no-store)" 1;
		"~*^[^|]*(private|no-store)" 1;
	}

	server {
		listen 127.0.0.1:%[2]d;
		location / {
			proxy_pass %[4]s;
			proxy_cache stock;
			proxy_cache_valid 200 206 10m;
			add_header X-Cache-Status $upstream_cache_status always;
		}
	}
	server {
		listen 127.0.0.1:%[3]d;
		location / {
			proxy_pass %[4]s;
			proxy_cache cdn;
			proxy_ignore_headers Cache-Control Expires Set-Cookie Vary X-Accel-Expires;
			proxy_no_cache $cdn_no_store;
			proxy_cache_valid 200 206 10m;
			add_header X-Cache-Status $upstream_cache_status always;
		}
	}
`

// fronts are the base URLs of the two front servers.
type fronts struct{ stock, cdn string }

// startFronts starts nginx with frontConf in front of origin.
func startFronts(t *testing.T, origin string) fronts {
	t.Helper()
	s := nginxtest.New(t)
	stock, cdn := nginxtest.FreePort(t), nginxtest.FreePort(t)
	s.Start(fmt.Sprintf(frontConf, s.Prefix, stock, cdn, origin), stock, cdn)
	return fronts{stock: fmt.Sprintf("http://127.0.0.1:%d", stock), cdn: fmt.Sprintf("http://127.0.0.1:%d", cdn)}
}
