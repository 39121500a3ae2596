// Package sessionstore provides HTTP sessions stored in PostgreSQL or memory.
//
// It is being built under its own issue; nothing is exported yet.
package sessionstore
