#!/usr/bin/env python3
"""Build the szarc training corpus from free Debian (main) packages.

Deterministic: pinned package versions, fetched with `apt-get download`,
unpacked with `dpkg-deb -x` (never installed), converted to plain text with
the small converters below, deduplicated by paragraph hash, sorted.

It PROVES that no 50-byte substring of the evaluation files in
../shared/bench/canterbury occurs in the corpus (raw bytes and
whitespace/case-normalised text), dropping offending paragraphs.

Output: <work>/corpus/corpus.txt  documents separated by the byte 0x1e
        <work>/corpus/manifest.json  packages, versions, sizes, check results
"""
import argparse, glob, gzip, hashlib, html, json, os, re, subprocess, sys

# package -> (version, license summary, what we take)
PACKAGES = [
    ("bible-kjv-text", "4.38", "KJV text public domain (expired 1611 crown copyright outside UK); packaging GPL-2+"),
    ("bible-kjv", "4.38", "GPL-2+ (only its `bible` program is run, unpacked, to decode bible-kjv-text)"),
    ("fortunes", "1:1.99.1-7.3", "BSD-4-clause-UC (fortune-mod)"),
    ("fortunes-min", "1:1.99.1-7.3", "BSD-4-clause-UC (fortune-mod)"),
    ("debian-reference-en", "2.100", "GPL-2+"),
    ("debian-handbook", "11.20220922", "GPL-2+ or CC-BY-SA-3.0 (English part only)"),
    ("debian-policy", "4.6.2.0", "GPL-2+, BSD-3-clause, FHS"),
    ("developers-reference", "12.18", "GPL-2"),
    ("maint-guide", "1.2.53", "GPL-2+ / MIT"),
    ("debian-faq", "11.1", "SPI permissive: verbatim and modified copies permitted"),
    ("python3.11-doc", "3.11.2-6+deb12u9", "PSF-2 (Python documentation)"),
    ("perl-doc", "5.36.0-7+deb12u4", "GPL-1+ or Artistic (Perl)"),
    ("manpages", "6.03-2", "Linux-man-pages-copyleft, GPL-2+, BSD, Expat (DFSG-free)"),
    ("manpages-dev", "6.03-2", "Linux-man-pages-copyleft, GPL-2+, BSD, Expat (DFSG-free)"),
    ("gnu-standards", "2022.03.23-0.1", "GFDL-1.3+, no invariant sections"),
    ("dict-gcide", "0.48.5+nmu2", "GPL-2+ (GCIDE, from Webster 1913 + WordNet); every third 64 KiB chunk used"),
    ("jargon-text", "4.4.7-4.1", "public domain"),
    ("dict-devil", "1.0-13.1", "public domain (Ambrose Bierce, The Devil's Dictionary)"),
    ("git-doc", "1:2.39.5-0+deb12u3", "GPL-2"),
    ("bash-doc", "5.2.15-2", "GFDL-1.3, no invariant sections / GPL-3+"),
]

SEP = "\x1e"
WIN = 50


# ---------------------------------------------------------------- converters
BLOCK_TAGS = r"(p|div|br|h[1-6]|li|ul|ol|dl|dt|dd|pre|table|tr|td|th|section|blockquote|title|hr|article|header|footer|nav|figure|caption)"


def html_to_text(s):
    s = re.sub(r"(?is)<(script|style|head)\b.*?</\1\s*>", "", s)
    s = re.sub(r"(?s)<!--.*?-->", "", s)
    # keep preformatted blocks' line structure; elsewhere collapse whitespace
    parts = re.split(r"(?is)(<pre\b.*?</pre\s*>)", s)
    out = []
    for part in parts:
        if re.match(r"(?is)<pre\b", part):
            t = re.sub(r"(?s)<[^>]*>", "", part)
            out.append("\n\n" + html.unescape(t) + "\n\n")
        else:
            t = re.sub(r"(?is)</?" + BLOCK_TAGS + r"\b[^>]*>", "\n\n", part)
            t = re.sub(r"(?s)<[^>]*>", "", t)
            t = html.unescape(t)
            t = re.sub(r"[ \t\r\f\v\u00a0]+", " ", t)
            t = re.sub(r" *\n *", "\n", t)
            out.append(t)
    t = "".join(out)
    t = re.sub(r"\n{3,}", "\n\n", t)
    return t


