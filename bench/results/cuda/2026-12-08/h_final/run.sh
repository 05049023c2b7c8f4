#!/bin/bash
# Final binary (9f7b4dc) against the session's start (d7f7c6b): traces and mnemo bench at 1K alternating;
# laLTE 0.4B prefill/decode at 1K/16K/128K with the roofline; tests; memcheck.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=575
lte_model mnemo
ab1k
run_for 200 "$here/mnemo" bench --shape paper-0.4b --mixer lte --type bf16 --backend cuda --contexts 1K,16K,128K --decode-tokens 64 \
  --max-seconds 180 --model-dir "$models" --json "$out/decode_lte.json" >"$out/decode_lte.txt" 2>"$out/decode_lte.log"; cat "$out/decode_lte.txt"
kernel_tests 100
session_tests 150 "max \||agreed"
memcheck 150
pack
