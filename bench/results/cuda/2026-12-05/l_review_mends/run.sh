#!/bin/bash
# Review mends (gdn_decode_step's dispatch as one lambda, kv_decode's commit slot without an alias, run_device.sh's
# model and prompt helpers): run_device.sh tests, graph and trace on the mended binaries.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd); out=${OUT:-/tmp/out}/r; mkdir -p "$out"
tar xJf "$here/bins.tar.xz" -C "$here" && cp "$here"/lib*.so* "$here"/ 2>/dev/null
mkdir -p /work && ln -sfn "$PWD" /work/main
timeout 500 bash bench/cuda/run_device.sh "$here" "$out/mends" tests graph trace 2>&1 | tail -40
tar czf "${OUT:-/tmp/out}/r.tgz" -C "$out" .
