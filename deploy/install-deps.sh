#!/usr/bin/env bash
# Installs every Debian package that building, testing and running the demo need.
# Idempotent: installs only what is missing, so it is cheap to run before every command.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libzmq3-dev cppzmq-dev
  libprotobuf-dev protobuf-compiler
  libsqlite3-dev sqlite3
  libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev
  libyaml-cpp-dev libcli11-dev
  libhowardhinnant-date-dev tzdata
  nlohmann-json3-dev
  libsodium-dev libssl-dev
  libjemalloc-dev
  libcpp-httplib-dev
  python3
)
# `--tests`: also what the tests need beyond the build: Debian's Chromium, its driver and
# Selenium, for the pages' browser test, clang-format for the style test, and systemd's
# systemd-analyze for the check of the units in deploy/. `--fuzz`: clang and its fuzzer runtime, for the
# `fuzz` preset (not needed by CI).
for option in "$@"; do
  case "$option" in
    --tests) packages+=(chromium chromium-driver python3-selenium clang-format systemd) ;;
    --fuzz) packages+=(clang libclang-rt-14-dev) ;;
    *) echo "install-deps: unknown option $option (expected --tests or --fuzz)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "deploy: every package is installed"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "deploy: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
