#!/usr/bin/env python3
"""Train a byte-level BPE tokenizer on the corpus (deterministic).

Vocabulary: 256 byte tokens (id == byte value), then merges in rank order,
then <|endoftext|>.  Ties between equally frequent pairs are broken by the
smallest (left id, right id), so the result is reproducible.
Usage: train_bpe.py --vocab 4096 [--corpus ...] [--out tokenizer.json]
"""
import argparse, collections, heapq, json, os, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bpe import B2U, EOT, pretokenize  # noqa: E402


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default=os.path.join(here, "corpus/corpus.txt"))
    ap.add_argument("--vocab", type=int, default=4096, help="total vocabulary incl. 256 bytes and 1 special")
    ap.add_argument("--max-bytes", type=int, default=0, help="train on a deterministic prefix of every Nth doc (0=all)")
    ap.add_argument("--out", default=os.path.join(here, "work/tokenizer.json"))
    a = ap.parse_args()
    t0 = time.time()
    data = open(a.corpus, "rb").read().decode("utf-8")
    docs = data.split("\x1e")
    if a.max_bytes and len(data) > a.max_bytes:
        step = max(1, round(len(data) / a.max_bytes))
        docs = docs[::step]
    wc = collections.Counter()
    for d in docs:
        wc.update(pretokenize(d))
    print("unique pre-tokens %d (%.1fs)" % (len(wc), time.time() - t0), file=sys.stderr)

    words = [list(w.encode("utf-8")) for w in wc]
    counts = list(wc.values())
    pair_cnt = collections.defaultdict(int)
    where = collections.defaultdict(set)
    for wi, (w, c) in enumerate(zip(words, counts)):
        for p in zip(w, w[1:]):
            pair_cnt[p] += c
            where[p].add(wi)
    heap = [(-c, p) for p, c in pair_cnt.items()]
    heapq.heapify(heap)
    tok = [B2U[b] for b in range(256)]
    merges = []
    n_merges = a.vocab - 256 - 1
    while len(merges) < n_merges and heap:
        c, p = heapq.heappop(heap)
        if pair_cnt.get(p, 0) != -c or -c <= 0:
            continue  # stale entry
        new = len(tok)
        tok.append(tok[p[0]] + tok[p[1]])
        merges.append(tok[p[0]] + " " + tok[p[1]])
        changed = collections.defaultdict(int)
        for wi in sorted(where.pop(p)):
            w = words[wi]
            cnt = counts[wi]
            for q in zip(w, w[1:]):
                changed[q] -= cnt
            out, i = [], 0
            while i < len(w):
                if i < len(w) - 1 and w[i] == p[0] and w[i + 1] == p[1]:
                    out.append(new)
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            words[wi] = out
            for q in zip(out, out[1:]):
                changed[q] += cnt
                where[q].add(wi)
        for q, d in changed.items():
            if d == 0:
                continue
            pair_cnt[q] += d
            if pair_cnt[q] > 0:
                heapq.heappush(heap, (-pair_cnt[q], q))
            else:
                pair_cnt.pop(q, None)
        pair_cnt.pop(p, None)
        if len(merges) % 500 == 0:
            print("merges %d  last %r count %d (%.1fs)" % (len(merges), tok[new], -c, time.time() - t0), file=sys.stderr)
    tok.append(EOT)
    eot = len(tok) - 1
    with open(a.out, "w") as f:
        json.dump({"tokens": tok, "merges": merges, "eot_id": eot,
                   "pre": "llama-bpe", "model": "gpt2"}, f, ensure_ascii=False)
    print("vocab %d written to %s (%.1fs)" % (len(tok), a.out, time.time() - t0), file=sys.stderr)


if __name__ == "__main__":
    main()
