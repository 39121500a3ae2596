package nginxtest

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestStartServesAndStops: nginx serves a file from its prefix on the
// port asked for.
func TestStartServesAndStops(t *testing.T) {
	s := New(t)
	require.NoError(t, os.WriteFile(filepath.Join(s.Prefix, "hello.txt"), []byte("hello"), 0o644))
	port := FreePort(t)
	s.Start(fmt.Sprintf("server { listen 127.0.0.1:%d; root %s; }", port, s.Prefix), port)
	defer http.DefaultClient.CloseIdleConnections()
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/hello.txt", port))
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, "hello", string(body))
	require.Contains(t, resp.Header.Get("Server"), "nginx")
}
