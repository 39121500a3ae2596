package shutdown

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

func BenchmarkReadinessCached(b *testing.B) {
	c := New(Config{Logger: discard})
	c.AddCheck("database", func(context.Context) error { return nil })
	c.AddCheck("sessions", func(context.Context) error { return nil })
	h := c.Readiness()
	req := httptest.NewRequest(http.MethodGet, "/readyz", nil)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatal(rec.Code)
		}
	}
}

func BenchmarkSanitize(b *testing.B) {
	msg := errors.New(`failed to connect to postgres://app:pw@db:5432/market (host=db user=app password=hunter2): dial tcp 10.0.0.1:5432: connect: connection refused`).Error()
	b.ReportAllocs()
	for b.Loop() {
		_ = sanitize(msg)
	}
}

func BenchmarkShutdown10Hooks(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		c := New(Config{Logger: discard})
		for range 10 {
			c.Register("hook", func(context.Context) error { return nil })
		}
		if _, err := c.Shutdown(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}
