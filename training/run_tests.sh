#!/usr/bin/env bash
# Runs the reference's unit tests (CPU is enough). Usage: training/run_tests.sh [unittest args]
set -euo pipefail
cd "$(dirname "$0")/.."
exec /usr/bin/python3 -m unittest discover -s training/tests -t . "$@"
