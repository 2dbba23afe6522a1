#!/usr/bin/python3
"""A WHIP receiver written for the tests: it stands in for a media server.

It is not a media server: an asyncio HTTP endpoint (RFC 9725's three
requests, nothing else) that answers each offer with python3-aiortc and
counts what arrives on each stream.

  POST /whip/<stream>        body: SDP offer (application/sdp)
                             -> 201, the answer SDP, Location: /whip/resource/<n>
  DELETE /whip/resource/<n>  -> 200; closes that peer connection
  GET /stats                 -> JSON {stream: {"posts", "video_frames", "audio_samples",
                                                "width", "deleted", "dropped", "connected"}}

`--refuse N` answers the first N offers 503 (to test retries). `--token T`
requires "Authorization: Bearer T" on POST and DELETE (401 otherwise,
counted per stream as "unauthorized"). drop(stream) closes that stream's
peer connections as a media server ending a stream would (DTLS
close_notify, no DELETE), counted as "dropped"; freeze(stream) makes them
send no more RTCP while they stay open, as a crashed media server would.
Runs alone
(`whip_receiver.py --port P`) or inside a test (WhipReceiver(port).start()).
"""
import argparse
import asyncio
import json
import threading

from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError


class Stream:
    def __init__(self):
        self.posts = 0
        self.video_frames = 0
        self.audio_samples = 0
        self.width = 0
        self.deleted = 0
        self.dropped = 0
        self.unauthorized = 0
        self.connected = False

    def as_dict(self):
        return dict(posts=self.posts, video_frames=self.video_frames, audio_samples=self.audio_samples,
                    width=self.width, deleted=self.deleted, dropped=self.dropped, unauthorized=self.unauthorized,
                    connected=self.connected)


class WhipReceiver:
    def __init__(self, port, refuse=0, token=None):
        self.port = port
        self.refuse = refuse
        self.token = token
        self.streams = {}
        self.resources = {}  # n -> (stream name, peer connection)
        self.next_resource = 0
        self.loop = None
        self.tasks = []

    # --- media -------------------------------------------------------------------
    async def consume(self, stream, track):
        try:
            while True:
                frame = await track.recv()
                if track.kind == "video":
                    stream.video_frames += 1
                    stream.width = frame.width
                else:
                    stream.audio_samples += frame.samples
        except MediaStreamError:
            pass

    async def answer(self, name, offer_sdp):
        stream = self.streams.setdefault(name, Stream())
        stream.posts += 1
        if self.refuse > 0:
            self.refuse -= 1
            return 503, {}, b"refused by the test receiver"
        pc = RTCPeerConnection()

        @pc.on("track")
        def on_track(track):
            self.tasks.append(asyncio.ensure_future(self.consume(stream, track)))

        @pc.on("connectionstatechange")
        def on_state():
            stream.connected = pc.connectionState == "connected"

        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        n = self.next_resource
        self.next_resource += 1
        self.resources[n] = (name, pc)
        headers = {"Content-Type": "application/sdp", "Location": f"/whip/resource/{n}"}
        return 201, headers, pc.localDescription.sdp.encode()

    async def delete(self, n):
        if n not in self.resources:
            return 404, {}, b"no such resource"
        name, pc = self.resources.pop(n)
        self.streams[name].deleted += 1
        await pc.close()
        return 200, {}, b""

    async def close_stream(self, name):
        for n in [n for n, (s, _) in self.resources.items() if s == name]:
            await self.resources.pop(n)[1].close()
            self.streams[name].dropped += 1

    def drop(self, name):
        """From another thread: ends stream `name`'s connections on the receiver's side."""
        asyncio.run_coroutine_threadsafe(self.close_stream(name), self.loop).result(10)

    async def silence_stream(self, name):
        async def silent(packet):
            pass
        for stream_name, pc in self.resources.values():
            if stream_name == name:
                for transceiver in pc.getTransceivers():
                    transceiver.receiver._send_rtcp = silent

    def freeze(self, name):
        """From another thread: stream `name`'s connections send no more RTCP."""
        asyncio.run_coroutine_threadsafe(self.silence_stream(name), self.loop).result(10)

    def resource_stream(self, path):
        n = path.rsplit("/", 1)[1]
        entry = self.resources.get(int(n)) if n.isdigit() else None
        return entry[0] if entry else "?"

    def stats(self):
        return {name: s.as_dict() for name, s in self.streams.items()}

    # --- HTTP --------------------------------------------------------------------
    async def handle(self, reader, writer):
        try:
            request = (await reader.readline()).decode("latin-1").split()
            headers = {}
            while True:
                line = (await reader.readline()).decode("latin-1").strip()
                if not line:
                    break
                key, _, value = line.partition(":")
                headers[key.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            method, path = request[0], request[1].split("?")[0]
            if self.token and method in ("POST", "DELETE") and \
                    headers.get("authorization") != f"Bearer {self.token}":
                name = path[len("/whip/"):] if method == "POST" else self.resource_stream(path)
                self.streams.setdefault(name, Stream()).unauthorized += 1
                status, extra, data = 401, {}, b"a bearer token is required"
            elif method == "POST" and path.startswith("/whip/") and not path.startswith("/whip/resource/"):
                status, extra, data = await self.answer(path[len("/whip/"):], body.decode())
            elif method == "DELETE" and path.startswith("/whip/resource/"):
                status, extra, data = await self.delete(int(path.rsplit("/", 1)[1]))
            elif method == "GET" and path == "/stats":
                status, extra, data = 200, {"Content-Type": "application/json"}, json.dumps(self.stats()).encode()
            else:
                status, extra, data = 404, {}, b"not a WHIP request"
            head = f"HTTP/1.1 {status} X\r\nContent-Length: {len(data)}\r\nConnection: close\r\n"
            head += "".join(f"{k}: {v}\r\n" for k, v in extra.items())
            writer.write(head.encode() + b"\r\n" + data)
            await writer.drain()
        finally:
            writer.close()

    async def serve(self, ready=None):
        server = await asyncio.start_server(self.handle, "127.0.0.1", self.port)
        if ready:
            ready.set()
        async with server:
            await server.serve_forever()

    def start(self):
        """Serves on a background thread; returns once it listens."""
        ready = threading.Event()

        def run():
            self.loop = asyncio.new_event_loop()
            self.loop.run_until_complete(self.serve(ready))

        threading.Thread(target=run, daemon=True).start()
        ready.wait(10)
        return self


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--refuse", type=int, default=0)
    ap.add_argument("--token")
    args = ap.parse_args()
    asyncio.run(WhipReceiver(args.port, args.refuse, args.token).serve())


if __name__ == "__main__":
    main()
