#!/usr/bin/env bash
# Increment benchmark: a library built from a full delivery of MILLIONS rows, then a 1 %
# increment delivered on top (half of it updates of persons already in the library, half new
# persons). Measures, on copies of the same published state:
#   increment  the default run: governs the new batch only and supersedes the published rows of
#              its keys with deletion vectors
#   rebuild    the same delivery with --full-rebuild: every live batch governed again
# and prints rebuild / increment (the issue's target: >= 20).
#
#   benches/increment.sh [MILLIONS]      (default 1; reuses bench-out/population-<rows>.csv)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
out="$repo/bench-out"
millions=${1:-1}
rows=$(python3 -c "print(int(float('$millions') * 1_000_000))")
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/shuzhi-target}"
(cd "$repo" && cargo build --release -p shuzhi-cli)
shuzhi="$CARGO_TARGET_DIR/release/shuzhi"
full="$out/population-$rows.csv"
[ -f "$full" ] || python3 "$repo/benches/gen_population.py" "$rows" "$full"
work="$out/increment-$rows"
rm -rf "$work" && mkdir -p "$work"
# The increment: every 200th delivered row with a new phone number and registration date
# (updates), and as many new persons from a register generated with another seed.
inc_rows=$((rows / 200))
python3 "$repo/benches/gen_population.py" "$inc_rows" "$work/new.csv" 7
python3 - "$full" "$work/new.csv" "$work/increment.csv" <<'EOF'
import sys
full, new, out = sys.argv[1:]
with open(out, "w", encoding="utf-8") as w:
    with open(full, encoding="utf-8") as f:
        w.write(next(f))
        for i, line in enumerate(f):
            if i % 200 == 0:
                cells = line.rstrip("\n").split(",")
                if len(cells) == 8:
                    cells[4] = f"139{i % 100_000_000:08d}"
                    cells[6] = "2026-12-01"
                    w.write(",".join(cells) + "\n")
    with open(new, encoding="utf-8") as f:
        next(f)
        w.writelines(f)
EOF
pipeline() { # FILE MODE
  sed -e "s|@REPO@|$repo|g" -e "s|@RULES@|$(bash "$repo/benches/w1-rules.sh" "$repo" "$out")|" -e "s|@INPUT@|$1|" "$repo/benches/w1-pipeline.toml.in" |
    sed -e "s|^library = \"population\"|library = \"population\"\ndelivery = \"$2\"|"
}
pipeline "$full" full > "$work/full.toml"
pipeline "$work/increment.csv" increment > "$work/increment.toml"
measure() { # NAME PIPELINE OUT [ARGS...]
  local name=$1 toml=$2 dir=$3
  shift 3
  /usr/bin/time -f "%e %U %S %M" -o "$work/$name.time" "$shuzhi" run "$toml" --out "$dir" "$@" \
    > "$work/$name.log"
  awk -v n="$name" '{ printf "%-10s wall %6.2f s  CPU %6.2f s  peak RSS %5.0f MB\n", n, $1, $2 + $3, $4 / 1024 }' \
    "$work/$name.time"
}
measure full "$work/full.toml" "$work/out"
cp -a "$work/out" "$work/out-rebuild"
measure increment "$work/increment.toml" "$work/out"
measure rebuild "$work/increment.toml" "$work/out-rebuild" --full-rebuild
grep -E "incremental run|superseded|governed every" "$work/increment.log" "$work/rebuild.log" | sed 's|^.*/||'
echo "increment rows: $(($(wc -l < "$work/increment.csv") - 1)) on a library of $rows delivered rows"
awk 'NR == FNR { r = $1; next } { printf "rebuild / increment wall: %.1fx\n", r / $1 }' \
  "$work/rebuild.time" "$work/increment.time"
