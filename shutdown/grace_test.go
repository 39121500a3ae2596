package shutdown

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestCheckGrace(t *testing.T) {
	for _, tc := range []struct {
		name         string
		drain, total time.Duration
		grace        time.Duration
		fits         bool
	}{
		{"defaults fit the Kubernetes default", 0, 0, 0, true},
		{"5s drain and 10s budget fit 30s", 5 * time.Second, 10 * time.Second, 0, true},
		{"exactly the grace period fits", 10 * time.Second, 20 * time.Second, 0, true},
		{"one second over", 11 * time.Second, 20 * time.Second, 0, false},
		{"a short grace period", 5 * time.Second, 10 * time.Second, 10 * time.Second, false},
		{"a long grace period", 20 * time.Second, 30 * time.Second, time.Minute, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logger, logs := newLogger()
			c := New(Config{DrainDelay: tc.drain, Timeout: tc.total, Logger: logger})
			err := c.CheckGrace(tc.grace)
			if tc.fits {
				assert.NoError(t, err)
				assert.Empty(t, logs.String())
				return
			}
			assert.ErrorContains(t, err, "does not fit the termination grace period")
			assert.Contains(t, logs.String(), "level=WARN")
			assert.Contains(t, logs.String(), "exceeds the termination grace period")
		})
	}
}
