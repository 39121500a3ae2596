// Command benchmd turns the raw output of the bench module's benchmarks
// (and benchstat's comparison of it) into BENCHMARKS.md: one table per
// component with the median of each metric for our package and its peer,
// and their ratio. run.sh calls it; it is not meant to be run by hand.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dedw3n/hardening/bench/internal/machine"
)

// component describes one benchmark family: which impl is ours, which is
// the peer, and what the table says about it.
type component struct {
	bench, title, ours, peer, about string
}

var components = []component{
	{"BenchmarkSessions", "Sessions: sessionstore vs alexedwards/scs v2 + pgxstore", "ours", "scs",
		"Same PostgreSQL, same handler, real HTTP; 64 sessions, 95% reads / 5% changes, 8 keep-alive connections over loopback from a client without net/http's Transport (bench/wire_test.go, like wrk), so that the servers, not the client, share the two cores. scs has IdleTimeout set (7 days), as it is usually configured. writes/1000req is counted by PostgreSQL (pg_stat_user_tables n_tup_ins+n_tup_upd+n_tup_del after the backends exit), with no adjustment: the pools are warmed with SELECT 1, so every counted write is the workload's. Targets: req/s at least scs's, writes at most a tenth."},
	{"BenchmarkSessionCache", "Sessions with the read cache: sessionstore (cache on) vs the bare handler", "cached", "bare",
		"BenchmarkSessions' workload (64 sessions, 8 keep-alive connections, the same client) at 95% and 100% reads; the bare handler uses no session library. queries/1000req is counted by PostgreSQL (pg_stat_database xact_commit+xact_rollback, from before the instance starts to after it stops: start-up, LISTEN and heartbeats included). With the cache on, a change costs two: its UPDATE, and the transaction in which the listening backend reads the notification queue (PostgreSQL runs one per delivery to an idle listener). Goal: req/s at least 0.6× the bare handler's."},
	{"BenchmarkSessionCache", "Sessions with the read cache: sessionstore (cache on) vs scs + pgxstore", "cached", "scs",
		"The same runs; scs has IdleTimeout set (sliding expiry). Goal: req/s at least 3× scs's, queries per 1000 unmodified requests about 0."},
	{"BenchmarkRatesHit", "Rates, cached hit: cryptorates vs gobreaker v2 + golang-lru v2", "ours", "gobreaker+lru",
		"A fresh value for one pair, from parallel callers. The peer is an LRU of last good values behind a gobreaker breaker (bench/rates_bench_test.go)."},
	{"BenchmarkRatesStorm", "Rates, 429 storm: cryptorates vs gobreaker v2 + golang-lru v2", "ours", "gobreaker+lru",
		"Every upstream answer is 429 with Retry-After: 1, values are past fresh, both breakers open after 5 consecutive failures for 1 s, and both pace upstream calls to one per 100 ms (ours with MinInterval, the peer with golang.org/x/time/rate); ours also honours Retry-After. upstream-calls/s is what each sends the rate-limited upstream; errors counts callers left without a value; ns/op includes a 100 µs pause per call (callers with other work to do), so it is not a speed figure here."},
	{"BenchmarkObjects", "Object serving: cdncache vs http.FileServer", "cdncache", "fileserver",
		"One 16 KiB file from a directory over loopback HTTP, keep-alive client, no compression asked; 304 uses the validator each one sent (ETag for cdncache, Last-Modified for FileServer); 206 is bytes=0-1023."},
	{"BenchmarkAssets", "Compressed assets: cdncache vs gzhttp.GzipHandler(http.FileServer)", "cdncache", "gzhttp",
		"Real minified JS and CSS of 36 to 120 KB (bench/testdata/assets), browser-like Accept-Encoding: gzip, deflate, br, zstd, 8 keep-alive connections over loopback from a client without net/http's Transport (bench/wire_test.go, like wrk), so that the servers, not the client, share the two cores. cdncache sends the brotli body it made once (in the background after the first request); gzhttp gzips every response. wire-B/op is the body as received: brotli against gzip. Targets: req/s at least 5x gzhttp's, wire bytes at most 0.85x."},
	{"BenchmarkAssets", "Compressed assets: cdncache vs nginx with gzip on", "cdncache", "nginx",
		"The same files and clients; nginx (Debian package, one worker, gzip on, default level) serves the same directory. Run only when nginx is installed."},
	{"BenchmarkAssets", "Compressed assets vs an uncompressed object of the same size, both from cdncache", "cdncache", "cdncache-identity",
		"The same files and clients; the peer column is cdncache serving random bytes of the same size (never compressed). Target: req/s at least 0.8x."},
	{"BenchmarkAssets", "Compressed assets: cdncache vs the ceiling, the same brotli bytes from memory", "cdncache", "memory",
		"The same files and clients; the peer column is a bare net/http handler writing the brotli body of each file from memory with only its length and coding: the fastest any net/http handler answers on this machine. gzhttp's req/s × 5 above this column's cannot be reached by any handler here."},
	{"BenchmarkAssetsMissStorm", "Miss storm after a deploy: cdncache vs gzhttp.GzipHandler(http.FileServer)", "cdncache", "gzhttp",
		"64 concurrent first requests for jquery.min.js from browser-like clients on a new handler. encodes/op counts compressions: cdncache's kept encodings (at most one per coding: zstd for the storm, brotli in the background), one per response for gzhttp. ns/op includes cdncache's Close, which waits for its brotli encoding."},
	{"BenchmarkPool", "Pool: dbpool vs raw pgxpool", "dbpool", "pgxpool",
		"Acquire, SELECT 1, release from 4×GOMAXPROCS parallel callers on the same database: dbpool.New with its zero Config (MaxConns 10, MinConns 2, health monitor) against pgxpool.New with pgx's defaults (MaxConns max(4, NumCPU)). The settings differ, not the acquire path: the ratio is what the defaults are worth under contention."},
}

