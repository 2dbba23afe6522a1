#!/usr/bin/env python3
"""A local test server speaking the speech services' HTTP protocols, for the speech tests.

POST /<scenario>/v1/audio/speech (OpenAI-compatible) answers 0.6 s of a
300 Hz tone, sample i = round(8000 * sin(2 pi 300 i / 24000)) at 24 kHz,
16-bit little-endian, written in 1001-byte pieces (sample frames cut across
reads) 10 ms apart. Scenarios: pcm (raw PCM), wav (a stereo WAV stream
whose data size is the streaming placeholder 0xFFFFFFFF, a LIST chunk
before the format), error (HTTP 503 "busy"). Prints its port on the first
line of stdout, then serves until killed.
"""
import json
import math
import struct
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RATE = 24000
TONE = [round(8000 * math.sin(2 * math.pi * 300 * i / RATE)) for i in range(int(0.6 * RATE))]


def wav_stream(channels):
    data = b"".join(struct.pack("<" + "h" * channels, *([s] * channels)) for s in TONE)
    fmt = struct.pack("<HHIIHH", 1, channels, RATE, RATE * 2 * channels, 2 * channels, 16)
    info = b"INFOISFT\x05\x00\x00\x00test\x00\x00"
    return (b"RIFF" + struct.pack("<I", 0xFFFFFFFF) + b"WAVE" + b"LIST" + struct.pack("<I", len(info)) + info +
            b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", 0xFFFFFFFF) + data)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        scenario = self.path.strip("/").split("/")[0]
        assert body["input"] and body["response_format"] == "pcm" and body["model"] and body["voice"]
        if scenario == "error":
            self.send_response(503)
            self.end_headers()
            self.wfile.write(b"busy")
            return
        audio = wav_stream(2) if scenario == "wav" else struct.pack("<%dh" % len(TONE), *TONE)
        self.send_response(200)
        self.send_header("Content-Type", "audio/wav" if scenario == "wav" else "audio/pcm")
        self.end_headers()
        for i in range(0, len(audio), 1001):
            self.wfile.write(audio[i:i + 1001])
            self.wfile.flush()
            time.sleep(0.01)


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # clients that hang up (stopped synthesis) are expected


def main():
    server = QuietServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
