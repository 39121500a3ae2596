package pglock

import (
	"testing"

	"github.com/dedw3n/hardening/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }
