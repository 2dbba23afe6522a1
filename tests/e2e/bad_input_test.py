#!/usr/bin/python3
"""Bad and edge-case requests against a running server (started by serve.py
with --max_session 1): each must get its documented status and a JSON
{"code": -1, "msg": ...} naming the problem, and the server must keep serving
(a follow-up request after each). Also covers, on one live aiortc session:
per-session avatar ids, the session limit, /human's missing fields and chat, the features not
available yet, uploads (WAV and MP3 spoken with their events over /sse; random bytes, a fake MP3
and a cut WAV refused with the file's name; 10-minute uploads refused with 429 once 20 minutes of audio
wait to play).

usage: bad_input_test.py URL
"""
import asyncio
import json
import os
import sys
import tempfile

import gi
import numpy
from aiortc import RTCPeerConnection, RTCSessionDescription

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from http_client import EventReader, expect, failures, multipart, request, wav_bytes  # noqa: E402


def mp3_bytes(seconds=0.5):
    """A 440 Hz tone as an MP3 file (GStreamer's LAME encoder)."""
    Gst.init(None)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "tone.mp3")
        pipeline = Gst.parse_launch(f"audiotestsrc freq=440 volume=0.25 samplesperbuffer=441 "
                                    f"num-buffers={int(seconds * 100)} ! audio/x-raw,rate=44100,channels=1 ! "
                                    f"audioconvert ! lamemp3enc ! filesink location={path}")
        pipeline.set_state(Gst.State.PLAYING)
        pipeline.get_bus().timed_pop_filtered(20 * Gst.SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR)
        pipeline.set_state(Gst.State.NULL)
        with open(path, "rb") as f:
            return f.read()


def stateless_checks(url):
    expect(url, "malformed JSON", "POST", "/human", "{bad json", 400, "malformed JSON")
    expect(url, "not an object", "POST", "/human", "[1, 2]", 400, "must be a JSON object")
    expect(url, "invalid UTF-8", "POST", "/human", b'{"sessionid": "\xff\xfe"}', 400, "malformed JSON")
    expect(url, "empty body", "POST", "/interrupt_talk", "", 400, "empty body")
    expect(url, "missing sessionid", "POST", "/human", {"text": "hi"}, 400, "missing field 'sessionid'")
    expect(url, "missing sdp", "POST", "/offer", {"type": "offer"}, 400, "missing field 'sdp'")
    expect(url, "unknown session", "POST", "/human", {"sessionid": "nope", "text": "hi"}, 404, "unknown session")
    expect(url, "unknown session (int)", "POST", "/is_speaking", {"sessionid": 123456}, 404, "unknown session")
    expect(url, "unknown session /sse", "GET", "/sse?sessionid=nope", None, 404, "unknown session")
    expect(url, "unknown session /record", "GET", "/record/nope", None, 404, "no recording")
    expect(url, "garbage SDP", "POST", "/offer", {"sdp": "garbage", "type": "offer"}, 400, "offer SDP")
    expect(url, "answer as offer", "POST", "/offer", {"sdp": "v=0\r\n", "type": "answer"}, 400, "must be \"offer\"")
    expect(url, "SDP without audio", "POST", "/offer", {"sdp": "v=0\r\nm=video 9 RTP/AVP 96\r\n"}, 400,
           "no audio m-line")
    chrome = open(os.path.join(HERE, "offers", "chrome.sdp")).read()
    expect(url, "avatar id with a path", "POST", "/offer", {"sdp": chrome, "type": "offer", "avatar": "../demo"}, 400,
           "not an avatar id")
    expect(url, "unknown avatar", "POST", "/offer", {"sdp": chrome, "type": "offer", "avatar": "nobody"}, 404,
           "avatar 'nobody': no folder")
    expect(url, "oversized body", "POST", "/human", b"x" * (2 << 20), 413, "too large")
    expect(url, "oversized upload", "POST", "/humanaudio", b"x" * (65 << 20), 413, "too large")
    hdrs = expect(url, "GET /offer", "GET", "/offer", None, 405, "takes POST")
    if hdrs.get("Allow") != "POST":
        failures.append("Allow header")
    expect(url, "POST /api/admin/sessions", "POST", "/api/admin/sessions", "{}", 405, "takes GET")
    expect(url, "unknown endpoint", "POST", "/nope", "{}", 404, "no such endpoint")
    expect(url, "missing file", "GET", "/nope.html", None, 404, "not found")
    expect(url, "path outside web/", "GET", "/../CMakeLists.txt", None, 404, "not found")
    expect(url, "hidden file", "GET", "/.git/config", None, 404, "not found")
    status, _, page = request(url, "GET", "/")
    print(f"{'ok  ' if status == 200 and b'client.js' in page else 'FAIL'} GET / serves the web client")
    if status != 200 or b"client.js" not in page:
        failures.append("GET /")


