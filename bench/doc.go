// Package bench holds the module's proof: benchmarks of each package beside
// the library a user would pick instead (alexedwards/scs with pgxstore,
// gobreaker with golang-lru, http.FileServer, gzhttp and nginx for
// compressed assets, raw pgxpool), and a fault-injection suite that puts
// toxiproxy and PostgreSQL restarts between the packages and their
// database.
//
// It is a nested module so that the peers never enter the library's own
// go.mod. The tests (go test ./...) are the fault suite; run.sh runs the
// benchmarks and rewrites ../BENCHMARKS.md. With RELIABILITY_OUT set,
// go test writes the fault figures to that file (see ../RELIABILITY.md).
package bench
