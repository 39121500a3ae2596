package configcheck

import (
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func dsnRules() *RuleSet {
	return &RuleSet{Vars: []Var{{Name: "DATABASE_URL", Secret: true, Rules: []Rule{PostgresDSN()}}}}
}

// clearPGEnv keeps the process's PG* variables, which pgx merges into every
// parse, out of the DSN tests.
func clearPGEnv(t *testing.T) {
	for _, k := range []string{"PGSSLMODE", "PGHOST", "PGPORT", "PGPASSWORD", "PGSERVICE", "PGSERVICEFILE", "PGCONNECT_TIMEOUT"} {
		t.Setenv(k, "")
	}
}

const pgPassword = "Hunter2-Very-Secret-Pw"

func TestPostgresDSN(t *testing.T) {
	clearPGEnv(t)
	base := "postgres://app:" + pgPassword + "@db.internal:5432/app"
	checkDSNCases(t, []dsnCase{
		{"verify-full production", base + "?sslmode=verify-full", Production, nil, ""},
		{"require production", base + "?sslmode=require", Production, nil, ""},
		{"keyword/value", "host=db user=app password='" + pgPassword + "' dbname=app sslmode=require", Production, nil, ""},
		{"default sslmode production warns", base, Production, []got3{{"DATABASE_URL", "postgres-dsn", W}}, "plain text"},
		{"default sslmode development", base, Development, nil, ""},
		{"unix socket production", "host=/var/run/postgresql dbname=app user=app", Production, nil, ""},
		{"disable production", base + "?sslmode=disable", Production, []got3{{"DATABASE_URL", "postgres-dsn", E}}, "no TLS"},
		{"allow production", base + "?sslmode=allow", Production, []got3{{"DATABASE_URL", "postgres-dsn", E}}, "no TLS"},
		{"disable development", base + "?sslmode=disable", Development, nil, ""},
		{"bad port", "postgres://app:" + pgPassword + "@db:99999/app", Development, []got3{{"DATABASE_URL", "postgres-dsn", E}}, "invalid port"},
		{"bad sslmode", base + "?sslmode=sometimes", Development, []got3{{"DATABASE_URL", "postgres-dsn", E}}, "sslmode"},
		{"bad url escape", "postgres://app:" + pgPassword + "%zz@db/app", Development, []got3{{"DATABASE_URL", "postgres-dsn", E}}, "URL"},
		{"unterminated quote", "host=db password='" + pgPassword, Development, []got3{{"DATABASE_URL", "postgres-dsn", E}}, "keyword=value"},
		{"not postgres", "mysql://root:" + pgPassword + "@db/app", Development, []got3{{"DATABASE_URL", "postgres-dsn", E}}, "keyword=value"},
		{"pool_max_conns zero", base + "?sslmode=disable&pool_max_conns=0", Development, []got3{{"DATABASE_URL", "postgres-dsn", E}}, "pool_max_conns below 1"},
		{"pool_max_conns text", base + "?sslmode=disable&pool_max_conns=many", Development, []got3{{"DATABASE_URL", "postgres-dsn", E}}, "pool_max_conns that is not"},
		{"pool min above max", base + "?sslmode=disable&pool_max_conns=2&pool_min_conns=5", Development, []got3{{"DATABASE_URL", "postgres-dsn", E}}, "pool_min_conns (5) above pool_max_conns (2)"},
		{"pool min idle above max", base + "?sslmode=disable&pool_max_conns=2&pool_min_idle_conns=3", Development, []got3{{"DATABASE_URL", "postgres-dsn", E}}, "pool_min_idle_conns (3)"},
		{"pool negative min", base + "?sslmode=disable&pool_min_conns=-1", Development, []got3{{"DATABASE_URL", "postgres-dsn", E}}, "below 0"},
		{"pool zero lifetime", base + "?sslmode=disable&pool_max_conn_lifetime=0s", Development, []got3{{"DATABASE_URL", "postgres-dsn", E}}, "pool_max_conn_lifetime to 0s"},
		{"pool zero health period", base + "?sslmode=disable&pool_health_check_period=0s", Development, []got3{{"DATABASE_URL", "postgres-dsn", E}}, "pool_health_check_period"},
		{"pool jitter above lifetime", base + "?sslmode=disable&pool_max_conn_lifetime=1h&pool_max_conn_lifetime_jitter=2h", Development, []got3{{"DATABASE_URL", "postgres-dsn", E}}, "jitter"},
		{"pool bad duration", base + "?sslmode=disable&pool_max_conn_idle_time=soon", Development, []got3{{"DATABASE_URL", "postgres-dsn", E}}, "pool_max_conn_idle_time"},
		{"pool unknown option", base + "?sslmode=disable&pool_max_con=5", Development, []got3{{"DATABASE_URL", "postgres-dsn", E}}, "pool_max_con, which is not"},
		{"pool sane", base + "?sslmode=verify-full&pool_max_conns=20&pool_min_conns=2&pool_max_conn_lifetime=1h&pool_health_check_period=30s", Production, nil, ""},
		{"two problems at once", base + "?sslmode=disable&pool_max_conns=2&pool_min_conns=5", Production,
			[]got3{{"DATABASE_URL", "postgres-dsn", E}, {"DATABASE_URL", "postgres-dsn", E}}, "pool_min_conns"},
	})
}

// TestPostgresDSNJudgesEveryTCPHost is the regression test of a Unix socket
// listed first hiding the TCP hosts after it: pgx tries each host in turn,
// so a plain-text attempt at db.internal is plain text in production
// whatever comes before it. The findings name no host.
func TestPostgresDSNJudgesEveryTCPHost(t *testing.T) {
	clearPGEnv(t)
	kv := "user=app password=" + pgPassword + " dbname=app host="
	url := "postgres://app:" + pgPassword + "@%2Fvar%2Frun%2Fpostgresql,db.internal/app"
	fails, warns, P := []got3{{"DATABASE_URL", "postgres-dsn", E}}, []got3{{"DATABASE_URL", "postgres-dsn", W}}, Production
	checkDSNCases(t, []dsnCase{
		{"socket then TCP, disable", kv + "/var/run/postgresql,db.internal sslmode=disable", P, fails, "no TLS"},
		{"socket then TCP, URL, disable", url + "?sslmode=disable", P, fails, "no TLS"},
		{"socket then TCP, allow", kv + "/var/run/postgresql,db.internal sslmode=allow", P, fails, "no TLS"},
		{"socket then TCP, prefer", kv + "/var/run/postgresql,db.internal sslmode=prefer", P, warns, "plain text"},
		{"socket then TCP, default sslmode", kv + "/var/run/postgresql,db.internal", P, warns, "plain text"},
		{"socket then TCP, URL, prefer", url + "?sslmode=prefer", P, warns, "plain text"},
		{"socket then TCP, require", kv + "/var/run/postgresql,db.internal sslmode=require", P, nil, ""},
		{"TCP, socket, TCP, verify-full", kv + "db.internal,/tmp,db2.internal sslmode=verify-full", P, nil, ""},
		{"TCP, socket, TCP, disable", kv + "db.internal,/tmp,db2.internal sslmode=disable", P, fails, "no TLS"},
		{"sockets only, disable", kv + "/var/run/postgresql,/tmp sslmode=disable", P, nil, ""},
	})
}

type dsnCase struct {
	name    string
	dsn     string
	env     Env
	want    []got3
	message string // a fragment of the first message
}

// checkDSNCases checks each case's DSN with PostgresDSN: its findings, a
// fragment of the first message, and no host or password in any output.
func checkDSNCases(t *testing.T, cases []dsnCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rep := dsnRules().Check(tc.env, Map(map[string]string{"DATABASE_URL": tc.dsn}))
			want := tc.want
			if want == nil {
				want = []got3{}
			}
			assert.Equal(t, want, reduce(rep), dump(rep))
			if tc.message != "" && len(rep.Problems) > 0 {
				assert.Contains(t, rep.Problems[0].Message, tc.message)
			}
			for _, part := range []string{"db.internal", "db2.internal", "/tmp", "postgresql"} {
				assert.NotContains(t, dump(rep), part)
			}
			assertNoPassword(t, rep)
		})
	}
}

