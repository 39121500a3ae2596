package shutdown

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testTimeout is the short ReadHeaderTimeout, BodyReadTimeout and
// SendTimeout of these tests; dropSlack bounds how long after its timeout a
// hostile connection may still be held (generous: the race detector and a
// shared 2-core machine).
const (
	testTimeout = 300 * time.Millisecond
	dropSlack   = 1500 * time.Millisecond
)

// smallBuffers shrinks the kernel send buffer of every accepted connection,
// so that a client that stops reading stalls the server's writes after a few
// KiB instead of megabytes.
type smallBuffers struct{ net.Listener }

func (l smallBuffers) Accept() (net.Conn, error) {
	conn, err := l.Listener.Accept()
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(4 << 10)
	}
	return conn, err
}

// serveBounded runs h on a server started by Serve, with d as its
// ReadHeaderTimeout, BodyReadTimeout and SendTimeout, and returns its
// address. The server is shut down at cleanup.
func serveBounded(t *testing.T, d time.Duration, h http.Handler) string {
	t.Helper()
	c := New(Config{
		Timeout:           3 * time.Second,
		Logger:            discard,
		ReadHeaderTimeout: d,
		BodyReadTimeout:   d,
		SendTimeout:       d,
	})
	ln := listen(t)
	serveErr := make(chan error, 1)
	go func() { serveErr <- c.Serve(&http.Server{Handler: h}, smallBuffers{ln}) }()
	t.Cleanup(func() {
		_, _ = c.Shutdown(context.Background())
		<-serveErr
	})
	return ln.Addr().String()
}

// dial opens a raw connection whose kernel receive buffer is fixed at
// 128 KiB. Smaller buffers make loopback TCP (whose segments are 64 KiB)
// wait on its persist timer instead of on the reader.
func dial(t *testing.T, addr string) *net.TCPConn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	tc := conn.(*net.TCPConn)
	require.NoError(t, tc.SetReadBuffer(128<<10))
	t.Cleanup(func() { _ = conn.Close() })
	return tc
}

// trickle writes first, then next every 50 ms, until a write fails or stop
// is closed.
func trickle(conn net.Conn, first, next string, stop <-chan struct{}) {
	if _, err := io.WriteString(conn, first); err != nil {
		return
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
			if _, err := io.WriteString(conn, next); err != nil {
				return
			}
		}
	}
}

// untilClosed reads conn until the server closes it, for at most 10 s, and
// reports what it read and whether the server closed the connection (rather
// than the 10 s passing).
func untilClosed(conn net.Conn) (string, bool) {
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, err := io.ReadAll(conn)
	var ne net.Error
	return string(b), !(errors.As(err, &ne) && ne.Timeout())
}

// slowHeaders sends headers that never end and waits for the server to
// close the connection; it returns how long the connection was held.
func slowHeaders(t *testing.T, addr string, stop <-chan struct{}, dialed chan<- struct{}) (string, time.Duration) {
	conn := dial(t, addr)
	if dialed != nil {
		dialed <- struct{}{}
	}
	start := time.Now()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer conn.Close()
	wg.Go(func() { trickle(conn, "GET /ping HTTP/1.1\r\nHost: x\r\n", "X-A: b\r\n", stop) })
	got, closed := untilClosed(conn)
	assert.True(t, closed, "the server kept a connection with endless headers open")
	return got, time.Since(start)
}

// slowBody sends a body a byte every 50 ms and waits for the server to
// close the connection; it returns the answer and how long the connection
// was held.
func slowBody(t *testing.T, addr string, stop <-chan struct{}, dialed chan<- struct{}) (string, time.Duration) {
	conn := dial(t, addr)
	if dialed != nil {
		dialed <- struct{}{}
	}
	start := time.Now()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer conn.Close()
	wg.Go(func() {
		trickle(conn, "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n", "a", stop)
	})
	got, closed := untilClosed(conn)
	assert.True(t, closed, "the server kept a connection with a trickling body open")
	return got, time.Since(start)
}

