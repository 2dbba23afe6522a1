#!/usr/bin/python3
"""End to end: /human's voice override ("tts": {"ref_file", "ref_text"}) with a voice-cloning engine.

The TTS server is tests/speech/tts_server.py, run in this process: it knows two
voices, "default" and "other", each with its reference WAV file and words, and
answers GET /received with the (field, voice) of each request it got. The
lipstream server runs under e2e/serve.py with --tts cosyvoice pointed at it (the
default voice's file as --REF_FILE), twice; the checks run in a child process
(--client) on a live aiortc session:

  1. --tts_ref_dir (given in a YAML --config file) is a folder holding the two
     voices' files, a text file and a symbolic link leading out of it. Overrides
     naming a file outside it ("..", an absolute path elsewhere, the link), a
     missing file, a text file, wrong types or over-long fields get 400 naming
     the problem and are not spoken; an accepted override is spoken (its
     start/end events on /sse) and the TTS server got the other voice's
     reference; the next request, without one, got the default voice.
  2. Without --tts_ref_dir: a local reference is refused with 400.

usage: voice_test.py --lipstream BIN --avatar-dir DIR
"""
import argparse
import asyncio
import json
import os
import shlex
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "speech"))
import tts_server  # noqa: E402
import local_server  # noqa: E402
from aiortc_client import connect  # noqa: E402
from http_client import EventReader, expect, failures, request  # noqa: E402


# --- the parent: the TTS server, the reference folder, two lipstream servers ----------------------

def write_voice_wav(path, first_sample):
    """A small WAV file; its first sample names the TTS server's voice."""
    with open(path, "wb") as f:
        f.write(tts_server.wav_header(16000, 1, 4) + tts_server.pcm([first_sample, 2]))


def make_tree(root):
    """root/refs (ref.wav, other.wav, notes.txt, escape.wav -> ../outside/other.wav) and root/outside/other.wav."""
    refs, outside = os.path.join(root, "refs"), os.path.join(root, "outside")
    os.mkdir(refs)
    os.mkdir(outside)
    for folder, name, voice in ((refs, "ref.wav", "default"), (refs, "other.wav", "other"),
                                (outside, "other.wav", "other")):
        write_voice_wav(os.path.join(folder, name), tts_server.VOICES[voice]["first_sample"])
    with open(os.path.join(refs, "notes.txt"), "w") as f:
        f.write("not a voice\n")
    os.symlink("../outside/other.wav", os.path.join(refs, "escape.wav"))
    return refs


def serve(args, server_args, mode, tts_url, root):
    return subprocess.call([sys.executable, os.path.join(HERE, "serve.py"), "--lipstream", args.lipstream,
                            "--avatar-dir", args.avatar_dir, "--server-args=" + server_args, "--",
                            sys.executable, os.path.abspath(__file__), "--client", mode, "{url}", tts_url, root])


def run_parent(args):
    tts = local_server.QuietServer(("127.0.0.1", 0), tts_server.Handler)
    threading.Thread(target=tts.serve_forever, daemon=True).start()
    tts_url = "http://127.0.0.1:%d" % tts.server_address[1]
    with tempfile.TemporaryDirectory() as tmp:
        root = os.path.realpath(tmp)
        refs = make_tree(root)
        config = os.path.join(root, "voice.yaml")
        with open(config, "w") as f:
            f.write(f"tts_ref_dir: {refs}\n")
        engine = (f"--tts cosyvoice --TTS_SERVER {tts_url}/ok --REF_FILE {shlex.quote(os.path.join(refs, 'ref.wav'))} "
                  f"--REF_TEXT {shlex.quote(tts_server.VOICES['default']['words'])}")
        status = serve(args, f"{engine} --config {shlex.quote(config)}", "with-dir", tts_url, root)
        return status or serve(args, engine, "without-dir", tts_url, root)


# --- the checks (the child process) ----------------------------------------------------------

