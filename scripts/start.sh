#!/usr/bin/env bash
# The main job: installs what is missing, builds the Release binary, makes the
# demo avatar from data/astronaut.png if it is not there yet, and starts the
# live server on it, lip-syncing when the model weights are in models/.
# Open the printed URL in a browser and press Connect.
# Extra arguments go to `lipstream serve` (e.g. --listen 0.0.0.0 --listenport 8010).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh build
jobs=$(nproc)
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j"$jobs" --target lipstream

if [ ! -e data/avatars/demo/avatar.json ]; then
  build/release/lipstream avatar create --input data/astronaut.png --out data/avatars/demo
fi

port=8010 listen=127.0.0.1
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[i]}" in
    --listenport) port=${args[i + 1]:-$port} ;;
    --listenport=*) port=${args[i]#*=} ;;
    --listen) listen=${args[i + 1]:-$listen} ;;
    --listen=*) listen=${args[i]#*=} ;;
  esac
done
# Lip sync when the MuseTalk weights are in models/ (README: Models), else the idle avatar.
model=none
if { [ -d models/musetalkV15 ] || [ -d models/musetalk ]; } && [ -d models/whisper ]; then
  model=musetalk
fi
echo "lipstream: open http://$listen:$port/ in a browser (Ctrl-C stops the server; --model $model)"
exec build/release/lipstream serve --avatar_id demo --model "$model" "$@"
