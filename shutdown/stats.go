package shutdown

// Stats is a snapshot of a Coordinator's state and counters, for metrics.
// Its JSON form has snake_case names and the last report in its own JSON
// form (see [Report]), left out until the sequence finishes.
type Stats struct {
	// Draining reports that the shutdown sequence has begun.
	Draining bool `json:"draining"`
	// Step is what the running sequence is doing: "drain delay" or the name
	// of the running hook; empty when no sequence runs.
	Step string `json:"step,omitempty"`
	// Shutdowns counts finished shutdown sequences: 0 or 1.
	Shutdowns uint64 `json:"shutdowns"`
	// Hooks is the number of registered hooks, servers included.
	Hooks int `json:"hooks"`
	// HookTimeouts counts hooks that ran out of their share.
	HookTimeouts uint64 `json:"hook_timeouts"`
	// HookErrors counts hooks that failed, timed out ones included.
	HookErrors uint64 `json:"hook_errors"`
	// Checks is the number of readiness checks.
	Checks int `json:"checks"`
	// Probes counts readiness probes served; ProbeFailures those answered 503.
	Probes        uint64 `json:"probes"`
	ProbeFailures uint64 `json:"probe_failures"`
	// CheckRuns counts readiness check runs; CheckCacheHits the results
	// served from the cache instead.
	CheckRuns      uint64 `json:"check_runs"`
	CheckCacheHits uint64 `json:"check_cache_hits"`
	// LastReport is the finished sequence's report; nil until it finishes.
	LastReport *Report `json:"last_report,omitempty"`
}

// Stats returns a snapshot of the coordinator's state and counters.
func (c *Coordinator) Stats() Stats {
	c.init()
	s := Stats{
		Draining:       c.draining.Load(),
		HookTimeouts:   c.hookTimeouts.Load(),
		HookErrors:     c.hookErrors.Load(),
		Probes:         c.probes.Load(),
		ProbeFailures:  c.probeFailures.Load(),
		CheckRuns:      c.checkRuns.Load(),
		CheckCacheHits: c.checkCacheHits.Load(),
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s.Step = c.step
	s.Hooks = len(c.hooks)
	s.Checks = len(c.checks)
	if c.finished {
		s.Shutdowns = 1
		r := c.report.clone()
		s.LastReport = &r
	}
	return s
}
