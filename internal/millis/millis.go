// Package millis turns a duration into the milliseconds, with microsecond
// precision, that dbpool's log fields (latency_ms) and shutdown's readiness
// body (duration_ms) carry.
package millis

import "time"

// Of returns d in milliseconds, rounded toward zero to the microsecond.
func Of(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
