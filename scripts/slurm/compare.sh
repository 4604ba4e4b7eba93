#!/usr/bin/env bash
# Compare the figures of two `nrnn reproduce` output directories: the same CSV and PNG
# files (the piece store, the model cache and the manifests with their timings aside),
# byte for byte. Exit status 0 when identical; otherwise the differing files are listed.
# Usage: scripts/slurm/compare.sh DIR_A DIR_B
set -euo pipefail
a="${1:?usage: compare.sh DIR_A DIR_B}"
b="${2:?usage: compare.sh DIR_A DIR_B}"
list() {
  (cd "$1" && find . \( -path ./pieces -o -path ./models -o -path '*/pieces' -o -path '*/models' \) -prune \
    -o -type f \( -name '*.csv' -o -name '*.png' \) -print | LC_ALL=C sort)
}
la="$(list "$a")"
lb="$(list "$b")"
if [ "$la" != "$lb" ]; then
  echo "compare: the two directories hold different CSV/PNG files:" >&2
  diff <(echo "$la") <(echo "$lb") >&2 || true
  exit 1
fi
n=0
bad=0
while IFS= read -r f; do
  [ -n "$f" ] || continue
  n=$((n + 1))
  if ! cmp -s "$a/$f" "$b/$f"; then
    echo "compare: differs: $f" >&2
    bad=$((bad + 1))
  fi
done <<< "$la"
if [ "$n" -eq 0 ]; then
  echo "compare: no CSV or PNG file in $a" >&2
  exit 1
fi
if [ "$bad" -ne 0 ]; then
  echo "compare: $bad of $n CSV/PNG files differ" >&2
  exit 1
fi
echo "compare: all $n CSV/PNG files identical ($(echo "$la" | grep -c '\.csv$') CSV, $(echo "$la" | grep -c '\.png$') PNG)"
