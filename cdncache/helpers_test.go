package cdncache

import (
	"crypto/sha256"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fixtureTime is the modification time of every fixture file.
var fixtureTime = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

// fixtureText is a.txt: 100 bytes, "0123456789" ten times.
var fixtureText = strings.Repeat("0123456789", 10)

// bigCSS is compressible and above the default MinCompressSize.
var bigCSS = strings.Repeat(".card { color: #333; padding: 4px 8px; }\n", 100)

// contentETag is the ETag the package must give to content.
func contentETag(content string) string {
	sum := sha256.Sum256([]byte(content))
	return `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`
}

// writeFiles writes name→content under dir with fixtureTime as mtime.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
		require.NoError(t, os.Chtimes(p, fixtureTime, fixtureTime))
	}
}

// fixtureDir returns a directory holding the standard fixture files.
func fixtureDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"a.txt":           fixtureText,
		"empty.txt":       "",
		"plain.css":       bigCSS,
		"style.css":       bigCSS,
		"style.css.br":    "BROTLI-BYTES",
		"style.css.gz":    "GZIP-BYTES",
		"small.css":       "a{b:c}",
		"img.png":         "\x89PNG\r\n\x1a\n" + strings.Repeat("\x00", 2000),
		"clip.mp4":        strings.Repeat("v", 3000),
		"font.woff2":      "wOF2" + strings.Repeat("f", 100),
		"doc.pdf":         "%PDF-1.4\n" + strings.Repeat("p", 100),
		"app.js":          "console.log(1)\n",
		"app.3f2a9c1b.js": "console.log(2)\n",
		"noext":           "plain text without extension\n",
		"sub/nested.txt":  "nested\n",
		"avatars/u1.png":  "\x89PNG\r\n\x1a\n",
		".env":            "SECRET=1\n",
		"sub/.hidden.txt": "hidden\n",
		"sub/index.html":  "<html></html>\n",
		"sub/deep/f.json": `{"a":1}`,
	})
	return dir
}

// serve starts a real HTTP server for h.
func serve(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// client never asks for or decodes compression on its own.
func client(t *testing.T) *http.Client {
	t.Helper()
	tr := &http.Transport{DisableCompression: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// do sends one request with headers and returns the response and its body.
func do(t *testing.T, c *http.Client, method, url string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	require.NoError(t, err)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(body)
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// settled makes h see every file as changed an hour ago, so that the racy
// rule (validators of files changed in the last 2 s are not cached) leaves
// the fixtures a test has just written alone.
func settled(h *Handler) *Handler {
	h.now = func() time.Time { return time.Now().Add(time.Hour) }
	return h
}
