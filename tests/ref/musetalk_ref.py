#!/usr/bin/env python3
"""
musetalk_ref.py - PyTorch reference for lipstream's MuseTalk networks.

UNet2DConditionModel and AutoencoderKL written out in plain PyTorch with the
module and parameter names of diffusers, so state_dict() keys are those of the
published checkpoints. Models are filled with seeded random weights scaled so
activations stay O(1) through the depth. The script writes checkpoints, inputs
and the reference outputs (.npy) for the C tests:

  musetalk_ref.py small DIR   small configs of every supported variant, plus
                              broken checkpoints and configs (seconds)
  musetalk_ref.py full DIR    the real MuseTalk UNet and sd-vae-ft-mse sizes,
                              one frame (a 3.4 GB checkpoint; about a minute)

The bench script imports the model classes from here.
"""
import json
import math
import os
import shutil
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

UNET_DEFAULTS = {
    "in_channels": 4, "out_channels": 4, "flip_sin_to_cos": True, "freq_shift": 0,
    "down_block_types": ["CrossAttnDownBlock2D"] * 3 + ["DownBlock2D"],
    "up_block_types": ["UpBlock2D"] + ["CrossAttnUpBlock2D"] * 3,
    "block_out_channels": [320, 640, 1280, 1280], "layers_per_block": 2, "downsample_padding": 1,
    "norm_num_groups": 32, "norm_eps": 1e-5, "cross_attention_dim": 1280, "attention_head_dim": 8,
    "use_linear_projection": False,
}

# The published musetalk.json values (v1.0 and v1.5 share them).
MUSETALK_CONFIG = {
    "_class_name": "UNet2DConditionModel", "_diffusers_version": "0.6.0", "act_fn": "silu",
    "attention_head_dim": 8, "block_out_channels": [320, 640, 1280, 1280],
    "center_input_sample": False, "cross_attention_dim": 384,
    "down_block_types": ["CrossAttnDownBlock2D"] * 3 + ["DownBlock2D"], "downsample_padding": 1,
    "flip_sin_to_cos": True, "freq_shift": 0, "in_channels": 8, "layers_per_block": 2,
    "mid_block_scale_factor": 1, "norm_eps": 1e-05, "norm_num_groups": 32, "out_channels": 4,
    "sample_size": 64, "up_block_types": ["UpBlock2D"] + ["CrossAttnUpBlock2D"] * 3,
}

# stabilityai/sd-vae-ft-mse config.json.
SD_VAE_CONFIG = {
    "_class_name": "AutoencoderKL", "_diffusers_version": "0.4.2", "act_fn": "silu",
    "block_out_channels": [128, 256, 512, 512], "down_block_types": ["DownEncoderBlock2D"] * 4,
    "in_channels": 3, "latent_channels": 4, "layers_per_block": 2, "norm_num_groups": 32,
    "out_channels": 3, "sample_size": 256, "up_block_types": ["UpDecoderBlock2D"] * 4,
}

VAE_SCALING = 0.18215


def attention(q, k, v, heads):
    """softmax(q k^T / sqrt(head_dim)) v per head; q (B, Lq, C), k/v (B, Lk, C)."""
    b, lq, c = q.shape
    d = c // heads

    def split(t):
        return t.reshape(b, t.shape[1], heads, d).transpose(1, 2)

    w = torch.softmax(split(q) @ split(k).transpose(-1, -2) / math.sqrt(d), dim=-1)
    return (w @ split(v)).transpose(1, 2).reshape(b, lq, c)


# --------------------------------------------------------------------------- building blocks


