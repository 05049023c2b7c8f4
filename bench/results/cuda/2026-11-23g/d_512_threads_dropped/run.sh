#!/usr/bin/env bash
# 2026-11-23g e: kv_decode with 512 threads, a warp per row's copy, 4 threads per row's scores.
source bench/results/cuda/2026-11-23f/device_env.sh
kernel_tests 120
grep -E "max \|out diff\|" "$out/test_cuda.log" | head -30
run_for 200 "$here/test_cuda_session" --gtest_filter='*PrefillDecode*:*SplitDecode*:*Greedy*:*TokenByToken*' >"$out/test_cuda_session.log" 2>&1; echo "session subset exit $?"; grep -E "PASSED|FAILED|split decode|lalte chunk|transformer chunk" "$out/test_cuda_session.log"
lte_model mnemo
for r in 1 2 3; do graph one mnemo 1024; graph split mnemo 1024 MNEMO_CUDA_DECODE_ATTN=split; done
head -c 200 training/SEMANTICS.md >/tmp/p_short.txt
run_for 100 ncu --set full -k regex:kv_decode_kernel --launch-skip 60 --launch-count 1 "$here/mnemo" run -m "$bf" -f /tmp/p_short.txt -n 16 --backend cuda --quiet >"$out/ncu_kv_decode.txt" 2>&1
grep -E "Duration|Achieved Occupancy|Warp Cycles Per Issued|Executed Instructions  " "$out/ncu_kv_decode.txt" | head
pack
