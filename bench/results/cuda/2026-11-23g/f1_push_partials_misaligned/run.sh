#!/usr/bin/env bash
# 2026-11-23g g: kv_decode: a lane's copy pointers set once, P·V on float4s, the blocks' partials
# pushed into block 0 (one cluster barrier; the other blocks leave); against a_decode_one_launch's build.
source bench/results/cuda/2026-11-23f/device_env.sh
kernel_tests 120
grep -E "max \|out diff\|" "$out/test_cuda.log" | head -30
session_tests 300 "split decode|lalte chunk|q8_0"
lte_model mnemo
for r in 1 2 3; do graph new mnemo 1024; graph before mnemo_before 1024; done
graph new mnemo 16384; graph new mnemo 131072
head -c 200 training/SEMANTICS.md >/tmp/p_short.txt
run_for 100 ncu --set full --import-source no -k regex:kv_decode_kernel --launch-skip 60 --launch-count 1 -o /tmp/kvd "$here/mnemo" run -m "$bf" -f /tmp/p_short.txt -n 16 --backend cuda --quiet >"$out/ncu_kvd.log" 2>&1
ncu -i /tmp/kvd.ncu-rep --page details 2>&1 | grep -E "Duration|Executed Instructions  |Warp Cycles Per Issued" | tee -a "$out/ncu_kvd.log"
ncu -i /tmp/kvd.ncu-rep --page source --csv --print-source sass >"$out/kvd_sass.csv" 2>"$out/kvd_sass.err"
run_for 150 compute-sanitizer --tool memcheck --leak-check full "$here/test_cuda" --gtest_filter='*DecodeStep*' >"$out/memcheck_kernel.log" 2>&1; tail -2 "$out/memcheck_kernel.log"
run_for 150 compute-sanitizer --tool racecheck "$here/test_cuda" --gtest_filter='*DecodeStep*' >"$out/racecheck_kernel.log" 2>&1; tail -2 "$out/racecheck_kernel.log"
pack
