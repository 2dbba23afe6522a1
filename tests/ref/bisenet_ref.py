"""Reference data for the face parsing tests: BiSeNet in PyTorch, Pillow resizes, mask modes.

Usage: bisenet_ref.py OUT_DIR

Writes into OUT_DIR:
  models/face-parse-bisent/79999_iter.pth  a random-weight BiSeNet state dict (torch.save) with
           the published key names (cp.resnet.*, cp.arm16.*, ffm.*, conv_out*.*), batch norm
           statistics taken from a forward pass in training mode, then scale and shift
           randomised, so every folded batch norm matters.
  broken/79999_iter.pth   the same without ffm.conv1.weight.
  net/case<i>_input.npy, net/case<i>_logits.npy  inputs and the main output's logits
           (1, 19, H, W) for 128x128 and 100x72 (sizes that are not multiples of 32).
  prep/crop.png, prep/input.npy, prep/classes.png  a BGR crop, MuseTalk's network input for it
           (PIL bilinear to 512x512, ToTensor, ImageNet Normalize) and the argmax class map.
  pil/     a grey and a colour image and their Pillow resizes (BILINEAR and BICUBIC), cases.json.
  mask/    a synthetic 512x512 class map; per mode (raw, neck, jaw) the region of MuseTalk's
           FaceParsing rule (numpy and cv2) and the crop-box masks of get_image_prepare_material
           (PIL resize, face box, top half, cv2.GaussianBlur) for two crop sizes; cases.json.
The network is written here from the architecture (ResNet-18 context path, attention refinement,
feature fusion, 19-class head); all random data comes from fixed seeds.
"""
import json
import os
import sys

import cv2
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image


# --- the network -------------------------------------------------------------------------------

class ConvBN(nn.Module):
    """conv (no bias) + batch norm [+ ReLU]: keys <name>.conv, <name>.bn."""

    def __init__(self, cin, cout, k, stride=1, relu=True):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, k // 2, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.relu = relu

    def forward(self, x):
        y = self.bn(self.conv(x))
        return F.relu(y) if self.relu else y


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if cin != cout or stride != 1:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                            nn.BatchNorm2d(cout))

    def forward(self, x):
        h = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(h + (self.downsample(x) if self.downsample is not None else x))


class Backbone(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        chans = [64, 64, 128, 256, 512]
        for i in range(4):
            stride = 1 if i == 0 else 2
            setattr(self, f"layer{i + 1}",
                    nn.Sequential(Block(chans[i], chans[i + 1], stride), Block(chans[i + 1], chans[i + 1], 1)))

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        x = self.layer1(x)
        f8 = self.layer2(x)
        f16 = self.layer3(f8)
        return f8, f16, self.layer4(f16)


class Refine(nn.Module):
    def __init__(self, cin):
        super().__init__()
        self.conv = ConvBN(cin, 128, 3)
        self.conv_atten = nn.Conv2d(128, 128, 1, bias=False)
        self.bn_atten = nn.BatchNorm2d(128)

    def forward(self, x):
        f = self.conv(x)
        return f * torch.sigmoid(self.bn_atten(self.conv_atten(f.mean((2, 3), keepdim=True))))


class Context(nn.Module):
    def __init__(self):
        super().__init__()
        self.resnet = Backbone()
        self.arm16 = Refine(256)
        self.arm32 = Refine(512)
        self.conv_head32 = ConvBN(128, 128, 3)
        self.conv_head16 = ConvBN(128, 128, 3)
        self.conv_avg = ConvBN(512, 128, 1)

    def forward(self, x):
        f8, f16, f32 = self.resnet(x)
        avg = self.conv_avg(f32.mean((2, 3), keepdim=True))
        up32 = self.conv_head32(F.interpolate(self.arm32(f32) + avg, f16.shape[2:], mode="nearest"))
        up16 = self.conv_head16(F.interpolate(self.arm16(f16) + up32, f8.shape[2:], mode="nearest"))
        return f8, up16, up32


class Fusion(nn.Module):
    def __init__(self):
        super().__init__()
        self.convblk = ConvBN(256, 256, 1)
        self.conv1 = nn.Conv2d(256, 64, 1, bias=False)
        self.conv2 = nn.Conv2d(64, 256, 1, bias=False)

    def forward(self, a, b):
        f = self.convblk(torch.cat([a, b], 1))
        g = torch.sigmoid(self.conv2(F.relu(self.conv1(f.mean((2, 3), keepdim=True)))))
        return f * g + f


class Head(nn.Module):
    def __init__(self, cin, mid):
        super().__init__()
        self.conv = ConvBN(cin, mid, 3)
        self.conv_out = nn.Conv2d(mid, 19, 1, bias=False)

    def forward(self, x):
        return self.conv_out(self.conv(x))


class FaceParser(nn.Module):
    def __init__(self):
        super().__init__()
        self.cp = Context()
        self.ffm = Fusion()
        self.conv_out = Head(256, 256)
        self.conv_out16 = Head(128, 64)
        self.conv_out32 = Head(128, 64)

    def forward(self, x):
        f8, cp8, _ = self.cp(x)
        out = self.conv_out(self.ffm(f8, cp8))
        return F.interpolate(out, x.shape[2:], mode="bilinear", align_corners=True)


def make_network(calibration):
    torch.manual_seed(0)
    net = FaceParser()
    # Batch statistics of a real pass as running statistics, so activations stay in range.
    net.train()
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.momentum = None
    with torch.no_grad():
        net(calibration)
        net.conv_out16(torch.randn(1, 128, 16, 16))
        net.conv_out32(torch.randn(1, 128, 8, 8))
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0.0, 0.2)
    return net.eval()