class ResnetBlock2D(nn.Module):
    def __init__(self, cin, cout, temb_dim, groups, eps):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, cin, eps=eps)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        if temb_dim:
            self.time_emb_proj = nn.Linear(temb_dim, cout)
        self.norm2 = nn.GroupNorm(groups, cout, eps=eps)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        if cin != cout:
            self.conv_shortcut = nn.Conv2d(cin, cout, 1)

    def forward(self, x, temb=None):
        h = self.conv1(F.silu(self.norm1(x)))
        if temb is not None:
            h = h + self.time_emb_proj(F.silu(temb))[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        if hasattr(self, "conv_shortcut"):
            x = self.conv_shortcut(x)
        return x + h


class Downsample2D(nn.Module):
    def __init__(self, ch, padding):
        super().__init__()
        self.padding = padding
        self.conv = nn.Conv2d(ch, ch, 3, stride=2, padding=padding)

    def forward(self, x):
        if self.padding == 0:
            x = F.pad(x, (0, 1, 0, 1))
        return self.conv(x)


class Upsample2D(nn.Module):
    def __init__(self, ch):
        super().__init__()
        self.conv = nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class CrossAttention(nn.Module):
    def __init__(self, dim, ctx_dim, heads):
        super().__init__()
        self.heads = heads
        self.to_q = nn.Linear(dim, dim, bias=False)
        self.to_k = nn.Linear(ctx_dim, dim, bias=False)
        self.to_v = nn.Linear(ctx_dim, dim, bias=False)
        self.to_out = nn.ModuleList([nn.Linear(dim, dim)])

    def forward(self, x, ctx=None):
        ctx = x if ctx is None else ctx
        return self.to_out[0](attention(self.to_q(x), self.to_k(ctx), self.to_v(ctx), self.heads))


class GEGLU(nn.Module):
    def __init__(self, dim, inner):
        super().__init__()
        self.proj = nn.Linear(dim, 2 * inner)

    def forward(self, x):
        a, g = self.proj(x).chunk(2, dim=-1)
        return a * F.gelu(g)


class FeedForward(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.net = nn.ModuleList([GEGLU(dim, 4 * dim), nn.Dropout(0.0), nn.Linear(4 * dim, dim)])

    def forward(self, x):
        for m in self.net:
            x = m(x)
        return x


class BasicTransformerBlock(nn.Module):
    def __init__(self, dim, heads, ctx_dim):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn1 = CrossAttention(dim, dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.attn2 = CrossAttention(dim, ctx_dim, heads)
        self.norm3 = nn.LayerNorm(dim)
        self.ff = FeedForward(dim)

    def forward(self, x, ctx):
        x = x + self.attn1(self.norm1(x))
        x = x + self.attn2(self.norm2(x), ctx)
        return x + self.ff(self.norm3(x))


class Transformer2DModel(nn.Module):
    def __init__(self, ch, heads, ctx_dim, groups, linear_projection):
        super().__init__()
        self.linear_projection = linear_projection
        self.norm = nn.GroupNorm(groups, ch, eps=1e-6)
        self.proj_in = nn.Linear(ch, ch) if linear_projection else nn.Conv2d(ch, ch, 1)
        self.transformer_blocks = nn.ModuleList([BasicTransformerBlock(ch, heads, ctx_dim)])
        self.proj_out = nn.Linear(ch, ch) if linear_projection else nn.Conv2d(ch, ch, 1)

    def forward(self, x, ctx):
        b, c, hgt, wid = x.shape
        h = self.norm(x)
        if not self.linear_projection:
            h = self.proj_in(h)
        h = h.permute(0, 2, 3, 1).reshape(b, hgt * wid, c)
        if self.linear_projection:
            h = self.proj_in(h)
        for blk in self.transformer_blocks:
            h = blk(h, ctx)
        if self.linear_projection:
            h = self.proj_out(h)
        h = h.reshape(b, hgt, wid, c).permute(0, 3, 1, 2)
        if not self.linear_projection:
            h = self.proj_out(h)
        return h + x


# --------------------------------------------------------------------------- UNet


class UNetDownBlock(nn.Module):
    """DownBlock2D, or CrossAttnDownBlock2D when attn = (heads, ctx_dim, linear_projection)."""

    def __init__(self, cin, cout, layers, temb_dim, groups, eps, attn, downsample_padding):
        super().__init__()
        self.resnets = nn.ModuleList(
            [ResnetBlock2D(cin if i == 0 else cout, cout, temb_dim, groups, eps) for i in range(layers)])
        if attn:
            self.attentions = nn.ModuleList(
                [Transformer2DModel(cout, attn[0], attn[1], groups, attn[2]) for _ in range(layers)])
        if downsample_padding is not None:
            self.downsamplers = nn.ModuleList([Downsample2D(cout, downsample_padding)])

    def forward(self, x, temb, ctx):
        outs = []
        for i, r in enumerate(self.resnets):
            x = r(x, temb)
            if hasattr(self, "attentions"):
                x = self.attentions[i](x, ctx)
            outs.append(x)
        if hasattr(self, "downsamplers"):
            x = self.downsamplers[0](x)
            outs.append(x)
        return x, outs


class UNetUpBlock(nn.Module):
    """UpBlock2D, or CrossAttnUpBlock2D; resnet j reads cat(h, skip) of cins[j] channels."""

    def __init__(self, cins, cout, temb_dim, groups, eps, attn, upsample):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock2D(c, cout, temb_dim, groups, eps) for c in cins])
        if attn:
            self.attentions = nn.ModuleList(
                [Transformer2DModel(cout, attn[0], attn[1], groups, attn[2]) for _ in cins])
        if upsample:
            self.upsamplers = nn.ModuleList([Upsample2D(cout)])

    def forward(self, x, skips, temb, ctx):
        for i, r in enumerate(self.resnets):
            x = r(torch.cat([x, skips.pop()], dim=1), temb)
            if hasattr(self, "attentions"):
                x = self.attentions[i](x, ctx)
        if hasattr(self, "upsamplers"):
            x = self.upsamplers[0](x)
        return x


class UNetMidBlock2DCrossAttn(nn.Module):
    def __init__(self, ch, temb_dim, groups, eps, attn):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock2D(ch, ch, temb_dim, groups, eps) for _ in range(2)])
        self.attentions = nn.ModuleList([Transformer2DModel(ch, attn[0], attn[1], groups, attn[2])])

    def forward(self, x, temb, ctx):
        x = self.resnets[0](x, temb)
        x = self.attentions[0](x, ctx)
        return self.resnets[1](x, temb)


