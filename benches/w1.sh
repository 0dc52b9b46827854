#!/usr/bin/env bash
# End-to-end benchmark W1: govern a generated population register with shuzhi, and the same rules
# in DuckDB and Polars, plus a plain CSV → Parquet copy (the I/O floor), interleaved in one run.
#
#   benches/w1.sh [MILLIONS ...]        e.g. benches/w1.sh 1 5      (default: 1)
#   ROUNDS=3 benches/w1.sh 1            rounds per engine (default 2; the best wall is reported)
#
# Reports wall seconds, CPU seconds (user + sys) and peak RSS from /usr/bin/time -v, and ratios
# against the copy floor and against Polars. Results: bench-out/w1-results.md
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
out="$repo/bench-out"
rounds=${ROUNDS:-2}
mkdir -p "$out"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/shuzhi-target}"

command -v /usr/bin/time >/dev/null || { apt-get update -qq && apt-get install -y -qq time; }
python3 -c "import duckdb, polars" 2>/dev/null || pip install -q duckdb polars pyarrow
(cd "$repo" && cargo build --release -p shuzhi-cli)
shuzhi="$CARGO_TARGET_DIR/release/shuzhi"

# measure NAME LOG -- command...: appends "name wall cpu rss_mb" to $results
measure() {
  local name=$1 log=$2; shift 3
  /usr/bin/time -v -o "$log" "$@" >/dev/null 2>"$log.err" || { cat "$log.err" >&2; return 1; }
  local wall cpu rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,t,":"); s=0; for(i=1;i<=n;i++) s=s*60+t[i]; print s}' "$log")
  cpu=$(awk -F': ' '/User time/ {u=$2} /System time/ {s=$2} END {print u+s}' "$log")
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2/1024}' "$log")
  echo "$name $wall $cpu $rss" >> "$results"
}

report="$out/w1-results.md"
{
  echo "# W1 results ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, best of $rounds rounds)"
  echo
} > "$report"
for millions in "${@:-1}"; do
  rows=$(python3 -c "print(int(float('$millions') * 1_000_000))")
  input="$out/population-$rows.csv"
  [ -f "$input" ] || python3 "$repo/benches/gen_population.py" "$rows" "$input"
  work="$out/w1-$rows"
  rm -rf "$work"; mkdir -p "$work"
  sed -e "s|@REPO@|$repo|g" -e "s|@RULES@|$(bash "$repo/benches/w1-rules.sh" "$repo" "$out")|" -e "s|@INPUT@|$input|" "$repo/benches/w1-pipeline.toml.in" > "$work/pipeline.toml"
  results="$work/times.txt"; : > "$results"
  for round in $(seq "$rounds"); do
    for engine in copy shuzhi duckdb polars; do
      dir="$work/$engine-$round"; rm -rf "$dir"; mkdir -p "$dir"
      if [ "$engine" = shuzhi ]; then
        measure shuzhi "$dir/time.log" -- "$shuzhi" run "$work/pipeline.toml" --out "$dir" --run-id "w1-$round"
      else
        measure "$engine" "$dir/time.log" -- python3 "$repo/benches/baselines.py" "$engine" "$input" "$dir"
      fi
    done
  done
  python3 - "$results" "$rows" "$(du -m "$input" | cut -f1)" >> "$report" <<'PY'
import sys
best = {}
for line in open(sys.argv[1]):
    name, wall, cpu, rss = line.split()
    wall, cpu, rss = float(wall), float(cpu), float(rss)
    if name not in best or wall < best[name][0]:
        best[name] = (wall, cpu, rss)
floor, polars = best["copy"], best["polars"]
print(f"## {int(sys.argv[2]):,} rows ({sys.argv[3]} MB CSV)\n")
print("| engine | wall s | CPU s | peak RSS MB | wall / copy floor | CPU / Polars CPU |")
print("|---|---:|---:|---:|---:|---:|")
for name in ["copy", "shuzhi", "duckdb", "polars"]:
    w, c, r = best[name]
    print(f"| {name} | {w:.2f} | {c:.2f} | {r:.0f} | {w / floor[0]:.2f} | {c / polars[1]:.2f} |")
print()
PY
done
cat "$report"
