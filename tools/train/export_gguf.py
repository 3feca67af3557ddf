#!/usr/bin/env python3
"""Export a training checkpoint to GGUF v3 (own writer, little-endian).

  export_gguf.py --ckpt work/run/ckpt.pt --tokenizer work/tokenizer.json \
                 --out models/szarc-default.gguf [--verify]

Tensors: F16 for matrices, F32 for norm vectors.  Dims are in ggml order
(ne[0] = innermost/input dimension): a PyTorch Linear weight [out, in] is
written with dims (in, out) and its row-major bytes unchanged.
"""
import argparse, json, os, struct, sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))

# GGUF value types
U8, I8, U16, I16, U32, I32, F32, BOOL, STR, ARR, U64, I64, F64 = range(13)
GGML_F32, GGML_F16 = 0, 1
ALIGN = 32


def _str(s):
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def _val(t, v):
    if t == STR:
        return _str(v)
    fmt = {U8: "B", I8: "b", U16: "H", I16: "h", U32: "I", I32: "i", F32: "f", BOOL: "?", U64: "Q", I64: "q",
           F64: "d"}[t]
    return struct.pack("<" + fmt, v)


def kv(key, t, v, elem_t=None):
    out = _str(key) + struct.pack("<I", t)
    if t == ARR:
        out += struct.pack("<IQ", elem_t, len(v))
        if elem_t == STR:
            out += b"".join(_str(x) for x in v)
        elif elem_t == I32:
            out += np.asarray(v, dtype="<i4").tobytes()
        else:
            out += b"".join(_val(elem_t, x) for x in v)
    else:
        out += _val(t, v)
    return out


def build_tensors(sd, cfg):
    """llama.cpp names -> numpy arrays (PyTorch layout [out, in])."""
    t = {"token_embd.weight": sd["tok.weight"]}
    for i in range(cfg["n_layers"]):
        p = "blocks.%d." % i
        q = "blk.%d." % i
        t[q + "attn_norm.weight"] = sd[p + "attn_norm.weight"]
        t[q + "attn_q.weight"] = sd[p + "wq.weight"]
        t[q + "attn_k.weight"] = sd[p + "wk.weight"]
        t[q + "attn_v.weight"] = sd[p + "wv.weight"]
        t[q + "attn_output.weight"] = sd[p + "wo.weight"]
        t[q + "ffn_norm.weight"] = sd[p + "ffn_norm.weight"]
        t[q + "ffn_gate.weight"] = sd[p + "w_gate.weight"]
        t[q + "ffn_up.weight"] = sd[p + "w_up.weight"]
        t[q + "ffn_down.weight"] = sd[p + "w_down.weight"]
    t["output_norm.weight"] = sd["norm.weight"]
    if not cfg["tied"]:
        t["output.weight"] = sd["out.weight"]
    return t


def write_gguf(path, cfg, tok, tensors, name="szarc-default"):
    hd = cfg["d_model"] // cfg["n_heads"]
    types = [1] * len(tok["tokens"])
    types[tok["eot_id"]] = 3
    kvs = [
        kv("general.architecture", STR, "llama"),
        kv("general.name", STR, name),
        kv("general.alignment", U32, ALIGN),
        kv("llama.context_length", U32, cfg["ctx"]),
        kv("llama.embedding_length", U32, cfg["d_model"]),
        kv("llama.block_count", U32, cfg["n_layers"]),
        kv("llama.feed_forward_length", U32, cfg["d_ff"]),
        kv("llama.attention.head_count", U32, cfg["n_heads"]),
        kv("llama.attention.head_count_kv", U32, cfg["n_kv_heads"]),
        kv("llama.rope.freq_base", F32, float(cfg["rope_base"])),
        kv("llama.rope.dimension_count", U32, hd),
        kv("llama.attention.layer_norm_rms_epsilon", F32, float(cfg["norm_eps"])),
        kv("llama.vocab_size", U32, len(tok["tokens"])),
        kv("tokenizer.ggml.model", STR, "gpt2"),
        kv("tokenizer.ggml.pre", STR, "llama-bpe"),
        kv("tokenizer.ggml.tokens", ARR, tok["tokens"], STR),
        kv("tokenizer.ggml.token_type", ARR, types, I32),
        kv("tokenizer.ggml.merges", ARR, tok["merges"], STR),
        kv("tokenizer.ggml.bos_token_id", U32, tok["eot_id"]),
        kv("tokenizer.ggml.eos_token_id", U32, tok["eot_id"]),
        kv("tokenizer.ggml.add_bos_token", BOOL, True),
    ]
    infos, blobs, off = [], [], 0
    for n, a in tensors.items():
        a = np.asarray(a)
        if a.ndim == 1:
            data = a.astype("<f4")
            gt = GGML_F32
        else:
            data = a.astype("<f2")
            gt = GGML_F16
        dims = list(reversed(a.shape))  # ggml order: ne[0] innermost
        off = (off + ALIGN - 1) // ALIGN * ALIGN
        infos.append(_str(n) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
                     + struct.pack("<IQ", gt, off))
        b = np.ascontiguousarray(data).tobytes()
        blobs.append((off, b))
        off += len(b)
    head = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kvs)) + b"".join(kvs) + b"".join(infos)
    pad = (-len(head)) % ALIGN
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(head + b"\0" * pad)
        pos = 0
        for o, b in blobs:
            f.write(b"\0" * (o - pos))
            f.write(b)
            pos = o + len(b)
    os.replace(tmp, path)


