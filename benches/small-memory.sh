#!/usr/bin/env bash
# Small memory: the golden population job of a generated city (as benches/golden.sh builds it)
# run with the default memory limit and with MB MiB, then every published table compared row
# by row (sorted CSV exports hashed). Reports wall, CPU, peak RSS and spilled bytes of both.
#
#   benches/small-memory.sh [PERSONS] [MB]     default 1000000 64
#
# Needs benches/golden.sh PERSONS to have generated the city and its pipeline first.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
out="$repo/bench-out"
persons=${1:-1000000}
mb=${2:-64}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/shuzhi-target}"
(cd "$repo" && cargo build --release -p shuzhi-cli)
shuzhi="$CARGO_TARGET_DIR/release/shuzhi"
pipeline="$out/golden-$persons.toml"
[ -f "$pipeline" ] || { echo "run benches/golden.sh $persons first" >&2; exit 2; }

for limit in default "$mb"; do
  dir="$out/small-memory-$persons-$limit"
  rm -rf "$dir"
  args=(run "$pipeline" --out "$dir")
  [ "$limit" != default ] && args+=(--memory-limit-mb "$limit")
  "$shuzhi" "${args[@]}" >/dev/null 2>"$dir.err" || { tail -5 "$dir.err" >&2; exit 1; }
done

tables=(
  "population|entity_id"
  "population_attributes|entity_id, field"
  "population_conflicts|entity_id, field, _department, _file, _line"
  "population_link|entity_id, _department, _file, _line"
  "population_source|id_number, _department, _file, _line"
  "quarantine_population|_source, _file, _line"
)
differ=0
for entry in "${tables[@]}"; do
  table=${entry%%|*}; order=${entry#*|}
  hashes=()
  for limit in default "$mb"; do
    sql="SELECT * EXCLUDE (_run_id) FROM $table ORDER BY $order"
    case "$table" in population|population_attributes|population_conflicts|population_link) sql="SELECT * FROM $table ORDER BY $order";; esac
    hashes+=("$("$shuzhi" query "$sql" --out "$out/small-memory-$persons-$limit" --format csv | sha256sum | cut -c1-16)")
  done
  same=$([ "${hashes[0]}" = "${hashes[1]}" ] && echo same || echo DIFFERENT)
  [ "$same" = same ] || differ=1
  echo "$table: ${hashes[0]} ${hashes[1]} $same"
done

python3 - "$out" "$persons" "$mb" <<'PY'
import glob, json, sys
out, persons, mb = sys.argv[1:]
print(f"\n| memory limit | govern wall / CPU-s | golden wall / CPU-s | peak RSS | spilled (govern + golden) |\n|---|---:|---:|---:|---:|")
for limit in ["default", mb]:
    m = json.load(open(glob.glob(f"{out}/small-memory-{persons}-{limit}/_runs/*/manifest.json")[0]))
    w, c, r = m["stage_seconds"], m["stage_cpu_seconds"], m["stage_peak_rss_mb"]
    g = m["golden"]["population"]
    print(f"| {limit if limit == 'default' else limit + ' MiB'} | {w['govern']:.1f} s / {c['govern']:.1f} | "
          f"{w['golden']:.1f} s / {c['golden']:.1f} | {max(r.values()):.0f} MiB | "
          f"{(m['spilled_bytes'] + g.get('spilled_bytes', 0)) / 1e9:.2f} GB |")
PY
exit $differ
