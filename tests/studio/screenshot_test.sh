#!/usr/bin/env bash
# Runs mnemo-studio's script mode and checks the screenshot with studio_png_check.
#   screenshot_test.sh STUDIO CHECKER MODEL DOC OUT.png VIEW TOKENS FRAME_BUDGET_MS RENDERER [checker options...]
# RENDERER vulkan runs under xvfb-run on Mesa's lavapipe; exit 77 (skip) without them.
set -euo pipefail
studio=$1 checker=$2 model=$3 doc=$4 out=$5 view=$6 tokens=$7 frame_budget=$8 renderer=$9
shift 9
export XDG_CONFIG_HOME=$(mktemp -d)
trap 'rm -rf "$XDG_CONFIG_HOME"' EXIT
rm -f "$out"
cmd=("$studio" --model "$model" --doc "$doc" --tokens "$tokens" --frame-budget "$frame_budget" --screenshot "$out" --view "$view" --renderer "$renderer")
if [[ $renderer == vulkan ]]; then
  if ! command -v xvfb-run >/dev/null; then echo "SKIP: xvfb-run not installed"; exit 77; fi
  lvp=$(ls /usr/share/vulkan/icd.d/lvp_icd.*.json 2>/dev/null | head -n1 || true)
  if [[ -z $lvp ]]; then echo "SKIP: Mesa's lavapipe (mesa-vulkan-drivers) not installed"; exit 77; fi
  export VK_ICD_FILENAMES=$lvp
  xvfb-run -a -s "-screen 0 1600x1000x24" "${cmd[@]}"
else
  "${cmd[@]}"
fi
"$checker" "$out" "$@"
