#!/bin/sh
# Runs one libFuzzer binary for a number of seconds: run_fuzzer.sh BINARY CORPUS_DIR SEED_DIR SECONDS.
# New inputs go to CORPUS_DIR (the seeds stay untouched); a crash leaves CORPUS_DIR-crash-* files.
# libFuzzer's progress lines go to CORPUS_DIR.log; on failure the end of that log (the sanitizer's
# report and the input that triggered it) is printed. Exits 77 (ctest: skipped) when the binary has
# not been built.
bin=$1 corpus=$2 seeds=$3 seconds=$4
if [ ! -x "$bin" ]; then
  echo "$bin not built (scripts/test.sh builds the fuzzers with clang): skipped"
  exit 77
fi
mkdir -p "$corpus"
"$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$corpus-crash-" "$corpus" "$seeds" >"$corpus.log" 2>&1
rc=$?
if [ $rc -ne 0 ]; then
  echo "$(basename "$bin") failed (exit $rc); the end of $corpus.log:"
  grep -v -E '^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse|INITED)' "$corpus.log" | tail -n 80
  for f in "$corpus"-crash-*; do
    [ -f "$f" ] && echo "input: $f ($(wc -c <"$f") bytes): $(od -A n -c "$f" | head -n 8 | tr -s ' ')"
  done
else
  tail -n 12 "$corpus.log"
fi
exit $rc
