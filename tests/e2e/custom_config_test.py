#!/usr/bin/python3
"""Per-session action clips: "custom_config" in /offer (spec/api.md).

Run by serve.py against a server WITHOUT --customvideo_config (the loop
test avatar, --model none) and with --custom_config_dir the folder of the
suite's clips. Checks:
 - bad configurations are a 400 naming custom_config and open no session:
   not JSON, not a list, an item without imgpath, a missing frame folder,
   a clip without its audio, a value that is not a string, a frame folder
   outside --custom_config_dir (absolute, or through ".." from inside it);
 - a session opened with the clips (the suite's clips.json, as a string)
   plays clip 2 on /set_audiotype: its frame log (live/frame_log.h) shows
   clip frames typed 2, and the client hears the clip's 440 Hz tone (audio
   energy far above the idle silence);
 - a second session without custom_config has no clip 2 (400), so the
   clips belong to the first session only.

usage: custom_config_test.py URL CLIPS_JSON
"""
import asyncio
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aiortc_client as client  # noqa: E402


def fail(why):
    sys.exit("FAIL: " + why)


def session_count(url):
    return len(client.get_json(url + "/api/admin/sessions")["data"])


async def check_bad_configs(url, clips, sdp):
    clip = clips[0]
    bad = {
        "not JSON": "[{audiotype: 2",
        "not a list": json.dumps(clip),
        "no imgpath": json.dumps([{"audiotype": 2, "audiopath": clip["audiopath"]}]),
        "missing folder": json.dumps([dict(clip, imgpath=clip["imgpath"] + "_missing")]),
        "no audio": json.dumps([{"audiotype": 2, "imgpath": clip["imgpath"]}]),
        "not a string": clips,
        "outside the folder": json.dumps([dict(clip, imgpath=os.path.dirname(os.path.dirname(clip["imgpath"])))]),
        "through ..": json.dumps([dict(clip, imgpath="wave/../../avatar_frames")]),
    }
    loop = asyncio.get_running_loop()
    results = {}
    for name, config in bad.items():
        before = session_count(url)
        reply = await loop.run_in_executor(None, client.post, url + "/offer",
                                           {"sdp": sdp, "type": "offer", "custom_config": config})
        results[name] = reply
        if reply.get("http_status") != 400 or "custom_config" not in reply.get("msg", ""):
            fail(f"{name}: {reply}")
        if session_count(url) != before:
            fail(f"{name}: a session was opened")
    print(json.dumps(results))


async def main():
    url, clips_path = sys.argv[1:3]
    with open(clips_path) as f:
        clips_text = f.read()
    clips = json.loads(clips_text)

    session = await client.connect(url, {"custom_config": clips_text, "frame_log": 500})
    if not session.sid:
        fail(f"no session with custom_config: {session.answer}")
    other = await client.connect(url)
    if not other.sid:
        fail(f"no second session: {other.answer}")
    await check_bad_configs(url, clips, session.pc.localDescription.sdp)

    loop = asyncio.get_running_loop()
    await asyncio.sleep(2.0)
    quiet = session.receiver.rms_between(time.monotonic() - 1.5, time.monotonic())
    t0 = time.monotonic()
    theirs = await loop.run_in_executor(None, client.post, url + "/set_audiotype", {"sessionid": other.sid, "audiotype": 2})
    mine = await loop.run_in_executor(None, client.post, url + "/set_audiotype", {"sessionid": session.sid, "audiotype": 2})
    await asyncio.sleep(2.0)
    loud = session.receiver.rms_between(t0, time.monotonic())
    frames = client.get_json(f"{url}/api/admin/sessions?frames={session.sid}")["data"]["frames"]
    clip_frames = [f for f in frames if f["kind"] == "clip" and f["types"] == [2, 2]]
    await session.close()
    await other.close()
    print(json.dumps({"set_audiotype": mine, "other_session": theirs, "clip_frames": len(clip_frames),
                      "quiet_rms": round(quiet, 1), "clip_rms": round(loud, 1)}))
    if mine.get("code") != 0 or theirs.get("http_status") != 400:
        fail("clip 2 is not the first session's alone")
    if len(clip_frames) < 10:
        fail("the session did not show its clip")
    if loud < max(10 * quiet, 1000):
        fail("the clip's audio was not heard")
    print("ok")


if __name__ == "__main__":
    asyncio.run(main())
