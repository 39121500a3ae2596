package pgtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// BouncerBin is where Debian's pgbouncer package installs PgBouncer; a
// pgbouncer on PATH is used first.
const BouncerBin = "/usr/sbin/pgbouncer"

var (
	sharedBouncerMu  sync.Mutex
	sharedBouncer    *Bouncer // guarded by sharedBouncerMu; in front of the shared server
	sharedBouncerErr error    // guarded by sharedBouncerMu
)

// Bouncer is a PgBouncer in transaction mode (pool_mode=transaction) in
// front of a [Server]: consecutive transactions of one client may run on
// different server connections, and nothing session-level (prepared
// statements, SET, advisory locks, temporary tables) survives between them,
// as behind Neon's or Supabase's poolers. Every database of the server is
// reachable through it under the same name; authentication is trust, like
// the server's.
type Bouncer struct {
	dir    string // temporary directory holding the ini, user list and log
	port   int
	target string // host:port of the PostgreSQL server

	mu   sync.Mutex    // protects cmd and done
	cmd  *exec.Cmd     // the running pgbouncer, nil when stopped
	done chan struct{} // closed when cmd has exited
}

// NewBouncer starts a PgBouncer in front of s for the test, removed when
// the test ends. Without pgbouncer installed the test skips (or fails under
// PGTEST_REQUIRE=1).
func NewBouncer(t testing.TB, s *Server) *Bouncer {
	t.Helper()
	b, err := newBouncer(s.Addr())
	if err != nil {
		Unavailable(t, err.Error())
	}
	t.Cleanup(b.remove)
	return b
}

// PooledDB creates a fresh database on the shared server, like [DB], and
// returns its connection string through the binary's shared PgBouncer
// (transaction mode), started on first use.
func PooledDB(t testing.TB) string {
	t.Helper()
	if os.Getenv(EnvURL) != "" {
		Unavailable(t, "pgtest: "+EnvURL+" is set: pgtest puts PgBouncer only in front of servers it starts")
	}
	s := sharedServer(t)
	sharedBouncerMu.Lock()
	if sharedBouncer == nil && sharedBouncerErr == nil {
		sharedBouncer, sharedBouncerErr = newBouncer(s.Addr())
	}
	b, err := sharedBouncer, sharedBouncerErr
	sharedBouncerMu.Unlock()
	if err != nil {
		Unavailable(t, err.Error())
	}
	return b.Via(s.CreateDB(t))
}

// Target is one way of reaching a test database: directly, or through a
// transaction pooler. Suites run once per target with [Targets].
type Target struct {
	Name string
	// Pooled is true behind the transaction pooler: the code under test
	// must be told so (its Pooler setting), since 127.0.0.1 is not a host
	// name any detection recognises.
	Pooled bool
	// DB creates a fresh database for the test and returns its URL.
	DB func(testing.TB) string
}

// Targets lists the ways a suite reaches PostgreSQL: "direct" ([DB]) and
// "pgbouncer" ([PooledDB]).
func Targets() []Target {
	return []Target{
		{Name: "direct", DB: DB},
		{Name: "pgbouncer", Pooled: true, DB: PooledDB},
	}
}

// Addr returns the bouncer's host:port.
func (b *Bouncer) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(b.port)) }

// Via returns serverURL (a URL of the server behind the bouncer, as
// [Server.URL] or [Server.CreateDB] return) pointed at the bouncer instead.
func (b *Bouncer) Via(serverURL string) string {
	return strings.Replace(serverURL, "@"+b.target+"/", "@"+b.Addr()+"/", 1)
}

// Start starts a stopped bouncer on its port and waits until it listens.
// Starting a running bouncer is a no-op.
func (b *Bouncer) Start() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cmd != nil {
		return nil
	}
	return b.startLocked()
}

// Stop shuts the bouncer down at once (SIGTERM: client and server
// connections are dropped, as in a crash or a redeploy of the pooler) and
// waits until it has exited. Stopping a stopped bouncer is a no-op.
func (b *Bouncer) Stop() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cmd == nil {
		return nil
	}
	_ = b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-b.done:
	case <-time.After(30 * time.Second):
		_ = b.cmd.Process.Kill()
		<-b.done
	}
	b.cmd, b.done = nil, nil
	return nil
}

// Restart stops the bouncer and starts it again on the same port.
func (b *Bouncer) Restart() error {
	if err := b.Stop(); err != nil {
		return err
	}
	return b.Start()
}

func bouncerBin() (string, error) {
	if p, err := exec.LookPath("pgbouncer"); err == nil {
		return p, nil
	}
	if _, err := os.Stat(BouncerBin); err == nil {
		return BouncerBin, nil
	}
	return "", fmt.Errorf("pgtest: no pgbouncer on PATH or at %s; install Debian's pgbouncer package", BouncerBin)
}

// newBouncer writes a configuration for target into a temporary directory
// and starts PgBouncer on a free port.
func newBouncer(target string) (*Bouncer, error) {
	if _, err := bouncerBin(); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "pgtest-bouncer-")
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	b := &Bouncer{dir: dir, target: target}
	register(b)
	// A free port can be taken between our probe and PgBouncer's bind: retry.
	for attempt := 0; ; attempt++ {
		if b.port, err = freePort(); err == nil {
			err = b.writeConfig()
		}
		if err == nil {
			err = b.Start()
		}
		if err == nil {
			return b, nil
		}
		if attempt == 2 {
			b.remove()
			return nil, err
		}
	}
}

func (b *Bouncer) writeConfig() error {
	host, port, err := net.SplitHostPort(b.target)
	if err != nil {
		return fmt.Errorf("pgtest: bouncer target %q: %w", b.target, err)
	}
	ini := fmt.Sprintf(`[databases]
* = host=%s port=%s

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %d
unix_socket_dir =
auth_type = trust
auth_file = %s
admin_users = postgres
pool_mode = transaction
max_client_conn = 1000
default_pool_size = 20
ignore_startup_parameters = extra_float_digits
server_login_retry = 1
query_wait_timeout = 30
logfile = %s
`, host, port, b.port, filepath.Join(b.dir, "userlist.txt"), filepath.Join(b.dir, "pgbouncer.log"))
	files := map[string]string{
		"pgbouncer.ini": ini,
		// trust still needs the user listed; the password is not checked.
		"userlist.txt": `"postgres" ""` + "\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(b.dir, name), []byte(body), 0o644); err != nil {
			return fmt.Errorf("pgtest: write %s: %w", name, err)
		}
	}
	return chownServer(b.dir)
}

func (b *Bouncer) startLocked() error {
	bin, err := bouncerBin()
	if err != nil {
		return err
	}
	cmd, done, err := startChild("pgbouncer", exec.Command(bin, filepath.Join(b.dir, "pgbouncer.ini")), b.listening,
		filepath.Join(b.dir, "stderr.log"), filepath.Join(b.dir, "pgbouncer.log"))
	if err != nil {
		return err
	}
	b.cmd, b.done = cmd, done
	return nil
}

// listening is ready once the bouncer accepts TCP connections: it does not
// need the server behind it to be up for that.
func (b *Bouncer) listening() error {
	c, err := net.DialTimeout("tcp", b.Addr(), time.Second)
	if err == nil {
		c.Close()
	}
	return err
}

// remove stops the bouncer and deletes its files.
func (b *Bouncer) remove() {
	_ = b.Stop()
	os.RemoveAll(b.dir)
	unregister(b)
}
