package pgtest

// Tables other libraries create, verbatim from their documentation, for
// tests of a store pointed at a database that already holds one.
const (
	// SCSTable is how alexedwards/scs's postgresstore asks for its table
	// (README of scs/postgresstore).
	SCSTable = `CREATE TABLE sessions (
	token TEXT PRIMARY KEY,
	data BYTEA NOT NULL,
	expiry TIMESTAMPTZ NOT NULL
);
CREATE INDEX sessions_expiry_idx ON sessions (expiry);`

	// ConnectPgSimpleTable is connect-pg-simple's table.sql (Node.js
	// express-session), which it also runs with createTableIfMissing.
	ConnectPgSimpleTable = `CREATE TABLE "session" (
  "sid" varchar NOT NULL COLLATE "default",
  "sess" json NOT NULL,
  "expire" timestamp(6) NOT NULL
)
WITH (OIDS=FALSE);
ALTER TABLE "session" ADD CONSTRAINT "session_pkey" PRIMARY KEY ("sid") NOT DEFERRABLE INITIALLY IMMEDIATE;
CREATE INDEX "IDX_session_expire" ON "session" ("expire");`
)
