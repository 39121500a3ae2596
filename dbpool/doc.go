// Package dbpool opens a pgx v5 pool tuned and watched for serverless
// PostgreSQL (Neon and the like). It is pgxpool.New, except that the
// defaults suit a compute that bills idle connections and sleeps when
// unused, the connect survives a cold start, and the pool's health is
// measured and logged; queries still go straight to the *pgxpool.Pool.
//
// # Defaults
//
// A zero [Config] gives MaxConns 10, MinConns 2, MaxConnIdleTime 30s,
// MaxConnLifetime 30m with a tenth of it as jitter, a 5s connect timeout
// (pgx's fallback is 2 minutes), a 30s connect budget and a health check
// every 30s. DSN parameters (pool_max_conns, pool_min_conns,
// pool_max_conn_idle_time, pool_max_conn_lifetime,
// pool_max_conn_lifetime_jitter, pool_health_check_period,
// connect_timeout, default_query_exec_mode) are honoured: a non-zero Config
// field wins, else the DSN's value, else the default.
//
// # Connecting
//
// [New] retries a ping with jittered exponential backoff (cenkalti/backoff)
// until the connect budget runs out, so that a compute waking up, or a
// database that starts a little after the service, does not fail boot. Its
// error names the host and never the password. A service that must boot
// and serve while its database is down uses [Start]: it returns at once,
// connects in the background for as long as it takes, and reports
// [StateConnecting] (not ready, with the last error) until then.
//
// # Health
//
// A monitor goroutine runs SELECT 1 every period with its own timeout, and
// logs through log/slog with the fields component, latency_ms, total, idle,
// acquired, constructing and empty_acquire_waits: Debug when fine, Warn
// above 100ms, Error above 1s or on failure, Warn while acquires keep
// waiting for connections. [Pool.Health] returns the latest [Report] for
// readiness endpoints and [Pool.Stats] the pool's counters for metrics.
//
// # Scale to zero
//
// MinConns 2 and a probe every 30s keep a Neon compute awake for ever.
// [Config.ScaleToZero] drops the minimum to zero and pauses probes after a
// quiet period without application traffic, reporting [StateIdle], so the
// compute can suspend; the first request afterwards pays for the wake-up.
//
// # Transaction poolers
//
// Behind a transaction-mode pooler (PgBouncer with pool_mode=transaction,
// Neon's "-pooler" endpoints, Supabase's port 6543, RDS Proxy) consecutive
// transactions may run on different server connections, which breaks
// pgx's prepared-statement cache. [Config.Pooler] says which case applies:
//
//   - [PoolerAuto] (the default) detects Neon's "-pooler" host names and
//     Supabase's pooler on port 6543; any other host is treated as direct.
//   - [PoolerTransaction] is a transaction pooler whatever its host (say so
//     for a self-hosted PgBouncer).
//   - [PoolerNone] is a direct connection (or a session-mode pooler).
//
// Behind a transaction pooler the pool runs pgx.QueryExecModeExec: no named
// prepared statement, parameters still bound by the server, one round trip
// (a default_query_exec_mode in the DSN wins); the mode is logged. Anything
// session-level is the application's to avoid there: SET (use SET LOCAL in
// a transaction), temporary tables, session advisory locks (use
// pg_advisory_xact_lock), LISTEN. For those, open a second pool on the
// direct URL (Neon: the host without "-pooler"; Supabase: port 5432) with
// PoolerNone. The same Pooler type configures sessionstore.
//
// # Closing
//
// pgxpool's Close blocks while any connection is still acquired.
// [Pool.Close] is bounded by its context and says how many connections
// were still held when the deadline hit.
package dbpool
