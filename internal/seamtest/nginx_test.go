package seamtest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// nginxBin is where Debian's nginx packages install the server.
const nginxBin = "/usr/sbin/nginx"

// nginxConf is a proxy_cache configuration with two front servers for one
// origin:
//   - "stock" is nginx's default proxy_cache: it follows Cache-Control and
//     Vary, and never stores a response that sets a cookie;
//   - "cdn" behaves like a CDN that follows RFC 9213 and RFC 9111 §7.3 to
//     the letter: a targeted CDN-Cache-Control replaces Cache-Control,
//     Set-Cookie alone does not prevent storage, and Vary: Cookie is ignored
//     (as several CDNs do). Only "private" or "no-store" in the field it
//     follows keeps it from storing.
const nginxConf = `
%s
worker_processes 1;
pid %[2]s/nginx.pid;
error_log stderr warn;
events { worker_connections 64; }
http {
	access_log off;
	client_body_temp_path %[2]s/body;
	proxy_temp_path %[2]s/proxy;
	fastcgi_temp_path %[2]s/fastcgi;
	uwsgi_temp_path %[2]s/uwsgi;
	scgi_temp_path %[2]s/scgi;
	proxy_cache_path %[2]s/cache-stock keys_zone=stock:1m;
	proxy_cache_path %[2]s/cache-cdn keys_zone=cdn:1m;

	map "$upstream_http_cdn_cache_control|$upstream_http_cache_control" $cdn_no_store {
		default 0;
		"~*^\|.*(private|no-store)" 1;
		"~*^[^|]*(private|no-store)" 1;
	}

	server {
		listen 127.0.0.1:%[3]d;
		location / {
			proxy_pass %[5]s;
			proxy_cache stock;
			proxy_cache_valid 200 206 10m;
			add_header X-Cache-Status $upstream_cache_status always;
		}
	}
	server {
		listen 127.0.0.1:%[4]d;
		location / {
			proxy_pass %[5]s;
			proxy_cache cdn;
			proxy_ignore_headers Cache-Control Expires Set-Cookie Vary X-Accel-Expires;
			proxy_no_cache $cdn_no_store;
			proxy_cache_valid 200 206 10m;
			add_header X-Cache-Status $upstream_cache_status always;
		}
	}
}
`

// nginx is a throwaway nginx started by a test.
type nginx struct {
	stock, cdn string // base URLs of the two front servers
}

// startNginx starts nginx with nginxConf in front of origin and stops it
// when the test ends. Without nginx the test skips, or fails when
// PGTEST_REQUIRE=1 (CI) forbids skipping.
func startNginx(t *testing.T, origin string) *nginx {
	t.Helper()
	if _, err := os.Stat(nginxBin); err != nil {
		why := "nginx is not installed at " + nginxBin + " (Debian package nginx-light)"
		if os.Getenv("PGTEST_REQUIRE") == "1" {
			t.Fatalf("%s, and PGTEST_REQUIRE=1 forbids skipping", why)
		}
		t.Skip(why)
	}
	prefix := t.TempDir()
	user := "" // the user directive is for a root master only
	if os.Geteuid() == 0 {
		user = "user root;"
	}
	stockPort, cdnPort := freePort(t), freePort(t)
	conf := filepath.Join(prefix, "nginx.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, nginxConf, user, prefix, stockPort, cdnPort, origin), 0o600); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(nginxBin, "-p", prefix, "-c", conf, "-e", "stderr", "-g", "daemon off;")
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	})
	for _, port := range []int{stockPort, cdnPort} {
		waitListening(t, port, exited, &stderr)
	}
	return &nginx{stock: fmt.Sprintf("http://127.0.0.1:%d", stockPort), cdn: fmt.Sprintf("http://127.0.0.1:%d", cdnPort)}
}

// waitListening waits until nginx accepts connections on port, or fails
// when it exits first.
func waitListening(t *testing.T, port int, exited chan error, stderr *bytes.Buffer) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			conn.Close()
			return
		}
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("nginx exited: %v: %s", err, strings.TrimSpace(stderr.String()))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx does not listen on %d: %s", port, stderr.String())
		}
	}
}

// freePort returns a TCP port nothing listens on right now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
