#!/bin/sh
# Runs one libFuzzer binary for a number of seconds: run_fuzzer.sh BINARY CORPUS_DIR SEED_DIR SECONDS.
# New inputs go to CORPUS_DIR (the seeds stay untouched); a crash leaves CORPUS_DIR-crash-* files.
# Exits 77 (ctest: skipped) when the binary has not been built.
bin=$1 corpus=$2 seeds=$3 seconds=$4
if [ ! -x "$bin" ]; then
  echo "$bin not built (scripts/test.sh builds the fuzzers with clang): skipped"
  exit 77
fi
mkdir -p "$corpus"
exec "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$corpus-crash-" "$corpus" "$seeds"
