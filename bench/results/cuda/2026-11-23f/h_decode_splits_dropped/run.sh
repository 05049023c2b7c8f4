#!/usr/bin/env bash
# Decode splits of ~16 keys (cap 128) instead of ~64 (cap 64): session tests, graph A/B, GDN+Attn feeds.
budget=330
. "$(dirname "$0")/../device_env.sh"
session_tests 150 "chunk 256"
pack
lte_model mnemo
ab_decode 3
pack
for b in mnemo mnemo_before; do
  run_for 80 "$here/$b" bench --shape paper-0.4b --mixer attn --type bf16 --backend cuda --contexts 1K,16K --decode-tokens 32 --chunk 1024 \
    --max-seconds 30 --no-roofline --model-dir "$models" >"$out/attn_$b.txt" 2>&1; grep -E "^ +1K|^ +16K" "$out/attn_$b.txt" | sed "s/^/attn $b /" | tee -a "$out/graph_summary.txt"
done
echo "total ${SECONDS} s" | tee -a "$out/total.txt"; pack
