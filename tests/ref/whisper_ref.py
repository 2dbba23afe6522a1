#!/usr/bin/env python3
"""
whisper_ref.py OUTDIR - reference data for the audio / whisper tests.

Writes random-weight whisper encoders in the checkpoint layouts lipstream reads,
test WAV files, and what a PyTorch implementation of the upstream pipelines
computes from them (log-mel, stacked hidden states, per-frame chunks, positional
encoding), as .npy files. Everything is deterministic (fixed seeds).

Checkpoints (the same fp16-rounded weight values in all three tiny ones):
  tiny.pt          openai layout: {"dims", "model_state_dict"} of fp16 tensors
  hf/              config.json, pytorch_model.bin ("model.encoder.*", fp32) and
                   model.safetensors (same tensors, written byte by byte)
  small/           config.json + model.safetensors with WhisperModel keys
                   ("encoder.*"), small dims: 64 mels, n_ctx 150, width 64
Each also holds a few decoder tensors, which the encoder loader must ignore.

Audio: speech_7s.wav, speech_33s.wav (16 kHz 16-bit mono, speech-like),
tones_44k.wav (44.1 kHz stereo float; its mono mix is a sum of tones below 7 kHz,
so the same signal sampled at 16 kHz is known exactly: tones_16k_ref).

The pipelines follow the facts in the project's model spec: v1.0 = log-mel of
the whole clip, 3000-frame windows zero-padded after normalisation, states =
[block input, block outputs]; v1.5 = 480000-sample pieces zero-padded before the
log-mel, last state = final LayerNorm, trimmed to floor(seconds * 50) steps.
"""
import collections
import json
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

SR = 16000
N_FFT = 400
HOP = 160


# ---------------------------------------------------------------- files

def save(outdir, name, array):
    np.save(os.path.join(outdir, name), np.ascontiguousarray(array, dtype=np.float32))