// higherIsBetter lists the units where a larger number wins.
var higherIsBetter = map[string]bool{"req/s": true}

type key struct{ bench, sub, impl, unit string }

func main() {
	raw := flag.String("raw", "", "raw go test -bench output")
	stat := flag.String("benchstat", "", "benchstat output to append")
	cmd := flag.String("cmd", "bench/run.sh", "the command that produced the run")
	out := flag.String("out", "../BENCHMARKS.md", "file to write")
	flag.Parse()

	values, order, err := parse(*raw)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchmd:", err)
		os.Exit(1)
	}
	statText, _ := os.ReadFile(*stat)

	var b strings.Builder
	b.WriteString("# Benchmarks\n\n")
	b.WriteString("Each package beside the library a user would pick instead, measured in one run on one machine by\n\n")
	fmt.Fprintf(&b, "    %s\n\n", *cmd)
	b.WriteString("(bench/run.sh: `go test -bench` in the nested module bench/, real PostgreSQL from internal/pgtest, then benchstat). ")
	b.WriteString("Ratios, not absolute times, are the claims: absolute numbers move with the machine and its load.\n\n")
	fmt.Fprintf(&b, "Machine: %d cores (nproc), %s, %s, %s, run on %s.\n\n", runtime.NumCPU(), machine.CPUModel(), goVersion(), runtime.GOOS+"/"+runtime.GOARCH, time.Now().UTC().Format("2006-01-02 15:04 MST"))
	b.WriteString("Each cell is the median of the run's samples. *Ratio* is ours ÷ peer; the verdict reads it with the unit's direction ")
	b.WriteString("(req/s: higher is better; ns/op, B/op, allocs/op, writes, upstream calls, errors: lower is better).\n")

	for _, c := range components {
		fmt.Fprintf(&b, "\n## %s\n\n%s\n\n", c.title, c.about)
		fmt.Fprintf(&b, "| Case | Metric | %s | %s | Ratio | Verdict |\n|---|---|---:|---:|---:|---|\n", c.ours, c.peer)
		rows := 0
		for _, k := range order {
			if k.bench != c.bench || k.impl != c.ours {
				continue
			}
			o := median(values[k])
			pk := k
			pk.impl = c.peer
			pv, ok := values[pk]
			if !ok {
				continue
			}
			p := median(pv)
			sub := k.sub
			if sub == "" {
				sub = "–"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", sub, k.unit, num(o), num(p), ratio(o, p), verdict(k.unit, o, p))
			rows++
		}
		if rows == 0 {
			b.WriteString("| (not in this run) | | | | | |\n")
		}
	}
	if len(statText) > 0 {
		b.WriteString("\n## benchstat\n\nThe same run through benchstat (`-col /impl`: the first column is the base, the others compared with it, with confidence intervals and p-values).\n\n```\n")
		b.Write(statText)
		b.WriteString("```\n")
	}
	if err := write(*out, b.String()); err != nil {
		fmt.Fprintln(os.Stderr, "benchmd:", err)
		os.Exit(1)
	}
}

