#!/usr/bin/env bash
# Installs what is missing, builds with warnings as errors, and runs every test.
# The second quick-start command, and exactly what .ci/run runs.
set -euo pipefail
cd "$(dirname "$0")/.."

bash deploy/install-deps.sh --tests
cmake --preset ci
cmake --build --preset ci -j "$(nproc)"
# ctest's summary line ("100% tests passed, 0 tests failed out of N") is how CI counts.
ctest --preset ci -j "$(nproc)" --timeout 300
