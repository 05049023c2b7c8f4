#!/usr/bin/env bash
# Runs the Python tests on the CPU: the reference model (training/tests), the corpus
# and retrieval-task builders (training/data) and the trainer (training/trainer).
# Usage: training/run_tests.sh [unittest args]
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
for dir in training/tests training/data training/trainer; do
  echo "== python tests: $dir"
  /usr/bin/python3 -m unittest discover -s "$dir" -p 'test_*.py' -t . "$@" || status=1
done
exit $status
