package configcheck

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"
)

// TestOnePrefixPerError walks the package's error paths: each error says
// "configcheck:" once, at its start, and check-config prints the env file's
// errors under its own name only.
func TestOnePrefixPerError(t *testing.T) {
	errDisk := errors.New("disk: read failed")
	var errs []error
	for _, body := range []string{"A=1\nA=2\n", "A=\x00", "A='open", "not a line\n", "A=" + strings.Repeat("x", maxEnvFileSize)} {
		_, err := ParseEnvFile(strings.NewReader(body))
		require.Error(t, err, body)
		errs = append(errs, err)
	}
	_, err := ParseEnvFile(iotest.ErrReader(errDisk))
	require.ErrorIs(t, err, errDisk)
	errs = append(errs, err, badReport().Err())
	for _, err := range errs {
		t.Log(err)
		require.True(t, strings.HasPrefix(err.Error(), "configcheck: "), err.Error())
		require.Equal(t, 1, strings.Count(err.Error(), "configcheck:"), err.Error())
	}

	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.env")
	require.NoError(t, os.WriteFile(bad, []byte("A=1\nA=2\n"), 0o600))
	for _, file := range []string{bad, filepath.Join(dir, "missing.env")} {
		code, _, errOut := run(t, Map(nil), "--env-file", file)
		require.Equal(t, ExitUsage, code)
		t.Log(errOut)
		require.True(t, strings.HasPrefix(errOut, "check-config: "), errOut)
		require.Equal(t, 1, strings.Count(errOut, "check-config:"), errOut)
		require.NotContains(t, errOut, "configcheck:")
	}
}
