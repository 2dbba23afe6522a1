#!/usr/bin/env python3
"""
ops_ref.py - PyTorch reference values for the nn operators (tests/test_ops.c).

Usage: ops_ref.py DIR

For every case it writes the inputs, the operator's parameters and torch's
output as float32 .npy files named <case>.<tensor>.npy into DIR, and lists
the case as "<kind> <case>" in DIR/cases.txt. The C test reads that list, so
a case is defined once, here. Inputs are seeded random normals; torch runs
in float32 on the CPU, the same precision the C backend computes in.

Parameter vectors (<case>.params.npy), by kind:
  conv2d      stride_h stride_w pad_top pad_bottom pad_left pad_right upsample2x
  conv1d      stride pad_left pad_right act
  group_norm  groups eps act
  layer_norm  eps
  activation  act
  attention   heads
with act 0 none, 1 SiLU, 2 GELU (erf), as nn_act.
"""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

ACT_NONE, ACT_SILU, ACT_GELU = 0, 1, 2


def apply_act(x, act):
    if act == ACT_SILU:
        return F.silu(x)
    if act == ACT_GELU:
        return F.gelu(x)  # erf form, approximate='none'
    return x


class Writer:
    def __init__(self, out_dir):
        self.out_dir = out_dir
        self.lines = []

    def case(self, kind, name, params=None, **tensors):
        for key, value in tensors.items():
            if value is not None:
                arr = value.detach().numpy() if torch.is_tensor(value) else np.asarray(value)
                np.save(os.path.join(self.out_dir, f"{name}.{key}.npy"), arr.astype(np.float32))
        if params is not None:
            np.save(os.path.join(self.out_dir, f"{name}.params.npy"),
                    np.asarray(params, dtype=np.float32))
        self.lines.append(f"{kind} {name}\n")

    def finish(self):
        with open(os.path.join(self.out_dir, "cases.txt"), "w") as f:
            f.writelines(self.lines)


def conv2d_case(out, name, x_shape, w_shape, stride=(1, 1), pad=(0, 0, 0, 0), upsample=False,
                bias=True, residual=False):
    """pad = (top, bottom, left, right), applied as zero padding before the conv."""
    x = torch.randn(x_shape)
    w = torch.randn(w_shape) / np.sqrt(w_shape[1] * w_shape[2] * w_shape[3])
    b = torch.randn(w_shape[0]) if bias else None
    src = F.interpolate(x, scale_factor=2.0, mode="nearest") if upsample else x
    top, bottom, left, right = pad
    y = F.conv2d(F.pad(src, (left, right, top, bottom)), w, b, stride=stride)
    r = torch.randn(y.shape) if residual else None
    if r is not None:
        y = y + r
    out.case("conv2d", name, [stride[0], stride[1], top, bottom, left, right, int(upsample)],
             x=x, w=w, b=b, residual=r, y=y)


def conv1d_case(out, name, x_shape, w_shape, stride, pad, act):
    x = torch.randn(x_shape)
    w = torch.randn(w_shape) / np.sqrt(w_shape[1] * w_shape[2])
    b = torch.randn(w_shape[0])
    y = apply_act(F.conv1d(F.pad(x, pad), w, b, stride=stride), act)
    out.case("conv1d", name, [stride, pad[0], pad[1], act], x=x, w=w, b=b, y=y)


def linear_case(out, name, x_shape, n, bias, residual):
    x = torch.randn(x_shape)
    w = torch.randn(n, x_shape[-1]) / np.sqrt(x_shape[-1])
    b = torch.randn(n) if bias else None
    y = F.linear(x, w, b)
    r = torch.randn(y.shape) if residual else None
    if r is not None:
        y = y + r
    out.case("linear", name, x=x, w=w, b=b, residual=r, y=y)


def group_norm_case(out, name, x_shape, groups, eps, act, offset=0.0):
    x = torch.randn(x_shape) * 2.0 + offset
    c = x_shape[1]
    gamma, beta = 1.0 + 0.5 * torch.randn(c), 0.5 * torch.randn(c)
    y = apply_act(F.group_norm(x, groups, gamma, beta, eps), act)
    out.case("group_norm", name, [groups, eps, act], x=x, gamma=gamma, beta=beta, y=y)


