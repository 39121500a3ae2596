// Package seamtest tests the seams between the module's packages: what
// sessionstore and cdncache do together, in either order, checked against
// the caching RFCs and against a real cache (nginx). It holds tests only.
package seamtest

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