def write_wav(path, channels_data, rate, float32=False):
    """channels_data: (channels, n) in [-1, 1] -> 16-bit PCM or 32-bit float WAV.
    Returns the samples as stored, as float32."""
    x = np.asarray(channels_data)
    if float32:
        stored, tag = x.astype('<f4'), 3
        values = stored
    else:
        stored, tag = np.clip(np.round(x * 32768.0), -32768, 32767).astype('<i2'), 1
        values = stored.astype(np.float32) / 32768.0
    channels, n = stored.shape
    width = stored.dtype.itemsize
    data = stored.T.reshape(-1).tobytes()
    header = b'RIFF' + struct.pack('<I', 36 + len(data)) + b'WAVE'
    header += b'fmt ' + struct.pack('<IHHIIHH', 16, tag, channels, rate, rate * width * channels,
                                    width * channels, 8 * width)
    header += b'data' + struct.pack('<I', len(data))
    with open(path, 'wb') as f:
        f.write(header + data)
    return values


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        a = np.ascontiguousarray(t.numpy())
        b = a.tobytes()
        dtype = {np.dtype('float32'): 'F32', np.dtype('float16'): 'F16'}[a.dtype]
        header[name] = {'dtype': dtype, 'shape': list(a.shape),
                        'data_offsets': [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    header['__metadata__'] = {'format': 'pt'}
    text = json.dumps(header, separators=(',', ':')).encode()
    text += b' ' * (-len(text) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


# ---------------------------------------------------------------- weights

def sinusoids(length, channels):
    """openai whisper's encoder positions: sin half then cos half."""
    increment = math.log(10000) / (channels // 2 - 1)
    inv = torch.exp(-increment * torch.arange(channels // 2))
    t = torch.arange(length)[:, None] * inv[None, :]
    return torch.cat([torch.sin(t), torch.cos(t)], dim=1)


def random_encoder(dims, gen):
    """Encoder tensors with openai names, values exactly representable in fp16."""
    m, c, ctx, layers = dims['n_mels'], dims['n_state'], dims['n_ctx'], dims['n_layer']
    mlp = dims['n_mlp']

    def rnd(*shape, scale, offset=0.0):
        return (offset + torch.randn(*shape, generator=gen) * scale).half().float()

    def norm(prefix, p):
        p[prefix + '.weight'] = rnd(c, scale=0.1, offset=1.0)
        p[prefix + '.bias'] = rnd(c, scale=0.1)

    p = collections.OrderedDict()
    p['conv1.weight'] = rnd(c, m, 3, scale=1 / math.sqrt(3 * m))
    p['conv1.bias'] = rnd(c, scale=0.05)
    p['conv2.weight'] = rnd(c, c, 3, scale=1 / math.sqrt(3 * c))
    p['conv2.bias'] = rnd(c, scale=0.05)
    p['positional_embedding'] = sinusoids(ctx, c).half().float()
    for i in range(layers):
        b = 'blocks.%d.' % i
        norm(b + 'attn_ln', p)
        for name in ('query', 'key', 'value', 'out'):
            p[b + 'attn.%s.weight' % name] = rnd(c, c, scale=1 / math.sqrt(c))
            if name != 'key':
                p[b + 'attn.%s.bias' % name] = rnd(c, scale=0.05)
        norm(b + 'mlp_ln', p)
        p[b + 'mlp.0.weight'] = rnd(mlp, c, scale=1 / math.sqrt(c))
        p[b + 'mlp.0.bias'] = rnd(mlp, scale=0.05)
        p[b + 'mlp.2.weight'] = rnd(c, mlp, scale=1 / math.sqrt(mlp))
        p[b + 'mlp.2.bias'] = rnd(c, scale=0.05)
    norm('ln_post', p)
    return p


HF_RENAMES = [('positional_embedding', 'embed_positions.weight'), ('blocks.', 'layers.'),
              ('attn_ln', 'self_attn_layer_norm'), ('attn.query', 'self_attn.q_proj'),
              ('attn.key', 'self_attn.k_proj'), ('attn.value', 'self_attn.v_proj'),
              ('attn.out', 'self_attn.out_proj'), ('mlp_ln', 'final_layer_norm'),
              ('mlp.0', 'fc1'), ('mlp.2', 'fc2'), ('ln_post', 'layer_norm')]


def hf_name(name):
    for old, new in HF_RENAMES:
        name = name.replace(old, new)
    return name


def hf_config(dims):
    return {'architectures': ['WhisperForConditionalGeneration'], 'model_type': 'whisper',
            'num_mel_bins': dims['n_mels'], 'd_model': dims['n_state'],
            'encoder_layers': dims['n_layer'], 'encoder_attention_heads': dims['n_head'],
            'encoder_ffn_dim': dims['n_mlp'], 'decoder_layers': dims['n_layer'],
            'decoder_attention_heads': dims['n_head'], 'decoder_ffn_dim': dims['n_mlp'],
            'max_source_positions': dims['n_ctx'], 'max_target_positions': 448,
            'activation_function': 'gelu', 'vocab_size': 51865, 'torch_dtype': 'float32'}


def write_openai(path, dims, p, gen):
    state = collections.OrderedDict(('encoder.' + k, v.half()) for k, v in p.items())
    c = dims['n_state']
    state['decoder.positional_embedding'] = torch.randn(448, c, generator=gen).half()
    state['decoder.blocks.0.attn.key.weight'] = torch.randn(c, c, generator=gen).half()
    state['decoder.ln.weight'] = torch.ones(c).half()
    openai_dims = {'n_mels': dims['n_mels'], 'n_vocab': 51865, 'n_audio_ctx': dims['n_ctx'],
                   'n_audio_state': c, 'n_audio_head': dims['n_head'],
                   'n_audio_layer': dims['n_layer'], 'n_text_ctx': 448, 'n_text_state': c,
                   'n_text_head': dims['n_head'], 'n_text_layer': dims['n_layer']}
    torch.save({'dims': openai_dims, 'model_state_dict': state}, path)


def hf_tensors(prefix, dims, p, gen):
    t = collections.OrderedDict((prefix + 'encoder.' + hf_name(k), v.clone()) for k, v in p.items())
    c = dims['n_state']
    t[prefix + 'decoder.embed_positions.weight'] = torch.randn(448, c, generator=gen)
    t[prefix + 'decoder.layer_norm.weight'] = torch.ones(c)
    return t


def write_hf(folder, dims, tensors, formats):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, 'config.json'), 'w') as f:
        json.dump(hf_config(dims), f, indent=2)
    if 'bin' in formats:
        torch.save(tensors, os.path.join(folder, 'pytorch_model.bin'))
    if 'safetensors' in formats:
        write_safetensors(os.path.join(folder, 'model.safetensors'), tensors)


# ---------------------------------------------------------------- front end

def mel_filters(n_mels, sr=SR, n_fft=N_FFT):
    """librosa.filters.mel(sr, n_fft, n_mels) (Slaney scale and norm) in float64."""
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0

    def hz_to_mel(f):
        return min_log_mel + np.log(f / min_log_hz) / logstep if f >= min_log_hz else f / f_sp

    def mel_to_hz(m):
        return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)),
                        f_sp * m)

    fft_freqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
    edges = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(sr / 2.0), n_mels + 2))
    fdiff = np.diff(edges)
    ramps = np.subtract.outer(edges, fft_freqs)
    weights = np.zeros((n_mels, len(fft_freqs)))
    for i in range(n_mels):
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        weights[i] = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (edges[2:n_mels + 2] - edges[:n_mels]))[:, None]
    return weights


