#!/usr/bin/env bash
# Fetches the published MuseTalk weights into models/ (LiveTalking's layout)
# on a machine with internet access. lipstream itself never downloads
# anything: run this once, or copy the files by hand (README: Models).
# Usage: scripts/download_models.sh [v15|v1|all]   (default v15)
set -euo pipefail
cd "$(dirname "$0")/.."
which=${1:-v15}
hf=https://huggingface.co

get() {  # get URL DEST
  [ -s "$2" ] && { echo "have $2"; return; }
  mkdir -p "$(dirname "$2")"
  echo "fetching $2"
  curl -fL --retry 3 -o "$2.part" "$1" && mv "$2.part" "$2"
}

get "$hf/stabilityai/sd-vae-ft-mse/resolve/main/config.json" models/sd-vae/config.json
get "$hf/stabilityai/sd-vae-ft-mse/resolve/main/diffusion_pytorch_model.safetensors" \
  models/sd-vae/diffusion_pytorch_model.safetensors

if [ "$which" = v15 ] || [ "$which" = all ]; then
  get "$hf/TMElyralab/MuseTalk/resolve/main/musetalkV15/musetalk.json" models/musetalkV15/musetalk.json
  get "$hf/TMElyralab/MuseTalk/resolve/main/musetalkV15/unet.pth" models/musetalkV15/unet.pth
  get "$hf/openai/whisper-tiny/resolve/main/config.json" models/whisper/config.json
  get "$hf/openai/whisper-tiny/resolve/main/model.safetensors" models/whisper/model.safetensors
fi
if [ "$which" = v1 ] || [ "$which" = all ]; then
  get "$hf/TMElyralab/MuseTalk/resolve/main/musetalk/musetalk.json" models/musetalk/musetalk.json
  get "$hf/TMElyralab/MuseTalk/resolve/main/musetalk/pytorch_model.bin" models/musetalk/pytorch_model.bin
  get "https://openaipublic.azureedge.net/main/whisper/models/65147644a518d12f04e32d6f3b26facc3f8dd46e5390956a9424a650c0ce22b9/tiny.pt" \
    models/whisper/tiny.pt
fi
# Face parsing (BiSeNet) for MuseTalk's blend masks, in MuseTalk's folder. lipstream needs only
# 79999_iter.pth (it holds the whole network); resnet18-5c106cde.pth is the ImageNet backbone
# MuseTalk's code reads when building the network, kept for LiveTalking/MuseTalk compatibility.
get https://download.pytorch.org/models/resnet18-5c106cde.pth models/face-parse-bisent/resnet18-5c106cde.pth
parsing=models/face-parse-bisent/79999_iter.pth
if [ -s "$parsing" ]; then
  echo "have $parsing"
elif command -v gdown >/dev/null; then
  gdown --id 154JgKpzCPW82qINcVieuPH3fZ2e0P812 -O "$parsing"   # MuseTalk's download_weights.sh source
else
  echo "$parsing: on Google Drive only (id 154JgKpzCPW82qINcVieuPH3fZ2e0P812): install gdown" \
       "(pip install gdown) and run this again, or copy it from a MuseTalk/LiveTalking models/ folder."
  echo "Without it, avatar create draws geometric masks."
fi
