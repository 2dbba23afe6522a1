"""Writes small WAV files of every layout the reader supports: the seed corpus of fuzz_wav."""
import os
import struct
import sys


def riff(fmt_tag, channels, rate, bits, payload, extensible=False):
    block = channels * bits // 8
    if extensible:
        sub = struct.pack("<H14s", fmt_tag, b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71")
        fmt = struct.pack("<HHIIHHHHI", 0xFFFE, channels, rate, rate * block, block, bits, 22, bits, 0) + sub
    else:
        fmt = struct.pack("<HHIIHH", fmt_tag, channels, rate, rate * block, block, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(payload)) + payload
    return b"RIFF" + struct.pack("<I", len(body)) + body


def main(out):
    os.makedirs(out, exist_ok=True)
    ramp16 = b"".join(struct.pack("<h", (i * 977) % 65536 - 32768) for i in range(64))
    files = {
        "pcm8_mono.wav": riff(1, 1, 8000, 8, bytes(range(0, 256, 4))),
        "pcm16_stereo.wav": riff(1, 2, 44100, 16, ramp16),
        "pcm24_mono.wav": riff(1, 1, 16000, 24, bytes(range(48))),
        "pcm32_ext.wav": riff(1, 2, 48000, 32, bytes(range(64)), extensible=True),
        "float32_mono.wav": riff(3, 1, 16000, 32, b"".join(struct.pack("<f", i / 16) for i in range(16))),
        "float64_mono.wav": riff(3, 1, 22050, 64, b"".join(struct.pack("<d", -i / 8) for i in range(8))),
    }
    for name, data in files.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main(sys.argv[1])
