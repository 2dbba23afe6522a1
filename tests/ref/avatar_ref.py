"""Reference data for the image and avatar tests, made with OpenCV and PyTorch.

Usage: avatar_ref.py OUT_DIR

Writes into OUT_DIR:
  image/   a random BGR image (PNG and .npy), its cv2 resizes (INTER_LINEAR and
           INTER_LANCZOS4, up and down), grey conversion, Gaussian blurs of a
           mask, a JPEG written by cv2 and cv2's decoding of it.
  blend/   a frame, a 256x256 face, a mask and boxes, and the frame after
           LiveTalking's paste-back (cv2.resize + get_image_blending's
           cv2.blendLinear), written as PNG; boxes in cases.json.
  face_input/  a frame, a face box and the VAE input MuseTalk builds from it
           (crop, 256x256 Lanczos, RGB, [-1, 1], lower half masked) as .npy.
  detect/  cv2's Haar cascade detections (detectMultiScale, scale 1.1, 3
           neighbours) on data/astronaut.png, as cascade.json.
  models/sd-vae/  a tiny random AutoencoderKL (config.json + diffusion_pytorch_model.bin,
           diffusers key names, factor 8, 4 latent channels) for the latents test.
  broken/<case>/  LiveTalking folders with one defect each; broken/cases.json maps
           each case to a word its error message must contain. broken/crop_clipped
           is valid: its crop box reaches past the frame edge.
  seeds/cascade_xml/  small cascade files, seeds for the fuzzer.
  video/   8 frames of data/astronaut.png seen through a moving 320x320 window, encoded by
           gst-launch-1.0 as H.264 in MP4 at 30 fps (clip.mp4) and VP8 in WebM at 25 fps
           (clip.webm); frames.json lists each frame's window; garbage.mp4 is random bytes.
  livetalking/ an avatar folder in LiveTalking's layout: full_imgs/, mask/,
           coords.pkl (numpy int64 and plain ints; one frame without a face),
           mask_coords.pkl, latents.pt (torch.save'd list of (1, 8, 32, 32)
           tensors recorded as CUDA storages), avator_info.json; and
           expected_latents.npy (one row per frame with a face).
All random data comes from fixed seeds.
"""
import json
import os
import pickle
import subprocess
import sys

import cv2
import numpy as np
import torch


