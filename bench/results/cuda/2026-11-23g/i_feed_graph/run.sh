#!/usr/bin/env bash
# 2026-11-23g i: single-token feeds replay a captured step (feed graph); against g_final's build.
source bench/results/cuda/2026-11-23f/device_env.sh
kernel_tests 120
session_tests 300 "split decode|q8_0|lalte chunk"
run_for 200 compute-sanitizer --tool memcheck "$here/test_cuda_session" --gtest_filter='*PrefillDecode*lalte*:*TokenByToken*lalte*' >"$out/memcheck_session.log" 2>&1; tail -1 "$out/memcheck_session.log"
for r in 1 2; do for b in mnemo mnemo_before; do
  run_for 90 "$here/$b" bench --shape paper-0.4b --mixer lte --type bf16 --backend cuda --contexts 1K --decode-tokens 64 --no-roofline --model-dir "$models" >"$out/bench_$b.txt" 2>&1
  echo "$b: $(grep -E '^ +1K' "$out/bench_$b.txt")" | tee -a "$out/feed_summary.txt"
done; done
lte_model mnemo
graph new mnemo 1024; graph before mnemo_before 1024
pack
