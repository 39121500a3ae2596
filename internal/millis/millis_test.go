package millis

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestOf(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want float64
	}{
		{0, 0},
		{1500 * time.Microsecond, 1.5},
		{2*time.Second + 999, 2000},
		{-3 * time.Millisecond, -3},
	} {
		assert.Equal(t, tc.want, Of(tc.d), "Of(%v)", tc.d)
	}
}
