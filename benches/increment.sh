#!/usr/bin/env bash
# Increment benchmark: a library built from a full delivery of MILLIONS rows, then a 1 %
# increment delivered on top; compares the wall time of the increment run with the full run.
#
#   benches/increment.sh [MILLIONS]      (default 1; needs bench-out/population-<rows>.csv from
#                                         benches/w1.sh, or generates it)
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
# The increment: 1 % of the rows, drawn from a register generated with another seed (new and
# changed persons), under the same header.
inc_rows=$((rows / 100))
python3 "$repo/benches/gen_population.py" "$inc_rows" "$work/increment.csv" 7
pipeline() { # FILE MODE
  sed -e "s|@REPO@|$repo|g" -e "s|@INPUT@|$1|" "$repo/benches/w1-pipeline.toml.in" |
    sed -e "s|^library = \"population\"|library = \"population\"\ndelivery = \"$2\"|"
}
pipeline "$full" full > "$work/full.toml"
pipeline "$work/increment.csv" increment > "$work/increment.toml"
measure() { # NAME PIPELINE
  /usr/bin/time -f "%e %U %S" -o "$work/$1.time" "$shuzhi" run "$2" --out "$work/out" >/dev/null
  awk -v n="$1" '{ printf "%s: wall %.2f s, CPU %.2f s\n", n, $1, $2 + $3 }' "$work/$1.time"
}
measure full "$work/full.toml"
measure increment "$work/increment.toml"
awk 'NR == FNR { f = $1; next } { printf "increment / full wall: %.2f\n", $1 / f }' \
  "$work/full.time" "$work/increment.time"
