#!/usr/bin/python3
"""End to end: /human chat through an LLM, spoken over WebRTC.

The LLM is tests/speech/llm_server.py, a local test server speaking the
OpenAI chat-completions streaming protocol, run in this process with its
scenario switched by the test (PUT /scenario/NAME; PUT /down closes it, so
the endpoint refuses connections). The lipstream server runs under
e2e/serve.py with --llm_base_url pointing at it; the checks run in a child
process (--client) that opens an aiortc session and watches /sse:

  1. a reply: /human chat answers code 0; its pieces arrive as start/end
     events whose texts make up the reply; speech audio arrives; the admin
     view shows the timings (first and last piece) and one remembered turn;
  2. a slow reply is cancelled by /interrupt_talk (the stream stops, no more
     pieces are spoken), and "interrupt": true replaces a reply in flight;
  3. a stream that breaks after it started sends {"status": "error"} on /sse;
  4. the endpoint down: /human chat is 502 naming the service, and the
     server keeps serving (echo still speaks).

usage: chat_test.py --lipstream BIN --avatar-dir DIR
"""
import argparse
import asyncio
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "speech"))
import llm_server  # noqa: E402
import local_server  # noqa: E402

REPLY = "".join(llm_server.OK_DELTAS)


# --- the LLM side (the parent process) -------------------------------------------------

class SwitchedHandler(llm_server.Handler):
    scenario = "ok"

    def do_PUT(self):
        name = self.path.strip("/").split("/")
        self.send_response(200)
        self.end_headers()
        if name[0] == "scenario":
            SwitchedHandler.scenario = name[1]
        elif name[0] == "down":
            threading.Thread(target=lambda: (self.server.shutdown(), self.server.server_close())).start()

    def do_POST(self):
        self.path = "/" + SwitchedHandler.scenario + self.path
        super().do_POST()


def run_parent(args):
    llm = local_server.QuietServer(("127.0.0.1", 0), SwitchedHandler)
    threading.Thread(target=llm.serve_forever, daemon=True).start()
    llm_url = "http://127.0.0.1:%d" % llm.server_address[1]
    server_args = f"--llm_base_url {llm_url}/v1 --llm_model test-model --llm_history 4"
    return subprocess.call([sys.executable, os.path.join(HERE, "serve.py"), "--lipstream", args.lipstream,
                            "--avatar-dir", args.avatar_dir, "--server-args=" + server_args, "--",
                            sys.executable, os.path.abspath(__file__), "--client", "{url}", llm_url])


# --- the checks (the child process) ------------------------------------------------------

def put(url):
    urllib.request.urlopen(urllib.request.Request(url, data=b"", method="PUT"), timeout=5).read()


def admin_chat(url, sid):
    with urllib.request.urlopen(url + "/api/admin/sessions", timeout=5) as r:
        return next(s["chat"] for s in json.loads(r.read())["data"] if s["sessionid"] == sid)


async def wait_for(predicate, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        await asyncio.sleep(0.1)
    return predicate()


async def run_client(url, llm_url):
    from aiortc_client import connect, post
    from http_client import EventReader

    loop = asyncio.get_running_loop()
    call = lambda f, *a: loop.run_in_executor(None, f, *a)
    failures = []

    def check(ok, what, detail=""):
        print(f"{'ok  ' if ok else 'FAIL'} {what} {detail}", flush=True)
        if not ok:
            failures.append(what)

    session = await connect(url)
    if not session.sid:
        raise SystemExit(f"FAIL offer: {session.answer}")
    counter, sid = session.receiver, session.sid
    events = EventReader(url, sid)
    events.start()
    await asyncio.sleep(3)
    quiet = counter.rms_between(time.monotonic() - 1.5, time.monotonic())
    starts = lambda: [e["text"] for e in events.events if e.get("status") == "start"]
    ends = lambda: [e["text"] for e in events.events if e.get("status") == "end"]
    human = lambda body: call(post, url + "/human", dict(body, sessionid=sid))

    # 1. a reply, spoken piece by piece
    t0 = time.monotonic()
    r = await human({"text": "Who are you?", "type": "chat"})
    check(r.get("code") == 0, "chat accepted", r)
    done = await wait_for(lambda: "".join(ends()).replace(" ", "") == REPLY.replace(" ", ""), 60)
    check(done, "reply spoken as start/end events", starts())
    loud = counter.rms_between(t0, time.monotonic())
    check(loud > max(10 * quiet, 300), "speech audio received", f"(rms {loud:.0f}, quiet {quiet:.0f})")
    chat = await call(admin_chat, url, sid)
    check(0 <= chat["first_piece_s"] <= chat["last_piece_s"] and chat["reply_bytes"] == len(REPLY.encode())
          and chat["turns"] == 1 and not chat["busy"], "admin timings", chat)

    # 2. interrupting a slow reply
    await call(put, llm_url + "/scenario/slow")
    r = await human({"text": "Count slowly.", "type": "chat"})
    await wait_for(lambda: len(starts()) > 0 and starts()[-1].startswith("Piece"), 10)
    busy = (await call(admin_chat, url, sid))["busy"]
    r2 = await call(post, url + "/interrupt_talk", {"sessionid": sid})
    await asyncio.sleep(1.0)
    n_after = len(starts())
    await asyncio.sleep(2.0)
    chat = await call(admin_chat, url, sid)
    check(r.get("code") == 0 and busy and r2.get("code") == 0 and not chat["busy"] and len(starts()) == n_after,
          "/interrupt_talk cancels the reply", f"(busy before {busy}, after {chat['busy']}, "
          f"starts {n_after} -> {len(starts())})")
    r = await human({"text": "Count slowly.", "type": "chat"})
    await asyncio.sleep(0.5)
    r2 = await human({"text": "Count slowly again.", "type": "chat"})
    r3 = await human({"text": "Count slowly again.", "type": "chat", "interrupt": True})
    check(r.get("code") == 0 and r2.get("http_status") == 409 and r3.get("code") == 0,
          "a second question waits for \"interrupt\": true", (r2, r3))
    await call(post, url + "/interrupt_talk", {"sessionid": sid})

    # 3. a stream that breaks after it started
    await call(put, llm_url + "/scenario/malformed")
    r = await human({"text": "Break, please.", "type": "chat"})
    got = await wait_for(lambda: any(e.get("status") == "error" for e in events.events), 10)
    error = next((e for e in events.events if e.get("status") == "error"), None)
    check(r.get("code") == 0 and got and "malformed reply stream" in error.get("text", ""), "a broken stream is an /sse error", error)

    # 4. the endpoint down
    await call(put, llm_url + "/down")
    await asyncio.sleep(0.5)
    r = await human({"text": "Anyone there?", "type": "chat"})
    check(r.get("http_status") == 502 and "cannot reach the LLM service" in r.get("msg", ""),
          "a down endpoint is a clear 502", r)
    n = len(ends())
    r = await human({"text": "Still here.", "type": "echo", "interrupt": True})
    spoke = await wait_for(lambda: "Still here." in ends()[n:], 20)
    check(r.get("code") == 0 and spoke, "the server keeps serving")

    await session.close()
    if failures:
        print("FAIL: " + ", ".join(failures))
        return 1
    print("all chat checks passed")
    return 0


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--client":
        sys.exit(asyncio.run(run_client(sys.argv[2], sys.argv[3])))
    ap = argparse.ArgumentParser()
    ap.add_argument("--lipstream", required=True)
    ap.add_argument("--avatar-dir", required=True)
    sys.exit(run_parent(ap.parse_args()))


if __name__ == "__main__":
    main()