class TimestepEmbedding(nn.Module):
    def __init__(self, cin, dim):
        super().__init__()
        self.linear_1 = nn.Linear(cin, dim)
        self.linear_2 = nn.Linear(dim, dim)

    def forward(self, x):
        return self.linear_2(F.silu(self.linear_1(x)))


def timestep_embedding(t, dim, flip_sin_to_cos, freq_shift):
    half = dim // 2
    exponent = -math.log(10000.0) * torch.arange(half, dtype=torch.float32) / (half - freq_shift)
    emb = t[:, None].float() * torch.exp(exponent)[None, :]
    emb = torch.cat([torch.sin(emb), torch.cos(emb)], dim=-1)
    if flip_sin_to_cos:
        emb = torch.cat([emb[:, half:], emb[:, :half]], dim=-1)
    if dim % 2:
        emb = F.pad(emb, (0, 1))
    return emb


class UNet2DConditionModel(nn.Module):
    def __init__(self, config):
        super().__init__()
        c = {**UNET_DEFAULTS, **config}
        self.c = c
        boc, layers = c["block_out_channels"], c["layers_per_block"]
        groups, eps, ctx = c["norm_num_groups"], c["norm_eps"], c["cross_attention_dim"]
        heads = c["attention_head_dim"]
        heads = [heads] * len(boc) if isinstance(heads, int) else list(heads)
        lin = c["use_linear_projection"]
        temb = boc[0] * 4
        n = len(boc)
        self.conv_in = nn.Conv2d(c["in_channels"], boc[0], 3, padding=1)
        self.time_embedding = TimestepEmbedding(boc[0], temb)
        self.down_blocks = nn.ModuleList()
        ch = boc[0]
        for i, kind in enumerate(c["down_block_types"]):
            attn = (heads[i], ctx, lin) if kind == "CrossAttnDownBlock2D" else None
            pad = None if i == n - 1 else c["downsample_padding"]
            self.down_blocks.append(UNetDownBlock(ch, boc[i], layers, temb, groups, eps, attn, pad))
            ch = boc[i]
        self.mid_block = UNetMidBlock2DCrossAttn(boc[-1], temb, groups, eps, (heads[-1], ctx, lin))
        rev, rheads = boc[::-1], heads[::-1]
        self.up_blocks = nn.ModuleList()
        out = rev[0]
        for i, kind in enumerate(c["up_block_types"]):
            prev, out, skip_in = out, rev[i], rev[min(i + 1, n - 1)]
            cins = [(prev if j == 0 else out) + (skip_in if j == layers else out) for j in range(layers + 1)]
            attn = (rheads[i], ctx, lin) if kind == "CrossAttnUpBlock2D" else None
            self.up_blocks.append(UNetUpBlock(cins, out, temb, groups, eps, attn, i < n - 1))
        self.conv_norm_out = nn.GroupNorm(groups, boc[0], eps=eps)
        self.conv_out = nn.Conv2d(boc[0], c["out_channels"], 3, padding=1)

    def forward(self, x, t, ctx):
        c = self.c
        emb = timestep_embedding(t, c["block_out_channels"][0], c["flip_sin_to_cos"], c["freq_shift"])
        temb = self.time_embedding(emb)
        h = self.conv_in(x)
        skips = [h]
        for blk in self.down_blocks:
            h, outs = blk(h, temb, ctx)
            skips += outs
        h = self.mid_block(h, temb, ctx)
        for blk in self.up_blocks:
            h = blk(h, skips, temb, ctx)
        return self.conv_out(F.silu(self.conv_norm_out(h)))


