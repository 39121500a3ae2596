// Package promtool finds Prometheus's command-line tools for the
// marketplace's tests: promtool (lint metrics, check and test rules) and
// the prometheus server. A missing tool skips the test, or fails it when
// PGTEST_REQUIRE=1 (as CI sets), like a missing PostgreSQL.
package promtool

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/dedw3n/hardening/internal/pgtest"
)

// Path returns the path of the named tool ("promtool" or "prometheus").
func Path(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		pgtest.Unavailable(t, name+" not found (install Debian's prometheus package)")
	}
	return p
}

// Run runs promtool with args and stdin, failing the test with its output
// when it exits non-zero; it returns the combined output.
func Run(t testing.TB, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(Path(t, "promtool"), args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}
