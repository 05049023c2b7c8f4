#!/usr/bin/env bash
# Block-parallel kv_plan: tests, graph decode new vs before, prefill, memcheck.
budget=400
. "$(dirname "$0")/../device_env.sh"
kernel_tests 120
session_tests 200 "lalte chunk|gdn_attn chunk"
pack
lte_model mnemo
ab_decode 2
graph new mnemo 1024; graph before mnemo_before 1024
for b in mnemo mnemo_before; do
  run_for 100 "$here/$b" bench --shape paper-0.4b --mixer lte --type bf16 --backend cuda --contexts 1K,16K --decode-tokens 32 --chunk 1024 \
    --max-seconds 40 --no-roofline --model-dir "$models" >"$out/bench_$b.txt" 2>&1; grep -E "^ +1K|^ +16K" "$out/bench_$b.txt" | sed "s/^/$b /" | tee -a "$out/graph_summary.txt"
done
pack
run_for 200 compute-sanitizer --tool memcheck --error-exitcode 9 "$here/test_cuda_session" \
  --gtest_filter='*PrefillDecode*lalte:*TokenByToken*lalte:*Greedy*lalte' >"$out/memcheck.log" 2>&1
echo "memcheck exit $?" | tee -a "$out/memcheck.log"; grep -E "ERROR SUMMARY|PASSED|FAILED" "$out/memcheck.log"
echo "total ${SECONDS} s" | tee -a "$out/total.txt"; pack
