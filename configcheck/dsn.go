package configcheck

import (
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dedw3n/hardening/internal/redact/pgdsn"
)

// dsnHint is the fix hint of every DSN problem.
const dsnHint = "use postgres://user:password@host:5432/dbname?sslmode=verify-full (pool_* options as in pgxpool.ParseConfig)"

// PostgresDSN parses the value with pgx (pgxpool.ParseConfig, as the pool
// will) and fails on a connection string pgx rejects; in production, on
// sslmode=disable or allow for any TCP host it lists, a host listed after a
// Unix socket too (sslmode=prefer, the default, is a warning there: it falls
// back to plain text); on pool_* values that make no sense (min above max,
// non-positive lifetimes and periods, negative timeouts); and on unknown
// pool_* options, which PostgreSQL would reject as run-time parameters.
//
// pgx also reads the PG* variables of the process environment (PGSSLMODE,
// PGHOST, …) and ~/.pgpass while parsing; the check sees what the pool will.
// Its parse errors can quote the connection string, password included, so
// they are mapped to fixed texts and never shown; a URL with an unescaped
// '@' or '/' in its password, whose tail pgx would read as the host or the
// database, is refused the same way.
func PostgresDSN() Rule {
	return Rule{kind: "postgres-dsn", prefixes: []string{"postgres://", "postgresql://"}, check: checkDSN}
}

func checkDSN(c *checkCtx, v *varState) []finding {
	dsn := v.value
	// pgx.ParseConfig keeps pool_* options as run-time parameters, which
	// tells which ones the string sets; pgxpool.ParseConfig types them.
	conn, err := pgx.ParseConfig(dsn)
	if problem := pgdsn.Problem(dsn, err); problem != "" {
		return one(got(v, problem), dsnHint)
	}
	// The report may name options and numbers of the DSN; the password is
	// what must never show.
	v.scrubFor = []string{}
	if conn.Password != "" {
		v.scrubFor = []string{conn.Password}
	}
	set := map[string]bool{}
	for k := range conn.RuntimeParams {
		if strings.HasPrefix(k, "pool_") {
			set[k] = true
		}
	}
	pc, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return one(got(v, pgdsn.Problem(dsn, err)), dsnHint)
	}

	fs := checkPoolOptions(pc, set)
	if c.env == Production {
		fs = append(fs, dsnTLS(pc)...)
	}
	return fs
}

// checkPoolOptions judges the pool_* options the string sets (set).
func checkPoolOptions(pc *pgxpool.Config, set map[string]bool) []finding {
	var fs []finding
	bad := func(format string, args ...any) {
		fs = append(fs, finding{msg: fmt.Sprintf(format, args...), hint: dsnHint})
	}
	for k := range pc.ConnConfig.RuntimeParams {
		if strings.HasPrefix(k, "pool_") {
			bad("sets %s, which is not a pgxpool option", safeKey(k))
		}
	}
	if set["pool_min_conns"] && pc.MinConns < 0 {
		bad("sets pool_min_conns below 0")
	}
	if set["pool_min_idle_conns"] && pc.MinIdleConns < 0 {
		bad("sets pool_min_idle_conns below 0")
	}
	if pc.MinConns > pc.MaxConns {
		bad("sets pool_min_conns (%d) above pool_max_conns (%d)", pc.MinConns, pc.MaxConns)
	}
	if pc.MinIdleConns > pc.MaxConns {
		bad("sets pool_min_idle_conns (%d) above pool_max_conns (%d)", pc.MinIdleConns, pc.MaxConns)
	}
	positive := []struct {
		key string
		d   time.Duration
	}{
		{"pool_max_conn_lifetime", pc.MaxConnLifetime},
		{"pool_max_conn_idle_time", pc.MaxConnIdleTime},
		{"pool_health_check_period", pc.HealthCheckPeriod},
	}
	for _, p := range positive {
		if set[p.key] && p.d <= 0 {
			bad("sets %s to %s; it must be positive", p.key, p.d)
		}
	}
	if set["pool_ping_timeout"] && pc.PingTimeout < 0 {
		bad("sets pool_ping_timeout below 0")
	}
	if set["pool_max_conn_lifetime_jitter"] && pc.MaxConnLifetimeJitter < 0 {
		bad("sets pool_max_conn_lifetime_jitter below 0")
	}
	if pc.MaxConnLifetimeJitter > 0 && pc.MaxConnLifetime > 0 && pc.MaxConnLifetimeJitter > pc.MaxConnLifetime {
		bad("sets pool_max_conn_lifetime_jitter (%s) above pool_max_conn_lifetime (%s)", pc.MaxConnLifetimeJitter, pc.MaxConnLifetime)
	}

	return fs
}

// dsnTLS judges the TLS the pool would use. pgx turns the hosts and sslmode
// into a list of attempts, the primary config and then its fallbacks, each
// with its own TLS config, nil meaning plain text. Unix sockets are local
// and never use TLS; every TCP attempt is judged, wherever it stands in the
// list: plain text as the first attempt at an address (sslmode=disable or
// allow) is an error, plain text after a TLS attempt at the same address
// (sslmode=prefer) a warning. The findings never name a host.
func dsnTLS(pc *pgxpool.Config) []finding {
	cc := pc.ConnConfig.Config
	attempts := append([]*pgconn.FallbackConfig{{Host: cc.Host, Port: cc.Port, TLSConfig: cc.TLSConfig}}, cc.Fallbacks...)
	triedTLS := map[string]bool{}
	plainFirst, plainAfterTLS := false, false
	for _, a := range attempts {
		network, addr := pgconn.NetworkAddress(a.Host, a.Port)
		switch {
		case network == "unix": // local, and never TLS
		case a.TLSConfig != nil:
			triedTLS[addr] = true
		case triedTLS[addr]:
			plainAfterTLS = true
		default:
			plainFirst = true
		}
	}
	const hint = "set sslmode=verify-full (or require) in the connection string"
	switch {
	case plainFirst:
		return one("uses no TLS (sslmode=disable or allow) in production", hint)
	case plainAfterTLS:
		return []finding{{
			msg:  "may fall back to plain text (sslmode=prefer, the default) in production",
			hint: hint,
			warn: true,
		}}
	}
	return nil
}

// safeKey returns a pool_* option name fit for a report: pgx only keeps
// option names made of name characters, but a report quotes anything else.
func safeKey(k string) string {
	for _, r := range k {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return "an unknown pool_ option"
		}
	}
	if len(k) > 40 {
		return "an unknown pool_ option"
	}
	return k
}
