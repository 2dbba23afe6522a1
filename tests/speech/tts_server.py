#!/usr/bin/env python3
"""A local test server speaking the speech services' HTTP protocols, for the speech tests.

It is not a speech engine: every request gets the same 0.6 s of a 300 Hz tone,
sample i = round(A * sin(2 pi 300 i / rate)), encoded as that protocol's
server would send it, written in 1001-byte pieces (sample frames cut across
reads) 10 ms apart. Each protocol's request fields are checked first; a
request that lacks one, or has a wrong value, gets HTTP 400 naming it.

The voice-cloning protocols know two voices (VOICES): "default" and "other".
A reference names one: a WAV file by its first sample (1 or 3), a path on the
server, or a voice id; its words must be that voice's. The tone's amplitude A
is the voice's (8000 or 4000), so a client hears which reference was used.
Each request's (protocol field, voice) is appended to RECEIVED, which
GET /received answers as a JSON list of pairs.

Paths are /<scenario>/<protocol path>:
  v1/audio/speech      OpenAI: JSON {model, input, voice, response_format: pcm};
                       raw PCM at 24 kHz (scenario pcm), a stereo WAV stream
                       whose data size is the streaming placeholder 0xFFFFFFFF
                       with a LIST chunk before the format (wav)
  tts                  GPT-SoVITS api_v2: JSON {text, text_lang: en,
                       ref_audio_path: the voice's path, prompt_text: its
                       words, prompt_lang: en, media_type: ogg,
                       streaming_mode: true}; three Ogg Vorbis files at 32 kHz
                       back to back (0.2 s each), as the server streams them
  inference_zero_shot  CosyVoice: multipart form tts_text, prompt_text
                       (the voice's words), prompt_wav (its WAV file); raw PCM at 22050 Hz
  v1/tts               Fish Speech: JSON {text, references: [{audio: the
                       voice's WAV file in base64, text: its words}] or
                       reference_id: its id, format: wav, streaming: true};
                       a WAV stream at 44.1 kHz whose data size is 0 (streaming)
  clone_speaker        XTTS: multipart form wav_file (a voice's WAV file); JSON
                       {gpt_cond_latent, speaker_embedding} (naming the voice)
  tts_stream           XTTS: JSON {those two as cloned, text, language: en,
                       stream_chunk_size: "20", add_wav_header: true}; a WAV
                       stream at 24 kHz (data size 0)
Scenarios: as above; error (HTTP 503 "busy"); slow (the first piece, then
one piece every 2 s: for cancelling); once (clone_speaker refuses, HTTP 409,
to clone a voice it cloned before in this scenario: the client must keep it). Prints its port on the first line of
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
from http.server import BaseHTTPRequestHandler

from local_server import serve

import gi

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402

VOICES = {
    "default": {"words": "reference words", "path": "/voices/ref.wav", "id": "voice-1", "first_sample": 1,
                "amplitude": 8000},
    "other": {"words": "other words", "path": "/voices/other.wav", "id": "voice-2", "first_sample": 3,
              "amplitude": 4000},
}
LATENT = [[0.25, -0.5], [1.0, 0.125]]
EMBEDDING = [0.5, 0.75, -1.0]   # + [the voice's first sample]
RECEIVED = []                   # (protocol path, voice name) of each request
CLONED = set()                  # (scenario, voice name) cloned by clone_speaker


def tone(rate, seconds=0.6, amplitude=8000):
    return [round(amplitude * math.sin(2 * math.pi * 300 * i / rate)) for i in range(int(seconds * rate))]


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
    status = 400


class Conflict(BadRequest):
    status = 409


def require(cond, what):
    if not cond:
        raise BadRequest(what)


def voice_where(key, value, what):
    """The name of the voice whose `key` is `value`; BadRequest naming `what` if none."""
    name = next((name for name, v in VOICES.items() if v[key] == value), None)
    require(name, f"{what}: no such voice ({value!r:.60})")
    RECEIVED.append((what, name))
    return name


def wav_voice(data, what):
    """The voice a reference WAV file is: its first sample names it."""
    require(is_wav(data), f"{what}: not a WAV file")
    at = 12
    while at + 8 <= len(data) and data[at:at + 4] != b"data":
        at += 8 + struct.unpack("<I", data[at + 4:at + 8])[0]
    require(at + 10 <= len(data), f"{what}: WAV without samples")
    return voice_where("first_sample", struct.unpack("<h", data[at + 8:at + 10])[0], what)


def voice_tone(name, rate):
    return tone(rate, amplitude=VOICES[name]["amplitude"])


def form_fields(headers, body):
    """multipart/form-data as {name: bytes}."""
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + headers["Content-Type"].encode() + b"\r\n\r\n" + body)
    require(msg.is_multipart(), "body is not multipart")
    return {part.get_param("name", header="content-disposition"): part.get_payload(decode=True)
            for part in msg.iter_parts()}


def openai(scenario, headers, body):
    req = json.loads(body)
    require(req.get("input") and req.get("response_format") == "pcm" and req.get("model") and req.get("voice"),
            "openai fields")
    return None


def gpt_sovits(scenario, headers, body):
    req = json.loads(body)
    for key, want in (("text_lang", "en"), ("prompt_lang", "en"), ("media_type", "ogg"), ("streaming_mode", True)):
        require(req.get(key) == want, f"field {key}: {req.get(key)!r}")
    require(req.get("text"), "field text")
    voice = voice_where("path", req.get("ref_audio_path"), "tts ref_audio_path")
    require(req.get("prompt_text") == VOICES[voice]["words"], f"field prompt_text: {req.get('prompt_text')!r}")
    samples = voice_tone(voice, 32000)
    third = len(samples) // 3
    return "audio/ogg", b"".join(ogg_vorbis(samples[i:i + third], 32000) for i in range(0, len(samples), third))


def cosyvoice(scenario, headers, body):
    form = form_fields(headers, body)
    require(form.get("tts_text"), "field tts_text")
    voice = wav_voice(form.get("prompt_wav", b""), "inference_zero_shot prompt_wav")
    require(form.get("prompt_text") == VOICES[voice]["words"].encode(), "field prompt_text")
    return "application/octet-stream", pcm(voice_tone(voice, 22050))


def fish_speech(scenario, headers, body):
    req = json.loads(body)
    require(req.get("text"), "field text")
    require(req.get("format") == "wav" and req.get("streaming") is True, "format wav, streaming")
    refs = req.get("references")
    if refs is not None:
        require(len(refs) == 1, "references: one expected")
        voice = wav_voice(base64.b64decode(refs[0]["audio"]), "v1/tts references")
        require(refs[0]["text"] == VOICES[voice]["words"], "references: text")
    else:
        voice = voice_where("id", req.get("reference_id"), "v1/tts reference_id")
    return "audio/wav", wav_header(44100, 1, 0) + pcm(voice_tone(voice, 44100))


def clone_speaker(scenario, headers, body):
    form = form_fields(headers, body)
    voice = wav_voice(form.get("wav_file", b""), "clone_speaker wav_file")
    if scenario == "once":
        if (scenario, voice) in CLONED:
            raise Conflict(f"voice {voice} cloned twice")
        CLONED.add((scenario, voice))
    embedding = EMBEDDING + [VOICES[voice]["first_sample"]]
    return "application/json", json.dumps({"gpt_cond_latent": LATENT, "speaker_embedding": embedding}).encode()


def tts_stream(scenario, headers, body):
    req = json.loads(body)
    require(req.get("gpt_cond_latent") == LATENT, "speaker: gpt_cond_latent")
    embedding = req.get("speaker_embedding") or []
    require(embedding[:-1] == EMBEDDING, "speaker: speaker_embedding")
    voice = voice_where("first_sample", embedding[-1], "tts_stream speaker_embedding")
    require(req.get("text") and req.get("language") == "en", "fields text, language")
    require(req.get("stream_chunk_size") == "20" and req.get("add_wav_header") is True, "stream fields")
    return "audio/wav", wav_header(24000, 1, 0) + pcm(voice_tone(voice, 24000))


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

    def do_GET(self):
        if self.path != "/received":
            return self.answer(404, "text/plain", b"no such path")
        self.answer(200, "application/json", json.dumps(RECEIVED).encode())

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        scenario, _, path = self.path.strip("/").partition("/")
        handler = PROTOCOLS.get(path)
        if not handler:
            return self.answer(404, "text/plain", b"no such path")
        try:
            answer = handler(scenario, self.headers, body)
        except (BadRequest, ValueError, KeyError, TypeError, IndexError, struct.error) as e:
            return self.answer(getattr(e, "status", 400), "text/plain", f"bad request: {e}".encode())
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


def main():
    Gst.init(None)
    serve(Handler)


if __name__ == "__main__":
    main()