# --------------------------------------------------------------------------- VAE


class VaeAttention(nn.Module):
    """Single-head self-attention of the VAE mid block (pre-2023 diffusers key names)."""

    def __init__(self, ch, groups):
        super().__init__()
        self.group_norm = nn.GroupNorm(groups, ch, eps=1e-6)
        self.query = nn.Linear(ch, ch)
        self.key = nn.Linear(ch, ch)
        self.value = nn.Linear(ch, ch)
        self.proj_attn = nn.Linear(ch, ch)

    def forward(self, x):
        b, c, hgt, wid = x.shape
        h = self.group_norm(x).reshape(b, c, hgt * wid).transpose(1, 2)
        o = self.proj_attn(attention(self.query(h), self.key(h), self.value(h), 1))
        return o.transpose(1, 2).reshape(b, c, hgt, wid) + x


class VaeMidBlock(nn.Module):
    def __init__(self, ch, groups):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock2D(ch, ch, 0, groups, 1e-6) for _ in range(2)])
        self.attentions = nn.ModuleList([VaeAttention(ch, groups)])

    def forward(self, x):
        return self.resnets[1](self.attentions[0](self.resnets[0](x)))


class UpDecoderBlock2D(nn.Module):
    def __init__(self, cin, cout, layers, groups, upsample):
        super().__init__()
        self.resnets = nn.ModuleList(
            [ResnetBlock2D(cin if i == 0 else cout, cout, 0, groups, 1e-6) for i in range(layers)])
        if upsample:
            self.upsamplers = nn.ModuleList([Upsample2D(cout)])

    def forward(self, x):
        for r in self.resnets:
            x = r(x)
        if hasattr(self, "upsamplers"):
            x = self.upsamplers[0](x)
        return x


class Encoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        boc, groups, n = c["block_out_channels"], c["norm_num_groups"], len(c["block_out_channels"])
        self.conv_in = nn.Conv2d(c["in_channels"], boc[0], 3, padding=1)
        self.down_blocks = nn.ModuleList()
        ch = boc[0]
        for i in range(n):
            pad = None if i == n - 1 else 0
            self.down_blocks.append(
                UNetDownBlock(ch, boc[i], c["layers_per_block"], 0, groups, 1e-6, None, pad))
            ch = boc[i]
        self.mid_block = VaeMidBlock(boc[-1], groups)
        self.conv_norm_out = nn.GroupNorm(groups, boc[-1], eps=1e-6)
        self.conv_out = nn.Conv2d(boc[-1], 2 * c["latent_channels"], 3, padding=1)

    def forward(self, x):
        h = self.conv_in(x)
        for blk in self.down_blocks:
            h, _ = blk(h, None, None)
        h = self.mid_block(h)
        return self.conv_out(F.silu(self.conv_norm_out(h)))


class Decoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        rev, groups, n = c["block_out_channels"][::-1], c["norm_num_groups"], len(c["block_out_channels"])
        self.conv_in = nn.Conv2d(c["latent_channels"], rev[0], 3, padding=1)
        self.mid_block = VaeMidBlock(rev[0], groups)
        self.up_blocks = nn.ModuleList()
        out = rev[0]
        for i in range(n):
            prev, out = out, rev[i]
            self.up_blocks.append(UpDecoderBlock2D(prev, out, c["layers_per_block"] + 1, groups, i < n - 1))
        self.conv_norm_out = nn.GroupNorm(groups, rev[-1], eps=1e-6)
        self.conv_out = nn.Conv2d(rev[-1], c["out_channels"], 3, padding=1)

    def forward(self, z):
        h = self.mid_block(self.conv_in(z))
        for blk in self.up_blocks:
            h = blk(h)
        return self.conv_out(F.silu(self.conv_norm_out(h)))


class AutoencoderKL(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.latent_channels = config["latent_channels"]
        self.encoder = Encoder(config)
        self.decoder = Decoder(config)
        lat = config["latent_channels"]
        self.quant_conv = nn.Conv2d(2 * lat, 2 * lat, 1)
        self.post_quant_conv = nn.Conv2d(lat, lat, 1)

    def encode_mean(self, x):
        return self.quant_conv(self.encoder(x))[:, :self.latent_channels]

    def decode(self, z):
        return self.decoder(self.post_quant_conv(z))


def vae_new_key_names(state):
    """The same weights under the post-2023 attention names (to_q/to_k/to_v/to_out.0)."""
    rename = {".query.": ".to_q.", ".key.": ".to_k.", ".value.": ".to_v.", ".proj_attn.": ".to_out.0."}
    out = {}
    for k, v in state.items():
        for old, new in rename.items():
            k = k.replace(old, new)
        out[k] = v
    return out


# --------------------------------------------------------------------------- MuseTalk recipe


def positional_encoding(tokens, dim):
    """MuseTalk's PositionalEncoding table: pe[p, 2k] = sin(p w_k), pe[p, 2k+1] = cos(p w_k)."""
    pos = torch.arange(tokens, dtype=torch.float32)[:, None]
    w = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    pe = torch.zeros(tokens, dim)
    pe[:, 0::2] = torch.sin(pos * w)
    pe[:, 1::2] = torch.cos(pos * w)
    return pe


def musetalk_faces(unet, vae, latents, audio):
    """UNet(latent, t=0, audio + PE) / 0.18215 -> VAE decode -> uint8 BGR HWC faces."""
    cond = audio + positional_encoding(audio.shape[1], audio.shape[2])[None]
    pred = unet(latents, torch.zeros(latents.shape[0]), cond)
    x = vae.decode(pred / VAE_SCALING)
    x = (x / 2 + 0.5).clamp(0, 1).permute(0, 2, 3, 1).numpy()
    return (x * 255).round().astype(np.uint8)[..., ::-1]


# --------------------------------------------------------------------------- weights and files


@torch.no_grad()
def randomize(model, seed, out_gain=1.0):
    """Seeded weights: norms near identity; convs and linears N(0, 1/fan_in) so each
    layer keeps unit variance. out_gain scales the last conv (keeps decoded images
    mostly inside [-1, 1] so the uint8 test is not all saturated)."""
    gen = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, (nn.GroupNorm, nn.LayerNorm)):
            m.weight.copy_(1 + 0.1 * torch.randn(m.weight.shape, generator=gen))
            m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=gen))
        elif isinstance(m, (nn.Conv2d, nn.Linear)):
            fan_in = m.weight[0].numel()
            m.weight.normal_(0.0, 1.0 / math.sqrt(fan_in), generator=gen)
            if m.bias is not None:
                m.bias.normal_(0.0, 0.1, generator=gen)
    last = model.conv_out if hasattr(model, "conv_out") else model.decoder.conv_out
    last.weight.mul_(out_gain)


