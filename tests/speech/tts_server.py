#!/usr/bin/env python3
"""A local test server speaking the speech services' HTTP protocols, for the speech tests.

It is not a speech engine: every request gets the same 0.6 s of a 300 Hz tone,
sample i = round(8000 * sin(2 pi 300 i / rate)), encoded as that protocol's
server would send it, written in 1001-byte pieces (sample frames cut across
reads) 10 ms apart. Each protocol's request fields are checked first; a
request that lacks one, or has a wrong value, gets HTTP 400 naming it.

Paths are /<scenario>/<protocol path>:
  v1/audio/speech      OpenAI: JSON {model, input, voice, response_format: pcm};
                       raw PCM at 24 kHz (scenario pcm), a stereo WAV stream
                       whose data size is the streaming placeholder 0xFFFFFFFF
                       with a LIST chunk before the format (wav)
  tts                  GPT-SoVITS api_v2: JSON {text, text_lang: en,
                       ref_audio_path: /voices/ref.wav, prompt_text: reference
                       words, prompt_lang: en, media_type: ogg,
                       streaming_mode: true}; three Ogg Vorbis files at 32 kHz
                       back to back (0.2 s each), as the server streams them
  inference_zero_shot  CosyVoice: multipart form tts_text, prompt_text
                       (reference words), prompt_wav (a WAV file); raw PCM at 22050 Hz
  v1/tts               Fish Speech: JSON {text, references: [{audio: a WAV
                       file in base64, text: reference words}] or
                       reference_id: voice-1, format: wav, streaming: true};
                       a WAV stream at 44.1 kHz whose data size is 0 (streaming)
  clone_speaker        XTTS: multipart form wav_file (a WAV file); JSON
                       {gpt_cond_latent, speaker_embedding}
  tts_stream           XTTS: JSON {those two as cloned, text, language: en,
                       stream_chunk_size: "20", add_wav_header: true}; a WAV
                       stream at 24 kHz (data size 0)
Scenarios: as above; error (HTTP 503 "busy"); slow (the first piece, then
one piece every 2 s: for cancelling). Prints its port on the first line of
stdout, then serves until killed.
"""
import base64
import email.parser
import email.policy
import json
import math
import os
import struct
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import gi

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402

REFERENCE_WORDS = "reference words"
LATENT = [[0.25, -0.5], [1.0, 0.125]]
EMBEDDING = [0.5, 0.75, -1.0]


def tone(rate, seconds=0.6):
    return [round(8000 * math.sin(2 * math.pi * 300 * i / rate)) for i in range(int(seconds * rate))]


def pcm(samples, channels=1):
    return b"".join(struct.pack("<" + "h" * channels, *([s] * channels)) for s in samples)


def wav_header(rate, channels, data_size, extra=b""):
    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * 2 * channels, 2 * channels, 16)
    return (b"RIFF" + struct.pack("<I", 0xFFFFFFFF if data_size == 0xFFFFFFFF else 36 + data_size) + b"WAVE" +
            extra + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", data_size))


def ogg_vorbis(samples, rate):
    """The samples as one Ogg Vorbis file (GStreamer's encoder)."""
    with tempfile.TemporaryDirectory() as tmp:
        raw, out = os.path.join(tmp, "in.raw"), os.path.join(tmp, "out.ogg")
        with open(raw, "wb") as f:
            f.write(pcm(samples))
        pipeline = Gst.parse_launch(
            f"filesrc location={raw} ! rawaudioparse format=pcm pcm-format=s16le sample-rate={rate} num-channels=1 ! "
            f"audioconvert ! vorbisenc ! oggmux ! filesink location={out}")
        pipeline.set_state(Gst.State.PLAYING)
        msg = pipeline.get_bus().timed_pop_filtered(20 * Gst.SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR)
        pipeline.set_state(Gst.State.NULL)
        if not msg or msg.type != Gst.MessageType.EOS:
            raise RuntimeError("cannot encode Ogg Vorbis")
        with open(out, "rb") as f:
            return f.read()


def is_wav(data):
    return len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WAVE"


class BadRequest(Exception):
    pass


def require(cond, what):
    if not cond:
        raise BadRequest(what)


def form_fields(headers, body):
    """multipart/form-data as {name: bytes}."""
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + headers["Content-Type"].encode() + b"\r\n\r\n" + body)
    require(msg.is_multipart(), "body is not multipart")
    return {part.get_param("name", header="content-disposition"): part.get_payload(decode=True)
            for part in msg.iter_parts()}