func TestSlowlorisHeadersAreDropped(t *testing.T) {
	addr := serveBounded(t, testTimeout, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		t.Error("a request whose headers never end reached the handler")
	}))
	got, held := slowHeaders(t, addr, nil, nil)
	assert.Empty(t, got, "no answer to headers that never end")
	assert.GreaterOrEqual(t, held, testTimeout/2, "dropped by the header timeout, not sooner")
	assert.Less(t, held, testTimeout+dropSlack, "held for %v", held)
	t.Logf("slowloris headers: dropped after %v (ReadHeaderTimeout %v)", held, testTimeout)
}

// readBody reads the request body, reports the result on results and
// answers 408 when the body could not be read.
func readBody(results chan<- bodyResult) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		n, err := io.Copy(io.Discard, r.Body)
		select {
		case results <- bodyResult{n, err, time.Since(start)}:
		default: // nobody is counting
		}
		if err != nil {
			http.Error(w, "request body too slow", http.StatusRequestTimeout)
		}
	}
}

type bodyResult struct {
	n    int64
	err  error
	took time.Duration
}

func TestTricklingBodyIsDropped(t *testing.T) {
	results := make(chan bodyResult, 1)
	addr := serveBounded(t, testTimeout, readBody(results))
	_, held := slowBody(t, addr, nil, nil)

	r := <-results
	assert.Less(t, r.n, int64(100000))
	assert.ErrorIs(t, r.err, os.ErrDeadlineExceeded, "the body must not be read to its end")
	assert.GreaterOrEqual(t, r.took, testTimeout-50*time.Millisecond)
	assert.Less(t, r.took, testTimeout+dropSlack, "the handler read for %v", r.took)
	assert.Less(t, held, testTimeout+dropSlack, "held for %v", held)
	t.Logf("trickling body: the handler's read failed after %v, the connection was dropped after %v (BodyReadTimeout %v)", r.took, held, testTimeout)
}

// The body deadline ends with the body: a handler that has read its body
// and then works longer than BodyReadTimeout keeps its context, and the
// keep-alive connection serves the next request.
func TestBodyDeadlineEndsWithTheBody(t *testing.T) {
	ctxErrs := make(chan error, 1)
	addr := serveBounded(t, testTimeout, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if r.Method == http.MethodPost {
			time.Sleep(2 * testTimeout) // outlive the body deadline
			ctxErrs <- r.Context().Err()
		}
		_, _ = fmt.Fprintf(w, "%s %d %s", r.Method, len(b), r.RemoteAddr)
	}))
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}

	resp, err := client.Post("http://"+addr+"/", "text/plain", strings.NewReader("hello"))
	require.NoError(t, err)
	first, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.NoError(t, <-ctxErrs, "the request context must survive the body deadline")
	post, from, _ := strings.Cut(string(first), " 5 ")
	assert.Equal(t, "POST", post)

	resp, err = client.Get("http://" + addr + "/")
	require.NoError(t, err)
	second, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, "GET 0 "+from, string(second), "the same connection serves the next request")
}

// endless answers with an endless body, 32 KiB per write, and reports on
// ended how its writes ended.
type endless struct {
	ended chan<- sendResult
}

type sendResult struct {
	sent     int
	err      error
	lastGood time.Time // when the last successful write returned
	failed   time.Time // when the failed write returned
}

func (e endless) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	chunk := bytes.Repeat([]byte("x"), 32<<10)
	r := sendResult{lastGood: time.Now()}
	for r.err == nil {
		var n int
		n, r.err = w.Write(chunk)
		r.sent += n
		if r.err == nil {
			r.lastGood = time.Now()
		}
	}
	r.failed = time.Now()
	e.ended <- r
}

// stallDownload starts an endless download, reads 64 KiB of it and stops
// reading.
func stallDownload(t *testing.T, addr string) net.Conn {
	conn := dial(t, addr)
	_, err := io.WriteString(conn, "GET /download HTTP/1.1\r\nHost: x\r\n\r\n")
	assert.NoError(t, err)
	_, err = io.ReadFull(conn, make([]byte, 64<<10))
	assert.NoError(t, err, "the download starts")
	return conn
}

