#!/bin/bash
# 2026-12-09 e: the final binary (published tokens): laLTE 0.4B prefill/decode at 1K/16K/128K with the roofline; test_cuda; test_cuda_session.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=580
nvidia-smi --query-gpu=name,driver_version --format=csv | tee "$out/gpu.txt"
run_for 220 "$here/mnemo" bench --shape paper-0.4b --mixer lte --type bf16 --backend cuda --contexts 1K,16K,128K --decode-tokens 64 \
  --max-seconds 180 --model-dir "$models" --json "$out/decode_lte.json" >"$out/decode_lte.txt" 2>"$out/decode_lte.log"; cat "$out/decode_lte.txt"
kernel_tests 110
session_tests 200 "max \||agreed|sampled the CPU"
pack
