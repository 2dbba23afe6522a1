#!/usr/bin/env python3
"""Writes model-file fixtures for the io tests into the directory given as argv[1].

Valid files (torch.save zips, plain pickles, a hand-written safetensors file, .npy files)
come with their expected contents: every float tensor's values converted to float32 as
<dir>/expect/*.npy, and a manifest.json naming the tensors, dtypes, shapes and files.
Pickles of plain data come with a JSON rendering of the value (floats, tuples and bytes
tagged so that the C side can check kinds exactly). Malformed files each come with a
word the error message must contain. seeds/<fuzzer>/ gets starting corpora for the fuzzers.
"""
import collections
import io
import json
import os
import pickle
import shutil
import struct
import sys
import zipfile
import zlib

import numpy as np
import torch

OUT = sys.argv[1]
os.makedirs(OUT, exist_ok=True)
for sub in ("expect", "npy", "seeds"):
    shutil.rmtree(os.path.join(OUT, sub), ignore_errors=True)
    os.makedirs(os.path.join(OUT, sub))
torch.manual_seed(0)
np.random.seed(0)

manifest = {"weights": {}, "pickles": {}, "npy": {}, "bad": {}}


def path(*parts):
    return os.path.join(OUT, *parts)


def record_tensors(file, named):
    """named: list of (name, tensor). Writes expected values of float tensors."""
    entries = []
    for name, t in named:
        entry = {"name": name, "dtype": str(t.dtype).replace("torch.", ""), "shape": list(t.shape)}
        if t.dtype in (torch.float32, torch.float16, torch.bfloat16, torch.float64):
            npy = "expect/%s__%d.npy" % (file, len(entries))
            np.save(path(npy), t.float().contiguous().numpy())
            entry["expect"] = npy
        entries.append(entry)
    manifest["weights"][file] = entries


# ------------------------------------------------------------------ torch.save

def dtype_checkpoint():
    base = torch.randn(4, 6)
    big = torch.randn(8, 3)
    shared = torch.randn(10)
    half = torch.randn(3, 5).half()
    sd = collections.OrderedDict()
    sd["f32"] = torch.randn(3, 4)
    sd["f16"] = torch.randn(2, 5).half()
    sd["bf16"] = torch.randn(7).bfloat16()
    # Subnormals, signed zero and the largest finite values (infinities cannot go through check_close).
    special = [6e-8, -6e-8, 1e-5, 3e-6, -0.0, 0.0, 65504.0, -65504.0, 6.1e-5, 1.0 / 3]
    sd["f16_special"] = torch.tensor(special).half()
    sd["bf16_special"] = torch.tensor(special + [1e-40, 3e38]).bfloat16()
    sd["f64"] = torch.randn(2, 2).double()
    sd["i64"] = torch.arange(6)
    sd["i32"] = torch.arange(3, dtype=torch.int32)
    sd["u8"] = torch.arange(4, dtype=torch.uint8)
    sd["transposed"] = base.t()                 # strides (1, 6)
    sd["column"] = base[:, 1]                   # stride 6, storage offset 1
    sd["sliced"] = big[2:5]                     # contiguous, storage offset 6
    sd["shared_a"] = shared[0:4].view(2, 2)     # two views of one storage
    sd["shared_b"] = shared[4:10]
    sd["half_t"] = half.t()                     # fp16 and strided
    sd["scalar"] = torch.tensor(3.5)
    sd["empty"] = torch.zeros(0, 3)
    sd["five_d"] = torch.randn(1, 2, 1, 2, 2)
    nested = {"inner": {"w": torch.randn(2, 3)}, "list": [torch.randn(2), torch.randn(1, 1)]}
    torch.save({"state": sd, "nested": nested, "step": 7}, path("dtypes.pt"))
    # The same object in the legacy (pre-1.6, non-zip) format many older checkpoints use.
    torch.save({"state": sd, "nested": nested, "step": 7}, path("dtypes_legacy.pt"),
               _use_new_zipfile_serialization=False)
    named = [("state." + k, v) for k, v in sd.items()]
    named += [("nested.inner.w", nested["inner"]["w"]), ("nested.list.0", nested["list"][0]),
              ("nested.list.1", nested["list"][1])]
    record_tensors("dtypes.pt", named)
    record_tensors("dtypes_legacy.pt", named)