func TestStalledReaderIsDropped(t *testing.T) {
	ended := make(chan sendResult, 1)
	addr := serveBounded(t, testTimeout, endless{ended: ended})
	conn := stallDownload(t, addr)
	stalled := time.Now()

	var r sendResult
	select {
	case r = <-ended:
	case <-time.After(10 * time.Second):
		t.Fatal("the handler was never stopped")
	}
	assert.ErrorIs(t, r.err, os.ErrDeadlineExceeded)
	assert.Less(t, r.sent, 4<<20, "the writes must stall once the buffers are full")
	stuck := r.failed.Sub(r.lastGood)
	assert.GreaterOrEqual(t, stuck, testTimeout-50*time.Millisecond)
	assert.Less(t, stuck, testTimeout+dropSlack, "a write was stuck for %v", stuck)
	_, closed := untilClosed(conn)
	assert.True(t, closed, "the server must close the stalled connection")
	t.Logf("stalled reader: the handler's write failed %v after the client stopped reading, %v after its last good write (SendTimeout %v); %d KiB sent",
		r.failed.Sub(stalled), stuck, testTimeout, r.sent>>10)
}

// A slow download that keeps progressing completes, although it takes many
// times SendTimeout, and although the handler writes it in one call.
func TestSlowProgressingDownloadCompletes(t *testing.T) {
	big := make([]byte, 2<<20)
	for i := range big {
		big[i] = byte(i * 7)
	}
	handlerErr := make(chan error, 1)
	addr := serveBounded(t, testTimeout, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(len(big)))
		_, err := w.Write(big) // one write of 2 MiB
		handlerErr <- err
	}))
	start := time.Now()
	got := downloadSlowly(t, addr, 16<<10, 10*time.Millisecond) // at most about 1.6 MiB/s
	took := time.Since(start)
	require.NoError(t, <-handlerErr)
	assert.True(t, bytes.Equal(big, got.Bytes()), "got %d bytes, want the %d sent", got.Len(), len(big))
	assert.Greater(t, took, 3*testTimeout, "the download must outlast SendTimeout for this test to mean anything")
	t.Logf("slow progressing download: 2 MiB in %v with SendTimeout %v", took, testTimeout)
}

// downloadSlowly GETs / from addr on a raw connection and reads the body
// chunk bytes at a time with a pause after each, like a slow client.
func downloadSlowly(t *testing.T, addr string, chunk int, pause time.Duration) *bytes.Buffer {
	t.Helper()
	conn := dial(t, addr)
	_, err := io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReaderSize(conn, 1024), nil)
	require.NoError(t, err)
	defer resp.Body.Close()
	var got bytes.Buffer
	buf := make([]byte, chunk)
	for {
		n, err := resp.Body.Read(buf)
		got.Write(buf[:n])
		if err == io.EOF {
			return &got
		}
		require.NoError(t, err)
		time.Sleep(pause)
	}
}

// Serve leaves alone what the server sets: its own timeouts and handler.
func TestServeKeepsTheServersOwnTimeouts(t *testing.T) {
	mux := http.NewServeMux()
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: time.Second, IdleTimeout: time.Minute, ReadTimeout: time.Hour, WriteTimeout: time.Hour}
	bound(srv, Config{}.withDefaults())
	assert.Equal(t, time.Second, srv.ReadHeaderTimeout)
	assert.Equal(t, time.Minute, srv.IdleTimeout)
	assert.Same(t, mux, srv.Handler, "with ReadTimeout and WriteTimeout set nothing wraps the handler")

	srv = &http.Server{ReadTimeout: 5 * time.Second}
	bound(srv, Config{}.withDefaults())
	assert.Zero(t, srv.ReadHeaderTimeout, "net/http bounds headers by the server's ReadTimeout")
	assert.Zero(t, srv.IdleTimeout, "net/http bounds idle connections by the server's ReadTimeout")

	srv = &http.Server{}
	bound(srv, Config{}.withDefaults())
	assert.Equal(t, DefaultReadHeaderTimeout, srv.ReadHeaderTimeout)
	assert.Equal(t, DefaultIdleTimeout, srv.IdleTimeout)
	assert.NotNil(t, srv.Handler)

	srv = &http.Server{}
	bound(srv, Config{ReadHeaderTimeout: -1, IdleTimeout: -1, BodyReadTimeout: -1, SendTimeout: -1}.withDefaults())
	assert.Zero(t, srv.ReadHeaderTimeout)
	assert.Zero(t, srv.IdleTimeout)
	assert.Nil(t, srv.Handler, "negative values turn the deadlines off")
}

