package shutdown

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/dedw3n/hardening/internal/testlog"
)

// childEnv makes the test binary act as the child process of
// TestSecondSignalForcesExitSubprocess instead of running the tests.
const childEnv = "SHUTDOWN_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		runChild()
		return
	}
	goleak.VerifyTestMain(m)
}

// runChild is a tiny program under the real signal and exit path: a hook
// that hangs, ignoring its context, and the default Exit (os.Exit).
func runChild() {
	c := New(Config{
		Timeout: 5 * time.Second,
		Logger:  slog.New(slog.NewTextHandler(os.Stderr, nil)),
	})
	c.Register("close-pool", func(context.Context) error { return nil })
	c.Register("flush-audit-log", func(context.Context) error {
		fmt.Println("stuck")
		time.Sleep(time.Hour)
		return nil
	})
	stop := c.HandleSignals()
	defer stop()
	fmt.Println("ready")
	<-c.Done()
	os.Exit(0)
}

// newLogger returns a logger writing text records into a buffer.
func newLogger() (*slog.Logger, *testlog.Buffer) {
	b := &testlog.Buffer{}
	return b.Text(), b
}

// discard is a logger for tests that do not look at the logs.
var discard = slog.New(slog.DiscardHandler)
