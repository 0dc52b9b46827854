#!/usr/bin/env bash
# Topic benchmark: a generated city governed by the whole bundled job (all 20 department
# deliveries, golden records, the three topics), timed per stage from the run's manifest (wall
# seconds, CPU seconds, peak RSS after the stage), against a hand-written Polars implementation
# of the same three topics over the same files (benches/topics_polars.py, run in this script).
# Both outputs are checked against the generator's planted findings (benches/topics_truth.py).
#
#   benches/topics.sh [PERSONS]          default 1000000
#
# Needs Python with polars, fastexcel and python-calamine (installed with pip when missing). Results are appended
# to bench-out/topics-results.md.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
out="$repo/bench-out"
persons=${1:-1000000}
mkdir -p "$out"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/shuzhi-target}"
command -v /usr/bin/time >/dev/null || { apt-get update -qq && apt-get install -y -qq time; }
python3 -c "import polars, fastexcel, python_calamine" 2>/dev/null \
  || python3 -m pip install -q polars fastexcel python-calamine
(cd "$repo" && cargo build --release -p shuzhi-cli)
shuzhi="$CARGO_TARGET_DIR/release/shuzhi"

# A city of this generator version (the topics' truth needs its findings).
city="$out/topics-city-$persons"
[ -f "$city/truth/findings.csv" ] && grep -q '^enrolment_' "$city/truth/findings.csv" \
  || { rm -rf "$city"; "$shuzhi" sample --persons "$persons" --out "$city" >/dev/null; }

pipeline="$out/topics-$persons.toml"
sed -e "s#\"rules/#\"$repo/rules/#g" -e "s#\"sample-data/#\"$city/#g" "$repo/pipeline.toml" > "$pipeline"

run_out="$out/topics-$persons-out"
rm -rf "$run_out"
/usr/bin/time -v -o "$out/topics-$persons.time" "$shuzhi" run "$pipeline" --out "$run_out" --json \
  >/dev/null 2>"$out/topics-$persons.err" || { cat "$out/topics-$persons.err" >&2; exit 1; }
manifest=$(ls -d "$run_out"/_runs/*/manifest.json | head -1)

polars_out="$out/topics-$persons-polars"
rm -rf "$polars_out" && mkdir -p "$polars_out"
/usr/bin/time -v -o "$out/topics-$persons-polars.time" \
  python3 "$repo/benches/topics_polars.py" "$city" "$polars_out" > "$out/topics-$persons-polars.json"

truth_shuzhi=$(python3 "$repo/benches/topics_truth.py" "$city/truth" shuzhi \
  "$run_out/_topics/deceased" "$run_out/_topics/benefit_fraud" "$run_out/_topics/enrolment_review") || true
truth_polars=$(python3 "$repo/benches/topics_truth.py" "$city/truth" polars \
  "$polars_out/deceased.parquet" "$polars_out/benefit_fraud.parquet" "$polars_out/enrolment_review.parquet") || true

python3 - "$manifest" "$out/topics-$persons.time" "$out/topics-$persons-polars.time" "$persons" \
  "$truth_shuzhi" "$truth_polars" >> "$out/topics-results.md" <<'PY'
import json, re, sys
manifest, shuzhi_time, polars_time, persons, truth_shuzhi, truth_polars = sys.argv[1:]
m = json.load(open(manifest))
def usage(path):
    t = open(path).read()
    get = lambda k: float(re.search(rf"{k}: ([\d.:]+)", t).group(1).split(":")[-1])
    cpu = get(r"User time \(seconds\)") + get(r"System time \(seconds\)")
    rss = get(r"Maximum resident set size \(kbytes\)") / 1024
    return cpu, rss
wall, cpu, peak = m["stage_seconds"], m.get("stage_cpu_seconds", {}), m.get("stage_peak_rss_mb", {})
rows = sum(s["read"] for s in m["sources"].values())
print(f"\n## {int(persons):,} persons, {rows:,} delivered rows, 20 deliveries\n")
print("| stage | wall s | CPU s | peak RSS after (MiB) |\n|---|---:|---:|---:|")
for stage in ["deliveries", "govern", "audit", "commit", "golden", "topics", "assess"]:
    if stage in wall:
        print(f"| shuzhi {stage} | {wall[stage]:.2f} | {cpu.get(stage, float('nan')):.2f} | {peak.get(stage, float('nan')):.0f} |")
s_cpu, s_rss = usage(shuzhi_time)
p_cpu, p_rss = usage(polars_time)
print(f"| **shuzhi whole job** | {sum(wall.values()):.2f} | {s_cpu:.2f} | {s_rss:.0f} (process peak) |")
print(f"| **Polars, three topics only** | | {p_cpu:.2f} | {p_rss:.0f} (process peak) |")
print(f"\nshuzhi's whole job / Polars' topics, CPU: {s_cpu / p_cpu:.2f}x; shuzhi's topic stage / Polars, CPU: "
      f"{cpu.get('topics', float('nan')) / p_cpu:.2f}x.")
print(f"\n{truth_shuzhi}\n\n{truth_polars}")
PY
tail -16 "$out/topics-results.md"