ROFF_ESC = [
    (r"\\f\[[^\]]*\]", ""), (r"\\f\(..", ""), (r"\\f.", ""),
    (r"\\\(em", "--"), (r"\\\(en", "-"), (r"\\\(bu", "*"), (r"\\\(aq", "'"),
    (r"\\\(dq", '"'), (r"\\\(lq", '"'), (r"\\\(rq", '"'), (r"\\\(oq", "'"),
    (r"\\\(cq", "'"), (r"\\\(co", "(C)"), (r"\\\(rg", "(R)"), (r"\\\(ti", "~"),
    (r"\\\(ha", "^"), (r"\\\(mu", "x"), (r"\\\(..", ""), (r"\\\[[^\]]*\]", ""),
    (r"\\\*\(..", ""), (r"\\\*\[[^\]]*\]", ""), (r"\\\*.", ""),
    (r"\\s[+-]?\d", ""), (r"\\[&|^%:]", ""), (r"\\-", "-"), (r"\\e", "\\\\"),
    (r"\\ ", " "), (r"\\~", " "), (r"\\0", " "), (r"\\c", ""), (r"\\\.", "."),
    (r"\\'", "'"), (r"\\`", "`"), (r"\\\"", ""),
]
ROFF_ESC = [(re.compile(a), b) for a, b in ROFF_ESC]


def roff_line(s):
    for rx, rep in ROFF_ESC:
        s = rx.sub(rep, s)
    s = s.replace("\\\\", "\\")
    return s


def roff_to_text(s):
    out = []
    for line in s.split("\n"):
        if line.startswith(".\\\"") or line.startswith("'\\\"") or line.startswith("\\\""):
            continue
        if line.startswith(".") or line.startswith("'"):
            m = re.match(r"[.'](\S+)\s*(.*)", line)
            if not m:
                continue
            mac, arg = m.group(1), m.group(2)
            if mac in ("SH", "SS"):
                out.append("")
                out.append(roff_line(arg.replace('"', "")))
            elif mac in ("B", "I", "SM", "SB"):
                out.append(roff_line(arg.replace('"', "")))
            elif mac in ("BR", "BI", "IR", "IB", "RB", "RI"):
                toks = re.findall(r'"[^"]*"|\S+', arg)
                out.append(roff_line("".join(t.strip('"') for t in toks)))
            elif mac in ("PP", "P", "LP", "TP", "IP", "sp", "br", "HP"):
                out.append("")
                if mac == "IP" and arg:
                    toks = re.findall(r'"[^"]*"|\S+', arg)
                    if toks:
                        out.append(roff_line(toks[0].strip('"')))
            elif mac == "TH":
                continue
            continue
        out.append(roff_line(line))
    t = "\n".join(out)
    t = re.sub(r"\n{3,}", "\n\n", t)
    return t


def pod_to_text(s):
    out = []
    for line in s.split("\n"):
        if line.startswith("="):
            m = re.match(r"=(head\d|item)\s*(.*)", line)
            if m:
                out.append("")
                out.append(m.group(2))
                out.append("")
            continue
        out.append(line)
    t = "\n".join(out)
    for _ in range(3):
        t = re.sub(r"[A-Z]<<+\s+(.*?)\s+>+>", r"\1", t)
        t = re.sub(r"[IBCFSLEXZ]<([^<>]*)>", lambda m: m.group(1) if m.group(0)[0] != "X" else "", t)
    t = t.replace("E<lt>", "<").replace("E<gt>", ">")
    t = re.sub(r"\n{3,}", "\n\n", t)
    return t


def dict_entries(s):
    """dictd .dict body: entries are separated by blank line + headword lines;
    we simply drop the 00-database-* header and source tags."""
    s = re.sub(r"\[(1913 Webster|WordNet 1\.5|PJC|Webster 1913 Suppl\.|Century Dict\.|RH)[^\]]*\]", "", s)
    lines = [l.rstrip() for l in s.split("\n")]
    return "\n".join(lines)


