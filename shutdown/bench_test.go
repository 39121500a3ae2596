package shutdown

import (
	"context"
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
