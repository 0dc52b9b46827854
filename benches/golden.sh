#!/usr/bin/env bash
# Golden-record benchmark: a generated city's person sources from every department (public
# security's register and legacy export, human resources' copy, education's applications) into
# the golden population library. Reports, per stage, wall seconds, CPU seconds and the process's
# peak RSS after the stage (from the run's manifest), the golden counts, and the golden stage's
# CPU against governing the same rows.
#
#   benches/golden.sh [PERSONS]        default 1000000 (about 1.7 source rows per person)
#   MEMORY_MB=64 benches/golden.sh 1000000   the same under a 64 MiB memory pool (spills)
#
# Then checks the conflicts against the generator's truth. Results: bench-out/golden-results.md
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
out="$repo/bench-out"
persons=${1:-1000000}
mkdir -p "$out"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/shuzhi-target}"
command -v /usr/bin/time >/dev/null || { apt-get update -qq && apt-get install -y -qq time; }
(cd "$repo" && cargo build --release -p shuzhi-cli)
shuzhi="$CARGO_TARGET_DIR/release/shuzhi"

city="$out/city-$persons"
[ -f "$city/truth/persons.csv" ] || "$shuzhi" sample --persons "$persons" --out "$city" >/dev/null

# The bundled pipeline's population sources over the generated city.
pipeline="$out/golden-$persons.toml"
python3 - "$repo" "$city" "$pipeline" <<'PY'
import re, sys
repo, city, target = sys.argv[1:]
text = open(f"{repo}/pipeline.toml", encoding="utf-8").read()
head, *sources = re.split(r"(?m)^\[\[source\]\]\n", text)
head = re.sub(r"(?s)rules = \[.*?\]", f'rules = ["{repo}/rules/population.toml"]', head)
head = re.sub(r'codes = ".*?"', f'codes = "{repo}/rules/codes"', head)
kept = [s for s in sources if 'library = "population"' in s]
body = "".join("[[source]]\n" + s.replace('path = "sample-data/', f'path = "{city}/') for s in kept)
open(target, "w", encoding="utf-8").write(head + body)
PY

run_out="$out/golden-$persons-out"
rm -rf "$run_out"
args=(run "$pipeline" --out "$run_out" --json)
[ -n "${MEMORY_MB:-}" ] && args+=(--memory-limit-mb "$MEMORY_MB")
/usr/bin/time -v -o "$out/golden-$persons.time" "$shuzhi" "${args[@]}" >/dev/null 2>"$out/golden-$persons.err" \
  || { cat "$out/golden-$persons.err" >&2; exit 1; }
manifest=$(ls -d "$run_out"/_runs/*/manifest.json | head -1)
python3 - "$manifest" "$out/golden-$persons.time" "$persons" "${MEMORY_MB:-default}" >> "$out/golden-results.md" <<'PY'
import json, re, sys
m = json.load(open(sys.argv[1]))
time = open(sys.argv[2]).read()
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", time).group(1)) / 1024
wall = m["stage_seconds"]; cpu = m.get("stage_cpu_seconds", {}); peak = m.get("stage_peak_rss_mb", {})
rows = sum(s["read"] for s in m["sources"].values())
print(f"\n## {int(sys.argv[3]):,} persons, {rows:,} source rows, memory {sys.argv[4]} MiB\n")
print("| stage | wall s | CPU s | peak RSS after (MiB) |\n|---|---:|---:|---:|")
for stage in ["deliveries", "govern", "audit", "commit", "golden", "assess"]:
    if stage in wall:
        print(f"| {stage} | {wall[stage]:.2f} | {cpu.get(stage, float('nan')):.2f} | {peak.get(stage, float('nan')):.0f} |")
g = m["golden"]["population"]
print(f"\ngolden: {g['entities']:,} entities, {g['links']:,} source rows, {g['conflicts']:,} conflicts; "
      f"spilled {m['spilled_bytes']:,} bytes (govern), {g.get('spilled_bytes', 0):,} (golden); process peak RSS {rss:.0f} MiB")
if cpu.get("govern"):
    print(f"golden CPU / govern CPU = {cpu['golden'] / cpu['govern']:.2f}")
PY
tail -14 "$out/golden-results.md"

# Conflicts against the generator's truth: every planted gender / birth-date disagreement of a
# copy in the source layer is reported with the true value as the golden value, and nothing else.
"$shuzhi" query "SELECT g.id_number, c.field, c._file, c._line, c.golden_value FROM population_conflicts c JOIN population g ON c.entity_id = g.entity_id" --out "$run_out" --format csv > "$out/golden-$persons-conflicts.csv"
"$shuzhi" query "SELECT _file, _line FROM population_link" --out "$run_out" --format csv > "$out/golden-$persons-links.csv"
python3 - "$city" "$out/golden-$persons-conflicts.csv" "$out/golden-$persons-links.csv" <<'PY' | tee -a "$out/golden-results.md"
import csv, sys
city, conflicts, links = sys.argv[1:]
persons = {r["entity"]: r for r in csv.DictReader(open(f"{city}/truth/persons.csv", encoding="utf-8"))}
by_id = {r["id_number"]: e for e, r in persons.items()}
rel = lambda f: f.split(city.rstrip("/") + "/", 1)[1]
linked = {(rel(r["_file"]), r["_line"]) for r in csv.DictReader(open(links, encoding="utf-8"))}
planted = set()
for r in csv.DictReader(open(f"{city}/truth/rows.csv", encoding="utf-8")):
    if (r["file"], r["line"]) in linked:
        for dirt, field in [("gender_disagrees", "gender"), ("birth_disagrees", "birth_date")]:
            if dirt in r["dirt"].split(";"):
                planted.add((r["entity"], field, r["file"], r["line"]))
reported, wrong = set(), 0
for c in csv.DictReader(open(conflicts, encoding="utf-8")):
    e = by_id[c["id_number"]]
    truth = persons[e]["gender" if c["field"] == "gender" else "birth_date"] if c["field"] in ("gender", "birth_date") else None
    wrong += c["golden_value"] != truth
    reported.add((e, c["field"], rel(c["_file"]), c["_line"]))
print(f"truth: {len(planted)} planted disagreements in the source layer, {len(reported)} conflicts; "
      f"missed {len(planted - reported)}, not planted {len(reported - planted)}, wrong golden value {wrong}")
PY