func assertNoPassword(t *testing.T, rep *Report) {
	t.Helper()
	var js strings.Builder
	require.NoError(t, rep.WriteJSON(&js))
	for _, out := range []string{dump(rep), js.String(), errString(rep.Err())} {
		for i := 0; i+6 <= len(pgPassword); i++ {
			require.NotContains(t, out, pgPassword[i:i+6])
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestPostgresDSNNeverPassesPgxErrors shows why pgx's errors are mapped to
// fixed texts: for these strings pgx's own error quotes the password.
func TestPostgresDSNNeverPassesPgxErrors(t *testing.T) {
	clearPGEnv(t)
	leaky := 0
	for _, dsn := range []string{
		"host=db port=notaport password=" + pgPassword,
		"postgres://app:" + pgPassword + "@db:5432/app?pool_max_conns=" + pgPassword,
		"postgres://app@db/app?password=" + pgPassword + "&connect_timeout=x",
		"host=db user=app password=" + pgPassword + " sslmode=" + pgPassword,
	} {
		_, err := pgxpool.ParseConfig(dsn)
		require.Error(t, err, dsn)
		if strings.Contains(err.Error(), pgPassword) {
			leaky++
		}
		rep := dsnRules().Check(Development, Map(map[string]string{"DATABASE_URL": dsn}))
		require.Len(t, rep.Problems, 1, dump(rep))
		assertNoPassword(t, rep)
	}
	assert.Positive(t, leaky, "at least one of these pgx errors quotes the password, so passing errors through would leak")
}
