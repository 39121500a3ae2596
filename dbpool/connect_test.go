package dbpool

import (
	"context"
	"errors"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dedw3n/hardening/internal/pgtest"
)

func TestNewRetriesUntilServerStarts(t *testing.T) {
	s := pgtest.NewServer(t, pgtest.Options{Stopped: true})
	started := make(chan error, 1)
	timer := time.AfterFunc(2*time.Second, func() { started <- s.Start() })
	defer timer.Stop()

	log, logs := testLogger()
	cfg := fastConfig(log)
	cfg.ConnectBudget = 30 * time.Second
	cfg.ConnectTimeout = time.Second
	p := mustNew(t, s.URL(), cfg)
	require.NoError(t, <-started)

	assert.Equal(t, StateHealthy, p.Report().State)
	var one int
	require.NoError(t, p.Pool().QueryRow(context.Background(), "SELECT 1").Scan(&one))

	failed := logs.Lines(`"msg":"connect attempt failed"`, `"component":"dbpool"`, `"attempt":`)
	assert.GreaterOrEqual(t, len(failed), 2, "each failed attempt is logged; logs:\n%s", logs)
	connected := logs.Lines(`"msg":"connected"`)
	require.Len(t, connected, 1)
	assert.NotContains(t, connected[0], `"attempts":1,`, "New connected on a retry")
}

func TestNewUnreachableServer(t *testing.T) {
	addr := closedPort(t)
	host, port, _ := net.SplitHostPort(addr)
	const pw = "Tr0ub4dor-and-3"
	dsns := map[string]string{
		"URL":           "postgres://app:" + pw + "@" + addr + "/shop?sslmode=disable",
		"keyword/value": "host=" + host + " port=" + port + " user=app password='" + pw + "' dbname=shop sslmode=disable",
		"URL parameter": "postgres://app@" + addr + "/shop?sslmode=disable&password=" + pw,
	}
	for name, dsn := range dsns {
		t.Run(name, func(t *testing.T) {
			log, logs := testLogger()
			cfg := Config{ConnectBudget: time.Second, ConnectTimeout: 300 * time.Millisecond, Logger: log}
			start := time.Now()
			p, err := New(context.Background(), dsn, cfg)
			elapsed := time.Since(start)
			require.Error(t, err)
			require.Nil(t, p)

			msg := err.Error()
			t.Log(msg)
			assert.Contains(t, msg, "dbpool: cannot connect to "+addr)
			assert.Contains(t, msg, `database "shop", user "app"`)
			assert.Contains(t, msg, "gave up after")
			assert.NotContains(t, msg, pw)
			assert.NotContains(t, logs.String(), pw)
			assert.GreaterOrEqual(t, len(logs.Lines(`"msg":"connect attempt failed"`)), 2, "retried within the budget")
			var ce *pgconn.ConnectError
			assert.True(t, errors.As(err, &ce), "the pgx error stays reachable for errors.As")
			// Generous bound: the budget plus scheduling slack, not a speed test.
			assert.Less(t, elapsed, cfg.ConnectBudget+2*time.Second)
		})
	}
}

// A server that accepts TCP connections and never answers, like a compute
// stuck while waking: New still returns within its budget, and nothing it
// started keeps running (goleak checks at the end of the package).
func TestNewHangingServerStaysWithinBudget(t *testing.T) {
	addr := holdingServer(t, time.Time{})
	log, logs := testLogger()
	cfg := Config{ConnectBudget: time.Second, ConnectTimeout: 20 * time.Second, Logger: log}
	start := time.Now()
	_, err := New(context.Background(), "postgres://app:pw-hang-1234@"+addr+"/shop?sslmode=disable", cfg)
	elapsed := time.Since(start)
	require.Error(t, err)
	assert.Contains(t, err.Error(), addr)
	assert.NotContains(t, err.Error()+logs.String(), "pw-hang-1234")
	assert.Less(t, elapsed, cfg.ConnectBudget+2*time.Second, "the 20s connect timeout is capped by the 1s budget")
}

func TestNewStopsOnPermanentError(t *testing.T) {
	s := pgtest.Shared(t)
	dsn := strings.Replace(s.URL(), "/postgres?", "/no_such_database?", 1)
	log, logs := testLogger()
	_, err := New(context.Background(), dsn, Config{ConnectBudget: 20 * time.Second, Logger: log})
	require.Error(t, err)
	var pe *pgconn.PgError
	require.True(t, errors.As(err, &pe), "got %v", err)
	assert.Equal(t, "3D000", pe.Code)
	assert.Contains(t, err.Error(), "gave up after 1 attempt(s)")
	assert.Len(t, logs.Lines(`"msg":"connect attempt failed"`), 1)
}

func TestNewHonoursContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	timer := time.AfterFunc(300*time.Millisecond, cancel)
	defer timer.Stop()
	log, _ := testLogger()
	_, err := New(ctx, "postgres://app:ctx-secret-9@"+closedPort(t)+"/shop", Config{Logger: log})
	require.Error(t, err)
	assert.ErrorIs(t, err, context.Canceled)
	assert.NotContains(t, err.Error(), "ctx-secret-9")
}

// TestNewHonoursContextKeepsTheLastCause: when ctx ends while New retries
// a server that refuses (a role over its connection limit: 53300, which
// retrying can fix), the error wraps both the cancellation and the last
// attempt's *pgconn.PgError.
func TestNewHonoursContextKeepsTheLastCause(t *testing.T) {
	dsn := pgtest.DB(t)
	admin, err := pgx.Connect(context.Background(), dsn)
	require.NoError(t, err)
	defer admin.Close(context.Background())
	_, err = admin.Exec(context.Background(), `DROP ROLE IF EXISTS limited; CREATE ROLE limited LOGIN CONNECTION LIMIT 0`)
	require.NoError(t, err)
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	u.User = url.User("limited")

	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	log, _ := testLogger()
	_, err = New(ctx, u.String(), fastConfig(log))
	require.Error(t, err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	var pe *pgconn.PgError
	require.ErrorAs(t, err, &pe, "%v", err)
	assert.Equal(t, "53300", pe.Code)
	assert.Contains(t, err.Error(), "last error: ")
	assert.Equal(t, 1, strings.Count(err.Error(), "dbpool:"))
}

func TestSingleAttemptWithNegativeBudget(t *testing.T) {
	log, logs := testLogger()
	_, err := New(context.Background(), "postgres://app@"+closedPort(t)+"/shop", Config{ConnectBudget: -1, Logger: log})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "gave up after 1 attempt(s)")
	assert.Len(t, logs.Lines(`"msg":"connect attempt failed"`), 1)
}

// holdingServer accepts TCP connections and closes those that arrive
// before refuseUntil at once; it holds the others open without a word,
// like a compute stuck while waking, until the test ends.
func holdingServer(t *testing.T, refuseUntil time.Time) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var (
		mu   sync.Mutex
		held []net.Conn
		wg   sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			if time.Now().Before(refuseUntil) {
				c.Close()
				continue
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		wg.Wait()
		for _, c := range held {
			c.Close()
		}
	})
	return l.Addr().String()
}

// An attempt cut short by the budget says nothing of the server: New
// reports the previous attempt's error. The server closes every connection
// at once for half the budget, then holds them, so the last attempt is the
// one the budget cuts.
func TestBudgetCutAttemptKeepsTheLastCause(t *testing.T) {
	addr := holdingServer(t, time.Now().Add(500*time.Millisecond))
	log, logs := testLogger()
	_, err := New(context.Background(), "postgres://app@"+addr+"/shop?sslmode=disable",
		Config{ConnectBudget: time.Second, ConnectTimeout: 20 * time.Second, Logger: log})
	require.Error(t, err)
	t.Log(err)
	require.GreaterOrEqual(t, len(logs.Lines(`"msg":"connect attempt failed"`)), 1, "an attempt failed on its own")
	var ce *pgconn.ConnectError
	assert.True(t, errors.As(err, &ce), "a pgx error is the cause")
	assert.NotErrorIs(t, err, context.DeadlineExceeded, "the budget is not the cause")
}

// TestHugeConnectBudget: a budget long enough to mean "for ever" connects
// (a deadline past 2262 overflowed Unix nanoseconds and ended at once).
func TestHugeConnectBudget(t *testing.T) {
	dsn := pgtest.DB(t)
	for _, budget := range []time.Duration{250 * 365 * 24 * time.Hour, time.Duration(1<<63 - 1)} {
		cfg := fastConfig(nil)
		cfg.ConnectBudget = budget
		p, err := New(context.Background(), dsn, cfg)
		require.NoError(t, err, "ConnectBudget %v", budget)
		require.NoError(t, p.Close(context.Background()))
	}
}
