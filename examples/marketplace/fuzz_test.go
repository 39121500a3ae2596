package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/dedw3n/hardening/configcheck"
)

// testApp wires the real server in-process (memory sessions, an upstream
// that refuses connections) and shuts it down when the test ends.
func testApp(t testing.TB) http.Handler {
	t.Helper()
	return testAppParts(t).routes()
}

// testAppParts is testApp's app itself, for tests that reach its parts.
func testAppParts(t testing.TB) *app {
	t.Helper()
	rep := rules().Load(configcheck.Map(map[string]string{
		"COINGECKO_BASE_URL": "http://127.0.0.1:1/api/v3",
		"SESSION_SECRET":     "fuzz-secret-0123456789abcdefghijklmnopqrstuvwxyz",
	}))
	if err := rep.Err(); err != nil {
		t.Fatal(err)
	}
	a, err := newApp(context.Background(), configFrom(rep), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = a.coord.Shutdown(context.Background()) })
	return a
}

// FuzzJSONRoutes sends arbitrary bodies to the routes that parse JSON: the
// answer is a 2xx or a 4xx with a JSON body, never a 5xx or a panic.
func FuzzJSONRoutes(f *testing.F) {
	h := testApp(f)
	for _, seed := range []string{
		`{"product_id":"mug","quantity":2}`, `{"product_id":"mug","quantity":0}`, `{"product_id":"nope","quantity":1}`,
		`{"product_id":"mug","quantity":1e400}`, `{"product_id":"mug","quantity":-1}`, `{"product_id":"mug","quantity":"2"}`,
		`{"user":"ada"}`, `{"user":""}`, `{"user":"` + strings.Repeat("x", 65) + `"}`, `{"user":"\u0000"}`,
		`{`, `[]`, `null`, `{"a":1}{"b":2}`, "\xff\xfe", ``,
	} {
		f.Add(uint8(0), seed)
		f.Add(uint8(1), seed)
	}
	f.Fuzz(func(t *testing.T, route uint8, body string) {
		path := "/api/cart/items"
		if route%2 == 1 {
			path = "/login"
		}
		req := httptest.NewRequest("POST", path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("POST %s %q: status %d: %s", path, body, rec.Code, rec.Body)
		}
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("POST %s %q: status %d, body is not JSON: %q", path, body, rec.Code, rec.Body)
		}
	})
}
