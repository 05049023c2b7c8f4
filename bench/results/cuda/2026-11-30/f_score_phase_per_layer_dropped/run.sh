#!/bin/bash
# LTE decode scoring on a host cadence, the layers in turn: step s runs the scoring of the layers whose phase is
# s mod score_period_ (a graph per phase). Graph A/B against 18892fe (mnemo_before), session tests.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=500
lte_model mnemo
for r in 1 2 3; do graph new mnemo 1024; graph before mnemo_before 1024; done
graph new mnemo 16384; graph new mnemo 131072; graph before mnemo_before 131072
python3 -c "import json; j=json.load(open('$out/g.json')); print({k: v for k, v in j.items() if 'ms' in k or 'p99' in k})" 2>&1 | head -3
session_tests 200 "lalte chunk 256|gdn_attn chunk 256|Failure|scores owed|lalte:"
pack
