// Package sessionstore provides HTTP sessions kept in PostgreSQL (or in
// memory) that survive cold starts and outages, write almost never, and
// merge concurrent changes instead of losing them. It is similar to
// alexedwards/scs with its pgxstore, except that reading a session costs
// no write, saves are versioned and replayed on conflict, and a database
// outage answers 503 rather than logging users out (or, on routes wrapped
// by [Manager.Tolerant], lets them render without the session).
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
// # Outages
//
// While the store is unreachable, routes behind [Manager.Middleware]
// answer with Config.ErrorHandler (503 and Retry-After by default), which
// keeps the headers set by middlewares outside it. Routes that can render
// without the session (a catalogue page showing a cart count) use
// [Manager.Tolerant] instead: the handler runs with a session whose
// [Session.Err] wraps [ErrUnavailable], that reads as empty and refuses
// changes, and its response is sent as it is.
//
// # Errors
//
// Every error the package returns says "sessionstore: " once, at its
// start. The exported sentinels carry it, since they are returned as they
// are ([ErrNoSession], [ErrConflict]); a detail follows them ("sessionstore:
// session data too large: 5000 bytes, limit 4096"); an error that wraps
// another of the package's keeps the one prefix ("sessionstore: put "cart":
// value cannot be stored: …"), and errors.Is finds every sentinel in it.
// [Stats] and [StoreStats] have snake_case JSON names, for a status
// endpoint to return as they are.
//
// # Size
//
// Config.MaxSize bounds a session's data, measured in one canonical JSON
// form: compact, object keys in jsonb's order without duplicates, strings
// escaped only where JSON requires ("<" is one byte, not "\u003c"),
// numbers as PostgreSQL prints them (1e3 is 1000). It is the form every
// store keeps and gives back, so a value measures the same in every store
// and after any number of round trips: a change that Put or Update
// accepted is never refused when the session is saved. Put and Update
// refuse, before anything is saved, a change beyond the limit
// ([ErrTooLarge]) and a value no store can hold back unchanged
// ([ErrInvalidValue]: U+0000 in a string, invalid UTF-8 in a key, nesting
// deeper than 1000 levels, a number beyond PostgreSQL's numeric range).
// The late refusals are changes that no longer apply once replayed on a
// session a concurrent request changed: they no longer fit, an [Update]
// function refuses the value it is given then, or the session ended. The default
// ErrorHandler answers them with 409 Conflict ([ErrConflict]), never 503,
// and they are not counted as store errors.
//
// # Concurrent requests
//
// Each row has a version. A request records its changes (Put, Delete,
// Update, SetUserID) as a delta; its save succeeds only if the version is
// still the one it loaded. Otherwise the Manager reloads the row, replays
// the delta on it and saves again. Put on different keys therefore merges,
// Put on the same key is last-writer-wins, and [Update] re-runs its
// function on the fresh value, so two tabs adding to one cart both count.
// A session that ended meanwhile (destroyed, revoked, renewed by a login
// in another tab, or past its Lifetime while the request ran) is not
// resurrected, and the delta is not moved to a new session, which would
// give the client another cookie (logging it out of the tab that logged
// in): the request gets 409 ([ErrConflict]).
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
// A browser sends several cookies of the same name after cookie tossing
// from a sibling domain or a change of Path or Domain. Of these, the
// first 16 are considered and up to 4 validly signed ones are looked up,
// in the order sent: the first live session wins, so a dead duplicate
// does not hide a live one.
//
// # What it protects against, and what it does not
//
// Signed random tokens stop forged and guessed sessions; HttpOnly keeps
// scripts from reading the cookie; SameSite=Lax keeps it off cross-site
// subrequests and cross-site POSTs. SameSite does not stop cross-site
// request forgery from a sibling subdomain (same site), nor login CSRF,
// where a cross-site form logs the victim into the attacker's account
// (that request needs no cookie of the victim's). The package does not
// check where a request comes from: wrap state-changing routes with Go's
// [net/http.CrossOriginProtection], and renew the token at login against
// session fixation:
//
//	handler := http.NewCrossOriginProtection().Handler(sessions.Middleware(mux))
//	s.RenewToken(); s.SetUserID(user) // in the login handler, on success
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
// transaction. Only the optional read cache uses LISTEN, on a direct URL
// (Neon: the host without "-pooler"; Supabase: port 5432): see Read cache.
// The table:
//
//	id       bytea PRIMARY KEY   -- sha256(token)
//	data     jsonb               -- the session's values by key
//	user_id  text                -- indexed, for ListUser / RevokeUser
//	created, touched, expires (indexed), deadline  timestamptz
//	version  bigint              -- incremented by each save
//
// # Read cache
//
// [PostgresConfig].Cache (off by default) keeps loaded sessions in the
// process, bounded (10000 sessions and 16 MiB by default), so that reading
// a cached session costs no query. PostgreSQL stays the only truth. The
// store adds triggers to its table that NOTIFY the ID (the hash, never the
// token) of every row updated or deleted, whoever does it: saves, touches,
// renewals, logouts, revocations, pruning, other instances, an operator's
// DELETE; for a save or a touch, with the row's new version, touched time and
// expiry. Each instance listens on a dedicated connection and drops its
// copy, unless the copy already is that state or a later version. An
// instance that writes a session caches the row as its write committed it
// (read back in the same statement), so its next read costs no query
// either. A cached copy is never used past the session's idle expiry or
// deadline. What you can rely on:
//
//   - The client that made a change sees it at once, on every instance: a
//     companion cookie (the session cookie's name plus "_v", not secret)
//     carries the session's version after each change, and a cached copy
//     older than that is not used.
//   - Every other reader (another device, an old tab, an attacker with a
//     stolen cookie) may be served the state before a change for at most
//     [CacheConfig].MaxLag (100 ms by default) after the change committed.
//     That includes logout, renewal and revocation: a stolen cookie can
//     keep working for up to MaxLag after the logout, on an instance that
//     had the session cached. Without the cache, not at all.
//   - The bound is enforced, not hoped for. PostgreSQL delivers
//     notifications in commit order, and the listener sends itself
//     heartbeat notifications (at most every MaxLag/4, only while reads use
//     the cache). The cache is used only while the newest heartbeat that
//     came back was sent less than MaxLag ago. A listener that is cut off,
//     reconnecting, slow or silently losing packets therefore switches the
//     cache off within MaxLag: reads go to PostgreSQL (Stats.Cache.Bypassed),
//     the cache is emptied, and it is used again only after a new LISTEN and
//     a heartbeat through it. A load or write that overlaps an
//     invalidation which may concern its session does not store its
//     result, unless that one invalidation announces a state the result
//     already is or follows (its own write's, typically). A notification
//     the listener cannot read drops the session it names, or the whole
//     cache if it names none, and is counted (Stats.Cache.Malformed) and
//     logged.
//   - Writes do not trust the cache: each save is checked against the
//     stored version and replayed on conflict, and the reload after a
//     conflict always queries the database. A stale copy can cost a retry,
//     never an update.
//   - Changes that fire no trigger are not announced: DROP TABLE, writes
//     with session_replication_role = replica, a restored backup. Restart
//     the instances after one of these.
//
// LISTEN needs a connection that stays with one server session, which a
// transaction pooler does not give. The listener uses
// [CacheConfig].ListenURL, or else the store's own URL or Pool. If
// [PostgresConfig].Pooler says that leads to a transaction pooler, the
// cache stays off and the store logs why once at start. (A pooler it
// cannot recognise does no harm either: its heartbeats never come back, so
// the cache is never used.)
//
// Scale to zero: the listener keeps its connection open and pings it every
// second when nothing arrives. A serverless compute that suspends when
// idle (Neon, Supabase, Aurora Serverless) will therefore never suspend
// while an instance with the cache on is running. Use the cache where the
// database is up anyway, or leave it off. Each UPDATE or DELETE of a
// session row also sends a notification, and PostgreSQL serialises the
// commits of notifying transactions. A change then costs the database
// about twice the CPU it costs without the cache (60–67 µs against 30 µs,
// measured by saving one session 3000 times; most of it the notification),
// and two transactions where it counts them: the change, and the one in
// which each listening backend reads the notification queue. At session
// write rates this costs little, but a prune batch sends one notification
// per row.
package sessionstore
