// Package pooler decides whether a PostgreSQL connection string leads to a
// transaction-mode connection pooler (PgBouncer with pool_mode=transaction,
// Neon's "-pooler" endpoints, Supabase's pooler on port 6543), and what pgx
// must then do differently. dbpool, sessionstore and cryptorates share it,
// so that "pooler" means one thing throughout the module.
//
// Behind a transaction pooler, consecutive transactions of one client may
// run on different server connections. Named prepared statements (pgx's
// default statement cache), SET, temporary tables, LISTEN and session-level
// advisory locks do not survive from one transaction to the next, or worse,
// are found by another client.
package pooler

import (
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Mode says how a package treats a pooler between it and PostgreSQL.
type Mode int

const (
	// Auto treats the server as a transaction pooler when a host name says
	// so: Neon's pooled endpoints contain "-pooler"
	// (ep-name-123456-pooler.region.aws.neon.tech), and Supabase's pooler
	// answers in transaction mode on port 6543 (*.pooler.supabase.com,
	// db.*.supabase.co). Host names are compared in any case and without
	// a fully qualified name's trailing dot. Anything else is treated as
	// direct.
	Auto Mode = iota
	// None: a direct connection to PostgreSQL (or a session-mode pooler).
	None
	// Transaction: a transaction-mode pooler, whatever the host is called.
	Transaction
)

// String returns the mode's name as [Parse] reads it.
func (m Mode) String() string {
	switch m {
	case Auto:
		return "auto"
	case None:
		return "none"
	case Transaction:
		return "transaction"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// Parse reads "auto", "none" or "transaction" (any case; "" is auto).
func Parse(s string) (Mode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "auto":
		return Auto, nil
	case "none":
		return None, nil
	case "transaction":
		return Transaction, nil
	}
	return Auto, fmt.Errorf("pooler mode %q: want auto, none or transaction", s)
}

// UnmarshalText implements encoding.TextUnmarshaler with [Parse].
func (m *Mode) UnmarshalText(b []byte) error {
	v, err := Parse(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// ExecMode is the query exec mode used behind a transaction pooler:
// QueryExecModeExec sends Parse/Bind/Execute of an unnamed statement in a
// single round trip, which a transaction pooler keeps on one server
// connection. It still binds parameters on the server (unlike
// QueryExecModeSimpleProtocol) and costs no extra round trip (unlike
// QueryExecModeDescribeExec). The cost: parameter types come from the Go
// types, and results come in text format.
const ExecMode = pgx.QueryExecModeExec

// Decision is what [Decide] concluded about one connection configuration.
type Decision struct {
	// Transaction is true behind a transaction pooler, declared or detected.
	Transaction bool
	// Reason says why, for a log line ("Pooler is transaction", "pooler
	// host ep-x-pooler.…", "no transaction pooler").
	Reason string
}

// Decide applies m to cc's hosts.
func Decide(m Mode, cc *pgconn.Config) Decision {
	switch m {
	case Transaction:
		return Decision{true, "Pooler is transaction"}
	case None:
		return Decision{false, "Pooler is none"}
	}
	if h := Host(cc); h != "" {
		return Decision{true, "pooler host " + h}
	}
	return Decision{false, "no transaction pooler"}
}

// Host returns the first host of cc (primary or fallback) that [Auto]
// recognises as a transaction pooler, or "".
func Host(cc *pgconn.Config) string {
	if cc == nil {
		return ""
	}
	type hp struct {
		host string
		port uint16
	}
	all := []hp{{cc.Host, cc.Port}}
	for _, f := range cc.Fallbacks {
		all = append(all, hp{f.Host, f.Port})
	}
	for _, h := range all {
		// A fully qualified name may end in a dot (host.example.com.);
		// names are compared without it, and without regard to case.
		name := strings.ToLower(strings.TrimSuffix(h.host, "."))
		switch {
		case strings.Contains(name, "-pooler"): // Neon
			return h.host
		case h.port == 6543 && (strings.HasSuffix(name, ".supabase.com") || strings.HasSuffix(name, ".supabase.co")):
			return h.host
		}
	}
	return ""
}

// Configure sets cc's default exec mode for d, unless the connection string
// chose one itself (default_query_exec_mode=…), which wins. It returns the
// mode in force and why.
func Configure(cc *pgx.ConnConfig, d Decision) (pgx.QueryExecMode, string) {
	if ExplicitExecMode(cc.ConnString()) {
		return cc.DefaultQueryExecMode, "DSN default_query_exec_mode (" + d.Reason + ")"
	}
	if d.Transaction {
		cc.DefaultQueryExecMode = ExecMode
	}
	return cc.DefaultQueryExecMode, d.Reason
}

// ExplicitExecMode reports whether the connection string sets
// default_query_exec_mode.
func ExplicitExecMode(connString string) bool {
	pc, err := pgconn.ParseConfig(connString)
	if err != nil {
		return false
	}
	_, ok := pc.RuntimeParams["default_query_exec_mode"]
	return ok
}

// Caches reports whether mode keeps named prepared statements on the
// server connection, which a transaction pooler loses between
// transactions.
func Caches(mode pgx.QueryExecMode) bool {
	return mode == pgx.QueryExecModeCacheStatement || mode == pgx.QueryExecModeCacheDescribe
}