def layer_norm_case(out, name, x_shape, eps):
    x = torch.randn(x_shape) * 3.0 + 1.0
    d = x_shape[-1]
    gamma, beta = 1.0 + 0.5 * torch.randn(d), 0.5 * torch.randn(d)
    y = F.layer_norm(x, (d,), gamma, beta, eps)
    out.case("layer_norm", name, [eps], x=x, gamma=gamma, beta=beta, y=y)


def activation_case(out, name, act):
    # Normal values and a sweep over the range where the curves bend.
    x = torch.cat([torch.randn(4000) * 3.0, torch.linspace(-12.0, 12.0, 481)])
    out.case("activation", name, [act], x=x, y=apply_act(x, act))
    # The far tails, where exp over- or underflows: outputs are 0 or x.
    x = torch.tensor([-1e4, -200.0, -100.0, -89.0, -88.0, -87.0, -30.0,
                      30.0, 87.0, 88.0, 89.0, 100.0, 200.0, 1e4])
    out.case("activation", name + "_tails", [act], x=x, y=apply_act(x, act))


def attention_case(out, name, batch, lq, lk, channels, heads):
    q, k, v = torch.randn(batch, lq, channels), torch.randn(batch, lk, channels), \
        torch.randn(batch, lk, channels)
    d = channels // heads

    def split(t):
        return t.reshape(batch, t.shape[1], heads, d).transpose(1, 2)

    w = torch.softmax(split(q) @ split(k).transpose(-1, -2) / np.sqrt(d), dim=-1)
    y = (w @ split(v)).transpose(1, 2).reshape(batch, lq, channels)
    out.case("attention", name, [heads], q=q, k=k, v=v, y=y)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: ops_ref.py DIR")
    torch.manual_seed(0)
    torch.set_num_threads(1)
    out = Writer(sys.argv[1])
    os.makedirs(sys.argv[1], exist_ok=True)

    conv2d_case(out, "conv3x3_s1_p1", (2, 16, 12, 10), (24, 16, 3, 3), pad=(1, 1, 1, 1))
    conv2d_case(out, "conv3x3_s1_residual", (2, 16, 12, 10), (16, 16, 3, 3), pad=(1, 1, 1, 1),
                residual=True)
    conv2d_case(out, "conv3x3_s2_p1", (1, 16, 13, 11), (8, 16, 3, 3), stride=(2, 2),
                pad=(1, 1, 1, 1))
    conv2d_case(out, "conv3x3_s2_vae_pad", (2, 32, 16, 16), (32, 32, 3, 3), stride=(2, 2),
                pad=(0, 1, 0, 1))
    conv2d_case(out, "conv1x1_residual", (2, 32, 9, 7), (48, 32, 1, 1), residual=True)
    conv2d_case(out, "conv1x1_nobias", (1, 40, 6, 6), (24, 40, 1, 1), bias=False)
    conv2d_case(out, "conv4x4_nonsquare", (1, 8, 11, 14), (12, 8, 4, 4), stride=(2, 1),
                pad=(1, 2, 0, 3), bias=False)
    conv2d_case(out, "conv3x3_upsample", (1, 16, 8, 9), (16, 16, 3, 3), pad=(1, 1, 1, 1),
                upsample=True, residual=True)
    # Tiling of the im2col path: several row bands per image, threads taking
    # whole bands; many small images grouped into tiles, threads taking whole
    # tiles; and a GEMM depth (2048 x 3 x 3) split into channel chunks.
    conv2d_case(out, "conv3x3_row_tiles", (3, 24, 40, 36), (32, 24, 3, 3), pad=(1, 1, 1, 1))
    conv2d_case(out, "conv3x3_image_tiles", (20, 8, 10, 10), (12, 8, 3, 3), pad=(1, 1, 1, 1),
                residual=True)
    conv2d_case(out, "conv3x3_deep_chunks", (1, 2048, 16, 16), (16, 2048, 3, 3),
                pad=(1, 1, 1, 1))
    # 3x3 stride 1 with at least 32 channels in and out and at least 128 2x2
    # output tiles in the batch goes through Winograd F(2x2, 3x3): odd sizes
    # (partial edge tiles) in bands that straddle images (threads take bands),
    # several small images in one band (threads share each band), one band of
    # one image, and the fused upsample with uneven padding.
    conv2d_case(out, "winograd_bands", (3, 32, 41, 37), (40, 32, 3, 3), pad=(1, 1, 1, 1),
                residual=True)
    conv2d_case(out, "winograd_image_bands", (6, 32, 16, 16), (32, 32, 3, 3), pad=(1, 1, 1, 1))
    conv2d_case(out, "winograd_one_band", (1, 48, 24, 22), (32, 48, 3, 3), pad=(1, 1, 1, 1))
    conv2d_case(out, "winograd_upsample", (1, 32, 13, 12), (32, 32, 3, 3), pad=(0, 2, 1, 0),
                upsample=True, residual=True)

    conv1d_case(out, "conv1d_k3_s1_gelu", (2, 16, 30), (24, 16, 3), 1, (1, 1), ACT_GELU)
    conv1d_case(out, "conv1d_k3_s2_gelu", (2, 24, 31), (24, 24, 3), 2, (1, 1), ACT_GELU)
    conv1d_case(out, "conv1d_k3_s1_none", (1, 8, 20), (8, 8, 3), 1, (1, 1), ACT_NONE)

    linear_case(out, "linear_2d_bias", (7, 33), 20, bias=True, residual=False)
    linear_case(out, "linear_3d_residual", (2, 5, 33), 20, bias=False, residual=True)
    linear_case(out, "linear_3d_bias_residual", (2, 50, 384), 320, bias=True, residual=True)
    linear_case(out, "linear_plain", (3, 4, 16), 8, bias=False, residual=False)

    group_norm_case(out, "group_norm_silu", (2, 64, 7, 5), 32, 1e-5, ACT_SILU)
    group_norm_case(out, "group_norm_eps6", (1, 64, 9, 11), 32, 1e-6, ACT_NONE)
    group_norm_case(out, "group_norm_3d", (2, 64, 50), 32, 1e-6, ACT_SILU)
    # 65536 values per group around a large mean: the double-accumulation case.
    group_norm_case(out, "group_norm_large", (1, 128, 128, 128), 32, 1e-6, ACT_SILU, offset=30.0)

    layer_norm_case(out, "layer_norm", (2, 50, 384), 1e-5)
    layer_norm_case(out, "layer_norm_odd", (3, 7, 41), 1e-5)

    activation_case(out, "silu", ACT_SILU)
    activation_case(out, "gelu", ACT_GELU)

    x = torch.randn(2, 17, 80) * 2.0
    a, g = x.chunk(2, dim=-1)
    out.case("geglu", "geglu", x=x, y=a * F.gelu(g))

    attention_case(out, "attention_self", 2, 1024, 1024, 320, 8)
    attention_case(out, "attention_cross", 2, 64, 50, 320, 8)
    attention_case(out, "attention_one_head", 1, 256, 256, 64, 1)
    attention_case(out, "attention_4096", 1, 4096, 4096, 32, 2)

    a, b = torch.randn(2, 3, 5, 7), torch.randn(2, 3, 5, 7)
    out.case("add", "add", a=a, b=b, y=a + b)
    x = torch.randn(2, 3, 5, 7)
    out.case("upsample2x", "upsample2x", x=x, y=F.interpolate(x, scale_factor=2.0, mode="nearest"))
    a, b = torch.randn(2, 3, 5, 4), torch.randn(2, 5, 5, 4)
    out.case("concat", "concat", a=a, b=b, y=torch.cat([a, b], dim=1))
    x = torch.randn(2, 37, 70)
    out.case("transpose12", "transpose12", x=x, y=x.transpose(1, 2).contiguous())

    out.finish()


if __name__ == "__main__":
    main()
