package dbpool

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dedw3n/hardening/internal/pgtest"
)

func TestDefaultsFromZeroConfig(t *testing.T) {
	p := mustNew(t, pgtest.DB(t), Config{})

	pc := p.Pool().Config()
	assert.Equal(t, int32(10), pc.MaxConns, "MaxConns")
	assert.Equal(t, int32(2), pc.MinConns, "MinConns")
	assert.Equal(t, 30*time.Second, pc.MaxConnIdleTime, "MaxConnIdleTime")
	assert.Equal(t, 30*time.Minute, pc.MaxConnLifetime, "MaxConnLifetime")
	assert.Equal(t, 3*time.Minute, pc.MaxConnLifetimeJitter, "MaxConnLifetimeJitter")
	assert.Equal(t, 30*time.Second, pc.HealthCheckPeriod, "HealthCheckPeriod")
	assert.Equal(t, 5*time.Second, pc.ConnConfig.ConnectTimeout, "ConnectTimeout")
	assert.Equal(t, pgx.QueryExecModeCacheStatement, pc.ConnConfig.DefaultQueryExecMode)

	assert.Equal(t, 30*time.Second, p.s.connectBudget, "ConnectBudget")
	assert.Equal(t, 30*time.Second, p.s.healthPeriod, "monitor period")
	assert.Equal(t, 5*time.Second, p.s.healthTimeout, "HealthCheckTimeout")
	assert.Equal(t, 100*time.Millisecond, p.s.warnLatency, "WarnLatency")
	assert.Equal(t, time.Second, p.s.errorLatency, "ErrorLatency")
	assert.Equal(t, int64(5), p.s.waitThreshold, "WaitThreshold")
	assert.Equal(t, time.Minute, p.s.waitWindow, "WaitWindow")
	assert.Equal(t, time.Minute, p.s.quietPeriod, "QuietPeriod")
	assert.False(t, p.s.scaleToZero)

	h := p.Report()
	assert.Equal(t, StateHealthy, h.State)
	assert.True(t, h.Ready())
	assert.Equal(t, int64(1), h.Checks, "New's ping counts as the first check")
	assert.False(t, h.LastSuccess.IsZero())
	assert.Equal(t, h, p.Health(context.Background()), "the deprecated Health is Report")

	// MinConns is real: the pool opens two connections by itself.
	waitFor(t, 10*time.Second, "MinConns connections", func() bool { return p.Stats().TotalConns >= 2 })
	assert.Equal(t, int32(10), p.Stats().MaxConns)
}

func TestDSNPoolParamsHonoured(t *testing.T) {
	dsn := pgtest.DB(t) + "&pool_max_conns=7&pool_min_conns=1&pool_max_conn_idle_time=45s" +
		"&pool_max_conn_lifetime=10m&pool_max_conn_lifetime_jitter=1m&pool_health_check_period=20s&connect_timeout=3"
	p := mustNew(t, dsn, Config{})

	pc := p.Pool().Config()
	assert.Equal(t, int32(7), pc.MaxConns)
	assert.Equal(t, int32(1), pc.MinConns)
	assert.Equal(t, 45*time.Second, pc.MaxConnIdleTime)
	assert.Equal(t, 10*time.Minute, pc.MaxConnLifetime)
	assert.Equal(t, time.Minute, pc.MaxConnLifetimeJitter)
	assert.Equal(t, 20*time.Second, pc.HealthCheckPeriod)
	assert.Equal(t, 20*time.Second, p.s.healthPeriod, "the monitor follows pool_health_check_period")
	assert.Equal(t, 3*time.Second, pc.ConnConfig.ConnectTimeout)
	assert.Equal(t, int32(7), p.Stats().MaxConns)
}

