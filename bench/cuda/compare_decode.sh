#!/usr/bin/env bash
# Runs on the GPU machine: a decode change measured against the binaries it replaces, in
# one lease (docs/performance-cuda.md). BEFORE and AFTER are run_device.sh BIN_DIRs.
#   bench/cuda/compare_decode.sh BEFORE_DIR AFTER_DIR OUT_DIR [STEP...]
# Steps (default: all, in this order): tests (AFTER's kernel and session tests),
# decode (laLTE 0.4B bf16 at 1K/16K/128K with the GPU roofline, both builds), graph
# (generation through the CUDA graph, both builds, and AFTER without programmatic
# dependent launch), profile (ncu of AFTER's decode step), memcheck (AFTER). Every step
# is bounded on its own and OUT_DIR is tarred after each (to $RESULT_TGZ, default
# OUT_DIR.tgz), so a step that runs long loses only itself.
set -uo pipefail
before=$1 after=$2 out=$3
shift 3
steps=("${@:-tests decode graph profile memcheck}")
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
pack() { tar czf "${RESULT_TGZ:-$out.tgz}" -C "$(dirname "$out")" "$(basename "$out")"; }
for step in ${steps[@]}; do
  start=$(date +%s)
  case $step in
    tests) timeout 200 "$here/run_device.sh" "$after" "$out/after" tests ;;
    decode)
      timeout 150 "$here/run_device.sh" "$after" "$out/after" decode
      timeout 150 "$here/run_device.sh" "$before" "$out/before" decode
      ;;
    graph)
      timeout 100 "$here/run_device.sh" "$after" "$out/after" graph
      MNEMO_CUDA_PDL=0 timeout 100 "$here/run_device.sh" "$after" "$out/after_no_pdl" graph
      timeout 100 "$here/run_device.sh" "$before" "$out/before" graph
      ;;
    profile) timeout 200 "$here/run_device.sh" "$after" "$out/after" profile ;;
    memcheck) timeout 240 "$here/run_device.sh" "$after" "$out/after" memcheck ;;
  esac
  echo "== $step: $(($(date +%s) - start)) s"
  pack
done
