package main

// The black-box agreement test: for a table of environments, the built
// binary's check-config exits 0 exactly when the server, given the same
// environment, starts listening.

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// agreementCases are environments that each differ from a valid one by one
// variable: an invalid value of every variable in turn, zero durations,
// out-of-range numbers, APP_ENV values, and valid edge values.
func agreementCases(public string) map[string][]string {
	cases := map[string][]string{
		"valid":              nil,
		"APP_ENV=test":       {"APP_ENV=test"},
		"APP_ENV=staging":    {"APP_ENV=staging"},
		"APP_ENV=Production": {"APP_ENV=Production"},
		"APP_ENV empty":      {"APP_ENV="},
	}
	bad := map[string][]string{
		"PORT": {"http", "65536", "-1"}, "LOG_FORMAT": {"xml"},
		"SHUTDOWN_TIMEOUT": {"0s", "10"}, "SHUTDOWN_DRAIN_DELAY": {"-1s", "11s"},
		"SESSION_SECRET": {"changeme"}, "SESSION_SECRET_PREVIOUS": {"short"},
		"SESSION_TTL": {"0s", "7d", "1h"}, "SESSION_TOUCH_AFTER": {"0s", "200h"}, "SESSION_PRUNE_INTERVAL": {"0s"},
		"SESSION_POOL_MAX_CONNS": {"0", "2147483648"}, "SESSION_CONNECT_TIMEOUT": {"0s"},
		"DATABASE_URL": {"postgres://a:b@host:notaport/db", "postgres://a:b@127.0.0.1:1/db?sslmode=disable"},
		"DB_MAX_CONNS": {"0", "ten", "1"}, "DB_MIN_CONNS": {"-1", "11"},
		"DB_IDLE_TIMEOUT": {"0s"}, "DB_HEALTH_INTERVAL": {"0s"},
		"COINGECKO_BASE_URL": {"api.coingecko.com", "ftp://127.0.0.1/"}, "COINGECKO_API_KEY": {" key\n"},
		"RATES_COINS": {"bit coin", "a,,b", "Bitcoin"}, "RATES_CURRENCIES": {"usd,", "us$"},
		"RATES_FRESH": {"0s", "20m"}, "RATES_ACCEPTABLE": {"0s", "2m"}, "RATES_FALLBACK": {"0s", "10m"},
		"RATES_FAILURE_THRESHOLD": {"0", "-3"}, "RATES_COOLDOWN": {"0s"}, "RATES_MIN_INTERVAL": {"0s", "1ms"},
		"PUBLIC_OBJECT_SEARCH_PATHS": {"public"}, "PRIVATE_OBJECT_DIR": {"private", filepath.Join(public, "inside")},
		"CHECKOUT": {"paypal", "stripe"}, "STRIPE_SECRET_KEY": {"sk_live_x", "bad"}, "STRIPE_PUBLISHABLE_KEY": {"pk_x"},
		"ORDER_EMAILS": {"smtp", "brevo"}, "BREVO_API_KEY": {"brevo"},
	}
	for name, values := range bad {
		for _, v := range values {
			cases[name+"="+v] = []string{name + "=" + v}
		}
	}
	return cases
}

func TestCheckConfigAgreesWithStartup(t *testing.T) {
	bin := binary(t)
	dir := t.TempDir()
	public, private := filepath.Join(dir, "public"), filepath.Join(dir, "private")
	base := map[string][]string{
		"development": {"APP_ENV=development"},
		"production": {"APP_ENV=production", "DATABASE_URL=postgres://app:Zq8v-Lw3kP0x@127.0.0.1:1/app?sslmode=verify-full",
			"PUBLIC_OBJECT_SEARCH_PATHS=" + public, "PRIVATE_OBJECT_DIR=" + private},
	}
	for _, env := range []string{"development", "production"} {
		for name, extra := range agreementCases(public) {
			t.Run(env+"/"+name, func(t *testing.T) {
				environ := append([]string{
					"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "PORT=0",
					"SESSION_SECRET=q3Jx9Vb0sK2mN7wR4tY8uZ1aC6dE5fG0hI3jL9oP2rS7",
					"COINGECKO_BASE_URL=" + closedURL(t),
				}, base[env]...)
				environ = append(environ, extra...)
				code := checkConfig(t, bin, environ)
				started, out := starts(t, bin, environ)
				require.Equal(t, code == 0, started, "check-config exit %d, server started %v:\n%s", code, started, out)
				if name == "valid" {
					require.True(t, started, "the valid %s environment starts:\n%s", env, out)
				}
			})
		}
	}
}

// checkConfig runs `check-config` and returns its exit status.
func checkConfig(t *testing.T, bin string, environ []string) int {
	cmd := exec.Command(bin, "check-config")
	cmd.Env = environ
	out, err := cmd.CombinedOutput()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatal(err)
	}
	code := cmd.ProcessState.ExitCode()
	require.Contains(t, []int{0, 1}, code, "%s", out)
	return code
}

// starts runs the server until it logs that it listens (then stops it) or
// exits, and reports which happened with the server's output.
func starts(t *testing.T, bin string, environ []string) (bool, string) {
	cmd := exec.Command(bin)
	cmd.Env = environ
	r, w, err := os.Pipe()
	require.NoError(t, err)
	cmd.Stdout, cmd.Stderr = w, w
	require.NoError(t, cmd.Start())
	w.Close()
	defer r.Close()
	var out strings.Builder
	listening := false
	sc := bufio.NewScanner(r)
	for !listening && sc.Scan() {
		out.WriteString(sc.Text() + "\n")
		listening = strings.Contains(sc.Text(), "marketplace listening")
	}
	if listening {
		require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	}
	_ = cmd.Wait()
	if !listening {
		require.NotEqual(t, 0, cmd.ProcessState.ExitCode(), "a server that never listened exits with an error:\n%s", out.String())
	}
	return listening, out.String()
}