// Flush, Hijack and http.ResponseController keep working through the
// progress writer.
func TestProgressWriterKeepsFlushHijackAndController(t *testing.T) {
	addr := serveBounded(t, testTimeout, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/flush":
			_, _ = io.WriteString(w, "first")
			w.(http.Flusher).Flush()
			rc := http.NewResponseController(w)
			assert.NoError(t, rc.SetWriteDeadline(time.Now().Add(time.Minute)))
			assert.NoError(t, rc.SetReadDeadline(time.Now().Add(time.Minute)))
			assert.NoError(t, rc.EnableFullDuplex())
			assert.NoError(t, rc.Flush())
			_, _ = io.WriteString(w, " second")
		case "/hijack":
			conn, rw, err := w.(http.Hijacker).Hijack()
			if !assert.NoError(t, err) {
				return
			}
			defer conn.Close()
			_, _ = rw.WriteString("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 8\r\n\r\nhijacked")
			_ = rw.Flush()
		}
	}))
	client := newClient(t)
	got := get(client, "http://"+addr+"/flush")
	require.NoError(t, got.err)
	assert.Equal(t, "first second", got.body)
	got = get(client, "http://"+addr+"/hijack")
	require.NoError(t, got.err)
	assert.Equal(t, "hijacked", got.body)
}

// hostileTimeout is the timeout of TestHostileClientsDoNotSlowNormalRequests:
// long enough that the hostile connections are all open while the normal
// requests are measured.
const hostileTimeout = time.Second

// TestHostileClientsDoNotSlowNormalRequests keeps many hostile connections
// open at once (endless headers and trickling bodies, reconnecting when
// dropped, and stalled readers) and checks that normal requests keep their
// latency meanwhile and that every hostile connection is dropped within its
// timeout plus the slack.
func TestHostileClientsDoNotSlowNormalRequests(t *testing.T) {
	const perKind = 50
	// Bounds for normal requests under attack: the 99th percentile, and the
	// slowest one (a scheduling hiccup on a loaded machine is not the
	// server's doing). Unloaded, both stay under 100 ms.
	const p99Bound, maxBound = time.Second, 2 * time.Second
	ended := make(chan sendResult, perKind)
	bodies := make(chan bodyResult, 10*perKind)
	mux := http.NewServeMux()
	mux.Handle("/download", endless{ended: ended})
	mux.Handle("/upload", readBody(bodies))
	mux.HandleFunc("/ping", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "pong") })
	addr := serveBounded(t, hostileTimeout, mux)
	client := newClient(t) // a new connection per request: accepting stays fast too

	baseline := pingsFor(t, client, addr, 200*time.Millisecond)

	stop := make(chan struct{})
	dialed := make(chan struct{}, 2*perKind)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var held []time.Duration // how long each dropped hostile connection was held
	attacks := []func(*testing.T, string, <-chan struct{}, chan<- struct{}) (string, time.Duration){slowHeaders, slowBody}
	for _, attack := range attacks {
		for range perKind {
			wg.Go(func() {
				once := dialed // signal the first connection only
				for {
					select {
					case <-stop:
						return
					default:
					}
					_, d := attack(t, addr, stop, once)
					once = nil
					mu.Lock()
					held = append(held, d)
					mu.Unlock()
				}
			})
		}
	}
	var stalled []net.Conn
	for range perKind {
		stalled = append(stalled, stallDownload(t, addr))
	}
	for range 2 * perKind {
		<-dialed
	}
	underAttack := pingsFor(t, client, addr, 2*hostileTimeout)
	close(stop)
	wg.Wait()

	for range perKind {
		r := <-ended
		assert.ErrorIs(t, r.err, os.ErrDeadlineExceeded)
		if stuck := r.failed.Sub(r.lastGood); stuck > hostileTimeout+dropSlack {
			t.Errorf("a stalled reader held a write for %v", stuck)
		}
	}
	for _, conn := range stalled {
		_, closed := untilClosed(conn)
		assert.True(t, closed, "the server must close every stalled connection")
	}
	slices.Sort(held)
	require.NotEmpty(t, held)
	assert.Less(t, held[len(held)-1], hostileTimeout+dropSlack, "a hostile connection was held for %v", held[len(held)-1])
	p99, slowest := underAttack[len(underAttack)*99/100], underAttack[len(underAttack)-1]
	assert.Less(t, p99, p99Bound, "normal requests under attack: p99 %v", p99)
	assert.Less(t, slowest, maxBound, "normal requests under attack: slowest %v", slowest)
	t.Logf("hostile clients: %d connections at once (%d endless headers, %d trickling bodies, %d stalled readers), %d header and body connections dropped and reopened over %v, timeouts %v",
		3*perKind, perKind, perKind, perKind, len(held), 2*hostileTimeout, hostileTimeout)
	t.Logf("hostile connections held: median %v, max %v", held[len(held)/2], held[len(held)-1])
	t.Logf("normal requests: baseline (%d) p50 %v max %v; under attack (%d) p50 %v p99 %v max %v (bounds: p99 %v, max %v)",
		len(baseline), baseline[len(baseline)/2], baseline[len(baseline)-1], len(underAttack),
		underAttack[len(underAttack)/2], p99, slowest, p99Bound, maxBound)
}

