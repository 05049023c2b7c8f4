#!/bin/bash
# argmax and embed with their loads batched (8 in flight a thread) and argmax's reduction by shuffles:
# graph decode against 9eb595a (mnemo_before), ncu of the two kernels, tests, memcheck of the argmax test.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=560
lte_model mnemo
for r in 1 2 3; do graph new mnemo 1024; graph before mnemo_before 1024; done
graph new mnemo 16384; graph new mnemo 131072
head -c 1024 /tmp/prompt.txt >/tmp/p.txt
for v in mnemo mnemo_before; do
  run_for 90 ncu --clock-control none -k regex:'argmax|embed' --launch-skip 4 --launch-count 6 --metrics gpu__time_duration.sum \
    "$here/$v" run -m "$bf" -f /tmp/p.txt -n 8 --backend cuda --quiet > "$out/ncu_$v.txt" 2>&1
  echo "== $v"; grep -E "argmax_kernel|embed_kernel|gpu__time_duration" "$out/ncu_$v.txt" | paste - - | awk '{print $1, $(NF)}' | head -8
done
kernel_tests 80
run_for 60 compute-sanitizer --tool memcheck "$here/test_cuda" --gtest_filter='*Argmax*:*Embed*' > "$out/memcheck.log" 2>&1; echo "memcheck exit $?"; grep -E "ERROR SUMMARY|PASSED|FAILED" "$out/memcheck.log"
session_tests 150 "lalte chunk 256|gdn_attn chunk 256|Failure"
pack
