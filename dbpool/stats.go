package dbpool

import (
	"encoding/json"
	"time"
)

// Stats is a snapshot of pgxpool's counters and the health monitor's
// figures, for metrics (a Prometheus collector can read it on scrape) and
// status endpoints. Counts ending in Count, and the durations, are
// cumulative since New.
//
// Its JSON form has the snake_case names of the tags, the two durations in
// seconds (acquire_seconds, empty_acquire_wait_seconds) and the health
// report in its own JSON form (see [Report]).
type Stats struct {
	MaxConns          int32 `json:"max_conns"`   // configured maximum
	TotalConns        int32 `json:"total_conns"` // open connections: idle + acquired + constructing
	IdleConns         int32 `json:"idle_conns"`
	AcquiredConns     int32 `json:"acquired_conns"`
	ConstructingConns int32 `json:"constructing_conns"`

	AcquireCount            int64 `json:"acquire_count"`              // successful acquires
	CanceledAcquireCount    int64 `json:"canceled_acquire_count"`     // acquires given up by their context
	EmptyAcquireCount       int64 `json:"empty_acquire_count"`        // acquires that waited: no idle connection was ready
	NewConnsCount           int64 `json:"new_conns_count"`            // connections opened
	MaxLifetimeDestroyCount int64 `json:"max_lifetime_destroy_count"` // connections closed for MaxConnLifetime
	MaxIdleDestroyCount     int64 `json:"max_idle_destroy_count"`     // connections closed for MaxConnIdleTime

	AcquireDuration      time.Duration `json:"-"` // total time spent in successful acquires
	EmptyAcquireWaitTime time.Duration `json:"-"` // total time spent waiting in EmptyAcquireCount acquires

	Health Report `json:"health"`
}

// MarshalJSON encodes s in its JSON form, the durations in seconds.
func (s Stats) MarshalJSON() ([]byte, error) {
	type plain Stats // without the method
	return json.Marshal(struct {
		plain
		AcquireSeconds          float64 `json:"acquire_seconds"`
		EmptyAcquireWaitSeconds float64 `json:"empty_acquire_wait_seconds"`
	}{plain(s), s.AcquireDuration.Seconds(), s.EmptyAcquireWaitTime.Seconds()})
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
