package sessionstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dedw3n/hardening/internal/pglock"
	"github.com/dedw3n/hardening/internal/pooler"
)

// listenIdle is how long the listener waits for a notification before it
// checks its connection with a ping (bounded by the same duration): a
// connection that silently stopped answering is replaced within twice this.
const listenIdle = time.Second

// listener keeps a LISTEN connection for a cache: it drops the entries
// that other instances' (and its own) writes announce, and times the
// heartbeats that prove it is up to date.
type listener struct {
	c       *cache
	cc      *pgx.ConnConfig // the direct connection's configuration
	pool    *pgxpool.Pool   // sends the heartbeats
	table   string          // the table, qualified as configured
	trigger string          // its notify trigger's name
	ready   func() bool     // the store has created the table and its triggers
	beat    string          // this instance's heartbeats
	timeout time.Duration   // bounds connecting and each heartbeat
	idle    time.Duration   // a quiet connection is pinged after this, with this timeout
	log     *slog.Logger
	done    sync.WaitGroup

	mu      sync.Mutex           // protects next, sent and channel
	next    uint64               // the next heartbeat's number
	sent    map[uint64]time.Time // heartbeats sent and not yet back
	channel string               // invalidations, shared by the fleet: the trigger's
}

// channelFor names the notification channel of a table.
func channelFor(schema, table string) string {
	return fmt.Sprintf("sessionstore_%016x", uint64(pglock.Key(schema+"."+table)))
}

