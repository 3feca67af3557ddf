#!/usr/bin/env python3
"""Activation ranges of a checkpoint on validation windows, against the
engine's fixed-point limits (attention values saturate at |v| >= 32, the
residual stream at about |h| >= 16384)."""
import argparse, os, sys

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from model import LM, Config  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", default=os.path.join(HERE, "work/run/ckpt.pt"))
    ap.add_argument("--data", default=os.path.join(HERE, "work/val.bin"))
    ap.add_argument("--windows", type=int, default=32)
    a = ap.parse_args()
    torch.set_num_threads(2)
    ck = torch.load(a.ckpt, map_location="cpu")
    cfg = Config(**ck["cfg"])
    m = LM(cfg)
    m.load_state_dict(ck["model"])
    m.eval()
    data = np.fromfile(a.data, dtype=np.uint16)
    g = torch.Generator().manual_seed(7)
    ix = torch.randint(0, len(data) - cfg.ctx, (a.windows,), generator=g)
    x = torch.stack([torch.from_numpy(data[i:i + cfg.ctx].astype(np.int64)) for i in ix.tolist()])
    st = {"resid": 0.0, "v": 0.0, "q": 0.0, "k": 0.0, "logit": 0.0}
    with torch.no_grad():
        h = m.tok(x)
        st["resid"] = h.abs().max().item()
        for b in m.blocks:
            n = b.attn_norm(h)
            for nm, w in (("q", b.wq), ("k", b.wk), ("v", b.wv)):
                st[nm] = max(st[nm], w(n).abs().max().item())
            h = b(h, m.cos, m.sin, m.mask)
            st["resid"] = max(st["resid"], h.abs().max().item())
        st["logit"] = (m.norm(h) @ m.head_weight().t()).abs().max().item()
    print("step %d, %d windows of %d tokens" % (ck["step"], a.windows, cfg.ctx))
    for k, v in st.items():
        print("  max |%s| = %.3f" % (k, v))
    print("  limits: |v| < 32 -> %s, |h| < 16384 -> %s" % (st["v"] < 32, st["resid"] < 16384))


if __name__ == "__main__":
    main()