// pingsFor sends sequential GET /ping for d and returns their latencies,
// sorted.
func pingsFor(t *testing.T, client *http.Client, addr string, d time.Duration) []time.Duration {
	t.Helper()
	var lat []time.Duration
	for end := time.Now().Add(d); time.Now().Before(end); {
		start := time.Now()
		got := get(client, "http://"+addr+"/ping")
		lat = append(lat, time.Since(start))
		require.NoError(t, got.err)
		require.Equal(t, "pong", got.body)
	}
	slices.Sort(lat)
	return lat
}

// fileDownload serves path with http.ServeFile, whose body reaches the
// progressWriter through ReadFrom (sendfile), and reports when it returned.
func fileDownload(path string, done chan<- time.Time) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, path)
		done <- time.Now()
	}
}

// TestFileDownloadKeepsItsBoundsThroughSendfile: a file served through the
// ReadFrom path completes for a slow but progressing client, whole, and is
// dropped when its client stalls.
func TestFileDownloadKeepsItsBoundsThroughSendfile(t *testing.T) {
	big := make([]byte, 4<<20)
	for i := range big {
		big[i] = byte(i * 13)
	}
	path := t.TempDir() + "/big.bin"
	require.NoError(t, os.WriteFile(path, big, 0o600))
	done := make(chan time.Time, 2)
	addr := serveBounded(t, testTimeout, fileDownload(path, done))

	t.Run("a slow but progressing client gets every byte", func(t *testing.T) {
		start := time.Now()
		got := downloadSlowly(t, addr, 64<<10, 5*time.Millisecond)
		<-done
		assert.True(t, bytes.Equal(big, got.Bytes()), "got %d bytes, want the file's %d", got.Len(), len(big))
		assert.Greater(t, time.Since(start), testTimeout, "the download must outlast SendTimeout for this test to mean anything")
	})
	t.Run("a stalled client is dropped", func(t *testing.T) {
		conn := dial(t, addr)
		_, err := io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		require.NoError(t, err)
		_, err = io.ReadFull(conn, make([]byte, 64<<10))
		require.NoError(t, err, "the download starts")
		stalled := time.Now()
		select {
		case ended := <-done:
			assert.Less(t, ended.Sub(stalled), testTimeout+dropSlack, "the handler was held %v after the client stalled", ended.Sub(stalled))
		case <-time.After(10 * time.Second):
			t.Fatal("the handler serving a stalled client was never stopped")
		}
		_, closed := untilClosed(conn)
		assert.True(t, closed, "the server must close the stalled connection")
	})
}
