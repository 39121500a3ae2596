package bench

import (
	"os"
	"testing"

	"github.com/dedw3n/hardening/internal/pgtest"
	"github.com/rs/zerolog"
)

// TestMain runs the fault suite under pgtest (real PostgreSQL, goleak check,
// cluster clean-up) and, when RELIABILITY_OUT names a file, writes the
// figures the fault tests recorded into it after a successful run.
func TestMain(m *testing.M) {
	zerolog.SetGlobalLevel(zerolog.WarnLevel) // toxiproxy's toxics trace to stdout
	pgtest.Main(reportingRunner{m: m, out: os.Getenv("RELIABILITY_OUT")})
}