def log_mel(audio, filters):
    """openai whisper's log_mel_spectrogram, float32, normalised over the input."""
    x = torch.from_numpy(np.asarray(audio, dtype=np.float32))
    stft = torch.stft(x, N_FFT, HOP, window=torch.hann_window(N_FFT), return_complex=True)
    power = stft[..., :-1].abs() ** 2
    spec = torch.clamp(filters @ power, min=1e-10).log10()
    spec = torch.maximum(spec, spec.max() - 8.0)
    return (spec + 4.0) / 4.0


# ---------------------------------------------------------------- encoder

def encoder_states(p, dims, mel, version):
    """(n_mels, frames) -> (steps, n_layer + 1, n_state)."""
    c, heads = dims['n_state'], dims['n_head']
    x = F.gelu(F.conv1d(mel[None], p['conv1.weight'], p['conv1.bias'], padding=1))
    x = F.gelu(F.conv1d(x, p['conv2.weight'], p['conv2.bias'], stride=2, padding=1))
    x = x.permute(0, 2, 1)
    x = x + p['positional_embedding'][:x.shape[1]]
    states = [x]
    for i in range(dims['n_layer']):
        b = 'blocks.%d.' % i
        h = F.layer_norm(x, (c,), p[b + 'attn_ln.weight'], p[b + 'attn_ln.bias'], 1e-5)
        q = F.linear(h, p[b + 'attn.query.weight'], p[b + 'attn.query.bias'])
        k = F.linear(h, p[b + 'attn.key.weight'])
        v = F.linear(h, p[b + 'attn.value.weight'], p[b + 'attn.value.bias'])
        split = lambda t: t.view(1, -1, heads, c // heads).permute(0, 2, 1, 3)
        scores = split(q) @ split(k).transpose(-1, -2) / math.sqrt(c // heads)
        a = (scores.softmax(-1) @ split(v)).permute(0, 2, 1, 3).reshape(1, -1, c)
        x = x + F.linear(a, p[b + 'attn.out.weight'], p[b + 'attn.out.bias'])
        h = F.layer_norm(x, (c,), p[b + 'mlp_ln.weight'], p[b + 'mlp_ln.bias'], 1e-5)
        h = F.gelu(F.linear(h, p[b + 'mlp.0.weight'], p[b + 'mlp.0.bias']))
        x = x + F.linear(h, p[b + 'mlp.2.weight'], p[b + 'mlp.2.bias'])
        states.append(x)
    if version == 'v15':
        states[-1] = F.layer_norm(x, (c,), p['ln_post.weight'], p['ln_post.bias'], 1e-5)
    return torch.stack(states, dim=2)[0]


def states_v1(p, dims, audio, filters):
    mel = log_mel(audio, filters)
    window, frames, out = 2 * dims['n_ctx'], mel.shape[1], []
    for seek in range(0, frames, window):
        seg = mel[:, seek:seek + window]
        real = seg.shape[1]
        seg = F.pad(seg, (0, window - real))
        out.append(encoder_states(p, dims, seg, 'v1')[:real // 2])
    return torch.cat(out).numpy()


def states_v15(p, dims, audio, filters):
    piece = 2 * dims['n_ctx'] * HOP
    out = []
    for start in range(0, len(audio), piece):
        chunk = np.pad(audio[start:start + piece], (0, piece - len(audio[start:start + piece])))
        out.append(encoder_states(p, dims, log_mel(chunk, filters), 'v15'))
    return torch.cat(out)[:math.floor(len(audio) / SR * 50)].numpy()


# ---------------------------------------------------------------- chunks and PE

def chunks_v1(states, fps):
    """Per frame i while int(i*50/fps) < T: steps c-4 .. c+5 clamped into [0, T-1]."""
    T, out, i = len(states), [], 0
    while int(i * 50 / fps) < T:
        c = int(i * 50 / fps)
        idx = [min(max(j, 0), T - 1) for j in range(c - 4, c + 6)]
        out.append(states[idx].reshape(-1, states.shape[-1]))
        i += 1
    return np.stack(out)


def chunks_v15(states, samples, fps):
    """MuseTalk v1.5 get_whisper_chunk: zero padding, windows of 10 steps."""
    mult = 50 / fps
    pad = math.ceil(mult)
    zeros = np.zeros_like(states[:1])
    padded = np.concatenate([zeros.repeat(pad * 2, 0), states, zeros.repeat(pad * 3 * 2, 0)])
    out = []
    for i in range(math.floor(samples / SR * fps)):
        a = math.floor(i * mult)
        clip = padded[a:a + 10]
        assert len(clip) == 10
        out.append(clip.reshape(-1, states.shape[-1]))
    return np.stack(out)


def positional_encoding(tokens, d_model):
    """MuseTalk's PositionalEncoding table, float32 as torch computes it."""
    pe = torch.zeros(tokens, d_model)
    position = torch.arange(0, tokens, dtype=torch.float).unsqueeze(1)
    div_term = torch.exp(torch.arange(0, d_model, 2).float() * (-math.log(10000.0) / d_model))
    pe[:, 0::2] = torch.sin(position * div_term)
    pe[:, 1::2] = torch.cos(position * div_term)
    return pe.numpy()


# ---------------------------------------------------------------- audio

def speech_like(seconds, rng):
    """Voiced harmonics under moving formants, syllable envelope, pauses, noise."""
    t = np.arange(int(seconds * SR)) / SR
    f0 = 130 + 35 * np.sin(2 * np.pi * 0.3 * t) + 15 * np.sin(2 * np.pi * 1.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / SR
    formant1 = 600 + 250 * np.sin(2 * np.pi * 2.3 * t)
    formant2 = 1700 + 600 * np.sin(2 * np.pi * 1.3 * t + 1)
    voiced = np.zeros_like(t)
    for k in range(1, 40):
        fk = k * f0
        gain = (np.exp(-((fk - formant1) / 200) ** 2) + 0.6 * np.exp(-((fk - formant2) / 300) ** 2)
                + 0.02)
        voiced += np.where(fk < 7500, gain, 0) * np.sin(k * phase) / k ** 0.5
    syllables = np.abs(np.sin(2 * np.pi * 2.1 * t)) ** 0.6
    pauses = (np.sin(2 * np.pi * t / 2.9) > -0.8).astype(float)
    fricative = rng.standard_normal(len(t)) * (np.sin(2 * np.pi * 0.7 * t) > 0.6)
    x = (voiced * syllables + 0.15 * fricative) * pauses + 3e-4 * rng.standard_normal(len(t))
    return 0.5 * x / np.max(np.abs(x))


def tones(seconds, rate, freqs, amps, phases):
    """A sum of tones with a 50 ms raised-cosine fade at both ends."""
    t = np.arange(int(round(seconds * rate))) / rate
    x = sum(a * np.sin(2 * np.pi * f * t + ph) for f, a, ph in zip(freqs, amps, phases))
    fade = np.minimum(1, np.minimum(t, seconds - t) / 0.05)
    return x * (0.5 - 0.5 * np.cos(np.pi * np.clip(fade, 0, 1)))


# ---------------------------------------------------------------- main

def main():
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    torch.set_num_threads(2)
    gen = torch.Generator().manual_seed(1234)
    rng = np.random.default_rng(99)

    tiny = {'n_mels': 80, 'n_ctx': 1500, 'n_state': 384, 'n_head': 6, 'n_layer': 4, 'n_mlp': 1536}
    small = {'n_mels': 64, 'n_ctx': 150, 'n_state': 64, 'n_head': 4, 'n_layer': 2, 'n_mlp': 256}
    p_tiny = random_encoder(tiny, gen)
    p_small = random_encoder(small, gen)
    write_openai(os.path.join(outdir, 'tiny.pt'), tiny, p_tiny, gen)
    write_hf(os.path.join(outdir, 'hf'), tiny, hf_tensors('model.', tiny, p_tiny, gen),
             ('bin', 'safetensors'))
    write_hf(os.path.join(outdir, 'small'), small, hf_tensors('', small, p_small, gen),
             ('safetensors',))

    # audio files; the references use exactly the quantised samples
    speech7 = write_wav(os.path.join(outdir, 'speech_7s.wav'), speech_like(7, rng)[None], SR)[0]
    speech33 = write_wav(os.path.join(outdir, 'speech_33s.wav'), speech_like(33, rng)[None],
                           SR)[0]
    freqs = rng.uniform(100, 7000, 24)
    amps = rng.uniform(0.005, 0.03, 24)
    phases = rng.uniform(0, 2 * np.pi, 24)
    dfreqs = rng.uniform(100, 7000, 8)
    common = tones(3, 44100, freqs, amps, phases)
    differ = tones(3, 44100, dfreqs, np.full(8, 0.02), np.zeros(8))
    write_wav(os.path.join(outdir, 'tones_44k.wav'), np.stack([common + differ, common - differ]),
              44100, float32=True)
    tones16 = tones(3, SR, freqs, amps, phases).astype(np.float32)

    # front end
    f80 = torch.from_numpy(mel_filters(80).astype(np.float32))
    f64 = torch.from_numpy(mel_filters(64).astype(np.float32))
    save(outdir, 'mel_filters_80.npy', mel_filters(80))
    save(outdir, 'mel_filters_64.npy', mel_filters(64))
    save(outdir, 'mel_7s.npy', log_mel(speech7, f80))
    save(outdir, 'mel_33s.npy', log_mel(speech33, f80))
    piece1 = speech33[480000:]
    save(outdir, 'mel_33s_piece1.npy', log_mel(np.pad(piece1, (0, 480000 - len(piece1))), f80))
    save(outdir, 'mel_tones.npy', log_mel(tones16, f80))

    # encoders and chunks
    with torch.no_grad():
        s_v1_7 = states_v1(p_tiny, tiny, speech7, f80)
        s_v15_7 = states_v15(p_tiny, tiny, speech7, f80)
        s_v1_33 = states_v1(p_tiny, tiny, speech33, f80)
        s_v15_33 = states_v15(p_tiny, tiny, speech33, f80)
        s_v1_tones = states_v1(p_tiny, tiny, tones16, f80)
        save(outdir, 'small_states_v1_7s.npy', states_v1(p_small, small, speech7, f64))
        save(outdir, 'small_states_v15_7s.npy', states_v15(p_small, small, speech7, f64))
        # the encoder alone on an odd, unpadded window (as streaming uses it)
        mel_odd = log_mel(speech7[:257 * HOP], f64)
        save(outdir, 'small_mel_257.npy', mel_odd)
        save(outdir, 'small_encode_257.npy', encoder_states(p_small, small, mel_odd, 'v1'))
    save(outdir, 'states_v1_7s.npy', s_v1_7)
    save(outdir, 'states_v15_7s.npy', s_v15_7)
    save(outdir, 'states_v15_33s.npy', s_v15_33)
    save(outdir, 'chunks_v1_33s.npy', chunks_v1(s_v1_33, 25))
    save(outdir, 'chunks_v1_tones.npy', chunks_v1(s_v1_tones, 25))
    save(outdir, 'chunks_v1_7s_fps25.npy', chunks_v1(s_v1_7, 25))
    save(outdir, 'chunks_v1_7s_fps30.npy', chunks_v1(s_v1_7, 30))
    save(outdir, 'chunks_v15_7s_fps25.npy', chunks_v15(s_v15_7, len(speech7), 25))
    save(outdir, 'chunks_v15_7s_fps20.npy', chunks_v15(s_v15_7, len(speech7), 20))

    pe_in = torch.randn(3, 50, 384, generator=gen).numpy()
    save(outdir, 'pe_in.npy', pe_in)
    save(outdir, 'pe_out.npy', pe_in + positional_encoding(50, 384)[None])


if __name__ == '__main__':
    main()
