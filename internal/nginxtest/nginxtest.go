// Package nginxtest starts a throwaway nginx for tests and benchmarks: its
// own prefix directory, configuration and ports, stopped when the test
// ends, the way internal/pgtest starts PostgreSQL. It runs Debian's
// /usr/sbin/nginx (package nginx-light or nginx). Without it, [Start]
// skips the test, or fails it when PGTEST_REQUIRE=1 (CI) forbids skipping.
package nginxtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dedw3n/hardening/internal/pgtest"
	"github.com/dedw3n/hardening/internal/testlog"
)

// Bin is where Debian installs nginx.
const Bin = "/usr/sbin/nginx"

// Available reports whether nginx is installed.
func Available() bool {
	_, err := os.Stat(Bin)
	return err == nil
}

// Server is an nginx started by a test.
type Server struct {
	// Prefix is the server's own directory, for cache paths and documents.
	Prefix string
	t      testing.TB
}

// New returns a Server with its prefix directory, not started yet, or
// skips the test (fails it under PGTEST_REQUIRE=1) when nginx is missing.
func New(t testing.TB) *Server {
	t.Helper()
	if !Available() {
		pgtest.Unavailable(t, "nginx is not installed at "+Bin+" (Debian package nginx-light)")
	}
	return &Server{Prefix: t.TempDir(), t: t}
}

// FreePort returns a loopback TCP port nothing listens on right now.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

const prelude = `%s
worker_processes 1;
pid %[2]s/nginx.pid;
error_log stderr warn;
events { worker_connections 256; }
http {
	access_log off;
	client_body_temp_path %[2]s/body;
	proxy_temp_path %[2]s/proxy;
	fastcgi_temp_path %[2]s/fastcgi;
	uwsgi_temp_path %[2]s/uwsgi;
	scgi_temp_path %[2]s/scgi;
%[3]s
}
`

// Start runs nginx with httpBlock as the body of its http block (servers
// listening on 127.0.0.1 at ports, maps, caches under s.Prefix), waits
// until every port accepts connections, and stops nginx when the test ends.
func (s *Server) Start(httpBlock string, ports ...int) {
	t := s.t
	t.Helper()
	user := "" // the user directive is for a root master only
	if os.Geteuid() == 0 {
		user = "user root;"
	}
	conf := filepath.Join(s.Prefix, "nginx.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, prelude, user, s.Prefix, httpBlock), 0o600); err != nil {
		t.Fatal(err)
	}
	stderr := &testlog.Buffer{}
	cmd := exec.Command(Bin, "-p", s.Prefix, "-c", conf, "-e", "stderr", "-g", "daemon off;")
	cmd.Stderr = stderr
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
	for _, port := range ports {
		waitListening(t, port, exited, stderr)
	}
}

// waitListening waits until port accepts connections, or fails when nginx
// exits first.
func waitListening(t testing.TB, port int, exited chan error, stderr *testlog.Buffer) {
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
