package bench

import (
	"os"
	"testing"

	"github.com/dedw3n/hardening/internal/pgtest"
	"github.com/rs/zerolog"
	"go.uber.org/goleak"
)

// TestMain runs the fault suite under pgtest (real PostgreSQL, goleak check,
// cluster clean-up) and, when RELIABILITY_OUT names a file, writes the
// figures the fault tests recorded into it after a successful run.
func TestMain(m *testing.M) {
	zerolog.SetGlobalLevel(zerolog.WarnLevel) // toxiproxy's toxics trace to stdout
	pgtest.Main(reportingRunner{m: m, out: os.Getenv("RELIABILITY_OUT")},
		// scs.New always starts an in-memory store with a cleanup goroutine
		// that nothing can stop, even when Store is replaced at once: the
		// peer's leak, not ours, and only the session benchmark builds it.
		goleak.IgnoreTopFunction("github.com/alexedwards/scs/v2/memstore.(*MemStore).startCleanup"))
}
