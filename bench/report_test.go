package bench

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/dedw3n/hardening/bench/internal/machine"
)

// faultFigure is one row of RELIABILITY.md, recorded by a fault test.
type faultFigure struct {
	Test       string
	Fault      string
	Injected   int           // faults injected (toxics added, restarts, chaos responses)
	Requests   int           // requests made
	Acked      int           // acknowledged writes (200) checked in the database; -1: not a write test
	Lost       int           // acknowledged writes not found
	MaxLatency time.Duration // slowest request
	P99        time.Duration
	Bound      time.Duration // asserted latency bound
	Recovery   time.Duration // worst time to the first success after the fault ended
	RecBound   time.Duration // asserted recovery bound
	Note       string
}

var (
	figuresMu sync.Mutex // protects figures
	figures   []faultFigure
)

func record(f faultFigure) {
	figuresMu.Lock()
	defer figuresMu.Unlock()
	figures = append(figures, f)
}

// handWritten starts the part of RELIABILITY.md that the fault suite keeps
// as it is when it rewrites its own figures above it.
const handWritten = "<!-- Sections below are written by hand from the tests they name; the fault suite keeps them. -->"

type reportingRunner struct {
	m   interface{ Run() int }
	out string
}

func (r reportingRunner) Run() int {
	start := time.Now()
	code := r.m.Run()
	if code == 0 && r.out != "" {
		// The sections written by hand (hostile clients, adversarial input)
		// follow handWritten; the suite rewrites only what comes before.
		kept := ""
		if old, err := os.ReadFile(r.out); err == nil {
			if i := strings.Index(string(old), handWritten); i >= 0 {
				kept = string(old[i:])
			}
		}
		if kept == "" {
			kept = handWritten + "\n"
		}
		if err := os.WriteFile(r.out, []byte(renderReliability(time.Since(start))+"\n"+kept), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "bench: writing", r.out+":", err)
			return 1
		}
	}
	return code
}

func ms(d time.Duration) string {
	switch {
	case d == 0:
		return "–"
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
}

func renderReliability(took time.Duration) string {
	figuresMu.Lock()
	fs := append([]faultFigure(nil), figures...)
	figuresMu.Unlock()
	sort.SliceStable(fs, func(i, j int) bool { return fs[i].Test < fs[j].Test })

	var b strings.Builder
	b.WriteString("# Reliability\n\n")
	b.WriteString("Figures from the fault-injection suite in `bench/` (tests named `TestFault…`), written by the tests themselves:\n\n")
	b.WriteString("    cd bench && RELIABILITY_OUT=../RELIABILITY.md PGTEST_REQUIRE=1 go test -race -count=1 ./...\n\n")
	fmt.Fprintf(&b, "Run of %s on %d cores (%s), %s, race detector %s; the suite took %.0f s.\n\n",
		time.Now().UTC().Format("2006-01-02"), runtime.NumCPU(), machine.CPUModel(), runtime.Version(), raceState(), took.Seconds())
	b.WriteString("Faults are real: toxiproxy v2 runs in-process on loopback between the package and a real PostgreSQL ")
	b.WriteString("(latency, reset_peer, limit_data, timeout as a blackhole, bandwidth), PostgreSQL is restarted and killed ")
	b.WriteString("under concurrent HTTP load, and a fake upstream serves seeded chaos to cryptorates. ")
	b.WriteString("Every acknowledged session write (a 200 answer to a request that changed the session) is looked up afterwards in every row of the sessions table. ")
	b.WriteString("Latency and recovery bounds are asserted by the tests; the figures are the measured values.\n\n")
	b.WriteString("| Test | Fault | Faults injected | Requests | Acknowledged writes | Lost | Max latency | p99 | Latency bound | Recovery | Recovery bound |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, f := range fs {
		acked, lost := "n/a", "n/a"
		if f.Acked >= 0 {
			acked, lost = fmt.Sprint(f.Acked), fmt.Sprint(f.Lost)
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %d | %s | %s | %s | %s | %s | %s | %s |\n",
			f.Test, f.Fault, f.Injected, f.Requests, acked, lost, ms(f.MaxLatency), ms(f.P99), ms(f.Bound), ms(f.Recovery), ms(f.RecBound))
	}
	var notes []string
	for _, f := range fs {
		if f.Note != "" {
			notes = append(notes, fmt.Sprintf("- **%s / %s**: %s", f.Test, f.Fault, f.Note))
		}
	}
	if len(notes) > 0 {
		b.WriteString("\nNotes:\n\n" + strings.Join(notes, "\n") + "\n")
	}
	b.WriteString("\nEvery test also asserts: no panic (a panic fails the binary), no request without an HTTP answer, no 200 that silently moved a client to another session, ")
	b.WriteString("and no goroutine leak (goleak in TestMain through pgtest.Main). Two top functions are ignored by goleak, both in peers or tools rather than in the packages: ")
	b.WriteString("toxiproxy v2.5.0's `toxics.(*NoopToxic).Pipe`, which can stay blocked in a channel send when a toxic is added or removed while its link's connection closes, ")
	b.WriteString("and scs's `memstore.(*MemStore).startCleanup`, which scs.New starts and nothing can stop (benchmarks only).\n")
	return b.String()
}
