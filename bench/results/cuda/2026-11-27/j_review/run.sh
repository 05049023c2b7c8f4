#!/bin/bash
# Review build (mma.cuh; the batched-scoring test also restores a device state with scores owed on the CPU): kernel and session tests, memcheck of the batched-scoring test, one graph decode.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=240
rm -f "$out/graph_summary.txt"
kernel_tests 60
grep -E "scorer head size" "$out/test_cuda.log"
session_tests 150 "lalte chunk 256|gdn_attn chunk 256|owed|Failure"
run_for 60 compute-sanitizer --tool memcheck "$here/test_cuda_session" --gtest_filter='*Batches*' > "$out/memcheck_session.log" 2>&1; tail -2 "$out/memcheck_session.log"
lte_model mnemo
graph review mnemo 1024
pack
