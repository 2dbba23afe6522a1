#!/usr/bin/python3
"""The server's RTCP sender reports keep audio and video in sync, also while
the lip-sync loop runs late.

Browsers play a stream's audio and video in sync by their RTCP sender
reports (SR): each maps an RTP timestamp of its stream to a common NTP
wall-clock time. lipstream sends frame n and its audio with the same
presentation time, so the capture time an SR names must agree between the
two streams, whatever the lateness of the packets. An aiortc client notes
every SR of both streams; for each SR it computes the NTP time at which
the stream's media time (RTP timestamp counted from that stream's first
packet) began, and the video's value minus the audio's, over reports close
in time, must stay within MAX_DRIFT_S of its value at the first pair of
reports, while the session speaks with the small models on a CPU that
cannot render in real time (lag policy wait: frames go out late, in bursts,
and frame numbers are skipped). Sender reports timed by send time rather
than capture time drift by hundreds of ms there.

usage: rtcp_sync_test.py URL
"""
import asyncio
import os
import sys

from aiortc.rtp import RtcpSrPacket
from aiortc.rtcrtpreceiver import RTCRtpReceiver

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aiortc_client as client  # noqa: E402

MAX_DRIFT_S = 0.045     # a video frame plus the RTP/NTP rounding
PAIR_WITHIN_S = 2.0     # reports of the two streams compared when this close in NTP time
MIN_PAIRS = 6
MAX_SENTENCES = 8
REPORTS = {"audio": [], "video": []}   # kind -> [(NTP seconds, RTP timestamp)]
SENTENCE = "Hello, I am lipstream. I keep my audio and my video in step, even when I am late."


def _record_reports():
    original = RTCRtpReceiver._handle_rtcp_packet

    async def handle(self, packet):
        if isinstance(packet, RtcpSrPacket):
            ntp = packet.sender_info.ntp_timestamp
            REPORTS[self._RTCRtpReceiver__kind].append((ntp / (1 << 32), packet.sender_info.rtp_timestamp))
        await original(self, packet)

    RTCRtpReceiver._handle_rtcp_packet = handle


def report_pairs():
    """(NTP time, video media start - audio media start) for each video
    report with an audio report close to it."""
    audio, video = media_start("audio"), media_start("video")
    pairs = []
    for ntp_v, start_v in video:
        near = min(audio, key=lambda a: abs(a[0] - ntp_v), default=None)
        if near and abs(near[0] - ntp_v) <= PAIR_WITHIN_S:
            pairs.append((ntp_v, start_v - near[1]))
    return pairs


def media_start(kind):
    """Per SR: (NTP time of the report, NTP time the stream's first packet's
    media time maps to)."""
    first = client.PACKETS[kind][0][1]
    rate = client.CLOCK_RATES[kind]
    return [(ntp, ntp - ((rtp - first) % (1 << 32)) / rate) for ntp, rtp in REPORTS[kind]]


async def run(url):
    _record_reports()
    session = await client.connect(url)
    if not session.sid:
        sys.exit(f"FAIL offer: {session.answer}")
    await asyncio.sleep(3.0)
    loop = asyncio.get_running_loop()
    for _ in range(MAX_SENTENCES):   # reports come every few seconds: speak until there are enough
        r = await loop.run_in_executor(None, client.post, url + "/human",
                                       {"sessionid": session.sid, "text": SENTENCE, "type": "echo"})
        if r.get("code") != 0:
            sys.exit(f"FAIL /human: {r}")
        await client.wait_speech_done(url, session.sid, 120)
        if len(report_pairs()) >= MIN_PAIRS:
            break
    await session.close()

    diffs = report_pairs()
    if len(diffs) < MIN_PAIRS:
        sys.exit(f"FAIL: only {len(diffs)} pairs of sender reports ({len(REPORTS['audio'])} audio, "
                 f"{len(REPORTS['video'])} video)")
    base = diffs[0][1]
    drift = [d - base for _, d in diffs]
    worst = max(abs(d) for d in drift)
    print(f"{len(diffs)} report pairs; video - audio media start, relative to the first pair: "
          f"{', '.join(f'{d * 1000:+.0f}' for d in drift)} ms")
    if worst > MAX_DRIFT_S:
        sys.exit(f"FAIL: the sender reports place audio and video {worst * 1000:.0f} ms apart "
                 f"(bound {MAX_DRIFT_S * 1000:.0f} ms)")
    print(f"ok: sender reports agree within {worst * 1000:.0f} ms")


if __name__ == "__main__":
    asyncio.run(run(sys.argv[1]))