def smooth_noise(rng, h, w, channels):
    """Random image with both sharp and smooth structure (worst and typical cases)."""
    noise = rng.integers(0, 256, size=(h, w, channels), dtype=np.uint8)
    small = rng.integers(0, 256, size=(max(h // 8, 2), max(w // 8, 2), channels), dtype=np.uint8)
    smooth = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC).reshape(h, w, channels)
    out = np.where(rng.random((h, w, 1)) < 0.3, noise, smooth)
    return out.astype(np.uint8)


def write_image_refs(out):
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(1)
    src = smooth_noise(rng, 61, 97, 3)
    cv2.imwrite(f"{out}/src.png", src)
    np.save(f"{out}/src.npy", src.astype(np.float32))
    sizes = [(256, 256), (40, 30), (97, 61), (48, 30), (143, 171), (13, 200)]
    for w, h in sizes:
        cv2.imwrite(f"{out}/linear_{w}x{h}.png", cv2.resize(src, (w, h)))
        cv2.imwrite(f"{out}/lanczos_{w}x{h}.png",
                    cv2.resize(src, (w, h), interpolation=cv2.INTER_LANCZOS4))
    grey = cv2.cvtColor(src, cv2.COLOR_BGR2GRAY)
    cv2.imwrite(f"{out}/grey.png", grey)
    cv2.imwrite(f"{out}/linear_grey_50x80.png", cv2.resize(grey, (50, 80)))
    mask = np.zeros((150, 120), np.uint8)
    cv2.ellipse(mask, (60, 75), (40, 50), 0, 0, 360, 255, -1)
    mask[:75] = 0
    cv2.imwrite(f"{out}/mask.png", mask)
    for k in (1, 5, 13, 25):
        cv2.imwrite(f"{out}/blur_{k}.png", cv2.GaussianBlur(mask, (k, k), 0))
    cv2.imwrite(f"{out}/src.jpg", src, [cv2.IMWRITE_JPEG_QUALITY, 95])
    cv2.imwrite(f"{out}/jpg_decoded.png", cv2.imread(f"{out}/src.jpg"))


def get_image_blending(image, face, face_box, mask_array, crop_box):
    """MuseTalk's blend, as LiveTalking calls it."""
    body = image
    x, y, x1, y1 = face_box
    x_s, y_s, x_e, y_e = crop_box
    face_large = body[y_s:y_e, x_s:x_e].copy()
    face_large[y - y_s:y1 - y_s, x - x_s:x1 - x_s] = face
    mask_image = cv2.cvtColor(mask_array, cv2.COLOR_BGR2GRAY)
    mask_image = (mask_image / 255).astype(np.float32)
    body[y_s:y_e, x_s:x_e] = cv2.blendLinear(face_large, body[y_s:y_e, x_s:x_e], mask_image,
                                             1 - mask_image)
    return body


def write_blend_refs(out):
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(2)
    cases = []
    for i, (face_box, crop_box) in enumerate([((100, 60, 230, 200), (60, 20, 270, 240)),
                                              ((10, 5, 90, 70), (0, 0, 100, 80)),
                                              ((150, 100, 407, 356), (100, 50, 450, 400))]):
        frame = smooth_noise(rng, 420, 480, 3)
        face = smooth_noise(rng, 256, 256, 3)
        cw, ch = crop_box[2] - crop_box[0], crop_box[3] - crop_box[1]
        mask = rng.integers(0, 256, size=(ch, cw), dtype=np.uint8)
        mask[:, : cw // 3] = 0
        mask[: ch // 4] = 255
        cv2.imwrite(f"{out}/frame{i}.png", frame)
        cv2.imwrite(f"{out}/face{i}.png", face)
        cv2.imwrite(f"{out}/mask{i}.png", mask)
        x1, y1, x2, y2 = face_box
        resized = cv2.resize(face, (x2 - x1, y2 - y1))
        mask_bgr = cv2.cvtColor(mask, cv2.COLOR_GRAY2BGR)
        blended = get_image_blending(frame.copy(), resized, face_box, mask_bgr, crop_box)
        cv2.imwrite(f"{out}/expected{i}.png", blended)
        cases.append({"face_box": face_box, "crop_box": crop_box})
    with open(f"{out}/cases.json", "w") as f:
        json.dump(cases, f)


def musetalk_face_input(frame, box):
    """(2, 3, 256, 256): the masked copy then the reference, as MuseTalk's VAE gets them."""
    x1, y1, x2, y2 = box
    crop = cv2.resize(frame[y1:y2, x1:x2], (256, 256), interpolation=cv2.INTER_LANCZOS4)
    rgb = crop[:, :, ::-1].astype(np.float32) / 255.0
    masked = rgb.copy()
    masked[128:] = 0
    to_chw = lambda a: ((a - 0.5) / 0.5).transpose(2, 0, 1)
    return np.stack([to_chw(masked), to_chw(rgb)]).astype(np.float32)


def write_face_input_refs(out):
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(3)
    frame = smooth_noise(rng, 300, 280, 3)
    box = (70, 40, 231, 260)
    cv2.imwrite(f"{out}/frame.png", frame)
    np.save(f"{out}/expected.npy", musetalk_face_input(frame, box))
    with open(f"{out}/box.json", "w") as f:
        json.dump({"face_box": box}, f)


CASCADE = "/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml"
ASTRONAUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "data",
                         "astronaut.png")


def write_detect_refs(out):
    os.makedirs(out, exist_ok=True)
    grey = cv2.cvtColor(cv2.imread(ASTRONAUT), cv2.COLOR_BGR2GRAY)
    faces = cv2.CascadeClassifier(CASCADE).detectMultiScale(grey, 1.1, 3)
    with open(f"{out}/cascade.json", "w") as f:
        json.dump({"astronaut": [[int(v) for v in box] for box in faces]}, f)


def write_livetalking_avatar(out):
    """Four 160x120 frames; frame 2 has no face, so three latents are stored."""
    rng = np.random.default_rng(4)
    os.makedirs(f"{out}/full_imgs", exist_ok=True)
    os.makedirs(f"{out}/mask", exist_ok=True)
    coords = [(np.int64(40), np.int64(30), np.int64(110), np.int64(100)),
              (42, 31, 111, 100),
              (0.0, 0.0, 0.0, 0.0),
              (np.int64(38), 29, np.int64(108), 99)]
    crop_boxes, latents = [], []
    for i, box in enumerate(coords):
        frame = smooth_noise(rng, 120, 160, 3)
        cv2.imwrite(f"{out}/full_imgs/{i:08d}.png", frame)
        if box == (0.0, 0.0, 0.0, 0.0):
            crop = [0, 0, 0, 0]
            mask = np.zeros((1, 1), np.uint8)
        else:
            x1, y1, x2, y2 = (int(v) for v in box)
            xc, yc, s = (x1 + x2) // 2, (y1 + y2) // 2, int(max(x2 - x1, y2 - y1) // 2 * 1.1)
            crop = [xc - s, yc - s, xc + s, yc + s]
            mask = rng.integers(0, 256, size=(2 * s, 2 * s), dtype=np.uint8)
            latents.append(torch.randn(1, 8, 32, 32))
        cv2.imwrite(f"{out}/mask/{i:08d}.png", mask)
        crop_boxes.append(crop)
    with open(f"{out}/coords.pkl", "wb") as f:
        pickle.dump(coords, f)
    with open(f"{out}/mask_coords.pkl", "wb") as f:
        pickle.dump(crop_boxes, f)
    real_location_tag = torch.serialization.location_tag
    torch.serialization.location_tag = lambda storage: "cuda:0"
    try:
        torch.save(latents, f"{out}/latents.pt")
    finally:
        torch.serialization.location_tag = real_location_tag
    with open(f"{out}/avator_info.json", "w") as f:
        json.dump({"avatar_id": "lt_test", "video_path": "none.mp4", "bbox_shift": 0}, f)
    np.save(f"{out}/../expected_latents.npy", torch.cat(latents).numpy())


def write_tiny_vae(out, channels=(8, 8, 16, 16), latent=4, layers=1, groups=4):
    os.makedirs(out, exist_ok=True)
    gen = torch.Generator().manual_seed(5)
    state = {}

    def conv(name, cout, cin, k):
        state[f"{name}.weight"] = torch.randn(cout, cin, k, k, generator=gen) / (cin * k * k) ** 0.5
        state[f"{name}.bias"] = torch.randn(cout, generator=gen) * 0.1

    def norm(name, c):
        state[f"{name}.weight"] = 1 + 0.1 * torch.randn(c, generator=gen)
        state[f"{name}.bias"] = 0.1 * torch.randn(c, generator=gen)

    def resnet(name, cin, cout):
        norm(f"{name}.norm1", cin)
        conv(f"{name}.conv1", cout, cin, 3)
        norm(f"{name}.norm2", cout)
        conv(f"{name}.conv2", cout, cout, 3)
        if cin != cout:
            conv(f"{name}.conv_shortcut", cout, cin, 1)

    def mid(name, c):
        resnet(f"{name}.resnets.0", c, c)
        norm(f"{name}.attentions.0.group_norm", c)
        for proj in ("to_q", "to_k", "to_v", "to_out.0"):
            state[f"{name}.attentions.0.{proj}.weight"] = torch.randn(c, c, generator=gen) / c ** 0.5
            state[f"{name}.attentions.0.{proj}.bias"] = 0.1 * torch.randn(c, generator=gen)
        resnet(f"{name}.resnets.1", c, c)

    conv("encoder.conv_in", channels[0], 3, 3)
    prev = channels[0]
    for i, c in enumerate(channels):
        for j in range(layers):
            resnet(f"encoder.down_blocks.{i}.resnets.{j}", prev if j == 0 else c, c)
        if i < len(channels) - 1:
            conv(f"encoder.down_blocks.{i}.downsamplers.0.conv", c, c, 3)
        prev = c
    mid("encoder.mid_block", channels[-1])
    norm("encoder.conv_norm_out", channels[-1])
    conv("encoder.conv_out", 2 * latent, channels[-1], 3)
    conv("quant_conv", 2 * latent, 2 * latent, 1)
    conv("post_quant_conv", latent, latent, 1)
    rev = channels[::-1]
    conv("decoder.conv_in", rev[0], latent, 3)
    mid("decoder.mid_block", rev[0])
    prev = rev[0]
    for i, c in enumerate(rev):
        for j in range(layers + 1):
            resnet(f"decoder.up_blocks.{i}.resnets.{j}", prev if j == 0 else c, c)
        if i < len(rev) - 1:
            conv(f"decoder.up_blocks.{i}.upsamplers.0.conv", c, c, 3)
        prev = c
    norm("decoder.conv_norm_out", channels[0])
    conv("decoder.conv_out", 3, channels[0], 3)
    torch.save(state, f"{out}/diffusion_pytorch_model.bin")
    config = {"_class_name": "AutoencoderKL", "in_channels": 3, "out_channels": 3,
              "latent_channels": latent, "block_out_channels": list(channels),
              "layers_per_block": layers, "norm_num_groups": groups, "act_fn": "silu",
              "down_block_types": ["DownEncoderBlock2D"] * len(channels),
              "up_block_types": ["UpDecoderBlock2D"] * len(channels)}
    with open(f"{out}/config.json", "w") as f:
        json.dump(config, f)


def write_broken_avatars(good, out):
    """Copies of the LiveTalking folder `good`, each with one defect."""
    import shutil
    shutil.rmtree(out, ignore_errors=True)
    cases = {}

    def case(name, expect):
        path = f"{out}/{name}"
        shutil.copytree(good, path)
        cases[name] = expect
        return path

    def dump(path, value):
        with open(path, "wb") as f:
            pickle.dump(value, f)

    def load(path):
        with open(path, "rb") as f:
            return pickle.load(f)

    os.remove(f"{case('missing_coords', 'coords.pkl')}/coords.pkl")
    os.remove(f"{case('missing_latents', 'latents.pt')}/latents.pt")
    os.remove(f"{case('mask_count', 'masks')}/mask/00000003.png")
    with open(f"{case('bad_image', 'frame 1')}/full_imgs/00000001.png", "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n garbage")
    p = case("box_outside", "outside")
    coords = load(f"{p}/coords.pkl")
    coords[0] = (100, 30, 170, 100)
    dump(f"{p}/coords.pkl", coords)
    p = case("coords_count", "boxes for 4 frames")
    dump(f"{p}/coords.pkl", load(f"{p}/coords.pkl")[:3])
    p = case("coords_not_boxes", "not 4 whole numbers")
    dump(f"{p}/coords.pkl", ["a", "b", "c", "d"])
    p = case("truncated_pickle", "mask_coords.pkl")
    with open(f"{p}/mask_coords.pkl", "rb") as f:
        data = f.read()
    with open(f"{p}/mask_coords.pkl", "wb") as f:
        f.write(data[: len(data) // 2])
    p = case("mask_size", "mask is")
    cv2.imwrite(f"{p}/mask/00000001.png", np.zeros((10, 10), np.uint8))
    p = case("latents_count", "latents for 4 frames")
    torch.save([torch.zeros(1, 8, 32, 32)] * 2, f"{p}/latents.pt")
    p = case("latents_shape", "shape")
    torch.save([torch.zeros(1, 4, 32, 32)] * 3, f"{p}/latents.pt")
    p = case("frame_size", "frame 2 is")
    cv2.imwrite(f"{p}/full_imgs/00000002.png", np.zeros((60, 80, 3), np.uint8))
    p = case("face_outside_crop", "not inside crop box")
    crops = load(f"{p}/mask_coords.pkl")
    x1, y1, x2, y2 = crops[0]
    crops[0] = [x1 + 20, y1, x2 + 20, y2]
    dump(f"{p}/mask_coords.pkl", crops)
    # Valid: crop box 0 reaches 14 pixels past the left edge (LiveTalking writes such boxes).
    p = case("crop_clipped", "")
    coords = load(f"{p}/coords.pkl")
    coords[0] = (2, 30, 60, 100)
    dump(f"{p}/coords.pkl", coords)
    crops = load(f"{p}/mask_coords.pkl")
    x1, y1, x2, y2 = crops[0]
    crops[0] = [-14, y1, -14 + (x2 - x1), y2]
    dump(f"{p}/mask_coords.pkl", crops)
    with open(f"{out}/cases.json", "w") as f:
        json.dump(cases, f)


def write_video_refs(out):
    os.makedirs(f"{out}/frames", exist_ok=True)
    portrait = cv2.imread(ASTRONAUT)
    windows = []
    for i in range(8):
        x, y = 60 + 4 * i, 20 + 2 * i
        cv2.imwrite(f"{out}/frames/{i:05d}.png", portrait[y:y + 320, x:x + 320])
        windows.append([x, y])
    with open(f"{out}/frames.json", "w") as f:
        json.dump(windows, f)
    encoders = {"clip.mp4": (30, "x264enc ! mp4mux"), "clip.webm": (25, "vp8enc ! webmmux")}
    for name, (fps, encode) in encoders.items():
        pipeline = (f"multifilesrc location={out}/frames/%05d.png index=0 stop-index=7 "
                    f"caps=image/png,framerate={fps}/1 ! pngdec ! videoconvert ! video/x-raw,format=I420 "
                    f"! {encode} ! filesink location={out}/{name}")
        subprocess.run(["gst-launch-1.0", "-q"] + pipeline.split(), check=True)
    rng = np.random.default_rng(7)
    with open(f"{out}/garbage.mp4", "wb") as f:
        f.write(rng.integers(0, 256, 4096, dtype=np.uint8).tobytes())


def write_cascade_seeds(out):
    os.makedirs(out, exist_ok=True)
    stump = "<_><internalNodes>0 -1 0 0.5</internalNodes><leafValues>-1. 1.</leafValues></_>"
    tree = ("<_><internalNodes>1 2 0 0.1 0 -1 1 -0.2 -2 -3 0 0.3</internalNodes>"
            "<leafValues>-1. 1. 0.5 -0.5</leafValues></_>")
    features = ("<_><rects><_>0 0 2 4 -1.</_><_>2 0 2 4 1.</_></rects></_>"
                "<_><rects><_>0 0 4 2 -1.</_><_>0 2 4 2 2.</_><_>1 1 2 2 3.</_></rects>"
                "<tilted>0</tilted></_>")
    for name, weak in (("stump", stump), ("tree", stump + tree)):
        text = ("<?xml version=\"1.0\"?>\n<!-- seed -->\n<opencv_storage>"
                "<cascade type_id=\"opencv-cascade-classifier\"><stageType>BOOST</stageType>"
                "<featureType>HAAR</featureType><height>4</height><width>4</width><stages>"
                f"<_><stageThreshold>-1.</stageThreshold><weakClassifiers>{weak}</weakClassifiers></_>"
                f"<_><stageThreshold>-0.5</stageThreshold><weakClassifiers>{stump}</weakClassifiers></_>"
                f"</stages><features>{features}</features></cascade></opencv_storage>\n")
        with open(f"{out}/{name}.xml", "w") as f:
            f.write(text)


def main():
    out = sys.argv[1]
    write_image_refs(f"{out}/image")
    write_blend_refs(f"{out}/blend")
    write_face_input_refs(f"{out}/face_input")
    write_detect_refs(f"{out}/detect")
    write_livetalking_avatar(f"{out}/livetalking")
    write_broken_avatars(f"{out}/livetalking", f"{out}/broken")
    write_tiny_vae(f"{out}/models/sd-vae")
    write_cascade_seeds(f"{out}/seeds/cascade_xml")
    write_video_refs(f"{out}/video")


if __name__ == "__main__":
    main()
