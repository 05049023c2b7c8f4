#!/bin/bash
# 2026-12-13 h: review mend (the tests share rms_normed): test_cuda, and the test under memcheck.
here=$(cd "$(dirname "$0")" && pwd); out=${OUT:-/tmp/out}/r; mkdir -p "$out"
tar xJf "$here/bins.tar.xz" -C "$here"; export LD_LIBRARY_PATH="$here:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"; export PATH=/usr/local/cuda/bin:$PATH
cublas_dir=$(python3 -c 'import nvidia.cublas, os; print(os.path.join(list(nvidia.cublas.__path__)[0], "lib"))' 2>/dev/null || true); export LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$cublas_dir"
nvidia-smi --query-gpu=name,driver_version --format=csv > "$out/gpu.txt"
timeout 120 "$here/test_cuda" > "$out/test_cuda.log" 2>&1; echo "test_cuda exit $?"; grep -E "PASSED|FAILED|Normalised" "$out/test_cuda.log"
timeout 200 compute-sanitizer --tool memcheck --error-exitcode 9 "$here/test_cuda" --gtest_filter="*Normalised*:*SplitMlp*" > "$out/memcheck.log" 2>&1; echo "memcheck exit $?"; grep -E "ERROR SUMMARY|PASSED|FAILED" "$out/memcheck.log"