func TestPrecedence(t *testing.T) {
	const base = "postgres://app@db.example.com:5432/shop?sslmode=disable"
	tests := []struct {
		name  string
		dsn   string
		cfg   Config
		check func(t *testing.T, s *settings)
	}{
		{"field beats DSN", base + "&pool_max_conns=7&pool_max_conn_idle_time=45s&connect_timeout=3",
			Config{MaxConns: 4, MaxConnIdleTime: time.Minute, ConnectTimeout: time.Second},
			func(t *testing.T, s *settings) {
				assert.Equal(t, int32(4), s.pool.MaxConns)
				assert.Equal(t, time.Minute, s.pool.MaxConnIdleTime)
				assert.Equal(t, time.Second, s.pool.ConnConfig.ConnectTimeout)
			}},
		{"DSN beats default", base + "&pool_max_conns=3", Config{},
			func(t *testing.T, s *settings) { assert.Equal(t, int32(3), s.pool.MaxConns) }},
		{"DSN zero is honoured", base + "&pool_min_conns=0", Config{},
			func(t *testing.T, s *settings) { assert.Equal(t, int32(0), s.pool.MinConns) }},
		{"default MinConns lowered to a small MaxConns", base + "&pool_max_conns=1", Config{},
			func(t *testing.T, s *settings) { assert.Equal(t, int32(1), s.pool.MinConns) }},
		{"negative MinConns means none", base, Config{MinConns: -1},
			func(t *testing.T, s *settings) { assert.Equal(t, int32(0), s.pool.MinConns) }},
		{"negative lifetime means no limit and no jitter", base, Config{MaxConnLifetime: -1},
			func(t *testing.T, s *settings) {
				assert.Equal(t, time.Duration(0), s.pool.MaxConnLifetime)
				assert.Equal(t, time.Duration(0), s.pool.MaxConnLifetimeJitter)
			}},
		{"jitter defaults to a tenth of the lifetime", base + "&pool_max_conn_lifetime=20m", Config{},
			func(t *testing.T, s *settings) { assert.Equal(t, 2*time.Minute, s.pool.MaxConnLifetimeJitter) }},
		{"health timeout never exceeds a short period", base, Config{HealthCheckPeriod: time.Second},
			func(t *testing.T, s *settings) { assert.Equal(t, time.Second, s.healthTimeout) }},
		{"scale to zero forces no minimum", base + "&pool_min_conns=3&pool_min_idle_conns=1", Config{MinConns: 2, ScaleToZero: true},
			func(t *testing.T, s *settings) {
				assert.Equal(t, int32(0), s.pool.MinConns)
				assert.Equal(t, int32(0), s.pool.MinIdleConns)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := resolve(tt.dsn, tt.cfg)
			require.NoError(t, err)
			tt.check(t, s)
		})
	}
}

func TestConfigErrors(t *testing.T) {
	const pw = "Sup3rS3cret"
	tests := []struct {
		name string
		dsn  string
		cfg  Config
		want string
	}{
		{"explicit MinConns above MaxConns", "postgres://app@h/db", Config{MinConns: 5, MaxConns: 2}, "MinConns 5 exceeds MaxConns 2"},
		{"DSN MinConns above MaxConns", "postgres://app@h/db?pool_min_conns=5&pool_max_conns=2", Config{}, "MinConns 5 exceeds MaxConns 2"},
		{"negative MaxConns", "postgres://app@h/db", Config{MaxConns: -1}, "MaxConns -1 is negative"},
		{"bad pool param, URL", "postgres://app:" + pw + "@h/db?pool_max_conns=many", Config{}, "pool_max_conns that is not a valid number"},
		{"bad pool param, keyword/value", "host=h user=app password=" + pw + " pool_max_conn_lifetime=forever", Config{}, "pool_max_conn_lifetime that is not a valid number"},
		{"bad port", "postgres://app:" + pw + "@h:" + pw + "/db", Config{}, "cannot parse DSN"},
		{"bad exec mode", "postgres://app:" + pw + "@h/db?default_query_exec_mode=fast", Config{}, "invalid default_query_exec_mode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(context.Background(), tt.dsn, tt.cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), pw)
			assert.Contains(t, err.Error(), "dbpool: ")
		})
	}
}

// Configure reaches what dbpool does not wrap (here RuntimeParams,
// BeforeConnect and AfterConnect) and runs after dbpool's own settings.
func TestConfigureHook(t *testing.T) {
	var befores atomic.Int32
	var sawMaxConns int32
	p := mustNew(t, pgtest.DB(t), Config{MaxConns: 3, Configure: func(pc *pgxpool.Config) {
		sawMaxConns = pc.MaxConns
		pc.ConnConfig.RuntimeParams["application_name"] = "dbpool-configure"
		pc.BeforeConnect = func(context.Context, *pgx.ConnConfig) error { befores.Add(1); return nil }
		pc.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
			_, err := c.Exec(ctx, "SET statement_timeout = '1234ms'")
			return err
		}
	}})
	assert.Equal(t, int32(3), sawMaxConns, "Configure sees dbpool's settings")

	var app, timeout string
	require.NoError(t, p.Pool().QueryRow(context.Background(), "SELECT current_setting('application_name'), current_setting('statement_timeout')").Scan(&app, &timeout))
	assert.Equal(t, "dbpool-configure", app)
	assert.Equal(t, "1234ms", timeout)
	assert.Positive(t, befores.Load(), "the caller's BeforeConnect runs")
	assert.Equal(t, 5*time.Second, p.Pool().Config().ConnConfig.ConnectTimeout, "dbpool's own settings stay")
}
