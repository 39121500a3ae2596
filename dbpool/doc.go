// Package dbpool provides a pgx v5 pool tuned and monitored for serverless PostgreSQL.
//
// It is being built under its own issue; nothing is exported yet.
package dbpool