def received(tts_url):
    with urllib.request.urlopen(tts_url + "/received", timeout=5) as r:
        return [tuple(pair) for pair in json.loads(r.read())]


def check(ok, what, detail=""):
    print(f"{'ok  ' if ok else 'FAIL'} {what} {detail}")
    if not ok:
        failures.append(what)


def refusals(url, sid, root):
    """The 400 answers of the reference folder's server: nothing is queued."""
    outside = "must be inside --tts_ref_dir"
    cases = [
        ("tts not an object", "other.wav", "field 'tts' must be an object"),
        ("ref_file not a string", {"ref_file": 5}, "tts: field 'ref_file' must be a string"),
        ("ref_text not a string", {"ref_file": "other.wav", "ref_text": ["other"]},
         "field 'ref_text' must be a string"),
        ("reference out of the folder by ..", {"ref_file": "../outside/other.wav"}, outside),
        ("absolute path elsewhere", {"ref_file": os.path.join(root, "outside", "other.wav")}, outside),
        ("symbolic link out of the folder", {"ref_file": "escape.wav"}, outside),
        ("missing reference", {"ref_file": "nobody.wav"}, "'nobody.wav': No such file"),
        ("reference not WAV", {"ref_file": "notes.txt"}, "'notes.txt' is not a WAV file"),
        ("ref_text too long", {"ref_file": "other.wav", "ref_text": "x" * 5000}, "tts.ref_text: over 4096 bytes"),
    ]
    for what, tts, msg in cases:
        expect(url, what, "POST", "/human", {"sessionid": sid, "text": "Refused.", "tts": tts}, 400, msg)


async def run_client(mode, url, tts_url, root):
    loop = asyncio.get_running_loop()
    session = await connect(url)
    check(session.sid is not None, "session", session.sid or session.answer)
    if session.sid is None:
        return
    sid = session.sid
    if mode == "without-dir":
        expect(url, "local reference without --tts_ref_dir", "POST", "/human",
               {"sessionid": sid, "text": "Refused.", "tts": {"ref_file": "other.wav", "ref_text": "other words"}},
               400, "tts.ref_file: local files must be inside --tts_ref_dir")
        await session.close()
        return
    config = request(url, "GET", "/api/admin/config")[2]["data"]
    check(config.get("tts_ref_dir") == os.path.join(root, "refs"), "--tts_ref_dir from the YAML file",
          config.get("tts_ref_dir"))
    reader = EventReader(url, sid)
    reader.start()
    await loop.run_in_executor(None, refusals, url, sid, root)
    other = {"ref_file": "other.wav", "ref_text": tts_server.VOICES["other"]["words"]}
    answers = []
    for body in ({"sessionid": sid, "text": "In the other voice.", "tts": other},
                 {"sessionid": sid, "text": "In my own voice."}):
        answers.append(await loop.run_in_executor(None, request, url, "POST", "/human", body))
    check(all(a[0] == 200 and a[2].get("code") == 0 for a in answers), "override accepted", [a[2] for a in answers])

    def spoken():
        return [(e.get("status"), e.get("text")) for e in reader.events if e.get("status") in ("start", "end")]

    want = [("start", "In the other voice."), ("end", "In the other voice."), ("start", "In my own voice."),
            ("end", "In my own voice.")]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(spoken()) < len(want):
        await asyncio.sleep(0.1)
    check(spoken() == want, "spoken, refused requests not", spoken())
    got = received(tts_url)
    check(got == [("inference_zero_shot prompt_wav", "other"), ("inference_zero_shot prompt_wav", "default")],
          "the TTS server got the override's reference, then the default one", got)
    await session.close()


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--client":
        asyncio.run(run_client(*sys.argv[2:6]))
        if failures:
            sys.exit("FAIL: " + ", ".join(failures))
        print("voice override checks passed")
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("--lipstream", required=True)
    ap.add_argument("--avatar-dir", required=True)
    sys.exit(run_parent(ap.parse_args()))


if __name__ == "__main__":
    main()