# --- Pillow preprocessing (MuseTalk's FaceParsing.__call__) ------------------------------------

IMAGENET_MEAN = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)
IMAGENET_STD = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)


def network_input(bgr):
    rgb = Image.fromarray(np.ascontiguousarray(bgr[:, :, ::-1])).resize((512, 512), Image.BILINEAR)
    t = torch.from_numpy(np.array(rgb)).permute(2, 0, 1).float().div(255)
    return (t - IMAGENET_MEAN) / IMAGENET_STD


def smooth_noise(rng, h, w, channels):
    noise = rng.integers(0, 256, size=(h, w, channels), dtype=np.uint8)
    small = rng.integers(0, 256, size=(max(h // 8, 2), max(w // 8, 2), channels), dtype=np.uint8)
    smooth = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC).reshape(h, w, channels)
    return np.where(rng.random((h, w, 1)) < 0.3, noise, smooth).astype(np.uint8)


def write_network(out):
    rng = np.random.default_rng(10)
    sizes = [(128, 128), (100, 72)]
    inputs = [torch.from_numpy(rng.standard_normal((1, 3, h, w)).astype(np.float32)) for h, w in sizes]
    net = make_network(torch.from_numpy(rng.standard_normal((4, 3, 128, 128)).astype(np.float32)))
    os.makedirs(f"{out}/models/face-parse-bisent", exist_ok=True)
    os.makedirs(f"{out}/broken", exist_ok=True)
    os.makedirs(f"{out}/net", exist_ok=True)
    state = net.state_dict()
    torch.save(state, f"{out}/models/face-parse-bisent/79999_iter.pth")
    broken = {k: v for k, v in state.items() if k != "ffm.conv1.weight"}
    torch.save(broken, f"{out}/broken/79999_iter.pth")
    with torch.no_grad():
        for i, x in enumerate(inputs):
            np.save(f"{out}/net/case{i}_input.npy", x.numpy())
            np.save(f"{out}/net/case{i}_logits.npy", net(x).numpy())
        os.makedirs(f"{out}/prep", exist_ok=True)
        crop = smooth_noise(rng, 150, 170, 3)
        cv2.imwrite(f"{out}/prep/crop.png", crop)
        x = network_input(crop)
        np.save(f"{out}/prep/input.npy", x.numpy())
        classes = net(x[None])[0].argmax(0).numpy().astype(np.uint8)
        cv2.imwrite(f"{out}/prep/classes.png", classes)


def write_pil(out):
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(11)
    grey = smooth_noise(rng, 83, 117, 1)[:, :, 0]
    colour = smooth_noise(rng, 61, 97, 3)
    cv2.imwrite(f"{out}/grey.png", grey)
    cv2.imwrite(f"{out}/colour.png", colour)
    cases = []
    filters = {"bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC}
    for name, src in (("grey", grey), ("colour", colour)):
        for fname, f in filters.items():
            for w, h in ((512, 512), (40, 30), (117, 50), (13, 200)):
                rgb = src if src.ndim == 2 else src[:, :, ::-1]
                resized = np.array(Image.fromarray(np.ascontiguousarray(rgb)).resize((w, h), f))
                if resized.ndim == 3:
                    resized = resized[:, :, ::-1]
                file = f"{name}_{fname}_{w}x{h}.png"
                cv2.imwrite(f"{out}/{file}", resized)
                cases.append({"src": f"{name}.png", "filter": fname, "size": [w, h], "file": file})
    with open(f"{out}/cases.json", "w") as fp:
        json.dump(cases, fp)


# --- masks (MuseTalk's FaceParsing modes and get_image_prepare_material) -----------------------

def synthetic_classes(rng):
    m = np.zeros((512, 512), np.uint8)
    cv2.rectangle(m, (150, 380), (360, 511), 16, -1)                      # cloth
    cv2.rectangle(m, (200, 330), (310, 420), 14, -1)                      # neck
    cv2.ellipse(m, (256, 230), (150, 190), 0, 0, 360, 17, -1)             # hair
    cv2.ellipse(m, (256, 260), (120, 150), 0, 0, 360, 1, -1)              # skin
    cv2.ellipse(m, (200, 210), (25, 10), 0, 0, 360, 4, -1)                # eyes
    cv2.ellipse(m, (312, 210), (25, 10), 0, 0, 360, 5, -1)
    cv2.ellipse(m, (256, 280), (22, 45), 0, 0, 360, 10, -1)               # nose
    cv2.ellipse(m, (256, 345), (50, 12), 0, 0, 360, 12, -1)               # upper lip
    cv2.ellipse(m, (256, 362), (45, 12), 0, 0, 360, 13, -1)               # lower lip
    cv2.ellipse(m, (256, 353), (35, 5), 0, 0, 360, 11, -1)                # mouth
    cv2.ellipse(m, (110, 270), (15, 35), 0, 0, 360, 7, -1)                # ears
    # Speckles of every class (holes and islands stress the morphology).
    ys, xs = rng.integers(0, 512, 600), rng.integers(0, 512, 600)
    m[ys, xs] = rng.integers(0, 19, 600)
    return m


def jaw_kernel():
    """FaceParsing's jaw kernel: a cone (rows cone//2 .. cone-1) then a bar as wide as its last row."""
    cone, tail = 21, 12
    total = cone + tail
    k = np.zeros((total, total), np.uint8)
    centre = total // 2
    for row in range(cone):
        if row < cone // 2:
            continue
        width = 2 * (row - cone // 2) + 1
        k[row, centre - width // 2:centre + width // 2 + 1] = 1
    base = int(k[cone - 1].sum())
    for row in range(cone, total):
        k[row, max(0, centre - base // 2):min(total, centre + base // 2 + 1)] = 1
    return k


def region(classes, mode, cheek=90):
    if mode == "raw":
        return np.where(np.isin(classes, [1, 11, 12, 13]), 255, 0).astype(np.uint8)
    if mode == "neck":
        return np.where(np.isin(classes, [1, 11, 12, 13, 14]), 255, 0).astype(np.uint8)
    skin = (classes == 1).astype(np.uint8) * 255
    grown = cv2.dilate(skin, jaw_kernel(), iterations=1)
    eroded = cv2.erode(grown, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (35, 3)), iterations=2)
    bands = np.zeros((512, 512), np.uint8)
    cv2.rectangle(bands, (0, 0), (256 - cheek, 512), 255, -1)
    cv2.rectangle(bands, (256 + cheek, 0), (512, 512), 255, -1)
    face = (eroded & bands) | (grown & ~bands)
    keep = ((face == 255) & (classes != 10)) | np.isin(classes, [11, 12, 13])
    return np.where(keep, 255, 0).astype(np.uint8)


def crop_mask(reg, face_box, crop_box):
    """get_image_prepare_material after face_seg: PIL resize, face box, top half, blur."""
    x, y, x1, y1 = face_box
    xs, ys, xe, ye = crop_box
    w, h = xe - xs, ye - ys
    resized = np.array(Image.fromarray(reg).resize((w, h)))
    limited = np.zeros((h, w), np.uint8)
    limited[y - ys:y1 - ys, x - xs:x1 - xs] = resized[y - ys:y1 - ys, x - xs:x1 - xs]
    limited[: int(h * 0.5)] = 0
    k = int(0.1 * w // 2 * 2) + 1
    return cv2.GaussianBlur(limited, (k, k), 0)


def write_masks(out):
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(12)
    classes = synthetic_classes(rng)
    cv2.imwrite(f"{out}/classes.png", classes)
    boxes = [((60, 45, 150, 170), (30, 32, 180, 182)),        # shrink 512 -> 150
             ((150, 180, 450, 560), (100, 170, 500, 570))]    # grow 512 -> 400
    cases = []
    for mode in ("raw", "neck", "jaw"):
        reg = region(classes, mode)
        cv2.imwrite(f"{out}/region_{mode}.png", reg)
        for i, (face, crop) in enumerate(boxes):
            cv2.imwrite(f"{out}/mask_{mode}_{i}.png", crop_mask(reg, face, crop))
            cases.append({"mode": mode, "face_box": face, "crop_box": crop, "file": f"mask_{mode}_{i}.png"})
    with open(f"{out}/cases.json", "w") as fp:
        json.dump(cases, fp)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: bisenet_ref.py OUT_DIR")
    out = sys.argv[1]
    torch.set_num_threads(2)
    write_network(out)
    write_pil(f"{out}/pil")
    write_masks(f"{out}/mask")


if __name__ == "__main__":
    main()
