#!/usr/bin/env python3
"""
gpu_ref.py - the PyTorch side of bench/gpu.sh: the MuseTalk UNet and VAE
decoder in fp16 (as LiveTalking runs them) or bf16 on a CUDA GPU.

  gpu_ref.py time DIR REPS BATCHES [fp16|bf16]
                                       frames per second at each batch size
                                       (BATCHES: comma-separated, e.g. 1,4,16,32)

DIR holds the checkpoints bench/musetalk_ref.py writes (random weights at the
published sizes); the models are tests/ref/musetalk_ref.py's (diffusers'
architecture and key names, plain PyTorch), loaded through
bench/musetalk_ref.py, then converted to the dtype and moved to the GPU.
Two things change from the CPU reference so that it runs as diffusers does
on a GPU: attention goes through F.scaled_dot_product_attention (diffusers'
default processor on torch 2; flash attention) when torch has it, and the
time embedding, computed on the host in fp32, is moved to the model's
device and dtype. cuDNN's autotuner is on. Each case runs once to warm up, then REPS times,
each timed up to torch.cuda.synchronize(). Output lines match the lipstream
side's:
  torch <unet|vae_decode|unet+vae_decode> batch=<b> median_s=<s> fps=<frames/s>
plus one line naming the device and the versions it ran with.
"""
import importlib.util
import os
import statistics
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
SCALING = 0.18215


def bench_module():
    """bench/musetalk_ref.py under its own name (tests/ref has a module of the same name)."""
    spec = importlib.util.spec_from_file_location("bench_musetalk_ref", os.path.join(HERE, "musetalk_ref.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16}


def adapt_for_gpu(ref, device, dtype):
    """Patches the reference module as the docstring says; returns the attention used."""
    host_embedding = ref.timestep_embedding
    ref.timestep_embedding = lambda t, *args: host_embedding(t, *args).to(device, dtype)
    sdpa = getattr(torch.nn.functional, "scaled_dot_product_attention", None)
    if sdpa is None:
        return "materialised softmax (torch has no scaled_dot_product_attention)"

    def attention(q, k, v, heads):
        b, lq, c = q.shape

        def split(t):
            return t.reshape(b, t.shape[1], heads, c // heads).transpose(1, 2)

        return sdpa(split(q), split(k), split(v)).transpose(1, 2).reshape(b, lq, c)

    ref.attention = attention
    return "scaled_dot_product_attention"


def median_time(fn, reps):
    fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def report(net, batch, seconds):
    print(f"torch {net} batch={batch} median_s={seconds:.5f} fps={batch / seconds:.1f}", flush=True)


@torch.no_grad()
def run(out, reps, batches, dtype):
    if not torch.cuda.is_available():
        sys.exit("gpu_ref.py: torch.cuda.is_available() is False: no GPU for the PyTorch reference")
    bench = bench_module()
    ref = bench.ref
    torch.backends.cudnn.benchmark = True
    device = torch.device("cuda")
    attention = adapt_for_gpu(ref, device, dtype)
    unet = bench.build_from_checkpoint(lambda: ref.UNet2DConditionModel(ref.MUSETALK_CONFIG),
                                       f"{out}/musetalk/pytorch_model.bin").to(device, dtype)
    vae = bench.build_from_checkpoint(lambda: ref.AutoencoderKL(ref.SD_VAE_CONFIG),
                                      f"{out}/sd-vae/diffusion_pytorch_model.bin").to(device, dtype)
    print(f"torch device={torch.cuda.get_device_name(0).replace(' ', '_')} torch={torch.__version__} "
          f"cuda={torch.version.cuda} cudnn={torch.backends.cudnn.version()} dtype={dtype} "
          f"attention={attention.split()[0]}", flush=True)
    gen = torch.Generator(device="cpu").manual_seed(7)
    for b in batches:
        latent = torch.randn(b, 8, 32, 32, generator=gen).to(device, dtype)
        audio = torch.randn(b, 50, 384, generator=gen).to(device, dtype)
        t = torch.zeros(b)   # host: the embedding is computed there, then moved
        state = {}

        def unet_pass():
            state["pred"] = unet(latent, t, audio)

        def vae_pass():
            return vae.decode(state["pred"] / SCALING)

        def both():
            unet_pass()
            vae_pass()

        report("unet", b, median_time(unet_pass, reps))
        report("vae_decode", b, median_time(vae_pass, reps))
        report("unet+vae_decode", b, median_time(both, reps))
        del state
        torch.cuda.empty_cache()


def main():
    precision = sys.argv[5:] or ["fp16"]
    if len(sys.argv) not in (5, 6) or sys.argv[1] != "time" or precision[0] not in DTYPES:
        sys.exit("usage: gpu_ref.py time DIR REPS BATCHES [fp16|bf16]")
    dtype = DTYPES[precision[0]]
    run(sys.argv[2], int(sys.argv[3]), [int(b) for b in sys.argv[4].split(",")], dtype)


if __name__ == "__main__":
    main()