# ------------------------------------------------------------------ reader
def read_gguf(path):
    """Independent minimal reader: returns (kv dict, {name: np.ndarray in PyTorch layout})."""
    buf = open(path, "rb").read()
    pos = 0

    def rd(fmt):
        nonlocal pos
        v = struct.unpack_from("<" + fmt, buf, pos)
        pos += struct.calcsize("<" + fmt)
        return v[0] if len(v) == 1 else v

    def rstr():
        nonlocal pos
        n = rd("Q")
        s = buf[pos:pos + n].decode("utf-8")
        pos += n
        return s

    scal = {U8: "B", I8: "b", U16: "H", I16: "h", U32: "I", I32: "i", F32: "f", BOOL: "?", U64: "Q", I64: "q",
            F64: "d"}

    def rval(t):
        if t == STR:
            return rstr()
        if t == ARR:
            et, n = rd("I"), rd("Q")
            return [rval(et) for _ in range(n)]
        return rd(scal[t])

    assert buf[:4] == b"GGUF"
    pos = 4
    ver, nt, nkv = rd("I"), rd("Q"), rd("Q")
    assert ver == 3
    kvd = {}
    for _ in range(nkv):
        k = rstr()
        kvd[k] = rval(rd("I"))
    align = kvd.get("general.alignment", 32)
    infos = []
    for _ in range(nt):
        n = rstr()
        nd = rd("I")
        dims = [rd("Q") for _ in range(nd)]
        gt, off = rd("I"), rd("Q")
        infos.append((n, dims, gt, off))
    base = (pos + align - 1) // align * align
    ts = {}
    for n, dims, gt, off in infos:
        assert off % align == 0
        cnt = int(np.prod(dims))
        dt = {GGML_F32: "<f4", GGML_F16: "<f2"}[gt]
        a = np.frombuffer(buf, dtype=dt, count=cnt, offset=base + off)
        ts[n] = a.reshape(list(reversed(dims)))
    return kvd, ts


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", default=os.path.join(HERE, "work/run/ckpt.pt"))
    ap.add_argument("--tokenizer", default=os.path.join(HERE, "work/tokenizer.json"))
    ap.add_argument("--out", default=os.path.join(HERE, "../../models/szarc-default.gguf"))
    ap.add_argument("--verify", action="store_true")
    a = ap.parse_args()
    import torch
    ck = torch.load(a.ckpt, map_location="cpu")
    cfg = ck["cfg"]
    sd = {k: v.float().numpy() for k, v in ck["model"].items()}
    tok = json.load(open(a.tokenizer))
    assert len(tok["tokens"]) == cfg["vocab_size"]
    tensors = build_tensors(sd, cfg)
    write_gguf(a.out, cfg, tok, tensors)
    size = os.path.getsize(a.out)
    print("wrote %s: %d tensors, %.2f MiB, step %d" % (a.out, len(tensors), size / 2**20, ck["step"]))
    assert size <= 32 * 2**20
    if a.verify:
        kvd, ts = read_gguf(a.out)
        assert kvd["general.architecture"] == "llama" and kvd["tokenizer.ggml.tokens"] == tok["tokens"]
        assert kvd["tokenizer.ggml.merges"] == tok["merges"]
        worst = 0.0
        for n, arr in tensors.items():
            r = ts[n].astype(np.float32)
            assert r.shape == arr.shape, (n, r.shape, arr.shape)
            ref = arr.astype(np.float16).astype(np.float32) if arr.ndim == 2 else arr.astype(np.float32)
            assert np.array_equal(r, ref), n
            worst = max(worst, float(np.abs(r - arr).max()))
        print("verify OK: %d tensors read back identical (max |f16 - f32| = %.2e), %d KV pairs" % (
            len(ts), worst, len(kvd)))


if __name__ == "__main__":
    main()
