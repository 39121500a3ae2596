// Package pgtest starts throwaway PostgreSQL servers for tests.
//
// A test asks for a fresh database with [DB]; the first call in a test binary
// starts one shared cluster (initdb + postgres into a temporary directory, on
// a free loopback port, fsync off) that [Main] removes when the binary's tests
// end. Tests that need to control the server itself (stop it, start it late,
// restart it) ask for a dedicated one with [NewServer].
//
// Where the server binaries come from: initdb and postgres on PATH, else the
// newest /usr/lib/postgresql/<version>/bin that Debian's postgresql package
// installs. PostgreSQL refuses to run as root; when the tests run as root the
// server runs as the unprivileged "postgres" OS user.
//
// [PooledDB] and [NewBouncer] put a PgBouncer in transaction mode in front
// of a server (Debian's pgbouncer package), so that a suite can run both
// directly and through a transaction pooler ([Targets]).
//
// TEST_DATABASE_URL, when set, names an existing server to use instead: [DB]
// creates its databases there, and [NewServer] skips the test, since it cannot
// stop or start a server it does not own. With neither binaries nor
// TEST_DATABASE_URL, database tests skip with a message saying so, unless
// PGTEST_REQUIRE=1 is set (CI sets it), in which case they fail.
package pgtest

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/goleak"
)

// EnvURL names an existing PostgreSQL server to use instead of starting one.
const EnvURL = "TEST_DATABASE_URL"

// EnvRequire, set to 1, makes database tests fail rather than skip when no
// PostgreSQL is available.
const EnvRequire = "PGTEST_REQUIRE"

var (
	sharedMu  sync.Mutex
	shared    *Server // guarded by sharedMu; started on first use
	sharedErr error   // guarded by sharedMu; why the shared server is unavailable

	childrenMu sync.Mutex
	children   = map[child]struct{}{} // guarded by childrenMu; every server and bouncer not yet removed

	dbSeq atomic.Int64
)

// Main runs the package's tests, checks that no goroutine leaked (goleak),
// stops and removes every server pgtest started, and exits. Use it as the
// package's TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
// m is usually the *testing.M itself; anything with its Run method will do,
// for a TestMain that has more to set up or tear down.
func Main(m interface{ Run() int }, opts ...goleak.Option) {
	goleak.VerifyTestMain(cleanupRunner{m}, opts...)
}

type cleanupRunner struct{ m interface{ Run() int } }

func (r cleanupRunner) Run() int {
	code := r.m.Run()
	removeAll()
	return code
}

// child is a Server or Bouncer: a process of ours with its files.
type child interface{ remove() }

func register(c child) {
	childrenMu.Lock()
	children[c] = struct{}{}
	childrenMu.Unlock()
}

func unregister(c child) {
	childrenMu.Lock()
	delete(children, c)
	childrenMu.Unlock()
}

func removeAll() {
	childrenMu.Lock()
	all := make([]child, 0, len(children))
	for c := range children {
		all = append(all, c)
	}
	childrenMu.Unlock()
	for _, c := range all {
		c.remove()
	}
	removeTemplate()
}

// DB creates a fresh, empty database for the test and returns its connection
// string. The database is dropped when the test ends. Without a PostgreSQL to
// use, the test skips (or fails under PGTEST_REQUIRE=1).
func DB(t testing.TB) string {
	t.Helper()
	if url := os.Getenv(EnvURL); url != "" {
		return createDB(t, url)
	}
	s := sharedServer(t)
	return s.CreateDB(t)
}

// Shared returns the test binary's shared server, starting it on first use.
// Do not stop it: other tests use it; use [NewServer] for that.
func Shared(t testing.TB) *Server {
	t.Helper()
	if os.Getenv(EnvURL) != "" {
		Unavailable(t, "pgtest: "+EnvURL+" is set: the shared server is not ours to hand out")
	}
	return sharedServer(t)
}

func sharedServer(t testing.TB) *Server {
	t.Helper()
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if shared == nil && sharedErr == nil {
		s, err := newServer(true)
		if err != nil {
			sharedErr = err
		} else {
			shared = s
		}
	}
	if sharedErr != nil {
		Unavailable(t, sharedErr.Error())
	}
	return shared
}

// Unavailable skips the test because a real part it needs is missing (why
// says which), or fails it when PGTEST_REQUIRE=1, as CI runs: every
// test helper that needs an installed tool goes through it.
func Unavailable(t testing.TB, why string) {
	t.Helper()
	if os.Getenv(EnvRequire) == "1" {
		t.Fatalf("%s (and %s=1 forbids skipping)", why, EnvRequire)
	}
	t.Skip(why)
}

// createDB creates a uniquely named database through the server at adminURL
// and drops it when the test ends.
func createDB(t testing.TB, adminURL string) string {
	t.Helper()
	cfg, err := pgx.ParseConfig(adminURL)
	if err != nil {
		t.Fatalf("pgtest: parse %s: %v", EnvURL, err)
	}
	name := fmt.Sprintf("pgtest_%d_%d", os.Getpid(), dbSeq.Add(1))
	if err := adminExec(adminURL, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("pgtest: create database on %s:%d: %v", cfg.Host, cfg.Port, err)
	}
	t.Cleanup(func() {
		// The server may have been stopped by the test: a failed drop is no failure.
		_ = adminExec(adminURL, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	return replaceDBName(adminURL, name)
}

func adminExec(url, sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}

// replaceDBName returns url with its database set to name. It understands
// both URL and keyword/value connection strings.
func replaceDBName(url, name string) string {
	if strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://") {
		rest := url[strings.Index(url, "://")+3:]
		query := ""
		if i := strings.IndexByte(rest, '?'); i >= 0 {
			rest, query = rest[:i], rest[i:]
		}
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			rest = rest[:i]
		}
		return url[:strings.Index(url, "://")+3] + rest + "/" + name + query
	}
	return url + " dbname=" + name
}
