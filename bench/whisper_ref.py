#!/usr/bin/env python3
"""
whisper_ref.py DATA_DIR THREADS REPS - the PyTorch side of bench/whisper.sh.

Creates DATA_DIR/tiny.pt (random whisper-tiny encoder weights, openai layout)
and DATA_DIR/mel.npy (the log-mel of one 30 s window of speech-like audio)
when missing, then times the PyTorch encoder (all stacked states, fp32) on
that window REPS times with torch.set_num_threads(THREADS) after one warm-up
run. Prints per-run times on stderr and the median in seconds on stdout.
The model code is the reference implementation of tests/ref/whisper_ref.py.
"""
import os
import statistics
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tests', 'ref'))
import whisper_ref as ref  # noqa: E402

TINY = {'n_mels': 80, 'n_ctx': 1500, 'n_state': 384, 'n_head': 6, 'n_layer': 4, 'n_mlp': 1536}


def main():
    data, threads, reps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    os.makedirs(data, exist_ok=True)
    weights_path, mel_path = os.path.join(data, 'tiny.pt'), os.path.join(data, 'mel.npy')
    if not (os.path.exists(weights_path) and os.path.exists(mel_path)):
        gen = torch.Generator().manual_seed(5)
        ref.write_openai(weights_path, TINY, ref.random_encoder(TINY, gen), gen)
        audio = ref.speech_like(30, np.random.default_rng(5)).astype(np.float32)
        filters = torch.from_numpy(ref.mel_filters(80).astype(np.float32))
        ref.save(data, 'mel.npy', ref.log_mel(audio, filters))

    state = torch.load(weights_path)['model_state_dict']
    params = {k[len('encoder.'):]: v.float() for k, v in state.items() if k.startswith('encoder.')}
    mel = torch.from_numpy(np.load(mel_path))
    torch.set_num_threads(threads)
    times = []
    with torch.no_grad():
        for i in range(reps + 1):
            start = time.perf_counter()
            ref.encoder_states(params, TINY, mel, 'v1')
            if i > 0:
                times.append(time.perf_counter() - start)
    print('pytorch %s, %d threads: %s s' % (torch.__version__, threads,
                                           ' '.join('%.3f' % t for t in times)), file=sys.stderr)
    print('%.6f' % statistics.median(times))


if __name__ == '__main__':
    main()
