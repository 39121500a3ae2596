// Package httpjson writes a JSON response that no cache keeps and no
// browser sniffs: shutdown's readiness body and the marketplace's API
// share it, so both answer with the same headers.
package httpjson

import (
	"encoding/json"
	"net/http"
)

// Write answers v as JSON with status code, Content-Type application/json,
// Cache-Control no-store and X-Content-Type-Options nosniff. An encoding
// error after the status is sent is dropped: the client sees a cut body.
func Write(w http.ResponseWriter, code int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