def whisper_like_checkpoint():
    dims = {"n_mels": 80, "n_audio_ctx": 1500, "n_audio_state": 8, "n_audio_head": 2,
            "n_audio_layer": 1, "n_vocab": 51865, "n_text_ctx": 448, "n_text_state": 8,
            "n_text_head": 2, "n_text_layer": 1}
    sd = collections.OrderedDict()
    sd["encoder.conv1.weight"] = torch.randn(8, 80, 3).half()
    sd["encoder.conv1.bias"] = torch.randn(8).half()
    sd["encoder.blocks.0.attn.query.weight"] = torch.randn(8, 8).half()
    sd["encoder.ln_post.weight"] = torch.randn(8).half()
    torch.save({"dims": dims, "model_state_dict": sd}, path("whisper_like.pt"))
    record_tensors("whisper_like.pt", [("model_state_dict." + k, v) for k, v in sd.items()])
    manifest["whisper_dims"] = dims


def latents_like_checkpoint():
    latents = [torch.randn(1, 8, 4, 4) for _ in range(3)]
    torch.save(latents, path("latents_like.pt"))
    record_tensors("latents_like.pt", [(str(i), t) for i, t in enumerate(latents)])


def many_tensors_checkpoint():
    """As many tensors as the MuseTalk UNet file (686), to time loading."""
    sd = collections.OrderedDict()
    for i in range(686):
        sd["down_blocks.%d.resnets.%d.conv%d.weight" % (i // 100, i % 100 // 10, i % 10)] = torch.full((4, 4), float(i))
    torch.save(sd, path("many.pt"))
    manifest["many"] = {"file": "many.pt", "count": len(sd)}


class Unseekable(io.RawIOBase):
    """A write-only stream without seek(), which makes zipfile use data descriptors."""

    def __init__(self, sink):
        self.sink = sink

    def writable(self):
        return True

    def write(self, data):
        return self.sink.write(data)


def rezip(src, dst, compression, comment=b"", streamed=False):
    with open(dst, "wb") as f, zipfile.ZipFile(src) as zin:
        with zipfile.ZipFile(Unseekable(f) if streamed else f, "w", compression) as zout:
            zout.comment = comment
            for info in zin.infolist():
                with zout.open(info.filename, "w") as entry:
                    entry.write(zin.read(info.filename))


def write_zip64(src, dst):
    """Rewrites a zip with every size and offset in ZIP64 extra fields and a ZIP64 end record."""
    with zipfile.ZipFile(src) as zin:
        files = [(i.filename.encode(), zin.read(i.filename)) for i in zin.infolist()]
    out = io.BytesIO()
    central = []
    for name, data in files:
        offset = out.tell()
        crc = zlib.crc32(data)
        extra = struct.pack("<HHQQ", 1, 16, len(data), len(data))
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 0, 0, 0, crc, 0xFFFFFFFF,
                              0xFFFFFFFF, len(name), len(extra)) + name + extra + data)
        cextra = struct.pack("<HHQQQ", 1, 24, len(data), len(data), offset)
        central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 0, 0, 0, crc,
                                   0xFFFFFFFF, 0xFFFFFFFF, len(name), len(cextra), 0, 0, 0, 0,
                                   0xFFFFFFFF) + name + cextra)
    cd_offset = out.tell()
    cd = b"".join(central)
    out.write(cd)
    end64 = out.tell()
    out.write(struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, len(files), len(files),
                          len(cd), cd_offset))
    out.write(struct.pack("<IIQI", 0x07064B50, 0, end64, 1))
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0))
    with open(dst, "wb") as f:
        f.write(out.getvalue())


def zip_variants():
    for name, kwargs in (("deflated.pt", {"compression": zipfile.ZIP_DEFLATED}),
                         ("commented.pt", {"compression": zipfile.ZIP_STORED, "comment": b"a checkpoint comment " * 20}),
                         ("streamed.pt", {"compression": zipfile.ZIP_DEFLATED, "streamed": True})):
        rezip(path("whisper_like.pt"), path(name), **kwargs)
        manifest["weights"][name] = manifest["weights"]["whisper_like.pt"]
    write_zip64(path("whisper_like.pt"), path("zip64.pt"))
    manifest["weights"]["zip64.pt"] = manifest["weights"]["whisper_like.pt"]


# ----------------------------------------------------------------- safetensors

