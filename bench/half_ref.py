"""PyTorch's CPU fp32 <-> fp16 and bf16 conversions of 16M values, one thread, median of REPS runs
(bench/half.sh's reference). usage: half_ref.py REPS; prints "<case> <seconds>" lines."""
import statistics
import sys
import time

import torch


def median_seconds(fn, reps):
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    reps = int(sys.argv[1])
    torch.set_num_threads(1)
    floats = (torch.rand(1 << 24) - 0.5) * 8
    halves = floats.half()
    print(f"to_half {median_seconds(lambda: floats.half(), reps):.6f}")
    print(f"to_float {median_seconds(lambda: halves.float(), reps):.6f}")
    bfloats = floats.bfloat16()
    print(f"to_bf16 {median_seconds(lambda: floats.bfloat16(), reps):.6f}")
    print(f"from_bf16 {median_seconds(lambda: bfloats.float(), reps):.6f}")


if __name__ == "__main__":
    main()
