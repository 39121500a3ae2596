//go:build unix

package shutdown

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dedw3n/hardening/internal/testlog"
)

// TestSignalsStartShutdownAndSecondForcesExit sends real signals to this
// process; the injected Exit records the code instead of exiting.
func TestSignalsStartShutdownAndSecondForcesExit(t *testing.T) {
	logger, logs := newLogger()
	codes := make(chan int, 1)
	c := New(Config{
		Signals: []os.Signal{syscall.SIGUSR1},
		Exit:    func(code int) { codes <- code },
		Logger:  logger,
	})
	entered := make(chan struct{})
	release := make(chan struct{})
	c.Register("close-pool", func(context.Context) error { return nil })
	c.Register("flush-audit-log", func(context.Context) error {
		close(entered)
		<-release // stuck, ignoring its context
		return nil
	})
	stop := c.HandleSignals()

	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGUSR1))
	<-entered
	assert.True(t, c.Draining())
	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGUSR1))

	select {
	case code := <-codes:
		assert.Equal(t, 128+int(syscall.SIGUSR1), code)
	case <-time.After(5 * time.Second):
		t.Fatal("second signal did not force an exit")
	}
	out := logs.String()
	assert.Contains(t, out, "second signal, exiting now")
	assert.Contains(t, out, "stuck_in=flush-audit-log")

	close(release)
	stop() // waits for the sequence the first signal started
	r := c.Stats().LastReport
	require.NotNil(t, r)
	assert.Equal(t, "signal user defined signal 1", r.Trigger)
	assert.Len(t, r.Hooks, 2)
	stop() // idempotent
}

func TestStopWithoutSignals(t *testing.T) {
	c := New(Config{Signals: []os.Signal{syscall.SIGUSR2}, Logger: discard})
	stop := c.HandleSignals()
	stop()
	assert.False(t, c.Draining())
}

// TestSecondSignalForcesExitSubprocess checks the real exit path: the test
// binary re-executes itself as a child (see runChild in main_test.go) whose
// hook hangs; the first signal starts the shutdown, the second must end the
// process at once with 128+signal, naming the hook.
func TestSecondSignalForcesExitSubprocess(t *testing.T) {
	for _, tc := range []struct {
		sig  syscall.Signal
		code int
	}{
		{syscall.SIGTERM, 143},
		{syscall.SIGINT, 130},
	} {
		t.Run(tc.sig.String(), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), childEnv+"=1")
			var stderr testlog.Buffer
			cmd.Stderr = &stderr
			stdout, err := cmd.StdoutPipe()
			require.NoError(t, err)
			require.NoError(t, cmd.Start())
			lines := bufio.NewScanner(stdout)

			expect := func(want string) {
				t.Helper()
				require.True(t, lines.Scan(), "child ended before printing %q; stderr:\n%s", want, stderr.String())
				require.Equal(t, want, lines.Text())
			}
			expect("ready")
			require.NoError(t, cmd.Process.Signal(tc.sig))
			expect("stuck")
			require.NoError(t, cmd.Process.Signal(tc.sig))
			_, _ = io.Copy(io.Discard, stdout)

			err = cmd.Wait()
			var exitErr *exec.ExitError
			require.ErrorAs(t, err, &exitErr, "stderr:\n%s", stderr.String())
			assert.Equal(t, tc.code, exitErr.ExitCode())
			assert.Contains(t, stderr.String(), "second signal, exiting now")
			assert.Contains(t, stderr.String(), "stuck_in=flush-audit-log")
			assert.Contains(t, stderr.String(), "exit_code="+strconv.Itoa(tc.code))
			assert.NoError(t, ctx.Err(), "the child had to be killed")
		})
	}
}

// blockingWriter is a stalled log shipper: every Write whose record
// matches (every record when match is nil) blocks until release is closed.
// entered is closed by the first Write that blocks.
type blockingWriter struct {
	match   func(record string) bool
	once    sync.Once
	entered chan struct{}
	release chan struct{}
}