def safetensors_bytes(tensors, metadata=None, overrides=None):
    """tensors: list of (name, dtype string, shape, raw bytes). overrides: name -> dict of
    header fields to replace (to make malformed files)."""
    header, data = {}, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    for name, fields in (overrides or {}).items():
        header[name].update(fields)
    text = json.dumps(header).encode()
    text += b" " * (-(8 + len(text)) % 8)
    return struct.pack("<Q", len(text)) + text + data


def bf16_bytes(t):
    return t.view(torch.int16).numpy().tobytes()


def safetensors_files():
    a = torch.randn(3, 4)
    b = torch.randn(5).half()
    c = torch.randn(2, 3).bfloat16()
    d = torch.randn(2).double()
    idx = torch.arange(4)
    tensors = [("a.weight", "F32", [3, 4], a.numpy().tobytes()),
               ("b", "F16", [5], b.numpy().tobytes()),
               ("c", "BF16", [2, 3], bf16_bytes(c)),
               ("d", "F64", [2], d.numpy().tobytes()),
               ("idx", "I64", [4], idx.numpy().tobytes()),
               ("empty", "F32", [0, 2], b"")]
    with open(path("model.safetensors"), "wb") as f:
        f.write(safetensors_bytes(tensors, {"format": "pt", "note": "fixture"}))
    record_tensors("model.safetensors", [("a.weight", a), ("b", b), ("c", c), ("d", d), ("idx", idx),
                                         ("empty", torch.zeros(0, 2))])
    manifest["safetensors_metadata"] = {"format": "pt", "note": "fixture"}
    return tensors


# ------------------------------------------------------------ plain pickles

def tagged(v):
    """The JSON form of a pickled value, kinds made explicit for exact checks."""
    if isinstance(v, np.ndarray):
        return tagged(v.tolist())
    if isinstance(v, np.generic):
        return tagged(v.item())
    if isinstance(v, bool) or v is None or isinstance(v, (int, str)):
        return v
    if isinstance(v, float):
        return {"__float__": v}
    if isinstance(v, bytes):
        return {"__bytes__": v.hex()}
    if isinstance(v, tuple):
        return {"__tuple__": [tagged(x) for x in v]}
    if isinstance(v, list):
        return [tagged(x) for x in v]
    if isinstance(v, dict):
        return {k: tagged(x) for k, x in v.items()}
    raise TypeError(type(v))


def plain_pickles():
    # Like LiveTalking's coords.pkl: (x1, y1, x2, y2) per frame, numpy ints or plain numbers.
    coords = [(np.int64(10), np.int64(20), np.int64(110), np.int64(140)), (0.0, 0.0, 0.0, 0.0),
              (5, 6, 7, 8), (np.int64(-3), np.int32(4), np.uint8(255), np.int16(-2))]
    misc = {
        "ints": [0, -1, 255, 65535, 65536, -2**31, 2**31, 2**40, -2**63, 2**63 - 1],
        "floats": [0.5, -1e300, 1e-300],
        "text": "h\u00e9llo \u2603 \U0001F600",
        "blob": b"\x00\x01\xff",
        "flags": (True, False, None),
        "array_i32": np.array([1, -2, 3], dtype=np.int32),
        "array_f32": np.arange(6, dtype=np.float32).reshape(2, 3) / 4,
        "array_f16": np.array([0.5, -2.0, 65504.0], dtype=np.float16),
        "array_fortran": np.asfortranarray(np.arange(6, dtype=np.int64).reshape(2, 3)),
        "array_big_endian": np.array([1, 258], dtype=">i4"),
        "array_bool": np.array([True, False]),
        "array_0d": np.array(2.5),
        "array_empty": np.zeros((0,), dtype=np.float64),
        "np_float": np.float64(0.25),
        "np_bool": np.bool_(True),
        "shared": None,
    }
    shared = [1, 2]
    misc["shared"] = [shared, shared]   # one object referenced twice (memo)
    for name, value, protocol in (("coords.pkl", coords, None), ("coords_p2.pkl", [(1, 2, 3, 4)], 2),
                                  ("misc_p4.pkl", misc, 4), ("misc_p5.pkl", misc, 5)):
        with open(path(name), "wb") as f:
            pickle.dump(value, f, protocol=protocol)
        manifest["pickles"][name] = tagged(value)
    # Protocol 2 stores numpy scalar bytes through _codecs.encode, which is not allowed.
    with open(path("numpy_p2.pkl"), "wb") as f:
        pickle.dump([np.int64(1)], f, protocol=2)
    manifest["pickles_bad"] = {"numpy_p2.pkl": "_codecs.encode"}