async def session_checks(url):
    pc = RTCPeerConnection()
    pc.addTransceiver("video", direction="recvonly")
    pc.addTransceiver("audio", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    loop = asyncio.get_running_loop()
    offer = {"sdp": pc.localDescription.sdp, "type": "offer"}
    _, _, answer = await loop.run_in_executor(None, request, url, "POST", "/offer", offer)
    sid = answer["sessionid"]
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))
    print(f"ok   session {sid} ({len(sid) * 4} random bits)")
    if len(sid) != 32:
        failures.append("session id length")

    def run(*args):
        return loop.run_in_executor(None, expect, url, *args)

    await run("session limit", "POST", "/offer", offer, 503, "Maximum session limit reached (1/1)")
    await run("missing text", "POST", "/human", {"sessionid": sid}, 400, "missing field 'text'")
    await run("text not a string", "POST", "/human", {"sessionid": sid, "text": 5}, 400, "'text' must be a string")
    await run("bad type", "POST", "/human", {"sessionid": sid, "text": "a", "type": "sing"}, 400, "\"echo\" or \"chat\"")
    await run("chat without LLM", "POST", "/human", {"sessionid": sid, "text": "hi", "type": "chat"}, 501,
              "chat needs an LLM (--llm_base_url), not configured")
    await run("bad interrupt", "POST", "/human", {"sessionid": sid, "text": "a", "interrupt": "yes"}, 400,
              "'interrupt' must be true or false")
    await run("set_audiotype without clips", "POST", "/set_audiotype", {"sessionid": sid, "audiotype": 2}, 400,
              "audiotype 2: no such action clip")
    await run("end_record without one", "POST", "/record", {"sessionid": sid, "type": "end_record"}, 409,
              "not recording")
    await run("record bad type", "POST", "/record", {"sessionid": sid, "type": "x"}, 400, "start_record")
    await run("record download", "GET", "/record/" + sid, None, 404, "no recording")
    body, headers = multipart({"sessionid": (None, sid), "file": ("song.mp3", b"ID3\x03\x00fake mp3")})
    await run("fake mp3 upload", "POST", "/humanaudio", body, 400, "song.mp3: ", headers)
    noise = numpy.random.default_rng(1).integers(0, 256, 20000, dtype=numpy.uint8).tobytes()
    body, headers = multipart({"sessionid": (None, sid), "file": ("noise.ogg", noise)})
    await run("random bytes upload", "POST", "/humanaudio", body, 400, "noise.ogg: not an audio file", headers)
    body, headers = multipart({"sessionid": (None, sid), "file": ("cut.wav", wav_bytes()[:30])})
    await run("truncated WAV", "POST", "/humanaudio", body, 400, "cut.wav: ", headers)
    body, headers_bad = multipart({"file": ("a.wav", wav_bytes())})
    await run("upload without sessionid", "POST", "/humanaudio", body, 400, "missing form field 'sessionid'",
              headers_bad)
    await run("not multipart", "POST", "/humanaudio", "{}", 400, "multipart/form-data")

    reader = EventReader(url, sid)
    reader.start()
    body, headers = multipart({"sessionid": (None, sid), "file": ("tone.wav", wav_bytes())})
    status, _, data = await loop.run_in_executor(None, request, url, "POST", "/humanaudio", body, headers)
    body, headers = multipart({"sessionid": (None, sid), "file": ("tone.mp3", mp3_bytes())})
    status_mp3, _, data_mp3 = await loop.run_in_executor(None, request, url, "POST", "/humanaudio", body, headers)
    status2, _, data2 = await loop.run_in_executor(None, request, url, "POST", "/human",
                                                   {"sessionid": sid, "text": "Events, please.", "type": "echo"})
    def speech_events():   # (outputs report on the same stream)
        return [(e.get("status"), e.get("text")) for e in reader.events if e.get("status") in ("start", "end")]

    for _ in range(150):
        if len(speech_events()) >= 6:
            break
        await asyncio.sleep(0.1)
    statuses = speech_events()
    want = [("start", "tone.wav"), ("end", "tone.wav"), ("start", "tone.mp3"), ("end", "tone.mp3"),
            ("start", "Events, please."), ("end", "Events, please.")]
    ok = (status == 200 and data.get("code") == 0 and status_mp3 == 200 and data_mp3.get("code") == 0 and
          status2 == 200 and statuses == want)
    print(f"{'ok  ' if ok else 'FAIL'} WAV and MP3 uploads and echo: {data_mp3}, events {statuses}")
    if not ok:
        failures.append("upload and /sse events")

    # 20 minutes of uploaded audio may wait to play (speech/speech_queue.h): 10-minute uploads are
    # taken until that is full (two waiting, and a third if the first has started playing), then 429.
    body, headers = multipart({"sessionid": (None, sid), "file": ("long.wav", wav_bytes(600, 16000))})
    statuses = []
    while len(statuses) < 5 and (not statuses or statuses[-1][0] == 200):
        status, _, data = await loop.run_in_executor(None, request, url, "POST", "/humanaudio", body, headers)
        statuses.append((status, data.get("msg", "") if isinstance(data, dict) else ""))
    accepted = sum(1 for status, _ in statuses if status == 200)
    ok = (statuses[-1][0] == 429 and "too much audio waiting to be played" in statuses[-1][1] and
          2 <= accepted <= 3)
    print(f"{'ok  ' if ok else 'FAIL'} uploads beyond the waiting audio limit: {statuses}")
    if not ok:
        failures.append("uploaded audio limit")
    await loop.run_in_executor(None, request, url, "POST", "/interrupt_talk", {"sessionid": sid})
    await pc.close()


def main():
    url = sys.argv[1]
    stateless_checks(url)
    asyncio.run(session_checks(url))
    if failures:
        sys.exit("FAIL: " + ", ".join(failures))
    print("all bad-input checks passed")


if __name__ == "__main__":
    main()
