#!/bin/bash
here=$(cd "$(dirname "$0")" && pwd); out=${OUT:-/tmp/out}/r; mkdir -p "$out"
[[ -x $here/mnemo_base ]] || tar xJf "$here/bins.tar.xz" -C "$here"
export PATH=/usr/local/cuda/bin:$PATH
which cuobjdump nvdisasm > "$out/tools.txt" 2>&1
for b in mnemo_base mnemo_mlponly; do
  cuobjdump -sass -fun '_ZN5mnemo4cuda38_GLOBAL__N__84844a0a_6_ops_cu_ba6b3ffa16mlp_split_kernelENS0_12DeviceMatrixES2_S2_NS0_9InputNormENS1_8MlpSplitEPlS5_' "$here/$b" > "$out/sass_mlp_$b.txt" 2>&1 || cuobjdump -sass "$here/$b" 2>&1 | awk '/Function : .*mlp_split/{p=1} p&&/Function : /&&!/mlp_split/{p=0} p' > "$out/sass_mlp_$b.txt"
  wc -l "$out/sass_mlp_$b.txt"
done
