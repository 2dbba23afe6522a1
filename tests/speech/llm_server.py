#!/usr/bin/env python3
"""A local test server speaking the OpenAI chat-completions streaming protocol.

It is a stand-in for an LLM service in the speech tests: POST
<scenario>/v1/chat/completions answers according to the scenario named by the
first path element, writing the event stream in small pieces (7 bytes at a
time) so that lines and UTF-8 characters are cut across network reads.
Prints its port on the first line of stdout, then serves until killed.

Scenarios: ok (a mixed Chinese/English reply with empty and role-only deltas),
count (the reply says how many user messages the request held), auth (401
unless the key is "Bearer test-key"), error500, malformed, stall (one delta,
then silence), eof (one delta, then the connection closes without [DONE]),
slow (a delta every 0.2 s for 10 s), errorevent (an error object in the stream).
"""
import json
import sys
import time
from http.server import BaseHTTPRequestHandler

from local_server import serve

OK_DELTAS = ["", "你好，我是", "lipstream", "的测试。", "", "Nice to meet you! How", " are you today? ",
             "我很好：谢谢", "。End"]


def chunk(content, role=False, finish=None):
    delta = {"role": "assistant"} if role else {}
    if content is not None:
        delta["content"] = content
    return {"id": "x", "object": "chat.completion.chunk", "model": "test",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, *args):
        pass

    def send_stream_head(self, status=200, ctype="text/event-stream"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.end_headers()
        self.wfile.flush()

    def write_slowly(self, data):
        for i in range(0, len(data), 7):
            self.wfile.write(data[i:i + 7])
            self.wfile.flush()

    def event(self, obj):
        text = obj if isinstance(obj, str) else json.dumps(obj, ensure_ascii=False)
        self.write_slowly(("data: " + text + "\r\n\r\n").encode())

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        scenario = self.path.strip("/").split("/")[0]
        assert body["stream"] is True and body["model"] == "test-model"
        if scenario == "auth" and self.headers.get("Authorization") != "Bearer test-key":
            self.send_stream_head(401, "application/json")
            self.wfile.write(b'{"error": {"message": "bad key"}}')
            return
        if scenario == "error500":
            self.send_stream_head(500, "application/json")
            return
        self.send_stream_head()
        if scenario in ("ok", "auth"):
            self.event(chunk(None, role=True))
            for d in OK_DELTAS:
                self.event(chunk(d))
            self.write_slowly(b": a comment line\n\n")
            self.event(chunk(None, finish="stop"))
            self.event("[DONE]")
        elif scenario == "count":
            users = sum(1 for m in body["messages"] if m["role"] == "user")
            system = [m["content"] for m in body["messages"] if m["role"] == "system"]
            self.event(chunk("users=%d system=%s" % (users, system[0] if system else "none")))
            self.event("[DONE]")
        elif scenario == "malformed":
            self.event(chunk("Hello there, friend."))
            self.event("{not json")
            self.event("[DONE]")
        elif scenario == "errorevent":
            self.event({"error": {"message": "quota exceeded"}})
        elif scenario == "stall":
            self.event(chunk("Hello there, friend."))
            time.sleep(5)
        elif scenario == "eof":
            self.event(chunk("Hello there, friend."))
        elif scenario == "slow":
            for i in range(50):
                self.event(chunk("Piece number %d, " % i))
                time.sleep(0.2)
            self.event("[DONE]")


def main():
    serve(Handler)


if __name__ == "__main__":
    main()
