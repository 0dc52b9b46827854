#!/usr/bin/env bash
# Entity-resolution benchmark: link a generated city's person records from four departments
# (missing, 15-digit and mistyped IDs, homophone and traditional names, five date layouts,
# swapped phones, twins, shared households) with shuzhi and, on the same records, with Splink
# (DuckDB backend, benches/splink_persons.py: same fields, blocking rules and thresholds);
# then Febrl4 with shuzhi. Every result is scored against the generator's truth. Reports wall
# seconds, CPU seconds (user + system) and peak RSS of each whole process (/usr/bin/time),
# pairwise and cluster precision, recall and F1, and Splink's CPU over shuzhi's.
#
#   benches/match.sh [PERSONS ...]      default: 100000 1000000
#
# Results: bench-out/match-results.md (and the JSON reports beside it).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
out="$repo/bench-out"
mkdir -p "$out"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/shuzhi-target}"
command -v /usr/bin/time >/dev/null || { apt-get update -qq && apt-get install -y -qq time; }
python3 -c "import splink, pandas" 2>/dev/null || python3 -m pip install --quiet "splink>=4" pandas
(cd "$repo" && cargo build --release -p shuzhi-cli)
shuzhi="$CARGO_TARGET_DIR/release/shuzhi"
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(100000 1000000)

results="$out/match-results.md"
{
  echo "# Entity resolution ($(date -u +%F), $(nproc) cores)"
  echo
  echo "| workload | engine | records | wall s | CPU s | peak RSS MiB | pairwise P | pairwise R | pairwise F1 | cluster F1 |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
} > "$results"

row() { # workload, engine, JSON report, /usr/bin/time output
  python3 - "$@" >> "$results" <<'PY'
import json, sys
name, engine, report, timing = sys.argv[1:]
r = json.load(open(report))
wall, user, system, rss_kb = open(timing).read().split()
e = r["evaluation"]
print(f"| {name} | {engine} | {r['records']} | {float(wall):.1f} | {float(user) + float(system):.1f} | "
      f"{int(rss_kb) / 1024:.0f} | {e['pairwise']['precision']:.4f} | {e['pairwise']['recall']:.4f} | "
      f"{e['pairwise']['f1']:.4f} | {e['clusters']['f1']:.4f} |")
PY
}

for persons in "${sizes[@]}"; do
  name="persons-$persons"
  records="$out/match-$name.csv"
  # The records once, as CSV, so that both engines read the same file in a fresh process.
  [ -f "$records" ] || "$shuzhi" evaluate-match --spec "$repo/rules/match/person.toml" \
    --persons "$persons" --save-input "$records" > /dev/null
  /usr/bin/time -f "%e %U %S %M" -o "$out/match-$name-shuzhi.time" \
    "$shuzhi" evaluate-match --json --spec "$repo/rules/match/person.toml" --input "$records" \
    > "$out/match-$name-shuzhi.json"
  row "$name" shuzhi "$out/match-$name-shuzhi.json" "$out/match-$name-shuzhi.time"
  /usr/bin/time -f "%e %U %S %M" -o "$out/match-$name-splink.time" \
    python3 "$repo/benches/splink_persons.py" "$records" --settings "$out/match-$name-splink-settings.json" \
    > "$out/match-$name-splink.json" 2> "$out/match-$name-splink.log"
  row "$name" splink "$out/match-$name-splink.json" "$out/match-$name-splink.time"
done
python3 "$repo/benches/febrl4.py" --out "$out/febrl4" >/dev/null
/usr/bin/time -f "%e %U %S %M" -o "$out/match-febrl4.time" \
  "$shuzhi" evaluate-match --json --spec "$repo/rules/match/febrl4.toml" --input "$out/febrl4/febrl4.csv" \
  > "$out/match-febrl4.json"
row febrl4 shuzhi "$out/match-febrl4.json" "$out/match-febrl4.time"
cat "$results"