# --------------------------------------------------------------------- npy

def npy_files():
    values = np.random.randn(3, 4)
    for name, arr, version in (("f4_v1", values.astype(np.float32), (1, 0)),
                               ("f2_v1", values.astype(np.float16), (1, 0)),
                               ("f8_v1", values, (1, 0)),
                               ("f4_v2", values.astype(np.float32).reshape(2, 6), (2, 0)),
                               ("f4_v3", values.astype(np.float32).reshape(12), (3, 0)),
                               ("f4_4d", np.random.randn(1, 2, 3, 2).astype(np.float32), (1, 0)),
                               ("f4_0d", np.array(1.25, dtype=np.float32), (1, 0))):
        with open(path("npy", name + ".npy"), "wb") as f:
            np.lib.format.write_array(f, arr, version=version)
        np.save(path("npy", name + ".expect.npy"), arr.astype(np.float32))
        manifest["npy"][name + ".npy"] = {"expect": name + ".expect.npy", "shape": list(arr.shape)}
    bad = {"fortran.npy": (np.asfortranarray(values.astype(np.float32)), "Fortran"),
           "int64.npy": (np.arange(3), "dtype"),
           "big_endian.npy": (values.astype(">f4"), "dtype"),
           "five_d.npy": (np.zeros((1, 1, 1, 1, 2), np.float32), "dimensions")}
    manifest["npy_bad"] = {}
    for name, (arr, word) in bad.items():
        np.save(path("npy", name), arr)
        manifest["npy_bad"][name] = word
    whole = open(path("npy", "f4_v1.npy"), "rb").read()
    for name, data, word in (("truncated.npy", whole[:-3], "truncated"),
                             ("longer.npy", whole + b"\0", "more data"),
                             ("magic.npy", b"\x93NUMPX" + whole[6:], "magic"),
                             ("header.npy", whole.replace(b"'shape'", b"'shapf'"), "unknown key")):
        with open(path("npy", name), "wb") as f:
            f.write(data)
        manifest["npy_bad"][name] = word


# ------------------------------------------------------------ malformed files

def write_zip(name, files):
    with zipfile.ZipFile(path(name), "w") as z:
        for entry, data in files.items():
            z.writestr(entry, data)


