#!/usr/bin/env bash
# w1-rules.sh REPO OUT: writes OUT/population-w1.toml, rules/population.toml without its golden
# records (golden, authority, compare): W1 and its baselines govern one department's register,
# so the bench measures governing, not the golden stage (benches/golden.sh measures that).
set -euo pipefail
grep -v -E '^(golden|authority|compare) =' "$1/rules/population.toml" > "$2/population-w1.toml"
echo "$2/population-w1.toml"
