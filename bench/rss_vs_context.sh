#!/usr/bin/env bash
# Peak RSS against context length for a laLTE model and a full-attention model of the
# same tiny shape, measured with `mnemo run --json` (one process per point, so VmHWM is
# that run's peak). Writes a Markdown table to stdout.
#   bench/rss_vs_context.sh [BUILD_DIR] [MAX_ATTN_TOKENS]
set -euo pipefail
build=${1:-build}
max_attn=${2:-32768}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$build/tests/make_tiny_model" "$work/lalte.gguf" lte
"$build/tests/make_tiny_model" "$work/attn.gguf" attn
# Text of N bytes = N tokens with the tiny models' byte tokenizer.
head -c 800000 /dev/urandom > "$work/random"
base64 -w 0 "$work/random" > "$work/text"   # 1 066 668 printable bytes

echo "| context (tokens) | laLTE peak RSS | laLTE state (planned) | full attention peak RSS | full attention state (planned) |"
echo "|---|---|---|---|---|"
for n in 1024 4096 16384 65536 262144 1048576; do
  head -c "$n" "$work/text" > "$work/doc"
  lte=$("$build/tools/mnemo" run -m "$work/lalte.gguf" -f "$work/doc" -n 0 --json --threads 2)
  if (( n <= max_attn )); then
    att=$("$build/tools/mnemo" run -m "$work/attn.gguf" -f "$work/doc" -n 0 --json --threads 2 --max-context "$n")
  else
    att=""
  fi
  python3 - "$n" "$lte" "$att" <<'PY'
import json, sys
n = int(sys.argv[1]); lte = json.loads(sys.argv[2]); att = json.loads(sys.argv[3]) if sys.argv[3] else None
mib = lambda b: f"{b / 2**20:.2f} MiB"
a = (mib(att["peak_rss_bytes"]), mib(att["plan_state_bytes"])) if att else ("not run (O(N²) prefill)", "see below")
print(f"| {n} | {mib(lte['peak_rss_bytes'])} | {mib(lte['plan_state_bytes'])} | {a[0]} | {a[1]} |")
PY
done
