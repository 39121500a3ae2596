package shutdown

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
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

// logBuffer collects log output from concurrent goroutines.
type logBuffer struct {
	mu  sync.Mutex // protects buf
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newLogger returns a logger writing text records into a buffer.
func newLogger() (*slog.Logger, *logBuffer) {
	b := &logBuffer{}
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})), b
}

// discard is a logger for tests that do not look at the logs.
var discard = slog.New(slog.DiscardHandler)
