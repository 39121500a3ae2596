// Package shutdown coordinates graceful shutdown with drain, readiness and per-hook budgets.
//
// It is being built under its own issue; nothing is exported yet.
package shutdown
