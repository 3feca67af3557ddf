"""Byte-level BPE (GPT-2 byte-to-unicode form, llama-3 pre-tokenizer).

Token ids: 0..255 are the single bytes in GPT-2 byte-to-unicode order of
byte value (id b == byte b), then one id per merge in rank order, then the
special token <|endoftext|> (used as BOS / document separator).
"""
import json
import regex

PRETOKENIZE = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
               r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
PRE_RX = regex.compile(PRETOKENIZE)
EOT = "<|endoftext|>"


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


B2U = bytes_to_unicode()
U2B = {v: k for k, v in B2U.items()}


def pretokenize(text):
    return PRE_RX.findall(text)


class Tokenizer:
    def __init__(self, path):
        with open(path) as f:
            d = json.load(f)
        self.tokens = d["tokens"]            # GPT-2 unicode form strings
        self.merges = [tuple(m.split(" ")) for m in d["merges"]]
        self.eot_id = d["eot_id"]
        self.vocab_size = len(self.tokens)
        self.tok2id = {t: i for i, t in enumerate(self.tokens)}
        # rank of merge (pair of ids) -> merged id
        self.rank = {}
        for r, (a, b) in enumerate(self.merges):
            self.rank[(self.tok2id[a], self.tok2id[b])] = (r, self.tok2id[a + b])
        self.cache = {}

    def _word(self, w):
        ids = self.cache.get(w)
        if ids is not None:
            return ids
        ids = list(w.encode("utf-8"))
        rank = self.rank
        while len(ids) > 1:
            best = None
            for i in range(len(ids) - 1):
                r = rank.get((ids[i], ids[i + 1]))
                if r is not None and (best is None or r[0] < best[0]):
                    best = (r[0], r[1], i)
            if best is None:
                break
            _, new, _ = best
            a, b = ids[best[2]], ids[best[2] + 1]
            out, i = [], 0
            while i < len(ids):
                if i < len(ids) - 1 and ids[i] == a and ids[i + 1] == b:
                    out.append(new)
                    i += 2
                else:
                    out.append(ids[i])
                    i += 1
            ids = out
        if len(self.cache) < 2_000_000:
            self.cache[w] = ids
        return ids

    def encode(self, text):
        out = []
        for w in pretokenize(text):
            out.extend(self._word(w))
        return out

    def token_bytes(self, i):
        if i == self.eot_id:
            return b""
        return bytes(U2B[c] for c in self.tokens[i])

    def decode(self, ids):
        return b"".join(self.token_bytes(i) for i in ids)
