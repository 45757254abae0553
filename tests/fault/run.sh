#!/usr/bin/env bash
# The full fault tests (README.md beside this file): kill -9 twenty times under load, the
# full disk, the failed fsync. CI runs the same binary with five kills. Needs root for the
# full-disk test's tmpfs.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build-ci}
cmake --build --preset "$( [ "$build" = build ] && echo default || echo ci )" --target fault_test
DUTYHUB_FAULT_KILLS=20 "$build/tests/fault_test" "${@:2}"
