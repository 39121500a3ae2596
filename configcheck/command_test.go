package configcheck

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func run(t *testing.T, src Source, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = testRules().Command(args, src, &o, &e)
	return code, o.String(), e.String()
}

func TestCommandExitCodes(t *testing.T) {
	code, out, _ := run(t, Map(validProduction()))
	assert.Equal(t, ExitOK, code, out)
	assert.Equal(t, "configcheck: production: OK (0 errors, 0 warnings)\n", out, "APP_ENV=production picks the environment")

	code, out, _ = run(t, Map(nil))
	assert.Equal(t, ExitOK, code, "nothing set is fine in development")
	assert.Contains(t, out, "development: OK")

	code, out, _ = run(t, Map(nil), "--env", "production")
	assert.Equal(t, ExitProblems, code)
	for _, n := range seedRequired {
		assert.Contains(t, out, n)
	}

	// Warnings alone do not fail.
	code, out, _ = run(t, Map(validProduction()), "--env=development")
	assert.Equal(t, ExitOK, code)
	assert.Contains(t, out, "2 warnings")

	// An unknown APP_ENV is checked strictly and reported.
	code, out, _ = run(t, Map(with(validProduction(), "APP_ENV", "prod")))
	assert.Equal(t, ExitProblems, code)
	assert.Contains(t, out, "configcheck: production: FAILED")
	assert.Contains(t, out, "APP_ENV [one-of]")
}

func TestCommandUsage(t *testing.T) {
	for _, args := range [][]string{
		{"--format", "yaml"},
		{"--env", "staging"},
		{"--nope"},
		{"extra"},
		{"--env-file", filepath.Join(t.TempDir(), "missing.env")},
	} {
		code, out, errOut := run(t, Map(validProduction()), args...)
		assert.Equal(t, ExitUsage, code, "%v", args)
		assert.Empty(t, out, "%v", args)
		assert.NotEmpty(t, errOut, "%v", args)
	}
	code, _, errOut := run(t, Map(nil), "-h")
	assert.Equal(t, ExitOK, code)
	assert.Contains(t, errOut, "usage: check-config")
}

func TestCommandJSON(t *testing.T) {
	code, out, _ := run(t, Map(nil), "--format", "json", "--env", "production")
	assert.Equal(t, ExitProblems, code)
	var rep struct {
		Env      string
		OK       bool
		Problems []Problem
	}
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	assert.Equal(t, "production", rep.Env)
	assert.False(t, rep.OK)
	assert.Len(t, rep.Problems, len(seedRequired))
}

func TestCommandEnvFile(t *testing.T) {
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "session")
	require.NoError(t, os.WriteFile(secretFile, []byte(validProduction()["SESSION_SECRET"]+"\n"), 0o600))
	envFile := filepath.Join(dir, "prod.env")
	var b strings.Builder
	for k, v := range with(validProduction(), "SESSION_SECRET", "<unset>", "SESSION_SECRET_FILE", secretFile) {
		b.WriteString(k + "='" + v + "'\n")
	}
	require.NoError(t, os.WriteFile(envFile, []byte(b.String()), 0o600))

	// The process environment (here: a map with a bad PORT) is not consulted.
	code, out, errOut := run(t, Map(map[string]string{"PORT": "bad", "APP_ENV": "development"}), "--env-file", envFile)
	assert.Equal(t, ExitOK, code, out+errOut)
	assert.Contains(t, out, "production: OK")

	bad := filepath.Join(dir, "bad.env")
	require.NoError(t, os.WriteFile(bad, []byte("A=1\nA=2\n"), 0o600))
	code, _, errOut = run(t, Map(nil), "--env-file", bad)
	assert.Equal(t, ExitUsage, code)
	assert.Contains(t, errOut, "line 2: sets a variable already set on line 1")
}

// TestCommandEnvFileWarnsOfLowerCaseNames: an env file's app_env is not
// APP_ENV, so the check runs in development; the report must say why.
func TestCommandEnvFileWarnsOfLowerCaseNames(t *testing.T) {
	secret := validProduction()["SESSION_SECRET"]
	envFile := filepath.Join(t.TempDir(), ".env")
	require.NoError(t, os.WriteFile(envFile, []byte("app_env=production\nsession_secret="+secret+"\n"), 0o600))
	code, out, errOut := run(t, Map(nil), "--env-file", envFile)
	assert.Equal(t, ExitOK, code, "warnings alone do not fail: "+out+errOut)
	assert.Contains(t, out, "development: OK (0 errors, 2 warnings)")
	assert.Contains(t, out, "app_env [unknown]")
	assert.Contains(t, out, "did you mean APP_ENV?")
	assert.Contains(t, out, "did you mean SESSION_SECRET?")
	assert.NotContains(t, out, secret[:8])
}

func TestCommandList(t *testing.T) {
	var want strings.Builder
	require.NoError(t, testRules().WriteList(&want))
	code, out, _ := run(t, Map(nil), "--list")
	assert.Equal(t, ExitOK, code)
	assert.Equal(t, want.String(), out)

	code, out, errOut := run(t, Map(nil), "--help")
	assert.Equal(t, ExitOK, code)
	assert.Equal(t, want.String(), out, "--help lists the variables after the usage")
	assert.Contains(t, errOut, "usage: check-config")
	assert.Contains(t, errOut, "-list")
}
