// Package machine describes the machine a benchmark or fault run ran on,
// for the reports the bench module writes.
package machine

import (
	"os"
	"strings"
)

// CPUModel returns the processor's model name from /proc/cpuinfo, or
// "unknown CPU".
func CPUModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}
