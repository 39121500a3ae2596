package shutdown

import (
	"context"
	"fmt"
	"io"
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

// childBlockedLog, as childEnv's value, gives the child a log writer that
// blocks.
const childBlockedLog = "blocked-log"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		runChild()
		return
	}
	goleak.VerifyTestMain(m)
}

// runChild is a tiny program under the real signal and exit path: a hook
// that hangs, ignoring its context, and the default Exit (os.Exit).
//
// With childEnv set to childBlockedLog, its log writer blocks from the first
// record on (a stalled log shipper) after printing "blocked".
func runChild() {
	var logTo io.Writer = os.Stderr
	if os.Getenv(childEnv) == childBlockedLog {
		w := newBlockingWriter()
		go func() { <-w.entered; fmt.Println("blocked") }()
		logTo = w
	}
	c := New(Config{
		Timeout: 5 * time.Second,
		Logger:  slog.New(slog.NewTextHandler(logTo, nil)),
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