func newBlockingWriter() *blockingWriter {
	return &blockingWriter{entered: make(chan struct{}), release: make(chan struct{})}
}

func (w *blockingWriter) Write(p []byte) (int, error) {
	if w.match == nil || w.match(string(p)) {
		w.once.Do(func() { close(w.entered) })
		<-w.release
	}
	return len(p), nil
}

// TestSecondSignalExitsWhenLogWriterBlocks is the regression test for a
// forced exit that logged synchronously first, and its class: whichever
// records the log writer blocks on, and wherever the sequence is, the
// second signal ends the process within 1 s.
func TestSecondSignalExitsWhenLogWriterBlocks(t *testing.T) {
	writers := map[string]func(string) bool{
		"every record":          nil,
		"error records":         func(r string) bool { return strings.Contains(r, "level=ERROR") },
		"the forced exit's one": func(r string) bool { return strings.Contains(r, "second signal") },
	}
	for wname, match := range writers {
		for _, where := range []string{"stuck hook", "drain delay"} {
			t.Run(wname+"/"+where, func(t *testing.T) {
				w := newBlockingWriter()
				w.match = match
				secondSignalExits(t, w, where == "drain delay")
			})
		}
	}
}

// secondSignalExits sends two real signals to this process, the second once
// the sequence has begun (in its drain delay, or in a hook that hangs), and
// asserts that the injected Exit is called within 1 s of the second.
func secondSignalExits(t *testing.T, w *blockingWriter, inDrain bool) {
	codes := make(chan int, 1)
	cfg := Config{
		Signals: []os.Signal{syscall.SIGUSR1},
		Exit:    func(code int) { codes <- code },
		Logger:  slog.New(slog.NewTextHandler(w, nil)),
	}
	release := make(chan struct{})
	entered := make(chan struct{})
	if inDrain {
		cfg.DrainDelay = 300 * time.Millisecond
		close(entered)
	}
	c := New(cfg)
	c.Register("flush-audit-log", func(context.Context) error {
		if !inDrain {
			close(entered)
		}
		<-release // ignores its context
		return nil
	})
	stop := c.HandleSignals()
	defer stop()
	defer close(w.release)
	defer close(release)

	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGUSR1))
	// Draining is set before the first record: the first signal has been
	// taken, so the second cannot merge with it.
	require.Eventually(t, c.Draining, 5*time.Second, time.Millisecond)
	if !inDrain && w.match == nil {
		<-w.entered // the sequence is stuck in its first record, before the hook
	} else {
		<-entered
	}
	sent := time.Now()
	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGUSR1))
	select {
	case code := <-codes:
		assert.Equal(t, 128+int(syscall.SIGUSR1), code)
		assert.Less(t, time.Since(sent), time.Second)
	case <-time.After(5 * time.Second):
		t.Fatal("the second signal did not force an exit while the log writer blocked")
	}
}

// TestSecondSignalExitsWhenLogWriterBlocksSubprocess runs the same fault
// under the real exit path (os.Exit) in a child process whose log writer
// blocks from its first record on.
func TestSecondSignalExitsWhenLogWriterBlocksSubprocess(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+childBlockedLog)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	lines := bufio.NewScanner(stdout)
	expect := func(want string) {
		t.Helper()
		require.True(t, lines.Scan(), "child ended before printing %q", want)
		require.Equal(t, want, lines.Text())
	}
	expect("ready")
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	expect("blocked")
	sent := time.Now()
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	_, _ = io.Copy(io.Discard, stdout)

	err = cmd.Wait()
	var exitErr *exec.ExitError
	require.ErrorAs(t, err, &exitErr)
	assert.Equal(t, 143, exitErr.ExitCode())
	assert.Less(t, time.Since(sent), time.Second, "the forced exit must not wait for the log")
	assert.NoError(t, ctx.Err(), "the child had to be killed")
}
