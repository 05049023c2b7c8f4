#!/usr/bin/env bash
# 2026-11-23g f: kv_decode with fewer instructions (a warp per row's copy, the leaving score read
# before the wait, 32-bit ring ranks, P·V by selects) and GEMV input reads without bank conflicts;
# against the build of a_decode_one_launch (mnemo_before, gemv_bench_before) in one lease.
source bench/results/cuda/2026-11-23f/device_env.sh
kernel_tests 120
grep -E "max \|out diff\|" "$out/test_cuda.log" | head -30
session_tests 300 "split decode|lalte chunk|q8_0"
for b in gemv_bench_before gemv_bench gemv_bench_before gemv_bench; do echo "== $b"; run_for 60 "$here/$b" --reps 200 2>&1 | grep -iE "bf16|q8_0|empty|copy" | head -6; done | tee "$out/gemv_bench.txt"
lte_model mnemo
for r in 1 2 3; do graph new mnemo 1024; graph before mnemo_before 1024; done
graph new mnemo 16384; graph new mnemo 131072
head -c 200 training/SEMANTICS.md >/tmp/p_short.txt
run_for 100 ncu --set full --import-source no -k regex:kv_decode_kernel --launch-skip 60 --launch-count 1 -o /tmp/kvd "$here/mnemo" run -m "$bf" -f /tmp/p_short.txt -n 16 --backend cuda --quiet >"$out/ncu_kvd.log" 2>&1
ncu -i /tmp/kvd.ncu-rep --page details 2>&1 | grep -E "Duration|Executed Instructions  |Warp Cycles Per Issued" | tee -a "$out/ncu_kvd.log"
ncu -i /tmp/kvd.ncu-rep --page source --csv --print-source sass >"$out/kvd_sass.csv" 2>"$out/kvd_sass.err"; wc -l "$out/kvd_sass.csv"; head -c 600 "$out/kvd_sass.csv"; echo
pack
