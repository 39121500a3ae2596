package shutdown

import (
	"fmt"
	"log/slog"
	"time"
)

// CheckGrace is a startup sanity check: it logs a warning and returns an
// error when the drain delay plus the budget does not fit inside the
// orchestrator's termination grace period, after which the process is
// killed mid-shutdown (SIGKILL on Kubernetes). grace 0 or negative means
// Kubernetes' default of 30 s. It returns nil when the sequence fits.
func (c *Coordinator) CheckGrace(grace time.Duration) error {
	c.init()
	if grace <= 0 {
		grace = DefaultGracePeriod
	}
	need := c.cfg.DrainDelay + c.cfg.Timeout
	if need <= grace {
		return nil
	}
	c.cfg.Logger.Warn("shutdown: drain delay plus budget exceeds the termination grace period",
		slog.Duration("drain_delay", c.cfg.DrainDelay),
		slog.Duration("budget", c.cfg.Timeout),
		slog.Duration("grace_period", grace),
	)
	return fmt.Errorf("shutdown: drain delay %v + budget %v = %v does not fit the termination grace period %v: the process would be killed mid-shutdown",
		c.cfg.DrainDelay, c.cfg.Timeout, need, grace)
}