def openai(headers, body):
    req = json.loads(body)
    require(req.get("input") and req.get("response_format") == "pcm" and req.get("model") and req.get("voice"),
            "openai fields")
    return None


def gpt_sovits(headers, body):
    req = json.loads(body)
    for key, want in (("text_lang", "en"), ("ref_audio_path", "/voices/ref.wav"), ("prompt_text", REFERENCE_WORDS),
                      ("prompt_lang", "en"), ("media_type", "ogg"), ("streaming_mode", True)):
        require(req.get(key) == want, f"field {key}: {req.get(key)!r}")
    require(req.get("text"), "field text")
    samples = tone(32000)
    third = len(samples) // 3
    return "audio/ogg", b"".join(ogg_vorbis(samples[i:i + third], 32000) for i in range(0, len(samples), third))


def cosyvoice(headers, body):
    form = form_fields(headers, body)
    require(form.get("tts_text"), "field tts_text")
    require(form.get("prompt_text") == REFERENCE_WORDS.encode(), "field prompt_text")
    require(is_wav(form.get("prompt_wav", b"")), "field prompt_wav: not a WAV file")
    return "application/octet-stream", pcm(tone(22050))


def fish_speech(headers, body):
    req = json.loads(body)
    require(req.get("text"), "field text")
    require(req.get("format") == "wav" and req.get("streaming") is True, "format wav, streaming")
    refs = req.get("references")
    if refs is not None:
        require(len(refs) == 1 and is_wav(base64.b64decode(refs[0]["audio"])), "references: audio not a WAV file")
        require(refs[0]["text"] == REFERENCE_WORDS, "references: text")
    else:
        require(req.get("reference_id") == "voice-1", "field reference_id")
    return "audio/wav", wav_header(44100, 1, 0) + pcm(tone(44100))


def clone_speaker(headers, body):
    form = form_fields(headers, body)
    require(is_wav(form.get("wav_file", b"")), "field wav_file: not a WAV file")
    return "application/json", json.dumps({"gpt_cond_latent": LATENT, "speaker_embedding": EMBEDDING}).encode()


def tts_stream(headers, body):
    req = json.loads(body)
    require(req.get("gpt_cond_latent") == LATENT and req.get("speaker_embedding") == EMBEDDING, "speaker")
    require(req.get("text") and req.get("language") == "en", "fields text, language")
    require(req.get("stream_chunk_size") == "20" and req.get("add_wav_header") is True, "stream fields")
    return "audio/wav", wav_header(24000, 1, 0) + pcm(tone(24000))


PROTOCOLS = {"v1/audio/speech": openai, "tts": gpt_sovits, "inference_zero_shot": cosyvoice, "v1/tts": fish_speech,
             "clone_speaker": clone_speaker, "tts_stream": tts_stream}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, *args):
        pass

    def answer(self, status, content_type, data):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        scenario, _, path = self.path.strip("/").partition("/")
        handler = PROTOCOLS.get(path)
        if not handler:
            return self.answer(404, "text/plain", b"no such path")
        try:
            answer = handler(self.headers, body)
        except (BadRequest, ValueError, KeyError, TypeError) as e:
            return self.answer(400, "text/plain", f"bad request: {e}".encode())
        if scenario == "error":
            return self.answer(503, "text/plain", b"busy")
        if answer is None:   # OpenAI: the scenario picks the container
            stereo = pcm(tone(24000), 2)
            info = b"INFOISFT\x05\x00\x00\x00test\x00\x00"
            answer = (("audio/wav", wav_header(24000, 2, 0xFFFFFFFF, b"LIST" + struct.pack("<I", len(info)) + info) +
                       stereo) if scenario == "wav" else ("audio/pcm", pcm(tone(24000))))
        content_type, data = answer
        if content_type == "application/json":
            return self.answer(200, content_type, data)
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.end_headers()
        for i in range(0, len(data), 1001):
            self.wfile.write(data[i:i + 1001])
            self.wfile.flush()
            time.sleep(2 if scenario == "slow" else 0.01)


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # clients that hang up (stopped synthesis) are expected


def main():
    Gst.init(None)
    server = QuietServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
