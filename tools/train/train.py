#!/usr/bin/env python3
"""Train the szarc default model (llama architecture) on the token stream.

  train.py --encode            # corpus -> work/tokens.bin (+ val split)
  train.py --steps N ...       # train (resumable with --resume)
  train.py --bench-eval CKPT   # float bits/byte on the bench files (eval only)
"""
import argparse, csv, hashlib, json, math, os, sys, time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bpe import Tokenizer  # noqa: E402
from model import LM, Config  # noqa: E402

WORK = os.path.join(HERE, "work")


def encode_corpus(tok_path, corpus, out_dir):
    tk = Tokenizer(tok_path)
    data = open(corpus, "rb").read().decode("utf-8")
    docs = data.split("\x1e")
    train, val = [], []
    nbytes = [0, 0]
    t0 = time.time()
    for i, d in enumerate(docs):
        ids = [tk.eot_id] + tk.encode(d)
        # deterministic ~1% validation split by document content hash
        is_val = hashlib.sha1(d.encode("utf-8")).digest()[0] < 3
        (val if is_val else train).extend(ids)
        nbytes[is_val] += len(d.encode("utf-8"))
        if i % 2000 == 0:
            print("encoded %d/%d docs (%.0fs)" % (i, len(docs), time.time() - t0), file=sys.stderr)
    np.array(train, dtype=np.uint16).tofile(os.path.join(out_dir, "train.bin"))
    np.array(val, dtype=np.uint16).tofile(os.path.join(out_dir, "val.bin"))
    info = {"train_tokens": len(train), "val_tokens": len(val), "train_bytes": nbytes[0], "val_bytes": nbytes[1],
            "bytes_per_token": nbytes[0] / max(1, len(train))}
    json.dump(info, open(os.path.join(out_dir, "tokens.json"), "w"), indent=1)
    print(info)


def lr_at(step, a):
    if a.restart:   # a second phase: fresh warm-up to LR at step S, cosine down to LR*min_frac at T
        s0, lr0, t = a.restart[0]
        for s1, t1 in a.restart[1:]:   # horizon changed at step s1 (a re-planned run)
            if step >= s1:
                t = t1
        if step >= s0:
            if step < s0 + a.warmup:
                return lr0 * (step - s0 + 1) / a.warmup
            p = min(1.0, (step - s0 - a.warmup) / max(1, t - s0 - a.warmup))
            return lr0 * (a.min_lr_frac + (1 - a.min_lr_frac) * 0.5 * (1 + math.cos(math.pi * p)))
    if step < a.warmup:
        return a.lr * (step + 1) / a.warmup
    total = a.steps
    for s0, t in a.resched_list:   # schedule horizon changed at step s0 (from a resumed run)
        if step >= s0:
            total = t
    p = min(1.0, (step - a.warmup) / max(1, total - a.warmup))
    return a.lr * (a.min_lr_frac + (1 - a.min_lr_frac) * 0.5 * (1 + math.cos(math.pi * p)))


def package_ranges(corpus, manifest, train, bos, pkgs):
    """Token ranges of train.bin that come from the given packages.  corpus.txt
    holds documents sorted by package name (build_corpus.py), so each
    document's package follows from the per-package byte totals in the
    manifest; train.bin is the same documents minus the validation ones, each
    starting with BOS.  Every step of the mapping is checked."""
    m = json.load(open(manifest))
    per = sorted(m["per_package_bytes"].items())
    docs = open(corpus, "rb").read().decode("utf-8").split("\x1e")
    starts = np.flatnonzero(train == bos)
    pi, used, ti, out = 0, 0, 0, []
    for d in docs:
        n = len(d.encode("utf-8"))
        while used == per[pi][1]:
            pi, used = pi + 1, 0
        used += n
        assert used <= per[pi][1], "corpus does not match manifest.json"
        if hashlib.sha1(d.encode("utf-8")).digest()[0] < 3:
            continue   # validation document
        if per[pi][0] in pkgs:
            end = starts[ti + 1] if ti + 1 < len(starts) else len(train)
            out.append((int(starts[ti]), int(end)))
        ti += 1
    assert ti == len(starts) and pi == len(per) - 1 and used == per[pi][1], "train.bin does not match corpus.txt"
    return out


