package bench

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// wireConn is one keep-alive HTTP/1.1 connection with no Transport behind
// it: the request is written in one piece and the response read with
// http.ReadResponse, as wrk does. The throughput benchmarks measure
// servers, and net/http's client spends about as much CPU per request as
// the fastest of them, on the same two cores.
type wireConn struct {
	conn net.Conn
	r    *bufio.Reader
	req  []byte
}

// dialWire opens a connection to rawURL's host that sends GET rawURL with
// the given header lines on every request.
func dialWire(b *testing.B, rawURL string, header http.Header) *wireConn {
	b.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		b.Fatal(err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	var req strings.Builder
	fmt.Fprintf(&req, "GET %s HTTP/1.1\r\nHost: %s\r\n", u.RequestURI(), u.Host)
	_ = header.Write(&req)
	req.WriteString("\r\n")
	return &wireConn{conn: conn, r: bufio.NewReaderSize(conn, 64<<10), req: []byte(req.String())}
}

// do sends the request and reads the whole response; it returns the
// status, the Content-Encoding and the body's length on the wire.
func (w *wireConn) do() (int, string, int64, error) {
	if _, err := w.conn.Write(w.req); err != nil {
		return 0, "", 0, err
	}
	resp, err := http.ReadResponse(w.r, nil)
	if err != nil {
		return 0, "", 0, err
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Content-Encoding"), n, err
}
