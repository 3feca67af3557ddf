#!/usr/bin/env python3
"""Writes the pre-tokenizer golden files pre_<set>.txt used by tests/test_tok.c.

Each line: the input as hex, a space, and the byte lengths of the expected
pieces separated by commas ("-" for none). The expected split comes from
Python's `regex` module (the trainer's), applying several regexes in turn as
llama.cpp does: each splits the pieces of the previous one, and text between
matches is kept as a piece. Regenerate with: python3 make_pre_golden.py
(needs `regex`; the files record the version used)."""
import random
import regex

LLAMA3 = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
QWEN2 = LLAMA3.replace(r"\p{N}{1,3}", r"\p{N}")
GPT2 = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)"
SETS = {
    "llama-bpe": [LLAMA3],
    "qwen2": [QWEN2],
    "gpt2": [GPT2],
    "smollm": [r"\p{N}", GPT2],
}

FIXED = ["I'm", "don't", "  hello\n\n world", "abc123456", "x  \n y", "", " ", "\n",
         "Hello, World! It's 2024.", "WE'LL SEE", "they'RE here", "\r\n\r\n", "a\tb",
         "   ", "x \t\ny", "1234567", "..., ...", "ſ'ſ 'ſ", "мир'S", "tab\t\tend\t",
         "中文字符123", "😀😀 😀", "\u0301a\u0301", "a\u180eb", "a\u0085b", "a\xa0b",
         "\x1c\x1d x", "'''", " 's", "x's's", "\u088f\U00011f02 \U0001e4f0\U0001e4f1"]

ATOMS = ["a", "B", "z", "the", " ", "  ", "\t", "\n", "\r", "\r\n", "\x0b", "\x0c", "\x1c",
         "\x85", "\xa0", "\u180e", "\u2003", "\u3000", "1", "2", "9", "\u0663", "\xbd", "'",
         "'s", "'S", "'ll", "'LL", "'\u017f", "'re", "'ve", "'d", "'t", "'m", ".", ",", "!",
         "-", "_", "$", "\U0001f600", "\u0416", "\u0436", "\u03bb", "\u4e2d", "\u6587",
         "\u0627", "\u0628", "\u0301", "\u088f", "\U00011f02", "\U0001e4f0", "\U000105c0",
         "\xe9", "\u200d", "\x00", "\u2581"]


def split(res, text):
    frags = [text]
    for r in res:
        out = []
        for f in frags:
            last = 0
            for m in r.finditer(f):
                if m.start() == m.end():
                    continue
                if m.start() > last:
                    out.append(f[last:m.start()])
                out.append(m.group())
                last = m.end()
            if last < len(f):
                out.append(f[last:])
        frags = out
    return frags


def main():
    rnd = random.Random(1234)
    cases = list(FIXED)
    for _ in range(600):
        cases.append("".join(rnd.choice(ATOMS) for _ in range(rnd.randint(1, 24))))
    for name, pats in SETS.items():
        res = [regex.compile(p) for p in pats]
        with open("pre_%s.txt" % name, "w") as f:
            f.write("# python regex %s; input-hex piece-lengths\n" % regex.__version__)
            for c in cases:
                pieces = split(res, c)
                assert "".join(pieces) == c
                lens = ",".join(str(len(p.encode())) for p in pieces) or "-"
                f.write("%s %s\n" % (c.encode().hex() or "-", lens))


if __name__ == "__main__":
    main()
