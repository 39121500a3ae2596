package sessionstore

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dedw3n/hardening/internal/testlog"
)

func TestWriterHijackAndInformational(t *testing.T) {
	store := NewMemoryStore(MemoryConfig{PruneInterval: -1})
	defer store.Close()
	m, err := NewManager(store, Config{Secrets: [][]byte{testSecret}, Cookie: CookieConfig{Insecure: true}, Logger: (&testlog.Buffer{}).Text()})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		s := FromContext(r.Context())
		require.NoError(t, s.Put("upgraded", true))
		conn, brw, err := http.NewResponseController(w).Hijack()
		if !assert.NoError(t, err) {
			return
		}
		defer conn.Close()
		assert.ErrorIs(t, s.Put("late", true), ErrCommitted, "committed before the hijack")
		brw.WriteString("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 8\r\n\r\nhijacked")
		brw.Flush()
	})
	mux.HandleFunc("/hints", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		assert.NoError(t, FromContext(r.Context()).Put("k", 1), "a 1xx does not start the response")
		io.WriteString(w, "done")
	})
	srv := httptest.NewServer(m.Middleware(mux))
	defer srv.Close()

	res, err := http.Get(srv.URL + "/hints")
	require.NoError(t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	assert.Equal(t, "done", string(body))
	assert.Len(t, res.Cookies(), 1)

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "GET /ws HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, err)
	res, err = http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	body, _ = io.ReadAll(res.Body)
	assert.Equal(t, "hijacked", string(body))
	assert.Equal(t, uint64(2), m.Stats().Writes, "the hijacked request's session was saved")
}