// notifyDDL creates the triggers that announce every UPDATE and DELETE of a
// row (saves, touches, renewals, destructions, revocations, pruning), by
// any client, and a TRUNCATE with "*". A deletion's payload is the row's ID
// in hexadecimal. A save's (a new version) or a touch's (the same version,
// only touched and expires changed) adds the committed version, touched
// and expires (Unix microseconds): see parseNotice. Any other update (an
// operator's, changing data without a new version) names the ID alone,
// like a deletion: no cached copy survives it.
// It also returns the table as it qualifies it and the row trigger's name.
func notifyDDL(schema, table, channel string) (ddl []string, qualified, rowTrigger string) {
	qual := func(name string) string {
		if schema == "" {
			return pgx.Identifier{name}.Sanitize()
		}
		return pgx.Identifier{schema, name}.Sanitize()
	}
	t, fn := qual(table), qual("sessionstore_notify")
	lit := func(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
	exists := func(name string) string {
		return `EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = ` + lit(t) + `::regclass AND tgname = ` + lit(name) + `)`
	}
	trigger := func(name, when, each string) string {
		return `IF NOT ` + exists(name) + ` THEN
	CREATE TRIGGER ` + pgx.Identifier{name}.Sanitize() + ` ` + when + ` ON ` + t + ` FOR EACH ` + each + ` EXECUTE FUNCTION ` + fn + `(` + lit(channel) + `);
END IF;`
	}
	return []string{
		`CREATE OR REPLACE FUNCTION ` + fn + `() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
	IF TG_OP = 'TRUNCATE' THEN
		PERFORM pg_notify(TG_ARGV[0], '*');
	ELSIF TG_OP = 'UPDATE' AND NEW.id = OLD.id AND isfinite(NEW.touched) AND isfinite(NEW.expires) AND
		(NEW.version = OLD.version + 1 OR NEW.version = OLD.version AND NEW.data = OLD.data AND
			NEW.user_id IS NOT DISTINCT FROM OLD.user_id AND NEW.created = OLD.created AND NEW.deadline = OLD.deadline) THEN
		PERFORM pg_notify(TG_ARGV[0], encode(NEW.id, 'hex') || ' ' || NEW.version || ' ' ||
			(extract(epoch FROM NEW.touched) * 1000000)::bigint || ' ' ||
			(extract(epoch FROM NEW.expires) * 1000000)::bigint);
	ELSE
		PERFORM pg_notify(TG_ARGV[0], encode(OLD.id, 'hex'));
	END IF;
	RETURN NULL;
END
$f$`,
		// Earlier versions created <table>_notify per statement, where OLD
		// is NULL: its empty payloads emptied every cache at each write.
		`DO $d$ BEGIN
IF ` + exists(table+"_notify") + ` THEN
	DROP TRIGGER ` + pgx.Identifier{table + "_notify"}.Sanitize() + ` ON ` + t + `;
END IF;
` + trigger(table+"_notify_row", "AFTER UPDATE OR DELETE", "ROW") + `
` + trigger(table+"_notify_truncate", "AFTER TRUNCATE", "STATEMENT") + `
END $d$`,
	}, t, table + "_notify_row"
}

// startCache sets up the read cache if the configuration asks for one and
// a direct connection for LISTEN is possible. It fails only on a bad
// ListenURL, having closed the store's own pool.
func (s *PostgresStore) startCache() error {
	cfg := &s.cfg.Cache
	if !cfg.Enabled {
		return nil
	}
	if cfg.MaxEntries <= 0 {
		cfg.MaxEntries = 10000
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = 16 << 20
	}
	if cfg.MaxLag <= 0 {
		cfg.MaxLag = 100 * time.Millisecond
	}
	if cfg.idle <= 0 {
		cfg.idle = listenIdle
	}
	var cc *pgx.ConnConfig
	if cfg.ListenURL != "" {
		var err error
		if cc, err = pgx.ParseConfig(cfg.ListenURL); err != nil {
			s.cancel()
			if s.ownPool {
				s.pool.Close()
			}
			// pgx's parse errors may quote the connection string: say only that it failed.
			return errors.New("sessionstore: invalid PostgreSQL connection string in Cache.ListenURL")
		}
	} else {
		cc = s.pool.Config().ConnConfig
		if d := pooler.Decide(s.cfg.Pooler, &cc.Config); d.Transaction {
			s.cfg.Logger.Warn("sessionstore: read cache off: LISTEN needs a direct connection, set PostgresConfig.Cache.ListenURL",
				"reason", d.Reason)
			return nil
		}
	}
	cc.RuntimeParams["application_name"] = "sessionstore listener"
	cc.BuildContextWatcherHandler = func(pc *pgconn.PgConn) ctxwatch.Handler {
		// A timed-out wait only interrupts the read: no cancel request.
		return &pgconn.DeadlineContextWatcherHandler{Conn: pc.Conn()}
	}
	var nonce [8]byte
	rand.Read(nonce[:])
	ddl, table, trigger := notifyDDL(s.cfg.Schema, s.cfg.Table, channelFor(s.cfg.Schema, s.cfg.Table))
	s.table.DDL = append(s.table.DDL, ddl...)
	l := &listener{
		c: newCache(*cfg), cc: cc, pool: s.pool, table: table, trigger: trigger, ready: s.ready.Load,
		beat:    "sessionstore_beat_" + hex.EncodeToString(nonce[:]),
		timeout: s.cfg.ConnectTimeout + s.cfg.QueryTimeout, idle: cfg.idle, log: s.cfg.Logger,
		sent: make(map[uint64]time.Time),
	}
	s.cache, s.listener = l.c, l
	l.done.Add(2)
	go l.run(s.ctx)
	go l.heartbeats(s.ctx)
	s.cfg.Logger.Info("sessionstore: read cache on", "max_entries", cfg.MaxEntries, "max_bytes", cfg.MaxBytes,
		"max_lag", cfg.MaxLag)
	return nil
}

// run keeps a LISTEN connection until ctx ends, reconnecting with backoff.
func (l *listener) run(ctx context.Context) {
	defer l.done.Done()
	b := backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(100*time.Millisecond),
		backoff.WithMaxInterval(5*time.Second),
		backoff.WithMaxElapsedTime(0),
	)
	for !l.ready() { // no table, no trigger to read its channel from
		select {
		case <-ctx.Done():
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
	for connected := false; ; {
		up, err := l.session(ctx, connected)
		l.c.down()
		if ctx.Err() != nil {
			return
		}
		if up {
			connected = true
			b.Reset()
		}
		l.log.Warn("sessionstore: cache listener lost its connection; reads go to PostgreSQL until it is back", "err", err)
		t := time.NewTimer(b.NextBackOff())
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// session connects, listens, and handles notifications until the
// connection fails. up reports whether LISTEN succeeded.
func (l *listener) session(ctx context.Context, reconnect bool) (up bool, err error) {
	cctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	conn, err := pgx.ConnectConfig(cctx, l.cc)
	if err != nil {
		return false, fmt.Errorf("connect: %w", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		conn.Close(cctx)
	}()
	channel, err := l.triggerChannel(cctx, conn)
	if err != nil {
		return false, err
	}
	for _, ch := range []string{channel, l.beat} {
		if _, err := conn.Exec(cctx, "LISTEN "+pgx.Identifier{ch}.Sanitize()); err != nil {
			return false, fmt.Errorf("listen: %w", err)
		}
	}
	l.mu.Lock()
	next := l.next
	l.channel = channel
	l.mu.Unlock()
	l.c.listening(next)
	if reconnect {
		l.c.reconnects.Add(1)
		l.log.Info("sessionstore: cache listener reconnected")
	}
	return true, l.serve(ctx, conn)
}

// triggerChannel reads the channel the table's notify trigger announces
// changes on. The first instance to create the trigger named it, and the
// fleet's instances may spell the table differently (Schema "" and
// "public" are one table, with two names for a channel).
func (l *listener) triggerChannel(ctx context.Context, conn *pgx.Conn) (string, error) {
	var args []byte
	err := conn.QueryRow(ctx, `SELECT tgargs FROM pg_trigger WHERE tgrelid = to_regclass($1) AND tgname = $2`,
		l.table, l.trigger).Scan(&args)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("the table has no trigger %s", l.trigger)
	}
	if err != nil {
		return "", fmt.Errorf("read the notify trigger: %w", err)
	}
	channel, _, _ := bytes.Cut(args, []byte{0})
	return string(channel), nil
}

// listeningOn returns the channel of invalidations last listened to.
func (l *listener) listeningOn() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.channel
}

// serve handles notifications, pinging the connection when it is quiet.
func (l *listener) serve(ctx context.Context, conn *pgx.Conn) error {
	for {
		wctx, cancel := context.WithTimeout(ctx, l.idle)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		if n != nil {
			l.handle(n)
		}
		switch {
		case err == nil:
		case ctx.Err() != nil:
			return ctx.Err()
		case pgconn.Timeout(err):
			pctx, cancel := context.WithTimeout(ctx, l.idle)
			err = conn.Ping(pctx)
			cancel()
			if err != nil {
				return fmt.Errorf("ping: %w", err)
			}
		default:
			return err
		}
	}
}

// handle applies one notification.
func (l *listener) handle(n *pgconn.Notification) {
	if n.Channel == l.beat {
		seq, err := strconv.ParseUint(n.Payload, 10, 64)
		l.mu.Lock()
		sentAt, ok := l.sent[seq]
		delete(l.sent, seq)
		l.mu.Unlock()
		if err == nil && ok {
			l.c.acked(seq, sentAt)
		}
		return
	}
	nt, err := parseNotice(n.Payload)
	if err == nil {
		l.c.notify(nt)
		return
	}
	if nt.id.IsZero() {
		l.c.flush()
	} else {
		l.c.invalidate(nt.id)
	}
	if n.Payload != "*" { // not a TRUNCATE: counted once what it names is gone
		l.c.malformed.Add(1)
		l.log.Warn("sessionstore: cache listener got a notification it cannot read; dropped what it names",
			"err", err, "payload_len", len(n.Payload))
	}
}

// parseNotice reads a payload of the trigger: "<id>" (a deletion) or
// "<id> <version> <touched> <expires>" (an update), the ID in lower-case
// hexadecimal, the rest decimal integers as PostgreSQL prints them, times
// in Unix microseconds. On an error, n.id is the ID if the payload starts
// with one.
func parseNotice(payload string) (n notice, err error) {
	f := strings.Split(payload, " ")
	if len(f[0]) != 2*len(n.id) || strings.Trim(f[0], "0123456789abcdef") != "" {
		return notice{}, errors.New("no session ID")
	}
	hex.Decode(n.id[:], []byte(f[0])) // checked above: cannot fail
	if len(f) == 1 {
		return n, nil
	}
	if len(f) != 4 {
		return notice{id: n.id}, fmt.Errorf("%d fields", len(f))
	}
	var nums [3]int64
	for i, s := range f[1:] {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil || strconv.FormatInt(v, 10) != s {
			return notice{id: n.id}, fmt.Errorf("field %d is not an integer", i+2)
		}
		nums[i] = v
	}
	if nums[0] < 1 {
		return notice{id: n.id}, errors.New("version below 1")
	}
	n.changed, n.version, n.touched, n.expires = true, nums[0], nums[1], nums[2]
	return n, nil
}

// heartbeats sends a heartbeat when the cache asks for one while the
// listener is listening, at most every MaxLag/4 (25 ms at most).
func (l *listener) heartbeats(ctx context.Context) {
	defer l.done.Done()
	gap := min(l.c.maxLag/4, 25*time.Millisecond)
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-l.c.kick:
		}
		if !l.c.isLive() {
			continue
		}
		if wait := gap - time.Since(last); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		last = time.Now()
		l.send(ctx, last)
	}
}

// send sends one heartbeat through the pool; its commit orders it after
// every change committed before now.
func (l *listener) send(ctx context.Context, now time.Time) {
	l.mu.Lock()
	seq := l.next
	l.next++
	l.sent[seq] = now
	for k := range l.sent {
		if k+64 < seq { // lost: a heartbeat sent while the listener was away
			delete(l.sent, k)
		}
	}
	l.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	if _, err := l.pool.Exec(ctx, "SELECT pg_notify($1, $2)", l.beat, strconv.FormatUint(seq, 10)); err != nil && ctx.Err() == nil {
		l.log.Debug("sessionstore: cache heartbeat failed", "err", err)
	}
}
