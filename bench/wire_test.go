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
// it: each request is written in one piece and the response read with
// http.ReadResponse, as wrk does. The throughput benchmarks measure
// servers, and net/http's client spends about as much CPU per request as
// the fastest of them, on the same two cores.
type wireConn struct {
	conn net.Conn
	r    *bufio.Reader
}

// wireRequest is method rawURL with the given header lines and no body, as
// bytes for wireConn.do.
func wireRequest(b *testing.B, method, rawURL string, header http.Header) []byte {
	b.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		b.Fatal(err)
	}
	var req strings.Builder
	fmt.Fprintf(&req, "%s %s HTTP/1.1\r\nHost: %s\r\n", method, u.RequestURI(), u.Host)
	if method != http.MethodGet {
		req.WriteString("Content-Length: 0\r\n")
	}
	_ = header.Write(&req)
	req.WriteString("\r\n")
	return []byte(req.String())
}

// dialWire opens a connection to rawURL's host, closed when b ends.
func dialWire(b *testing.B, rawURL string) *wireConn {
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
	return &wireConn{conn: conn, r: bufio.NewReaderSize(conn, 64<<10)}
}

// do sends req (from wireRequest) and reads the whole response; it returns
// the status, the Content-Encoding and the body's length on the wire.
func (w *wireConn) do(req []byte) (int, string, int64, error) {
	if _, err := w.conn.Write(req); err != nil {
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
