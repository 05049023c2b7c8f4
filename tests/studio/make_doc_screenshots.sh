#!/usr/bin/env bash
# Regenerates docs/studio/*.png: mnemo-studio's script mode on Mesa's lavapipe under
# Xvfb, with the wider random models of make_studio_model and the GPL-3 as the document.
#   tests/studio/make_doc_screenshots.sh [BUILD_DIR]   (default: build)
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
studio=$build/app/mnemo-studio
out=docs/studio
doc=/usr/share/common-licenses/GPL-3
mkdir -p "$out" out
"$build/tests/studio/make_studio_model" out/studio-lte.gguf lte
"$build/tests/studio/make_studio_model" out/studio-attn.gguf attn
export VK_ICD_FILENAMES=$(ls /usr/share/vulkan/icd.d/lvp_icd.*.json | head -n1)
shot() {  # MODEL VIEW FILE TOKENS [extra options]
  local model=$1 view=$2 file=$3 tokens=$4
  shift 4
  xvfb-run -a -s "-screen 0 1600x1000x24" "$studio" --model "$model" --doc "$doc" --tokens "$tokens" --size 1440x900 \
    --view "$view" --screenshot "$out/$file" "$@"
}
shot out/studio-lte.gguf all all.png 12000 --ask "What does the licence protect?"
shot out/studio-lte.gguf retention retention.png 12000
shot out/studio-lte.gguf window window.png 12000 --head 6
shot out/studio-lte.gguf state state.png 12000
shot out/studio-lte.gguf evictions evictions.png 12000
# Full attention: every token stays, so the state grows (and reading is O(N) per token).
shot out/studio-attn.gguf state state-attn.png 4000
