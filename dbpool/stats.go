package dbpool

import "time"

// Stats is a snapshot of pgxpool's counters and the health monitor's
// figures, for metrics (a Prometheus collector can read it on scrape).
// Counts ending in Count, and the durations, are cumulative since New.
type Stats struct {
	MaxConns          int32 // configured maximum
	TotalConns        int32 // open connections: idle + acquired + constructing
	IdleConns         int32
	AcquiredConns     int32
	ConstructingConns int32

	AcquireCount            int64 // successful acquires
	CanceledAcquireCount    int64 // acquires given up by their context
	EmptyAcquireCount       int64 // acquires that waited: no idle connection was ready
	NewConnsCount           int64 // connections opened
	MaxLifetimeDestroyCount int64 // connections closed for MaxConnLifetime
	MaxIdleDestroyCount     int64 // connections closed for MaxConnIdleTime

	AcquireDuration      time.Duration // total time spent in successful acquires
	EmptyAcquireWaitTime time.Duration // total time spent waiting in EmptyAcquireCount acquires

	Health Report
}

// Stats returns a snapshot of the pool's counters and health. It takes no
// database round trip.
func (p *Pool) Stats() Stats {
	st := p.pool.Stat()
	p.mu.Lock()
	h := p.report
	p.mu.Unlock()
	return Stats{
		MaxConns:                st.MaxConns(),
		TotalConns:              st.TotalConns(),
		IdleConns:               st.IdleConns(),
		AcquiredConns:           st.AcquiredConns(),
		ConstructingConns:       st.ConstructingConns(),
		AcquireCount:            st.AcquireCount(),
		CanceledAcquireCount:    st.CanceledAcquireCount(),
		EmptyAcquireCount:       st.EmptyAcquireCount(),
		NewConnsCount:           st.NewConnsCount(),
		MaxLifetimeDestroyCount: st.MaxLifetimeDestroyCount(),
		MaxIdleDestroyCount:     st.MaxIdleDestroyCount(),
		AcquireDuration:         st.AcquireDuration(),
		EmptyAcquireWaitTime:    st.EmptyAcquireWaitTime(),
		Health:                  h,
	}
}
