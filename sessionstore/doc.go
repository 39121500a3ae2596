// Package sessionstore provides HTTP sessions kept in PostgreSQL (or in
// memory) that survive cold starts and outages, write almost never, and
// merge concurrent changes instead of losing them. It is similar to
// alexedwards/scs with its pgxstore, except that reading a session costs
// no write, saves are versioned and replayed on conflict, and a database
// outage answers 503 rather than logging users out.
//
// # Use
//
//	store, _ := sessionstore.NewPostgresStore(sessionstore.PostgresConfig{URL: os.Getenv("DATABASE_URL")})
//	defer store.Close()
//	sessions, _ := sessionstore.NewManager(store, sessionstore.Config{Secrets: [][]byte{secret}})
//	http.ListenAndServe(":8080", sessions.Middleware(mux))
//
// and in a handler:
//
//	s := sessionstore.FromContext(r.Context())
//	err := sessionstore.Update(s, "cart", func(c *[]Item) error { *c = append(*c, item); return nil })
//
// # Writes
//
// A request that only reads its session costs one query (the load) and no
// write. Once the session's last write is older than Config.TouchAfter (2 h
// by default), such a request runs one data-free conditional UPDATE that
// moves the idle expiry, and only if that UPDATE moved it is the cookie
// reissued with the new Max-Age, so cookie and row agree. A request that
// changes its session runs one write (an INSERT for a new session, else an
// UPDATE guarded by the version), before its response starts: a
// failed save replaces the response by the error handler's 503, so a
// client never sees success for an unsaved change.
//
// # Concurrent requests
//
// Each row has a version. A request records its changes (Put, Delete,
// Update, SetUserID) as a delta; its save succeeds only if the version is
// still the one it loaded. Otherwise the Manager reloads the row, replays
// the delta on it and saves again. Put on different keys therefore merges,
// Put on the same key is last-writer-wins, and [Update] re-runs its
// function on the fresh value, so two tabs adding to one cart both count.
// A session destroyed or revoked meanwhile is not resurrected: the delta
// goes to a new session with a new token and no user.
//
// # Tokens and cookies
//
// Tokens are 256 random bits. The cookie carries the token with an
// HMAC-SHA256 under the first of Config.Secrets (all of them verify, for
// rotation); forged, truncated or garbage cookies are rejected in
// constant time without a store lookup, and the request gets a new empty
// session. Stores key on the SHA-256 of the token, which never reaches
// the database or the logs. Cookies are HttpOnly, SameSite=Lax, Secure
// (unless CookieConfig.Insecure) and Path=/; CookieConfig.HostPrefix
// enforces the __Host- rules. A response that sets the cookie carries
// Vary: Cookie and Cache-Control: private, no-store.
//
// # PostgreSQL
//
// [PostgresStore] uses its own small pool (5 connections, 20 s connect
// timeout) or the caller's. It creates its table and indexes with
// CREATE … IF NOT EXISTS under a transaction-scoped advisory lock,
// retrying in the background with jittered exponential backoff; until
// that succeeds operations fail with [ErrNotReady], and [Manager.Ready]
// says so. A failure is never cached: once the background budget is
// spent, each operation tries again. The exception is a table of that name
// with other columns, such as scs's (token, data, expiry) or
// connect-pg-simple's (sid, sess, expire): [ErrTableShape] names the
// columns found and the library they look like, and the store stops
// trying; give it another Table or Schema. Expired rows are pruned every
// 6 h by one instance of the fleet at a time (a transaction holding
// pg_try_advisory_xact_lock while the batches commit), in bounded batches.
//
// Behind a transaction-mode pooler (PgBouncer with pool_mode=transaction,
// Neon's "-pooler" hosts, Supabase's port 6543), [PostgresConfig].Pooler
// (default [PoolerAuto], which detects the Neon and Supabase hosts) makes
// the store's own pool run pgx.QueryExecModeExec, with no named prepared
// statement; a caller's Pool that caches them is refused. Locks behave the
// same in every mode, since all are transaction-scoped, and the store
// relies on no SET, temporary table or prepared statement surviving a
// transaction. It uses no LISTEN; a feature that needs one needs a direct
// URL (Neon: the host without "-pooler"; Supabase: port 5432). The table:
//
//	id       bytea PRIMARY KEY   -- sha256(token)
//	data     jsonb               -- the session's values by key
//	user_id  text                -- indexed, for ListUser / RevokeUser
//	created, touched, expires (indexed), deadline  timestamptz
//	version  bigint              -- incremented by each save
package sessionstore
