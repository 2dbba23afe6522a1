#!/usr/bin/python3
"""The virtual camera (--transport virtualcam): session 0 plays into a
v4l2loopback device, and reading the device back (v4l2src) must give
frames of the avatar's size at about 25 fps while the HTTP API drives the
session (/human). Audio goes nowhere (--vcam_audio none: a test machine
has no sound card).

Needs a v4l2loopback device (modprobe v4l2loopback exclusive_caps=1):
exits 77 (skipped) with a message where there is none, as on CI.

usage: vcam_test.py --lipstream BIN --avatar-dir DIR
"""
import argparse
import fcntl
import glob
import json
import struct
import sys

import media_probe
from outputs_common import fail, output_status, post, rerun_under_serve, wait_until

VIDIOC_QUERYCAP = 0x80685600   # _IOR('V', 0, struct v4l2_capability), 104 bytes


def loopback_device():
    for path in sorted(glob.glob("/dev/video*")):
        try:
            with open(path, "rb", buffering=0) as f:
                cap = fcntl.ioctl(f, VIDIOC_QUERYCAP, b"\0" * 104)
        except OSError:
            continue
        if struct.unpack_from("16s", cap)[0].rstrip(b"\0") == b"v4l2 loopback":
            return path
    return None


def check(url, device):
    result = {"device": device}
    if not wait_until(lambda: output_status(url, "0", "virtualcam") == "live", 30):
        result["status"] = output_status(url, "0", "virtualcam")
        fail(result, "the virtual camera did not go live")
    reply = post(url + "/human", {"sessionid": "0", "type": "echo", "text": "On camera."})
    if reply.get("code") != 0:
        fail(result, f"/human: {reply}")
    result["read_back"] = got = media_probe.probe("v4l2://" + device, 4.0)
    # 4 s at 25 fps, less the reader's start: at least 15 fps.
    if got["video_frames"] < 60 or got["width"] == 0:
        fail(result, "too few frames read back from the device")
    print(json.dumps(result))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lipstream")
    ap.add_argument("--avatar-dir")
    ap.add_argument("--check", nargs=3, metavar=("URL", "PID", "DEVICE"))
    args = ap.parse_args()
    if args.check:
        check(args.check[0], args.check[2])
        return
    device = loopback_device()
    if not device:
        print("no v4l2loopback device (/dev/video*): skipped (modprobe v4l2loopback exclusive_caps=1 to run it)")
        sys.exit(77)
    sys.exit(rerun_under_serve(args.lipstream, args.avatar_dir,
                               ["--transport", "virtualcam", "--vcam_device", device, "--vcam_audio", "none"],
                               [device]))


if __name__ == "__main__":
    main()