def write_safetensors(path, tensors):
    """safetensors by hand: u64 header length, JSON header (8-byte aligned), raw data."""
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        b = t.detach().contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def write_json(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)


def save_npy(outdir, name, t):
    a = t.detach().numpy() if isinstance(t, torch.Tensor) else t
    np.save(os.path.join(outdir, name + ".npy"), np.ascontiguousarray(a, dtype=np.float32))


def rand(gen, *shape, scale=1.0):
    return scale * torch.randn(*shape, generator=gen)


# --------------------------------------------------------------------------- test sets

SMALL_UNET_A = {  # the real block types at toy sizes; int attention_head_dim = heads
    **MUSETALK_CONFIG, "attention_head_dim": 2, "block_out_channels": [32, 64, 64, 64],
    "cross_attention_dim": 16, "norm_num_groups": 8,
}

SMALL_UNET_B = {  # every other supported variant; missing fields take diffusers' defaults
    "attention_head_dim": [2, 4, 1], "block_out_channels": [16, 32, 32],
    "down_block_types": ["CrossAttnDownBlock2D", "DownBlock2D", "CrossAttnDownBlock2D"],
    "up_block_types": ["CrossAttnUpBlock2D", "UpBlock2D", "CrossAttnUpBlock2D"],
    "layers_per_block": 1, "cross_attention_dim": 12, "norm_num_groups": 4, "norm_eps": 1e-6,
    "use_linear_projection": True, "downsample_padding": 0, "flip_sin_to_cos": False, "freq_shift": 1,
    "in_channels": 5, "out_channels": 3, "upcast_attention": False,
}

SMALL_VAE = {
    **SD_VAE_CONFIG, "block_out_channels": [16, 32, 32, 32], "layers_per_block": 1, "norm_num_groups": 8,
    "sample_size": 64,
}


@torch.no_grad()
def write_small(out):
    gen = torch.Generator().manual_seed(1234)

    # UNet A, saved in both published layouts (v1.0 name and v1.5 name).
    unet_a = UNet2DConditionModel(SMALL_UNET_A).eval()
    randomize(unet_a, 1)
    state_a = unet_a.state_dict()
    write_json(f"{out}/musetalk/musetalk.json", SMALL_UNET_A)
    torch.save(state_a, f"{out}/musetalk/pytorch_model.bin")
    write_json(f"{out}/musetalkV15/musetalk.json", SMALL_UNET_A)
    torch.save(state_a, f"{out}/musetalkV15/unet.pth")
    lat, aud = rand(gen, 2, 8, 16, 16), rand(gen, 2, 10, 16)
    save_npy(out, "unet_a_latent", lat)
    save_npy(out, "unet_a_audio", aud)
    save_npy(out, "unet_a_out", unet_a(lat, torch.zeros(2), aud))

    # UNet B: list-valued heads, linear projections, pad-0 downsampling, non-square latent.
    unet_b = UNet2DConditionModel(SMALL_UNET_B).eval()
    randomize(unet_b, 2)
    write_json(f"{out}/unet_b/musetalk.json", SMALL_UNET_B)
    torch.save(unet_b.state_dict(), f"{out}/unet_b/unet.pth")
    lat, aud = rand(gen, 1, 5, 12, 8), rand(gen, 1, 7, 12)
    save_npy(out, "unet_b_latent", lat)
    save_npy(out, "unet_b_audio", aud)
    save_npy(out, "unet_b_out", unet_b(lat, torch.zeros(1), aud))

    # VAE: config.json + .bin with the old attention names + .safetensors with the new ones.
    vae = AutoencoderKL(SMALL_VAE).eval()
    randomize(vae, 3, out_gain=0.3)
    write_json(f"{out}/sd-vae/config.json", SMALL_VAE)
    torch.save(vae.state_dict(), f"{out}/sd-vae/diffusion_pytorch_model.bin")
    write_safetensors(f"{out}/sd-vae/diffusion_pytorch_model.safetensors", vae_new_key_names(vae.state_dict()))
    z, x = rand(gen, 2, 4, 8, 8), rand(gen, 2, 3, 64, 64).clamp(-1, 1)
    save_npy(out, "vae_z", z)
    save_npy(out, "vae_decoded", vae.decode(z))
    save_npy(out, "vae_x", x)
    save_npy(out, "vae_mean", vae.encode_mean(x))

    # The live-pipeline recipe end to end (UNet A + VAE, PE added, uint8 BGR faces).
    lat, aud = rand(gen, 2, 8, 8, 8), rand(gen, 2, 10, 16)
    save_npy(out, "mt_latents", lat)
    save_npy(out, "mt_audio", aud)
    save_npy(out, "mt_faces", musetalk_faces(unet_a, vae, lat, aud).astype(np.float32))

    # Broken inputs, each next to a copy of the good config.
    bad_type = {**SMALL_UNET_A, "down_block_types": ["CrossAttnDownBlock2D", "SimpleCrossAttnDownBlock2D",
                                                     "CrossAttnDownBlock2D", "DownBlock2D"]}
    write_json(f"{out}/broken/bad_block_type.json", bad_type)
    write_json(f"{out}/broken/dual_cross_attention.json", {**SMALL_UNET_A, "dual_cross_attention": True})
    missing = dict(state_a)
    del missing["mid_block.attentions.0.transformer_blocks.0.attn2.to_k.weight"]
    torch.save(missing, f"{out}/broken/missing.bin")
    wrong = dict(state_a)
    wrong["down_blocks.1.resnets.0.conv1.weight"] = torch.zeros(64, 32, 1, 1)
    torch.save(wrong, f"{out}/broken/wrong_shape.bin")
    extra = dict(state_a)
    extra["down_blocks.0.resnets.0.extra_scale"] = torch.ones(3)
    torch.save(extra, f"{out}/broken/extra.bin")
    write_json(f"{out}/broken/vae/config.json", {**SMALL_VAE, "up_block_types": ["UpDecoderBlock2D"] * 3 +
                                                  ["AttnUpDecoderBlock2D"]})
    shutil.copy(f"{out}/sd-vae/diffusion_pytorch_model.bin", f"{out}/broken/vae/diffusion_pytorch_model.bin")
    os.makedirs(f"{out}/broken/no_models", exist_ok=True)


