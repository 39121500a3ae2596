package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Options configure a dedicated server from [NewServer].
type Options struct {
	// Stopped leaves the server initialised but not running, so that a test
	// can start it late (a database that comes up after the service does).
	Stopped bool
}

// Server is a throwaway PostgreSQL cluster owned by the test binary.
type Server struct {
	dir  string // temporary directory holding data/ and the log
	port int

	mu  sync.Mutex // protects cmd and done
	cmd *exec.Cmd  // the running postmaster, nil when stopped
	// done is closed when cmd has exited.
	done chan struct{}
}

// NewServer starts a dedicated server for the test, removed when the test
// ends. Unlike the shared server it may be stopped, started and restarted.
// With TEST_DATABASE_URL set the test skips: that server is not ours to stop.
func NewServer(t testing.TB, opts Options) *Server {
	t.Helper()
	if os.Getenv(EnvURL) != "" {
		Unavailable(t, "pgtest: this test stops and starts its own PostgreSQL, which "+EnvURL+" does not allow")
	}
	s, err := newServer(!opts.Stopped)
	if err != nil {
		Unavailable(t, err.Error())
	}
	t.Cleanup(s.remove)
	return s
}

// URL returns the connection string of the server's "postgres" database.
// It stays the same across Stop and Start.
func (s *Server) URL() string { return s.urlFor("postgres") }

// Addr returns the server's host:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

func (s *Server) urlFor(db string) string {
	return fmt.Sprintf("postgres://postgres@%s/%s?sslmode=disable", s.Addr(), db)
}

// CreateDB creates a fresh database on the server, dropped when the test ends
// (if the server is still running then), and returns its connection string.
func (s *Server) CreateDB(t testing.TB) string {
	t.Helper()
	return createDB(t, s.URL())
}

// Start starts a stopped server and waits until it accepts connections.
// Starting a running server is a no-op.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return nil
	}
	return s.startLocked()
}

// Stop shuts the server down ("fast" mode: open connections are terminated)
// and waits until it has exited. Stopping a stopped server is a no-op.
func (s *Server) Stop() error { return s.stop(syscall.SIGINT) }

// Kill stops the server the way a crash would ("immediate" mode: no
// checkpoint, connections dropped at once).
func (s *Server) Kill() error { return s.stop(syscall.SIGQUIT) }

// Restart stops the server and starts it again on the same port and data.
func (s *Server) Restart() error {
	if err := s.Stop(); err != nil {
		return err
	}
	return s.Start()
}

func (s *Server) stop(sig syscall.Signal) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return nil
	}
	_ = s.cmd.Process.Signal(sig)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd, s.done = nil, nil
	return nil
}

func (s *Server) startLocked() error {
	bin, err := binDir()
	if err != nil {
		return err
	}
	data := filepath.Join(s.dir, "data")
	cmd := exec.Command(filepath.Join(bin, "postgres"),
		"-D", data,
		"-p", strconv.Itoa(s.port),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories="+s.dir,
		// fsync off makes a test cluster fast and loses data only if the
		// machine itself crashes. Commits stay synchronous, so a test that
		// kills the server (Kill) still finds every acknowledged write.
		"-c", "fsync=off",
		"-c", "full_page_writes=off",
		"-c", "max_connections=300",
		"-c", "shared_buffers=64MB",
		"-c", "log_min_messages=warning",
	)
	cmd, done, err := startChild("postgres", cmd, s.ping, filepath.Join(s.dir, "postgres.log"))
	if err != nil {
		return err
	}
	s.cmd, s.done = cmd, done
	return nil
}

