// Package testlog captures log output in tests: a Buffer that goroutines may
// write to concurrently, and slog loggers that write into it at every level.
package testlog

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
)

// Buffer collects output written from any goroutine. The zero Buffer is
// ready to use.
type Buffer struct {
	mu  sync.Mutex // protects buf
	buf bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Lines returns the lines that contain every one of subs.
func (b *Buffer) Lines(subs ...string) []string {
	var out []string
	for _, l := range strings.Split(b.String(), "\n") {
		ok := l != ""
		for _, s := range subs {
			ok = ok && strings.Contains(l, s)
		}
		if ok {
			out = append(out, l)
		}
	}
	return out
}

// Count returns how many times sub occurs in the output.
func (b *Buffer) Count(sub string) int { return strings.Count(b.String(), sub) }

// Text returns a logger writing text records of every level into b.
func (b *Buffer) Text() *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// JSON returns a logger writing JSON records of every level into b.
func (b *Buffer) JSON() *slog.Logger {
	return slog.New(slog.NewJSONHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