@torch.no_grad()
def write_full(out):
    """One frame through the published sizes; checks the architecture's size too."""
    torch.set_num_threads(2)
    gen = torch.Generator().manual_seed(99)
    unet = UNet2DConditionModel(MUSETALK_CONFIG).eval()
    randomize(unet, 4)
    state = unet.state_dict()
    params = sum(t.numel() for t in state.values())
    assert (len(state), params) == (686, 849947844), (len(state), params)
    write_json(f"{out}/musetalk/musetalk.json", MUSETALK_CONFIG)
    torch.save(state, f"{out}/musetalk/pytorch_model.bin")
    lat, aud = rand(gen, 1, 8, 32, 32), rand(gen, 1, 50, 384)
    save_npy(out, "unet_latent", lat)
    save_npy(out, "unet_audio", aud)
    save_npy(out, "unet_out", unet(lat, torch.zeros(1), aud))
    del unet, state

    vae = AutoencoderKL(SD_VAE_CONFIG).eval()
    randomize(vae, 5, out_gain=0.3)
    state = vae.state_dict()
    params = sum(t.numel() for t in state.values())
    assert (len(state), params) == (248, 83653863), (len(state), params)
    write_json(f"{out}/sd-vae/config.json", SD_VAE_CONFIG)
    torch.save(state, f"{out}/sd-vae/diffusion_pytorch_model.bin")
    z, x = rand(gen, 1, 4, 32, 32), rand(gen, 1, 3, 256, 256).clamp(-1, 1)
    save_npy(out, "vae_z", z)
    save_npy(out, "vae_decoded", vae.decode(z))
    save_npy(out, "vae_x", x)
    save_npy(out, "vae_mean", vae.encode_mean(x))


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("small", "full"):
        sys.exit("usage: musetalk_ref.py small|full OUTDIR")
    out = sys.argv[2]
    os.makedirs(out, exist_ok=True)
    write_small(out) if sys.argv[1] == "small" else write_full(out)


if __name__ == "__main__":
    main()
