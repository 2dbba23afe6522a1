#!/usr/bin/env bash
# Runs the whole test suite: installs packages, builds the sanitizer (Debug)
# build and, when clang is present, the libFuzzer build, installs the browser
# test's npm packages (tests/e2e/package-lock.json) into build/e2e, then runs ctest.
# Extra arguments go to ctest (e.g. -R whisper).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh test
jobs=$(nproc)

cmake -S . -B build/debug -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build/debug -j"$jobs"

if command -v clang >/dev/null; then
  CC=clang cmake -S . -B build/fuzz -DCMAKE_BUILD_TYPE=Release -DLS_MARCH= -DLS_FUZZ=ON -DLS_CUDA=OFF >/dev/null
  cmake --build build/fuzz -j"$jobs" --target ls_fuzzers
fi

# playwright-core for the headless-Chromium test (it drives Debian's chromium)
if command -v npm >/dev/null; then
  mkdir -p build/e2e
  cp tests/e2e/package.json tests/e2e/package-lock.json build/e2e/
  (cd build/e2e && npm ci --no-audit --no-fund --loglevel=error)
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
ctest --test-dir build/debug --output-on-failure "$@"