// startChild starts cmd (the program name) as the server OS user with its
// output appended to logs[0], killed if the test binary dies, and waits up
// to 30 s for ready to succeed, saying why (with the end of its logs) when
// the process exits or never gets ready. done is closed once the process
// has exited; on a failed start nothing is left running.
func startChild(name string, cmd *exec.Cmd, ready func() error, logs ...string) (*exec.Cmd, chan struct{}, error) {
	logf, err := os.OpenFile(logs[0], os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("pgtest: open %s log: %w", name, err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: serverCredential(), // PostgreSQL and PgBouncer refuse to run as root
		Pdeathsig:  syscall.SIGKILL,    // no orphaned server if the test binary dies
		Setpgid:    true,               // the terminal's ^C reaches the test binary, which stops us itself
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, nil, fmt.Errorf("pgtest: start %s: %w", name, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(done)
	}()
	if err := waitUp(name, done, ready, logs); err != nil {
		_ = cmd.Process.Kill()
		<-done
		return nil, nil, err
	}
	return cmd, done, nil
}

// waitUp polls ready until it succeeds, the process exits or 30 s pass.
func waitUp(name string, exited <-chan struct{}, ready func() error, logs []string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := ready()
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("pgtest: %s exited during start-up: %s", name, tail(logs))
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pgtest: %s not ready after 30s: %v: %s", name, err, tail(logs))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ping is ready once the server accepts a connection.
func (s *Server) ping() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.URL())
	if err == nil {
		conn.Close(context.Background())
	}
	return err
}

// tail returns the last 2000 bytes of the files named, end to end.
func tail(paths []string) string {
	var all []byte
	for _, p := range paths {
		data, _ := os.ReadFile(p)
		all = append(all, data...)
	}
	if len(all) > 2000 {
		all = all[len(all)-2000:]
	}
	return strings.TrimSpace(string(all))
}

// remove stops the server and deletes its files.
func (s *Server) remove() {
	_ = s.Stop()
	os.RemoveAll(s.dir)
	unregister(s)
}

// newServer makes a cluster from the binary's initdb template on a free port,
// and starts it when start is true.
func newServer(start bool) (*Server, error) {
	tmpl, err := template()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	if out, err := exec.Command("cp", "-a", tmpl, filepath.Join(dir, "data")).CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pgtest: copy cluster template: %v: %s", err, out)
	}
	if err := chownServer(dir); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s := &Server{dir: dir}
	register(s)
	// A free port can be taken between our probe and the server's bind: retry.
	for attempt := 0; ; attempt++ {
		if s.port, err = freePort(); err != nil {
			s.remove()
			return nil, err
		}
		if !start {
			return s, nil
		}
		if err = s.Start(); err == nil {
			return s, nil
		}
		if attempt == 2 {
			s.remove()
			return nil, err
		}
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgtest: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

var (
	templateMu  sync.Mutex
	templateDir string // guarded by templateMu; the temporary dir holding the initdb'd template
	templateErr error  // guarded by templateMu
)

// template runs initdb once per test binary and returns the data directory
// that each server copies: initdb is the slow part of making a cluster.
func template() (string, error) {
	templateMu.Lock()
	defer templateMu.Unlock()
	if templateDir != "" || templateErr != nil {
		return filepath.Join(templateDir, "data"), templateErr
	}
	bin, err := binDir()
	if err != nil {
		templateErr = err
		return "", err
	}
	dir, err := os.MkdirTemp("", "pgtest-template-")
	if err != nil {
		templateErr = fmt.Errorf("pgtest: %w", err)
		return "", templateErr
	}
	if err := chownServer(dir); err != nil {
		os.RemoveAll(dir)
		templateErr = err
		return "", err
	}
	data := filepath.Join(dir, "data")
	cmd := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres",
		"--auth=trust", "--no-sync", "--encoding=UTF8", "--locale=C")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: serverCredential()}
	if out, err := cmd.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		templateErr = fmt.Errorf("pgtest: initdb: %v: %s", err, out)
		return "", templateErr
	}
	templateDir = dir
	return data, nil
}

func removeTemplate() {
	templateMu.Lock()
	defer templateMu.Unlock()
	if templateDir != "" {
		os.RemoveAll(templateDir)
		templateDir = ""
	}
}

// binDir finds the directory holding initdb and postgres.
func binDir() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if _, err := exec.LookPath("postgres"); err == nil {
			return filepath.Dir(p), nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "postgres")); err == nil {
			return d, nil
		}
	}
	return "", errors.New("pgtest: no PostgreSQL server binaries (initdb, postgres) on PATH or under /usr/lib/postgresql/*/bin, and " + EnvURL + " is not set; install Debian's postgresql package")
}

func version(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

// serverCredential is who the server runs as: the "postgres" OS user when we
// are root (PostgreSQL refuses to run as root), otherwise ourselves.
func serverCredential() *syscall.Credential {
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil // initdb then says why it refuses
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}
}

func chownServer(dir string) error {
	c := serverCredential()
	if c == nil {
		return nil
	}
	err := filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, int(c.Uid), int(c.Gid))
	})
	if err != nil {
		return fmt.Errorf("pgtest: hand %s to the postgres user: %w", dir, err)
	}
	return nil
}
