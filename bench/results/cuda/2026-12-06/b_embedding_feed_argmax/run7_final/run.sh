#!/bin/bash
# Final binaries (session marks itself failed on a device error in sampling): the test steps; bench decode.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=300
mkdir -p /tmp/b && cp "$here"/mnemo "$here"/test_cuda "$here"/test_cuda_session "$here"/lib* /tmp/b/
run_for 200 bash bench/cuda/run_device.sh /tmp/b "$out/final" tests 2>&1 | grep -E "PASSED|FAILED|agreed" | head -12
run_for 90 bash bench/cuda/run_device.sh /tmp/b "$out/decode" decode 2>&1 | grep -E "^ +[0-9]+K"
pack