def read(path):
    if path.endswith(".gz") or path.endswith(".dz"):
        with gzip.open(path, "rb") as f:
            b = f.read()
    else:
        with open(path, "rb") as f:
            b = f.read()
    return b.decode("utf-8", errors="replace")


def kjv_docs(x):
    exe = os.path.join(x, "bible-kjv/usr/bin/bible")
    data = os.path.join(x, "bible-kjv-text/usr/lib")
    out = subprocess.run([exe, "-p", data, "-l", "72", "Gen1:1-Rev22:21"],
                         capture_output=True, check=True, env={"COLUMNS": "72", "PATH": "/usr/bin:/bin"}).stdout
    text = out.decode("utf-8", errors="replace")
    # split into chapters: header lines like "Genesis 1"
    docs, cur = [], []
    for line in text.split("\n"):
        if re.match(r"^\S.* \d+$", line) and cur:
            docs.append("\n".join(cur))
            cur = []
        cur.append(re.sub(r"^  \d+ ", "", line))
    if cur:
        docs.append("\n".join(cur))
    return [("bible-kjv-text", "kjv/%05d" % i, d) for i, d in enumerate(docs)]


def collect(x):
    docs = []  # (pkg, relpath, text)

    def add_files(pkg, pattern, conv):
        for p in sorted(glob.glob(os.path.join(x, pkg, pattern), recursive=True)):
            if os.path.isfile(p):
                docs.append((pkg, os.path.relpath(p, os.path.join(x, pkg)), conv(read(p))))

    docs += kjv_docs(x)
    for pkg in ("fortunes", "fortunes-min"):
        for p in sorted(glob.glob(os.path.join(x, pkg, "usr/share/games/fortunes/*"))):
            if os.path.isfile(p) and "." not in os.path.basename(p):
                for i, f in enumerate(re.split(r"\n%\n", read(p))):
                    if f.strip():
                        docs.append((pkg, "%s#%05d" % (os.path.basename(p), i), f))
    add_files("debian-reference-en", "usr/share/debian-reference/**/*.en.html", html_to_text)
    add_files("debian-handbook", "usr/share/doc/debian-handbook/html/en-US/*.html", html_to_text)
    add_files("debian-policy", "usr/share/doc/debian-policy/*.txt*", lambda s: s)
    add_files("developers-reference", "usr/share/developers-reference/_sources/*.rst.txt", lambda s: s)
    add_files("maint-guide", "usr/share/doc/maint-guide/html/*.en.html", html_to_text)
    add_files("debian-faq", "usr/share/doc/debian/FAQ/*.html", html_to_text)
    add_files("python3.11-doc", "usr/share/doc/python3.11/html/_sources/**/*.txt", lambda s: s)
    add_files("perl-doc", "usr/share/perl/*/pod/*.pod", pod_to_text)
    add_files("manpages", "usr/share/man/man*/*.gz", roff_to_text)
    add_files("manpages-dev", "usr/share/man/man*/*.gz", roff_to_text)
    add_files("gnu-standards", "usr/share/doc/gnu-standards/*.text.gz", lambda s: s)
    add_files("jargon-text", "usr/share/doc/jargon-text/jargon.txt.gz", lambda s: s)
    add_files("git-doc", "usr/share/doc/git-doc/*.txt", lambda s: s)
    add_files("bash-doc", "usr/share/doc/bash/*.html", html_to_text)
    for pkg, name in (("dict-gcide", "gcide"), ("dict-devil", "devil")):
        body = dict_entries(read(os.path.join(x, pkg, "usr/share/dictd/%s.dict.dz" % name)))
        # chunk into ~64 KiB documents at blank lines so dedup/sort work per chunk
        paras = body.split("\n\n")
        cur, n, k = [], 0, 0
        for p in paras:
            if p.lstrip().startswith("00-database"):
                continue
            if name == "gcide" and k % 3:
                # GCIDE alone would be ~45% of the corpus: keep every third chunk
                cur.append(p)
                n += len(p)
                if n > 65536:
                    cur, n, k = [], 0, k + 1
                continue
            cur.append(p)
            n += len(p)
            if n > 65536:
                docs.append((pkg, "%s#%05d" % (name, k), "\n\n".join(cur)))
                cur, n, k = [], 0, k + 1
        if cur and not (name == "gcide" and k % 3):
            docs.append((pkg, "%s#%05d" % (name, k), "\n\n".join(cur)))
    return docs