def get_batch(data, bs, ctx, gen, bos):
    """Windows as the engine codes them: every chunk of ctx tokens is fed
    starting with <|endoftext|> (BOS), i.e. x = [BOS, t0 .. t_{ctx-2}],
    y = [t0 .. t_{ctx-1}]."""
    ix = torch.randint(0, len(data) - ctx, (bs,), generator=gen)
    y = torch.stack([torch.from_numpy(data[i:i + ctx].astype(np.int64)) for i in ix.tolist()])
    x = torch.cat([torch.full((bs, 1), bos, dtype=torch.long), y[:, :-1]], dim=1)
    return x, y


@torch.no_grad()
def eval_loss(model, data, ctx, bs, n_batches, device, bos):
    model.eval()
    gen = torch.Generator().manual_seed(1234)
    tot, n = 0.0, 0
    for _ in range(n_batches):
        x, y = get_batch(data, bs, ctx, gen, bos)
        logits = model(x.to(device))
        tot += F.cross_entropy(logits.flatten(0, 1), y.to(device).flatten(), reduction="sum").item()
        n += y.numel()
    model.train()
    return tot / n


@torch.no_grad()
def bench_bpb(model, tk, path, device, ctx=None):
    """bits/byte exactly as the engine codes a file: the token sequence is cut
    into consecutive chunks of ctx tokens, each coded independently and fed
    starting with <|endoftext|> (BOS); teacher-forced."""
    model.eval()
    ctx = ctx or model.cfg.ctx
    raw = open(path, "rb").read()
    ids = tk.encode(raw.decode("utf-8"))
    assert tk.decode(ids) == raw, "tokenizer round trip failed on %s" % path
    bits = 0.0
    seq = torch.tensor(ids, dtype=torch.long)
    for s in range(0, len(ids), ctx):
        y = seq[s:s + ctx]
        x = torch.cat([torch.tensor([tk.eot_id]), y[:-1]])
        logits = model(x.unsqueeze(0).to(device))[0]
        bits += F.cross_entropy(logits, y.to(device), reduction="sum").item() / math.log(2)
    model.train()
    return bits / len(raw), len(ids)


def _is_utf8(b):
    try:
        b.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def save_ckpt(path, model, opt, step, args, gen, extra):
    tmp = path + ".tmp"
    torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "cfg": model.cfg.to_dict(),
                "args": vars(args), "gen": gen.get_state(), "extra": extra}, tmp)
    os.replace(tmp, path)


