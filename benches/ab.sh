#!/usr/bin/env bash
# A/B: two shuzhi binaries (e.g. before and after a change) on the W1 input, interleaved, same
# rules (rules/population.toml of this checkout), medians of wall s, CPU s and peak RSS.
#
#   benches/ab.sh OLD_BINARY NEW_BINARY [MILLIONS] [ROUNDS]     (defaults: 1, 5)
#
# Build the old binary from a worktree of the old commit with its own CARGO_TARGET_DIR.
# Both runs' libraries are compared (rows, distinct keys, name lengths) before the figures.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
old=$1 new=$2 millions=${3:-1} rounds=${4:-5}
out="$repo/bench-out/ab"
mkdir -p "$out"
command -v /usr/bin/time >/dev/null || { apt-get update -qq && apt-get install -y -qq time; }
rows=$(python3 -c "print(int(float('$millions') * 1_000_000))")
input="$repo/bench-out/population-$rows.csv"
[ -f "$input" ] || python3 "$repo/benches/gen_population.py" "$rows" "$input"
sed -e "s|@REPO@|$repo|g" -e "s|@RULES@|$(bash "$repo/benches/w1-rules.sh" "$repo" "$out")|" -e "s|@INPUT@|$input|" "$repo/benches/w1-pipeline.toml.in" > "$out/pipeline.toml"
: > "$out/times.txt"
for round in $(seq "$rounds"); do
  for side in old new; do
    bin=$old; [ "$side" = new ] && bin=$new
    dir="$out/$side-$round"; rm -rf "$dir"
    /usr/bin/time -v -o "$out/time.log" "$bin" run "$out/pipeline.toml" --out "$dir" --run-id "ab-$round" >/dev/null
    awk -v side="$side" -F': ' '
      /Elapsed \(wall clock\)/ { n = split($2, t, ":"); w = 0; for (i = 1; i <= n; i++) w = w * 60 + t[i] }
      /User time/ { u = $2 } /System time/ { s = $2 } /Maximum resident set size/ { r = $2 / 1024 }
      END { print side, w, u + s, r }' "$out/time.log" >> "$out/times.txt"
  done
done
check="SELECT count(*) AS n, count(DISTINCT id_number) AS k, sum(length(name)) AS l FROM population"
[ "$("$new" query --out "$out/old-1" "$check" --format csv)" = "$("$new" query --out "$out/new-1" "$check" --format csv)" ] \
  || { echo "the two binaries' libraries differ" >&2; exit 1; }
python3 - "$out/times.txt" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    side, *values = line.split()
    runs.setdefault(side, []).append([float(v) for v in values])
med = {s: [statistics.median(r[i] for r in rs) for i in range(3)] for s, rs in runs.items()}
for s in ("old", "new"):
    print(f"{s}: wall {med[s][0]:.2f} s, CPU {med[s][1]:.2f} s, peak RSS {med[s][2]:.0f} MB")
print("new/old: wall {:.3f}x, CPU {:.3f}x, peak RSS {:.3f}x".format(
    *(med["new"][i] / med["old"][i] for i in range(3))))
PY