def clean(text):
    text = text.replace(SEP, "").replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\ufffd", "")
    text = "\n".join(l.rstrip() for l in text.split("\n"))
    text = re.sub(r"\n{3,}", "\n\n", text).strip("\n")
    return text


def norm_ws(b):
    return re.sub(rb"\s+", b" ", b).lower()


def bench_windows(bench_dir, files):
    raw, nrm = set(), set()
    for f in files:
        b = open(os.path.join(bench_dir, f), "rb").read()
        for v in (b, b.replace(b"\r\n", b"\n")):
            for i in range(len(v) - WIN + 1):
                raw.add(v[i:i + WIN])
        n = norm_ws(b)
        for i in range(len(n) - WIN + 1):
            nrm.add(n[i:i + WIN])
    return raw, nrm


def hits(b, wins):
    """the first 50-byte window of b that occurs in wins, else None"""
    for i in range(len(b) - WIN + 1):
        if b[i:i + WIN] in wins:
            return b[i:i + WIN]
    return None


def doc_hits(text, raw_w, nrm_w):
    b = text.encode("utf-8")
    return hits(b, raw_w) or hits(b.replace(b"\n", b"\r\n"), raw_w) or hits(norm_ws(b), nrm_w)


def main():
    ap = argparse.ArgumentParser()
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--work", default=os.path.join(here, "work"))
    ap.add_argument("--out", default=os.path.join(here, "corpus"))
    ap.add_argument("--bench", default=os.path.join(here, "../../../shared/bench/canterbury"))
    ap.add_argument("--no-download", action="store_true")
    ap.add_argument("--crlf-every", type=int, default=3,
                    help="every Nth document (by hash) gets CRLF line ends, as 3 of 4 bench files use CRLF")
    a = ap.parse_args()
    debs, x = os.path.join(a.work, "debs"), os.path.join(a.work, "x")
    os.makedirs(debs, exist_ok=True)
    os.makedirs(a.out, exist_ok=True)
    for pkg, ver, _ in PACKAGES:
        fn = glob.glob(os.path.join(debs, "%s_*.deb" % pkg))
        if not fn and not a.no_download:
            subprocess.run(["apt-get", "download", "%s=%s" % (pkg, ver)], cwd=debs, check=True)
            fn = glob.glob(os.path.join(debs, "%s_*.deb" % pkg))
        assert len(fn) == 1, (pkg, fn)
        d = os.path.join(x, pkg)
        if not os.path.isdir(d):
            os.makedirs(d)
            subprocess.run(["dpkg-deb", "-x", fn[0], d], check=True)

    docs = collect(x)
    docs.sort(key=lambda t: (t[0], t[1]))
    print("documents collected:", len(docs), file=sys.stderr)

    bench_files = ["alice29.txt", "asyoulik.txt", "lcet10.txt", "plrabn12.txt"]
    extra = [f for f in sorted(os.listdir(a.bench)) if f in ("html", "urls.10K")]
    raw_w, nrm_w = bench_windows(a.bench, bench_files + extra)
    print("bench 50-byte windows: raw %d normalised %d" % (len(raw_w), len(nrm_w)), file=sys.stderr)

    seen = set()
    stats = {"overlap_by_package": {}, "boundary_dropped": 0, "docs_dropped": 0, "paragraphs_in": 0, "dup_dropped": 0, "overlap_dropped": 0, "overlap_examples": []}
    per_pkg = {}
    out_docs = []
    for pkg, rel, text in docs:
        text = clean(text)
        keep = []
        for para in text.split("\n\n"):
            if not para.strip():
                continue
            stats["paragraphs_in"] += 1
            key = hashlib.sha1(re.sub(r"\s+", " ", para).strip().encode()).digest()
            if key in seen:
                stats["dup_dropped"] += 1
                continue
            seen.add(key)
            b = para.encode("utf-8")
            w = hits(b, raw_w) or hits(norm_ws(b), nrm_w)
            if w:
                stats["overlap_dropped"] += 1
                # "text": the shared window holds >= 20 letters (real prose);
                # "layout": rules, runs of spaces/punctuation, tables
                kind = "text" if sum(c.isalpha() for c in w.decode("utf-8", "replace")) >= 20 else "layout"
                bp = stats["overlap_by_package"].setdefault(pkg, {"text": 0, "layout": 0})
                bp[kind] += 1
                if kind == "text" and len(stats["overlap_examples"]) < 40:
                    stats["overlap_examples"].append("%s:%s: %r" % (pkg, rel, w.decode("utf-8", "replace")))
                continue
            keep.append(para)
        # windows that straddle paragraph boundaries: drop the later paragraph
        # of any offending adjacent pair; if a window still spans three or
        # more paragraphs, drop the whole document
        if keep and doc_hits("\n\n".join(keep), raw_w, nrm_w):
            kept = [keep[0]]
            for p in keep[1:]:
                if doc_hits(kept[-1][-WIN:] + "\n\n" + p[:WIN], raw_w, nrm_w):
                    stats["overlap_dropped"] += 1
                    stats["boundary_dropped"] += 1
                else:
                    kept.append(p)
            keep = kept
            if doc_hits("\n\n".join(keep), raw_w, nrm_w):
                stats["overlap_dropped"] += len(keep)
                stats["docs_dropped"] += 1
                keep = []
        if not keep:
            continue
        d = "\n\n".join(keep) + "\n"
        h = hashlib.sha1((pkg + "/" + rel).encode()).digest()
        if a.crlf_every and h[0] % a.crlf_every == 0:
            d = d.replace("\n", "\r\n")
        out_docs.append(d)
        per_pkg[pkg] = per_pkg.get(pkg, 0) + len(d.encode("utf-8"))

    corpus = SEP.join(out_docs).encode("utf-8")
    # final proof over the assembled byte stream (windows across paragraph and
    # document boundaries included), raw and normalised
    n_raw = n_nrm = 0
    for d in corpus.split(SEP.encode()):
        n_raw += sum(1 for i in range(len(d) - WIN + 1) if d[i:i + WIN] in raw_w)
        nd = norm_ws(d)
        n_nrm += sum(1 for i in range(len(nd) - WIN + 1) if nd[i:i + WIN] in nrm_w)
    stats.update(documents=len(out_docs), bytes=len(corpus), per_package_bytes=per_pkg,
                 final_shared_50byte_windows_raw=n_raw, final_shared_50byte_windows_normalised=n_nrm,
                 sha256=hashlib.sha256(corpus).hexdigest(),
                 packages=[{"package": p, "version": v, "license": l} for p, v, l in PACKAGES])
    with open(os.path.join(a.out, "corpus.txt"), "wb") as f:
        f.write(corpus)
    with open(os.path.join(a.out, "manifest.json"), "w") as f:
        json.dump(stats, f, indent=1, sort_keys=True)
    print(json.dumps({k: v for k, v in stats.items() if k not in ("packages", "overlap_examples")},
                     indent=1, sort_keys=True))
    print("examples of dropped paragraphs (shared window with letters):")
    for e in stats["overlap_examples"]:
        print("  " + e)
    print("OVERLAP CHECK: %s (shared 50-byte windows with bench files: raw %d, normalised %d; %d paragraphs dropped)"
          % ("PASS" if n_raw == 0 and n_nrm == 0 else "FAIL", n_raw, n_nrm, stats["overlap_dropped"]))
    if n_raw or n_nrm:
        sys.exit(1)


if __name__ == "__main__":
    main()