def plot_loss(csv_path, png_path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rows = list(csv.DictReader(open(csv_path)))
    if not rows:
        return
    st = [int(r["step"]) for r in rows]
    tl = [float(r["train_loss"]) for r in rows]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(st, tl, label="train (smoothed)", lw=1)
    vs = [(int(r["step"]), float(r["val_loss"])) for r in rows if r["val_loss"]]
    if vs:
        ax.plot([a for a, _ in vs], [b for _, b in vs], "o-", label="validation", ms=3)
    ax.set_xlabel("step")
    ax.set_ylabel("cross-entropy (nats/token)")
    ax.set_title("szarc-default training loss")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(png_path, dpi=110)
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--encode", action="store_true")
    ap.add_argument("--tokenizer", default=os.path.join(WORK, "tokenizer.json"))
    ap.add_argument("--corpus", default=os.path.join(HERE, "corpus/corpus.txt"))
    ap.add_argument("--data", default=WORK)
    ap.add_argument("--out", default=os.path.join(WORK, "run"))
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--d-model", type=int, default=256)
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--kv-heads", type=int, default=2)
    ap.add_argument("--d-ff", type=int, default=704)
    ap.add_argument("--ctx", type=int, default=256)
    ap.add_argument("--untied", action="store_true")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--min-lr-frac", type=float, default=0.05)
    ap.add_argument("--wd", type=float, default=0.1)
    ap.add_argument("--clip", type=float, default=1.0)
    ap.add_argument("--eval-every", type=int, default=200)
    ap.add_argument("--ckpt-minutes", type=float, default=4.0)
    ap.add_argument("--export-cmd", default="", help="shell command run after each checkpoint (e.g. export)")
    ap.add_argument("--max-minutes", type=float, default=0, help="stop (with checkpoint) after this wall time")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--resched", default="", help="S:T[,S:T]: from step S on, the cosine schedule ends at T "
                    "(records a horizon change made while resuming, so a rerun reproduces it)")
    ap.add_argument("--restart", default="", help="S:LR:T[,S2:T2]: from step S on, warm up again to LR and decay "
                    "to T (from step S2 on, to T2)")
    ap.add_argument("--mix", default="", help="comma-separated packages to over-sample")
    ap.add_argument("--mix-frac", type=float, default=0.0, help="share of each batch drawn from --mix packages")
    ap.add_argument("--bench-eval", default="", help="checkpoint to evaluate on the bench files")
    ap.add_argument("--bench-dir", default=os.path.join(HERE, "../../../shared/bench/canterbury"))
    ap.add_argument("--loss-png", default="")
    a = ap.parse_args()
    if a.restart:
        parts = [x.split(":") for x in a.restart.split(",")]
        a.restart = [(int(parts[0][0]), float(parts[0][1]), int(parts[0][2]))] + \
            [(int(x[0]), int(x[1])) for x in parts[1:]]
    else:
        a.restart = None
    a.resched_list = [tuple(int(v) for v in x.split(":")) for x in a.resched.split(",") if x]

    torch.set_num_threads(a.threads)
    if a.encode:
        encode_corpus(a.tokenizer, a.corpus, a.data)
        return
    dev = ("cuda" if torch.cuda.is_available() else "cpu") if a.device == "auto" else a.device

    if a.bench_eval:
        ck = torch.load(a.bench_eval, map_location="cpu")
        model = LM(Config(**ck["cfg"])).to(dev)
        model.load_state_dict(ck["model"])
        tk = Tokenizer(a.tokenizer)
        res = {}
        for f in ("alice29.txt", "asyoulik.txt", "lcet10.txt", "plrabn12.txt"):
            bpb, nt = bench_bpb(model, tk, os.path.join(a.bench_dir, f), dev)
            res[f] = {"bpb": round(bpb, 4), "tokens": nt}
            print("%-14s %.4f bits/byte  (%d tokens)" % (f, bpb, nt), flush=True)
        json.dump(res, open(os.path.join(os.path.dirname(a.bench_eval), "bench_bpb.json"), "w"), indent=1)
        return

    torch.manual_seed(a.seed)
    np.random.seed(a.seed)
    os.makedirs(a.out, exist_ok=True)
    train = np.fromfile(os.path.join(a.data, "train.bin"), dtype=np.uint16)
    val = np.fromfile(os.path.join(a.data, "val.bin"), dtype=np.uint16)
    tk = Tokenizer(a.tokenizer)
    cfg = Config(vocab_size=tk.vocab_size, d_model=a.d_model, n_layers=a.layers, n_heads=a.heads,
                 n_kv_heads=a.kv_heads, d_ff=a.d_ff, ctx=a.ctx, tied=not a.untied)
    model = LM(cfg).to(dev)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    nodecay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.wd}, {"params": nodecay, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.95), eps=1e-8)
    gen = torch.Generator().manual_seed(a.seed)
    ckpt_path = os.path.join(a.out, "ckpt.pt")
    csv_path = os.path.join(a.out, "loss.csv")
    step, extra = 0, {"elapsed": 0.0, "tokens": 0}
    if a.resume and os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path, map_location="cpu")
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        gen.set_state(ck["gen"])
        step, extra = ck["step"], ck["extra"]
        print("resumed at step %d" % step, flush=True)
        if os.path.exists(csv_path):  # drop log rows past the checkpoint
            lines = open(csv_path).read().splitlines()
            keep = [lines[0]] + [l for l in lines[1:] if int(l.split(",")[0]) <= step]
            open(csv_path, "w").write("\n".join(keep) + "\n")
    else:
        with open(csv_path, "w") as f:
            f.write("step,tokens,elapsed_s,lr,train_loss,val_loss\n")
    print("params %d (non-embedding %d), device %s, train tokens %d, val tokens %d" % (
        model.n_params(), model.n_params() - model.tok.weight.numel(), dev, len(train), len(val)), flush=True)
    print(json.dumps(cfg.to_dict()), flush=True)

    lit = None
    if a.mix:
        pkgs = set(a.mix.split(","))
        rng = package_ranges(a.corpus, os.path.join(os.path.dirname(a.corpus), "manifest.json"), train,
                             tk.eot_id, pkgs)
        lit = np.concatenate([train[s:e] for s, e in rng])
        print("mix: %.0f%% of each batch from %s (%d documents, %d tokens)" % (
            100 * a.mix_frac, ",".join(sorted(pkgs)), len(rng), len(lit)), flush=True)

    t_start = time.time() - extra["elapsed"]
    t_ck = time.time()
    run_loss = None
    t_log = time.time()
    while step < a.steps:
        lr = lr_at(step, a)
        for g in opt.param_groups:
            g["lr"] = lr
        if lit is not None:
            k = round(a.batch * a.mix_frac)
            x1, y1 = get_batch(train, a.batch - k, a.ctx, gen, tk.eot_id)
            x2, y2 = get_batch(lit, k, a.ctx, gen, tk.eot_id)
            x, y = torch.cat([x1, x2]), torch.cat([y1, y2])
        else:
            x, y = get_batch(train, a.batch, a.ctx, gen, tk.eot_id)
        x, y = x.to(dev), y.to(dev)
        logits = model(x)
        loss = F.cross_entropy(logits.flatten(0, 1), y.flatten())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if a.clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), a.clip)
        opt.step()
        step += 1
        extra["tokens"] += x.numel()
        li = loss.item()
        run_loss = li if run_loss is None else 0.98 * run_loss + 0.02 * li
        vl = ""
        if step % a.eval_every == 0 or step == a.steps:
            vl = "%.4f" % eval_loss(model, val, a.ctx, 16, 8, dev, tk.eot_id)
        if step % 10 == 0 or vl:
            el = time.time() - t_start
            extra["elapsed"] = el
            with open(csv_path, "a") as f:
                f.write("%d,%d,%.1f,%.6g,%.4f,%s\n" % (step, extra["tokens"], el, lr, run_loss, vl))
            if step % 50 == 0 or vl:
                print("step %d loss %.4f val %s lr %.2e tok/s %.0f elapsed %.1fmin" % (
                    step, run_loss, vl or "-", lr, 10 * x.numel() / (time.time() - t_log) if step % 10 == 0 else 0,
                    el / 60), flush=True)
            t_log = time.time()
        stop = a.max_minutes and (time.time() - t_start) > a.max_minutes * 60
        if time.time() - t_ck > a.ckpt_minutes * 60 or step == a.steps or stop:
            extra["elapsed"] = time.time() - t_start
            save_ckpt(ckpt_path, model, opt, step, a, gen, extra)
            if a.loss_png:
                plot_loss(csv_path, a.loss_png)
            if a.export_cmd:
                os.system(a.export_cmd)
            t_ck = time.time()
            print("checkpoint at step %d" % step, flush=True)
        if stop:
            print("stopping: max minutes reached", flush=True)
            break
    print("done: step %d, %.1f min, %d tokens" % (step, (time.time() - t_start) / 60, extra["tokens"]), flush=True)


if __name__ == "__main__":
    main()
