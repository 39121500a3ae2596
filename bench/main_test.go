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
		goleak.IgnoreTopFunction("github.com/alexedwards/scs/v2/memstore.(*MemStore).startCleanup"),
		// toxiproxy v2.5.0 can strand the pass-through stage of a link in a
		// channel send when a toxic is added or removed while that link's
		// connection is closing (ToxicLink.AddToxic/RemoveToxic swap the
		// stage's output under it). Proxy.Stop closes every connection, but
		// that goroutine has no way out: toxiproxy's leak, not the packages'.
		// Only this top function is ignored; every other goroutine, toxiproxy's
		// included, is still checked.
		goleak.IgnoreTopFunction("github.com/Shopify/toxiproxy/v2/toxics.(*NoopToxic).Pipe"))
}
