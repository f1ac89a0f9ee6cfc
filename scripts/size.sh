#!/usr/bin/env bash
# The browser bundle's size gate: gzip -9 of each file, summed, against a budget in bytes.
# Usage: scripts/size.sh BUDGET FILE...
set -euo pipefail
budget=$1; shift
total=0
for file in "$@"; do
    [ -f "$file" ] || { echo "size: $file is missing (run make pkg)" >&2; exit 1; }
    raw=$(wc -c <"$file"); gz=$(gzip -9 -c "$file" | wc -c)
    printf 'size: %-40s %8d B raw %8d B gzip\n' "$file" "$raw" "$gz"
    total=$((total + gz))
done
awk -v t="$total" -v b="$budget" 'BEGIN { printf "size: browser bundle %d B gzip (%.1f KB) of a %d B budget\n", t, t / 1024, b }'
if [ "$total" -gt "$budget" ]; then
    echo "size: over budget by $((total - budget)) B" >&2
    exit 1
fi
