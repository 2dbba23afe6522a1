#!/usr/bin/env python3
"""
musetalk_ref.py - the PyTorch side of bench/musetalk.sh.

  musetalk_ref.py weights DIR               random weights at the published sizes:
                                            DIR/musetalk/{musetalk.json,pytorch_model.bin},
                                            DIR/sd-vae/{config.json,diffusion_pytorch_model.bin}
  musetalk_ref.py time DIR THREADS REPS     the UNet and the VAE decoder at batch 1 and 4

The models are those of tests/ref/musetalk_ref.py (diffusers' architecture and
key names). `time` loads the checkpoints, runs each network once to warm up,
then REPS times, and prints one line per case plus the memory figures:
  torch <unet|vae_decode> batch=<b> median_s=<s> per_frame_s=<s> min_per_frame_s=<s>
  torch peak_rss_mib=<whole process> inference_peak_rss_mib=<after loading>
"""
import os
import resource
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "ref"))
import musetalk_ref as ref  # noqa: E402

BATCHES = (1, 4)


def write_weights(out):
    unet = ref.UNet2DConditionModel(ref.MUSETALK_CONFIG)
    ref.randomize(unet, 4)
    ref.write_json(f"{out}/musetalk/musetalk.json", ref.MUSETALK_CONFIG)
    torch.save(unet.state_dict(), f"{out}/musetalk/pytorch_model.bin")
    del unet
    vae = ref.AutoencoderKL(ref.SD_VAE_CONFIG)
    ref.randomize(vae, 5, out_gain=0.3)
    ref.write_json(f"{out}/sd-vae/config.json", ref.SD_VAE_CONFIG)
    torch.save(vae.state_dict(), f"{out}/sd-vae/diffusion_pytorch_model.bin")


def build_from_checkpoint(make, path):
    """The model with the checkpoint's tensors as its parameters (no second copy):
    parameters are created uninitialised, then swapped for the loaded tensors."""
    skipped = [torch.nn.Conv2d, torch.nn.Linear, torch.nn.GroupNorm, torch.nn.LayerNorm]
    saved = [cls.reset_parameters for cls in skipped]
    for cls in skipped:
        cls.reset_parameters = lambda self: None
    model = make()
    for cls, fn in zip(skipped, saved):
        cls.reset_parameters = fn
    state = torch.load(path, map_location="cpu")
    params = dict(model.named_parameters())
    assert set(params) == set(state), "checkpoint keys differ from the model's"
    for name, p in params.items():
        p.data = state[name]
    return model.eval()


def peak_rss_mib():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def reset_peak_rss():
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def timings(fn, reps):
    """(median, min) seconds of `reps` calls after a warm-up call."""
    fn()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times)


def report(net, b, fn, reps):
    med, low = timings(fn, reps)
    print(f"torch {net} batch={b} median_s={med:.4f} per_frame_s={med / b:.4f} "
          f"min_per_frame_s={low / b:.4f}", flush=True)


@torch.no_grad()
def run_timing(out, threads, reps):
    torch.set_num_threads(threads)
    unet = build_from_checkpoint(lambda: ref.UNet2DConditionModel(ref.MUSETALK_CONFIG),
                                 f"{out}/musetalk/pytorch_model.bin")
    vae = build_from_checkpoint(lambda: ref.AutoencoderKL(ref.SD_VAE_CONFIG),
                                f"{out}/sd-vae/diffusion_pytorch_model.bin")
    reset_peak_rss()
    gen = torch.Generator().manual_seed(7)
    for b in BATCHES:
        latent = torch.randn(b, 8, 32, 32, generator=gen)
        audio = torch.randn(b, 50, 384, generator=gen)
        report("unet", b, lambda: unet(latent, torch.zeros(b), audio), reps)
    for b in BATCHES:
        z = torch.randn(b, 4, 32, 32, generator=gen)
        report("vae_decode", b, lambda: vae.decode(z), reps)
    whole = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"torch peak_rss_mib={whole:.0f} inference_peak_rss_mib={peak_rss_mib():.0f}")


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "weights":
        write_weights(sys.argv[2])
    elif len(sys.argv) == 5 and sys.argv[1] == "time":
        run_timing(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        sys.exit("usage: musetalk_ref.py weights DIR | time DIR THREADS REPS")


if __name__ == "__main__":
    main()