def bad_files(st_tensors):
    bad = manifest["bad"]
    with zipfile.ZipFile(path("whisper_like.pt")) as z:
        real = {i.filename: z.read(i.filename) for i in z.infolist()}
    pkl_name = next(n for n in real if n.endswith("/data.pkl"))
    folder = pkl_name[: -len("data.pkl")]

    # torch 2 writes <folder>/byteorder; only "little" is accepted.
    write_zip("byteorder_little.pt", dict(real, **{folder + "byteorder": b"little"}))
    manifest["weights"]["byteorder_little.pt"] = manifest["weights"]["whisper_like.pt"]
    write_zip("byteorder_big.pt", dict(real, **{folder + "byteorder": b"big"}))
    bad["byteorder_big.pt"] = "not little-endian"

    write_zip("bad_opcode.pt", {"archive/data.pkl": b"\x80\x02\xff.", "archive/version": b"3\n"})
    bad["bad_opcode.pt"] = "opcode 0xff"
    write_zip("bad_global.pt", {"archive/data.pkl": b"\x80\x02cos\nsystem\nq\x00.",
                                "archive/version": b"3\n"})
    bad["bad_global.pt"] = "os.system"
    write_zip("no_pickle.pt", {"archive/version": b"3\n"})
    bad["no_pickle.pt"] = "data.pkl"
    missing = dict(real)
    del missing[folder + "data/0"]
    write_zip("missing_storage.pt", missing)
    bad["missing_storage.pt"] = "missing"
    short = dict(real)
    short[folder + "data/0"] = short[folder + "data/0"][:10]
    write_zip("short_storage.pt", short)
    bad["short_storage.pt"] = "storage"
    corrupt = bytearray(open(path("deflated.pt"), "rb").read())
    with zipfile.ZipFile(path("deflated.pt")) as z:
        info = z.getinfo(pkl_name)
    at = info.header_offset + 30 + len(info.filename.encode()) + 5
    corrupt[at] ^= 0x55
    with open(path("bad_deflate.pt"), "wb") as f:
        f.write(corrupt)
    bad["bad_deflate.pt"] = "deflate"   # or a CRC mismatch; the test accepts both

    legacy = open(path("dtypes_legacy.pt"), "rb").read()
    with open(path("legacy_truncated.pt"), "wb") as f:
        f.write(legacy[:-3])
    bad["legacy_truncated.pt"] = "truncated"
    with open(path("legacy_trailing.pt"), "wb") as f:
        f.write(legacy + b"\0\0")
    bad["legacy_trailing.pt"] = "after the last storage"
    with open(path("legacy_version.pt"), "wb") as f:   # the format version 1001 -> 1002
        f.write(legacy.replace(b"M\xe9\x03.", b"M\xea\x03.", 1))
    bad["legacy_version.pt"] = "format version"

    with open(path("not_model.bin"), "wb") as f:
        f.write(b"hello, this is not a model file at all\n")
    bad["not_model.bin"] = "not a PyTorch checkpoint or safetensors file"

    def st(name, word, **kw):
        with open(path(name), "wb") as f:
            f.write(safetensors_bytes(st_tensors, **kw))
        bad[name] = word

    st("st_offsets.safetensors", "outside", overrides={"b": {"data_offsets": [0, 1000000]}})
    st("st_overlap.safetensors", "overlap", overrides={"b": {"data_offsets": [0, 10]}})
    st("st_size.safetensors", "bytes", overrides={"a.weight": {"shape": [3, 5]}})
    st("st_dtype.safetensors", "unsupported dtype", overrides={"b": {"dtype": "F8_E4M3"}})
    st("st_shape.safetensors", "shape", overrides={"b": {"shape": [-5]}})
    st("st_metadata.safetensors", "__metadata__", metadata={"format": 3})
    whole = open(path("model.safetensors"), "rb").read()
    with open(path("st_header_len.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(whole)) + whole[8:])
    bad["st_header_len.safetensors"] = "exceeds"
    with open(path("st_json.safetensors"), "wb") as f:
        f.write(whole[:20] + b"\x01" + whole[21:])
    bad["st_json.safetensors"] = "json"


# ------------------------------------------------------------------- seeds

def seeds():
    def seed(fuzzer, name, data):
        os.makedirs(path("seeds", fuzzer), exist_ok=True)
        with open(path("seeds", fuzzer, name), "wb") as f:
            f.write(data)

    for ckpt in ("dtypes.pt", "whisper_like.pt", "latents_like.pt"):
        with zipfile.ZipFile(path(ckpt)) as z:
            pkl = next(n for n in z.namelist() if n.endswith("data.pkl"))
            seed("pickle", ckpt + ".pkl", z.read(pkl))
    for name in ("coords.pkl", "misc_p4.pkl", "misc_p5.pkl"):
        seed("pickle", name, open(path(name), "rb").read())
    for name in ("whisper_like.pt", "latents_like.pt", "zip64.pt", "deflated.pt", "bad_opcode.pt", "dtypes_legacy.pt"):
        seed("zip_ckpt", name, open(path(name), "rb").read())
    seed("safetensors", "model.safetensors", open(path("model.safetensors"), "rb").read())
    seed("safetensors", "st_metadata.safetensors", open(path("st_metadata.safetensors"), "rb").read())
    st = open(path("model.safetensors"), "rb").read()
    seed("json", "safetensors_header.json", st[8: 8 + struct.unpack("<Q", st[:8])[0]])
    seed("json", "samples.json", json.dumps({"a": [1, -2.5e-3, True, None, "\u00e9\ud83d\ude00"],
                                             "b": {"c": "x\\y\n"}}).encode())
    for name in ("f4_v1", "f2_v1", "f8_v1", "f4_v2", "f4_0d"):
        seed("npy", name + ".npy", open(path("npy", name + ".npy"), "rb").read())


dtype_checkpoint()
whisper_like_checkpoint()
latents_like_checkpoint()
many_tensors_checkpoint()
zip_variants()
st_tensors = safetensors_files()
plain_pickles()
npy_files()
bad_files(st_tensors)
seeds()
with open(path("manifest.json"), "w") as f:
    json.dump(manifest, f, indent=1)
seed_json = open(path("manifest.json"), "rb").read()
with open(path("seeds", "json", "manifest.json"), "wb") as f:
    f.write(seed_json)
print("fixtures written to", OUT)
