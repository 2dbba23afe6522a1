#!/usr/bin/env bash
# The main job: installs what is missing, builds the Release binary, and runs
# lipstream. Until the live server lands this extracts MuseTalk's whisper
# audio features from a spoken sample (espeak-ng) with the whisper weights
# under models/ (see README: Models), and writes them to build/sample/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh build
jobs=$(nproc)
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j"$jobs" --target lipstream

weights=${LS_WHISPER:-}
if [ -z "$weights" ]; then
  for candidate in models/whisper/tiny.pt models/whisper; do
    [ -e "$candidate" ] && { weights=$candidate; break; }
  done
fi
if [ -z "$weights" ]; then
  echo "lipstream: no whisper weights: put tiny.pt (or a Hugging Face whisper-tiny folder) in models/whisper/" >&2
  echo "           (scripts/download_models.sh fetches them on a machine with internet; see README)" >&2
  exit 1
fi

mkdir -p build/sample
espeak-ng -v en-us -w build/sample/hello.wav "Hello! I am lipstream, a talking avatar written in C."
build/release/lipstream features --whisper "$weights" --audio build/sample/hello.wav \
  --out build/sample/hello_features.npy "$@"
echo "features written to build/sample/hello_features.npy"
