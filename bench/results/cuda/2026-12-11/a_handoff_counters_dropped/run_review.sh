set -uo pipefail
# 2026-12-11 a (review: Link carries its Handoff): handoff_bench with a flag word per block (per_block) beside one counter.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv | tee "$OUT/gpu.txt"
timeout 240 "$here/handoff_bench" --rounds 3 2>&1 | tee "$OUT/handoff_review.txt"
