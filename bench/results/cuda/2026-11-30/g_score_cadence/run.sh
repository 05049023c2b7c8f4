#!/bin/bash
# LTE decode scoring on a host cadence (final form: the device-side due check removed, a scoring launch scores
# every token that waits). Graph A/B against 18892fe (mnemo_before) at 256 and 1024 generated tokens, tests, memcheck.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=560
lte_model mnemo
for r in 1 2 3; do graph new mnemo 1024; graph before mnemo_before 1024; done
graph new mnemo 16384; graph new mnemo 131072; graph before mnemo_before 131072
head -c 1024 /tmp/prompt.txt >/tmp/p.txt
for r in 1 2; do for v in mnemo mnemo_before; do
  run_for 60 "$here/$v" run -m "$bf" -f /tmp/p.txt -n 1024 --backend cuda --chunk 1024 --json --quiet > "$out/g1024.json" 2>/dev/null
  python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print(sys.argv[2], '1024 tokens: decode ms/token', round(j['decode_ms_per_token'],4))" "$out/g1024.json" "$v" | tee -a "$out/graph_summary.txt"
done; done
kernel_tests 80
session_tests 200 "lalte chunk 256|gdn_attn chunk 256|Failure|owed|lalte:"
run_for 120 compute-sanitizer --tool memcheck "$here/test_cuda_session" --gtest_filter='*Batches*:*CpuSnapshot*:*Greedy*' > "$out/memcheck.log" 2>&1; echo "memcheck exit $?"; grep -E "ERROR SUMMARY|PASSED|FAILED" "$out/memcheck.log"
pack