// handWritten starts the part of BENCHMARKS.md written by hand (figures
// from tests rather than benchmarks); a run rewrites only what precedes it.
const handWritten = "<!-- Sections below are written by hand from the tests they name; bench/run.sh keeps them. -->"

// write replaces the generated part of the file at path with generated.
func write(path, generated string) error {
	kept := handWritten + "\n"
	if old, err := os.ReadFile(path); err == nil {
		if i := strings.Index(string(old), handWritten); i >= 0 {
			kept = string(old[i:])
		}
	}
	return os.WriteFile(path, []byte(generated+"\n"+kept), 0o644)
}

// parse reads lines like
// "BenchmarkObjects/status=200/impl=cdncache-2  100  123 ns/op  45 req/s  6 B/op  7 allocs/op".
func parse(path string) (map[key][]float64, []key, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	values := make(map[key][]float64)
	var order []key
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 4 || !strings.HasPrefix(fields[0], "Benchmark") {
			continue
		}
		name := fields[0]
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		parts := strings.Split(name, "/")
		var k key
		k.bench = parts[0]
		var sub []string
		for _, p := range parts[1:] {
			if v, ok := strings.CutPrefix(p, "impl="); ok {
				k.impl = v
			} else {
				sub = append(sub, p)
			}
		}
		k.sub = strings.Join(sub, "/")
		for i := 2; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				break
			}
			kk := k
			kk.unit = fields[i+1]
			if _, seen := values[kk]; !seen {
				order = append(order, kk)
			}
			values[kk] = append(values[kk], v)
		}
	}
	return values, order, sc.Err()
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func num(v float64) string {
	switch {
	case v == 0:
		return "0"
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

func ratio(o, p float64) string {
	if p == 0 {
		if o == 0 {
			return "1"
		}
		return "∞"
	}
	return strconv.FormatFloat(o/p, 'f', 3, 64)
}

func verdict(unit string, o, p float64) string {
	if o == p {
		return "same"
	}
	better := o < p
	if higherIsBetter[unit] {
		better = o > p
	}
	lo, hi := min(o, p), max(o, p)
	if lo == 0 {
		if better {
			return "ours better (peer > 0, ours 0)"
		}
		return "peer better (ours > 0, peer 0)"
	}
	f := hi / lo
	if f < 1.05 {
		return "within 5%"
	}
	if better {
		return fmt.Sprintf("ours %.2f× better", f)
	}
	return fmt.Sprintf("peer %.2f× better", f)
}

func goVersion() string {
	out, err := exec.Command("go", "version").Output()
	if err != nil {
		return runtime.Version()
	}
	return strings.TrimSpace(string(out))
}
