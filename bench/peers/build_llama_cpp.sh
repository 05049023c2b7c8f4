#!/usr/bin/env bash
# Builds llama.cpp (CPU only) BESIDE the project, never inside it, as the on-device peer
# of `mnemo bench --peer-llama-bench` (docs/performance.md). Its code is never committed
# to Mnemo.
#
#   bench/peers/build_llama_cpp.sh [DEST]        # default DEST: ../peers/llama.cpp
#
# Source, first that applies:
#   1. DEST already holds a llama.cpp checkout: it is built as it is.
#   2. LLAMA_CPP_BUNDLE=FILE: a git bundle of llama.cpp is cloned. The npm package
#      node-llama-cpp ships one (llama/gitRelease.bundle) for offline builds; this is how
#      the measured build was obtained in a workplace without GitHub access:
#        npm pack node-llama-cpp@3.22.1 && tar xzf node-llama-cpp-3.22.1.tgz package/llama
#        LLAMA_CPP_BUNDLE=package/llama/gitRelease.bundle bench/peers/build_llama_cpp.sh
#      (package/llama/llama.cpp.info.json names the llama.cpp release it holds).
#   3. otherwise: git clone --depth 1 of ggml-org/llama.cpp (LLAMA_CPP_GIT overrides the URL,
#      LLAMA_CPP_REF picks a tag or branch).
#
# Build: Release, GGML_NATIVE (the compiler's -march=native, as llama.cpp builds by default,
# so it uses every ISA extension of this CPU), no GPU backends, no curl; only the
# llama-bench target. Result: DEST/build/bin/llama-bench.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
dest=${1:-$here/../peers/llama.cpp}
jobs=${JOBS:-$(nproc)}

if [[ ! -f "$dest/CMakeLists.txt" ]]; then
  mkdir -p "$(dirname "$dest")"
  if [[ -n "${LLAMA_CPP_BUNDLE:-}" ]]; then
    git clone -q "$LLAMA_CPP_BUNDLE" "$dest"
  else
    git clone -q --depth 1 ${LLAMA_CPP_REF:+--branch "$LLAMA_CPP_REF"} \
      "${LLAMA_CPP_GIT:-https://github.com/ggml-org/llama.cpp}" "$dest"
  fi
fi
case "$(cd "$dest" && pwd)/" in
  "$here"/*) echo "build_llama_cpp.sh: $dest is inside the Mnemo checkout; build it beside it" >&2; exit 2 ;;
esac

cmake -S "$dest" -B "$dest/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON \
  -DGGML_CUDA=OFF -DGGML_VULKAN=OFF -DGGML_METAL=OFF -DGGML_BLAS=OFF -DLLAMA_CURL=OFF \
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF >/dev/null
cmake --build "$dest/build" --target llama-bench -j "$jobs"
echo "llama-bench: $dest/build/bin/llama-bench ($(cd "$dest" && git log -1 --format='%h %cd' --date=short 2>/dev/null || echo 'no git'))"
