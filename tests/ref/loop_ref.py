#!/usr/bin/env python3
"""
loop_ref.py OUTDIR - inputs for the real-time engine and `lipstream render` tests.

Writes, all deterministic (fixed seeds):
  models/         a weights folder in the published layout, small random models
                  that fit together (whisper width = UNet cross-attention width):
                    musetalkV15/musetalk.json + unet.pth, musetalk/ (same UNet,
                    v1.0 names), sd-vae/config.json + diffusion_pytorch_model.bin,
                    whisper/config.json + model.safetensors (Hugging Face layout)
                    and whisper/tiny.pt (openai layout, same weights)
  avatar_frames/  3 numbered 192x160 PNG frames (a lit "face" on a gradient that
                  changes per frame) for `lipstream avatar create --bbox`
  speech.wav      1.28 s, 16 kHz mono: 0.4 s of digital silence, 0.48 s speech-like,
                  0.4 s of digital silence
  clips/wave/ + wave.wav, clips.json: an action clip (audiotype 2) for the engine
The model classes and the whisper helpers come from the musetalk and whisper
reference scripts beside this one.
"""
import json
import os
import struct
import sys
import zlib

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import musetalk_ref as mt  # noqa: E402
import whisper_ref as wr   # noqa: E402

WHISPER = {'n_mels': 80, 'n_ctx': 150, 'n_state': 32, 'n_head': 4, 'n_layer': 2, 'n_mlp': 128}
UNET = {**mt.MUSETALK_CONFIG, "attention_head_dim": 2, "block_out_channels": [32, 64, 64, 64],
        "cross_attention_dim": WHISPER['n_state'], "norm_num_groups": 8}
VAE = {**mt.SD_VAE_CONFIG, "block_out_channels": [8, 8, 16, 16], "layers_per_block": 1,
       "norm_num_groups": 4, "sample_size": 256}
WIDTH, HEIGHT = 192, 160


def write_png(path, bgr):
    """8-bit RGB PNG from an (h, w, 3) BGR uint8 array (no imaging library needed)."""
    h, w, _ = bgr.shape
    raw = b''.join(b'\x00' + bgr[y, :, ::-1].tobytes() for y in range(h))

    def chunk(kind, data):
        body = kind + data
        return struct.pack('>I', len(data)) + body + struct.pack('>I', zlib.crc32(body) & 0xffffffff)

    with open(path, 'wb') as f:
        f.write(b'\x89PNG\r\n\x1a\n')
        f.write(chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 2, 0, 0, 0)))
        f.write(chunk(b'IDAT', zlib.compress(raw, 6)))
        f.write(chunk(b'IEND', b''))


def avatar_frame(i):
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float64)
    img = np.zeros((HEIGHT, WIDTH, 3))
    img[..., 0] = 60 + 40 * x / WIDTH + 20 * i
    img[..., 1] = 80 + 60 * y / HEIGHT
    img[..., 2] = 120 + 10 * i
    face = np.exp(-(((x - 96) / 30) ** 2 + ((y - 82) / 38) ** 2))
    img += face[..., None] * np.array([70, 90, 110])
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


@torch.no_grad()
def write_models(out):
    gen = torch.Generator().manual_seed(4321)
    p = wr.random_encoder(WHISPER, gen)
    wr.write_hf(os.path.join(out, 'whisper'), WHISPER, wr.hf_tensors('model.', WHISPER, p, gen),
                ('safetensors',))
    wr.write_openai(os.path.join(out, 'whisper', 'tiny.pt'), WHISPER, p, gen)

    unet = mt.UNet2DConditionModel(UNET).eval()
    mt.randomize(unet, 11)
    state = unet.state_dict()
    mt.write_json(f"{out}/musetalkV15/musetalk.json", UNET)
    torch.save(state, f"{out}/musetalkV15/unet.pth")
    mt.write_json(f"{out}/musetalk/musetalk.json", UNET)
    torch.save(state, f"{out}/musetalk/pytorch_model.bin")

    vae = mt.AutoencoderKL(VAE).eval()
    mt.randomize(vae, 12, out_gain=0.3)
    mt.write_json(f"{out}/sd-vae/config.json", VAE)
    torch.save(vae.state_dict(), f"{out}/sd-vae/diffusion_pytorch_model.bin")


def main():
    out = sys.argv[1]
    torch.set_num_threads(2)
    rng = np.random.default_rng(2024)
    write_models(os.path.join(out, 'models'))

    os.makedirs(os.path.join(out, 'avatar_frames'), exist_ok=True)
    for i in range(3):
        write_png(os.path.join(out, 'avatar_frames', '%d.png' % i), avatar_frame(i))

    silence = np.zeros(int(0.4 * wr.SR))
    speech = wr.speech_like(0.48, rng)
    wr.write_wav(os.path.join(out, 'speech.wav'), np.concatenate([silence, speech, silence])[None],
                 wr.SR)

    os.makedirs(os.path.join(out, 'clips', 'wave'), exist_ok=True)
    for i in range(2):
        write_png(os.path.join(out, 'clips', 'wave', '%d.png' % i), 255 - avatar_frame(i))
    t = np.arange(int(0.5 * wr.SR)) / wr.SR
    wr.write_wav(os.path.join(out, 'clips', 'wave.wav'), (0.3 * np.sin(2 * np.pi * 440 * t))[None],
                 wr.SR)
    with open(os.path.join(out, 'clips.json'), 'w') as f:
        json.dump([{'audiotype': 2, 'imgpath': os.path.join(out, 'clips', 'wave'),
                    'audiopath': os.path.join(out, 'clips', 'wave.wav')}], f)


if __name__ == '__main__':
    main()
