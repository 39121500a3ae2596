#!/bin/sh
# run.sh runs every benchmark of the bench module against its peer, compares
# them with benchstat and rewrites ../BENCHMARKS.md with the ratios of this
# run and the machine it ran on. Needs PostgreSQL binaries (see
# internal/pgtest) or TEST_DATABASE_URL. Takes about 5-8 minutes on 2 cores.
#
#   bench/run.sh                      # defaults: COUNT=6 BENCHTIME=1s
#   COUNT=10 BENCHTIME=2s bench/run.sh
#   BENCH=Sessions bench/run.sh       # one family only
set -eu
cd "$(dirname "$0")"
COUNT=${COUNT:-6}
BENCHTIME=${BENCHTIME:-1s}
BENCH=${BENCH:-.}
BENCHSTAT=golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

PGTEST_REQUIRE=1 go test -run '^$' -bench "$BENCH" -benchmem -count "$COUNT" -benchtime "$BENCHTIME" -timeout 30m . | tee "$tmp/raw.txt"
: > "$tmp/benchstat.txt"
for family in Sessions SessionCache RatesHit RatesStorm Objects Assets AssetsMissStorm Pool; do
	if grep -q "^Benchmark$family/" "$tmp/raw.txt"; then
		printf '### %s\n\n' "$family" >> "$tmp/benchstat.txt"
		go run "$BENCHSTAT" -filter ".name:$family" -col /impl "$tmp/raw.txt" >> "$tmp/benchstat.txt"
		echo >> "$tmp/benchstat.txt"
	fi
done
cat "$tmp/benchstat.txt"
go run ./internal/benchmd -raw "$tmp/raw.txt" -benchstat "$tmp/benchstat.txt" \
	-cmd "bench/run.sh   # COUNT=$COUNT BENCHTIME=$BENCHTIME BENCH=$BENCH" -out ../BENCHMARKS.md
echo "wrote $(cd .. && pwd)/BENCHMARKS.md"
