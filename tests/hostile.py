#!/usr/bin/env python3
"""hostile.py: hostile szarc archives, crafted from a real one (issue 10).

    python3 tests/hostile.py [--szarc BIN] [--big-mib N] [--bombs K]
                             [--readme-mb N] [--only NAME,...] OUTDIR
    python3 tests/hostile.py --names
    python3 tests/hostile.py measure [--timeout S] [--stdout F] [--stderr F] [--shell] -- CMD...

The szarc binary writes a small real archive (OUTDIR/base.szarc: three text
files, kept in OUTDIR/base-in/in/, zstd packets, the model pin of
$SZARC_MODEL or the default model);
every input is built from its manifest, README and packets, the manifest
rewritten so that sizes and digests agree wherever the attack needs them to
(docs/format.md sections 2-4). Standard library only: tar headers, pax
records, GNU sparse maps and zstd frames (raw and RLE blocks) are written
here byte by byte, so nothing depends on the zstd or tar tools. Large
stretches of zeros in the archive files themselves are holes (seek), so
they cost no disk.

Writes OUTDIR/NAME.szarc for each input and OUTDIR/index.json: a list of
{"name", "file", "input" (the issue's number), "what", "want",
"members": {path: {"size", "sha256"}} (what a correct extract writes),
"damaged": [paths that must not be written]}.

`measure` runs one command and prints its exit status, peak RSS (MiB) and
wall time as one JSON line (tools/bench/robustness.sh, tests/cli_hostile.sh).

BIG is --big-mib MiB (default 1024: the issue's 1 GiB; the test uses less).
Inputs:
 1 bomb            a legitimate zstd packet of BIG zeros (frame of RLE
                   blocks with its content size; manifest: size and sha256 of
                   BIG zeros; the archive is about 40 KB for 1 GiB)
   bomb-x5         five such members (--bombs)
 2 zstd-liar       a packet and manifest that declare 1 MiB; its frame
                   (no content size) decodes to BIG zeros
 3 huge-stored     a stored packet declaring 2^62 bytes (4 KB body), the
                   manifest agreeing
   huge-zstd       a zstd packet declaring 2^62 bytes, frame of BIG zeros
 4 sparse-gnu-readme   szarc/README.txt as an old GNU sparse member ('S')
                       of BIG bytes (the README text, then a hole)
   sparse-pax-readme   the same as a pax 1.0 sparse member
   sparse-pax-packet   a packet member as pax 1.0 sparse: the 16-byte
                       header of a stored packet of BIG zeros, then a hole
                       (manifest consistent: a reader that expands sparse
                       members accepts it)
   sparse-gnu-packet   the same as an old GNU sparse member
 5 readme-big      a plain README of --readme-mb MB (default 300) of text
 6 names-escape    an extra tar member named with ESC [2K, CR, a fake
                   verify "ok" line and ESC [8m
   names-bidi-c1   a valid member whose path holds U+202E and C1 controls
                   (U+009B CSI, U+0085 NEL): legal manifest paths
   names-badutf8   an extra tar member whose name is not UTF-8
 7 hidden-after-eoa    a member appended after the end-of-archive marker
                       (GNU tar -tif lists it)
 8 truncated       the base archive cut inside its second packet
   damaged-packet  three members; the second packet has one byte changed
                   (its manifest digest no longer matches)
   manifest-1g     a manifest member declaring 1 GiB + 1 bytes (present,
                   as a hole)
   base            the untouched base archive (everything must pass)
"""

import argparse
import hashlib
import io
import json
import os
import shutil
import struct
import subprocess
import sys
import tarfile

MIB = 1 << 20
MTIME = 1700000000

# ---------------------------------------------------------------------------
# tar writing
# ---------------------------------------------------------------------------


def _num(n, width):
    """A tar numeric field: octal with a NUL, or base-256 when too large."""
    if n < 8 ** (width - 1):
        return b"%0*o\0" % (width - 1, n)
    return bytes([0x80]) + n.to_bytes(width - 1, "big")


def _checksum(h):
    h[148:156] = b" " * 8
    h[148:156] = b"%06o\0 " % sum(h)
    return bytes(h)


def ustar_header(name, size, typeflag=b"0", gnu=False, mtime=MTIME, mode=0o644):
    """One 512-byte header. name: bytes of at most 100 (the caller puts
    longer or non-ASCII names in a pax record). gnu: old GNU magic."""
    h = bytearray(512)
    h[0:len(name[:100])] = name[:100]
    h[100:108] = _num(mode, 8)
    h[108:116] = _num(0, 8)
    h[116:124] = _num(0, 8)
    h[124:136] = _num(size, 12)
    h[136:148] = _num(mtime, 12)
    h[156:157] = typeflag
    if gnu:
        h[257:265] = b"ustar  \0"
    else:
        h[257:263] = b"ustar\0"
        h[263:265] = b"00"
    return h


def pax_records(recs):
    """pax extended header data: "LEN key=value\\n" records (value: bytes)."""
    out = b""
    for k, v in recs:
        body = b" " + k.encode() + b"=" + v + b"\n"
        n = len(body) + 1
        while len(str(n)) + len(body) != n:
            n = len(str(n)) + len(body)
        out += str(n).encode() + body
    return out


def _pad(n):
    return (512 - n % 512) % 512


class TarOut:
    """Writes a tar file member by member. Data is bytes, an iterable of
    bytes, or None with hole=N (N zero bytes written as a hole: seek)."""

    def __init__(self, path):
        self.f = open(path, "wb")

    def raw(self, b):
        self.f.write(b)

    def _data(self, data, size):
        n = 0
        if data is not None:
            for chunk in ([data] if isinstance(data, (bytes, bytearray)) else data):
                self.f.write(chunk)
                n += len(chunk)
        if n < size:  # the rest is zeros: a hole
            self.f.seek(size - n, os.SEEK_CUR)
        elif n > size:
            raise ValueError("member data longer than its size")
        self.f.seek(_pad(size), os.SEEK_CUR)

    def pax(self, name, recs, typeflag=b"x"):
        d = pax_records(recs)
        short = b"PaxHeader/" + bytes(c if 32 <= c < 127 else 95
                                      for c in name.rsplit(b"/", 1)[-1][:80])
        self.f.write(_checksum(ustar_header(short, len(d), typeflag)))
        self._data(d, len(d))

    def member(self, name, data, size=None, pax=()):
        """A regular file. Long, non-ASCII or non-UTF-8 names go in a pax
        path record (hdrcharset=BINARY when not UTF-8), as libarchive does."""
        if size is None:
            size = len(data)
        recs = list(pax)
        ascii_ok = len(name) <= 100 and all(32 <= c < 127 for c in name)
        if not ascii_ok:
            try:
                name.decode("utf-8")
            except UnicodeDecodeError:
                recs.insert(0, ("hdrcharset", b"BINARY"))
            recs.append(("path", name))
        if recs:
            self.pax(name, recs)
        short = name if ascii_ok else b"data/long-name.szp"
        self.f.write(_checksum(ustar_header(short, size)))
        self._data(data, size)

    def gnu_sparse(self, name, realsize, regions):
        """An old GNU sparse member (typeflag 'S'): regions = [(offset,
        bytes)] (at most 4, so no extension headers), then a final empty
        region at realsize as GNU tar writes it."""
        regions = list(regions) + [(realsize, b"")]
        assert len(regions) <= 4 and len(name) <= 100
        stored = sum(len(b) for _, b in regions)
        h = ustar_header(name, stored, b"S", gnu=True)
        for i, (off, b) in enumerate(regions):
            p = 386 + 24 * i
            h[p:p + 12] = _num(off, 12)
            h[p + 12:p + 24] = _num(len(b), 12)
        h[482] = 0  # not extended
        h[483:495] = _num(realsize, 12)
        self.f.write(_checksum(h))
        for _, b in regions:
            self.f.write(b)
        self.f.seek(_pad(stored), os.SEEK_CUR)

    def pax_sparse(self, name, realsize, regions):
        """A pax 1.0 sparse member (GNU.sparse.major=1): the map (count, then
        offset and size of each region, one decimal per line, padded to a
        block) heads the data, then the regions' bytes."""
        regions = list(regions) + [(realsize, b"")]
        m = "%d\n" % len(regions) + "".join("%d\n%d\n" % (o, len(b)) for o, b in regions)
        m = m.encode()
        m += b"\0" * _pad(len(m))
        stored = len(m) + sum(len(b) for _, b in regions)
        self.pax(name, [("GNU.sparse.major", b"1"), ("GNU.sparse.minor", b"0"),
                        ("GNU.sparse.name", name),
                        ("GNU.sparse.realsize", b"%d" % realsize)])
        base = name.rsplit(b"/", 1)
        short = (base[0] + b"/GNUSparseFile.0/" + base[1]) if len(base) == 2 else \
            b"GNUSparseFile.0/" + name
        self.f.write(_checksum(ustar_header(short[:100], stored)))
        self.f.write(m)
        for _, b in regions:
            self.f.write(b)
        self.f.seek(_pad(stored), os.SEEK_CUR)

    def end(self, record=10240):
        """Two zero blocks, then zeros to a whole record (as libarchive)."""
        self.f.seek(1024, os.SEEK_CUR)
        pos = self.f.tell()
        self.f.truncate(pos + (record - pos % record) % record)
        self.f.seek(0, os.SEEK_END)

    def close(self):
        self.f.truncate(self.f.tell())  # a hole at the end still counts
        self.f.close()


# ---------------------------------------------------------------------------
# zstd frames and packets
# ---------------------------------------------------------------------------

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
BLOCK = 128 * 1024  # the largest zstd block


def zstd_zeros(n, content_size=True):
    """A zstd frame (RFC 8878) of n zero bytes: RLE blocks of 128 KiB, four
    bytes each. With content_size the frame header carries n (8 bytes), as
    libzstd writes it when the size is known; without, a decoder learns the
    size only by decoding. Window 128 KiB (Window_Descriptor 0x38)."""
    fhd = 0xC0 if content_size else 0x00  # FCS 8 bytes / none; no checksum
    out = bytearray(ZSTD_MAGIC + bytes([fhd, 0x38]))
    if content_size:
        out += struct.pack("<Q", n)
    full, rest = divmod(n, BLOCK)
    if n == 0:
        out += (1).to_bytes(3, "little")  # one empty raw block, last
        return bytes(out)
    blk = ((BLOCK << 3) | (1 << 1)).to_bytes(3, "little") + b"\0"
    if rest == 0:
        out += blk * (full - 1)
        out += ((BLOCK << 3) | (1 << 1) | 1).to_bytes(3, "little") + b"\0"
    else:
        out += blk * full
        out += ((rest << 3) | (1 << 1) | 1).to_bytes(3, "little") + b"\0"
    return bytes(out)


def packet(method, size, body, flags=0):
    """docs/format.md section 4: SZPK, version 1, method, flags, size."""
    return b"SZPK" + bytes([1, method]) + struct.pack("<HQ", flags, size) + body


def sha(b):
    return hashlib.sha256(b).hexdigest()


_zero_sha = {}


def sha_zeros(n, prefix=b""):
    """sha256 of prefix + n zero bytes, streamed (cached)."""
    key = (n, prefix)
    if key not in _zero_sha:
        h = hashlib.sha256(prefix)
        z = bytes(MIB)
        left = n
        while left:
            k = min(left, MIB)
            h.update(z[:k])
            left -= k
        _zero_sha[key] = h.hexdigest()
    return _zero_sha[key]


# ---------------------------------------------------------------------------
# the base archive
# ---------------------------------------------------------------------------

BASE_FILES = {
    "in/alpha.txt": b"Alpha: the first file of the hostile base archive.\n" * 20,
    "in/beta.txt": b"Beta: the second file; its packet is the one damaged.\n" * 30,
    "in/gamma.txt": b"Gamma: the third file, written after the damaged one.\n" * 25,
}


class Base:
    """The manifest, README and packets of a real archive."""

    def __init__(self, szarc, work):
        src = os.path.join(work, "base-in")
        shutil.rmtree(src, ignore_errors=True)
        for p, data in BASE_FILES.items():
            full = os.path.join(src, p)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "wb") as f:
                f.write(data)
        self.path = os.path.join(work, "base.szarc")
        if os.path.exists(self.path):
            os.unlink(self.path)
        env = dict(os.environ, SOURCE_DATE_EPOCH=str(MTIME))
        subprocess.run([szarc, "create", "--format", "1", "-f", os.path.abspath(self.path),
                        "--device", "cpu", "--quiet", "--method", "zstd", "in"], cwd=src, env=env,
                       check=True)
        with tarfile.open(self.path) as t:
            self.members = [(m.name, t.extractfile(m).read()) for m in t.getmembers()]
        self.manifest_bytes = self.members[0][1]
        self.manifest = json.loads(self.manifest_bytes)
        self.readme = self.members[1][1]
        self.template = self.manifest["members"][0]
        self.packets = {m["path"]: dict(self.members)[m["packet"]]
                        for m in self.manifest["members"]}

    def record(self, path, size, sha256, method, pkt):
        r = dict(self.template)
        r.update(path=path, size=size, sha256=sha256, method=method,
                 packet="data/" + path + ".szp", packet_size=len(pkt) if isinstance(pkt, bytes)
                 else pkt[0], packet_sha256=sha(pkt) if isinstance(pkt, bytes) else pkt[1],
                 chunks=0, tokens=0, mtime=MTIME, permissions="0644")
        return r

    def manifest_with(self, records):
        m = dict(self.manifest)
        m["members"] = sorted(records, key=lambda r: r["path"].encode())
        return (json.dumps(m, indent=2, ensure_ascii=False) + "\n").encode()

    def base_records(self):
        return [dict(r) for r in self.manifest["members"]]


# ---------------------------------------------------------------------------
# the inputs
# ---------------------------------------------------------------------------


def write_layout(path, base, records, packets, readme=None, after=None):
    """A szarc layout: manifest, README, packets (name -> bytes) in manifest
    order; after(t) may add members before the end-of-archive marker."""
    t = TarOut(path)
    mb = base.manifest_with(records)
    t.member(b"szarc/manifest.json", mb)
    if readme is None:
        t.member(b"szarc/README.txt", base.readme)
    else:
        readme(t)
    for r in sorted(records, key=lambda r: r["path"].encode()):
        p = packets[r["path"]]
        if callable(p):
            p(t, r["packet"].encode())
        else:
            t.member(r["packet"].encode(), p)
    if after:
        after(t)
    t.end()
    t.close()


def members_of(records):
    return {r["path"]: {"size": r["size"], "sha256": r["sha256"]} for r in records}


def make_bomb(base, out, big, count):
    frame = zstd_zeros(big, content_size=True)
    pkt = packet(1, big, frame)
    recs = [base.record("bomb/zeros-%d.bin" % i, big, sha_zeros(big), "zstd", pkt)
            for i in range(count)]
    write_layout(out, base, recs, {r["path"]: pkt for r in recs})
    return members_of(recs), []


def make_liar(base, out, big):
    declared = MIB
    pkt = packet(1, declared, zstd_zeros(big, content_size=False))
    recs = [base.record("liar/zeros.bin", declared, sha_zeros(declared), "zstd", pkt)]
    write_layout(out, base, recs, {recs[0]["path"]: pkt})
    return {}, ["liar/zeros.bin"]


def make_huge(base, out, big, method):
    size = 1 << 62
    body = bytes(4096) if method == 0 else zstd_zeros(big, content_size=False)
    pkt = packet(method, size, body)
    path = "huge/declared-2e62.bin"
    recs = [base.record(path, size, sha_zeros(0), ["stored", "zstd"][method], pkt)]
    write_layout(out, base, recs, {path: pkt})
    return {}, [path]


def make_model_bulky(base, out, big, count):
    """count model-coded members, each a packet of `big` bytes (one chunk of
    one token, its stream `big` bytes of zeros) that declares 1 byte: many
    bytes to hold, nothing to decode. Manifest consistent; the chunk is the
    coder's."""
    chunk = base.manifest["coder"]["chunk"]
    stream = big - 16 - 16 - 8
    body = struct.pack("<IIQ", chunk, 1, 1) + struct.pack("<II", 1, stream) + bytes(stream)
    pkt = packet(2, 1, body)
    recs = []
    for i in range(count):
        r = base.record("bulky/model-%d.txt" % i, 1, sha(b"x"), "model", pkt)
        r.update(chunks=1, tokens=1)
        recs.append(r)
    write_layout(out, base, recs, {r["path"]: pkt for r in recs})
    return {}, [r["path"] for r in recs]


def make_sparse_readme(base, out, big, kind):
    def readme(t):
        if kind == "gnu":
            t.gnu_sparse(b"szarc/README.txt", big, [(0, base.readme)])
        else:
            t.pax_sparse(b"szarc/README.txt", big, [(0, base.readme)])
    recs = base.base_records()
    write_layout(out, base, recs, base.packets, readme=readme)
    return members_of(recs), []


def make_sparse_packet(base, out, big, kind):
    size = big - 16  # the packet, expanded, is BIG bytes
    hdr = packet(0, size, b"")
    path = "holes/zeros.bin"
    rec = base.record(path, size, sha_zeros(size), "stored", (big, sha_zeros(size, hdr)))

    def put(t, name):
        if kind == "gnu":
            t.gnu_sparse(name, big, [(0, hdr)])
        else:
            t.pax_sparse(name, big, [(0, hdr)])
    recs = base.base_records() + [rec]
    pk = dict(base.packets)
    pk[path] = put
    write_layout(out, base, recs, pk)
    return members_of(base.base_records()), [path]


def make_readme_big(base, out, mb):
    line = (b"This README is informational; a reader skips it without holding it. " * 14)[:1023] \
        + b"\n"
    total = mb * 1000 * 1000
    block = line * 64

    def chunks():
        left = total
        while left:
            k = min(left, len(block))
            yield block[:k]
            left -= k

    def readme(t):
        t.member(b"szarc/README.txt", chunks(), size=total)
    recs = base.base_records()
    write_layout(out, base, recs, base.packets, readme=readme)
    return members_of(recs), []


FAKE_OK = (b"ok        in/alpha.txt (zstd, 1040 bytes, expanded and re-encoded)")


def make_names_escape(base, out):
    name = b"data/\x1b[2K\r" + FAKE_OK + b"\x1b[8m.szp"

    def after(t):
        t.member(name, b"hidden by the terminal\n")
    recs = base.base_records()
    write_layout(out, base, recs, base.packets, after=after)
    return members_of(recs), []


def make_names_bidi(base, out):
    recs = base.base_records()
    pk = dict(base.packets)
    for path, text in (("names/invoice\u202etxt.exe", b"right-to-left override\n"),
                       ("names/c1-\u009b31m-red-\u0085-nel.txt", b"C1 controls\n")):
        p = packet(0, len(text), text)
        recs.append(base.record(path, len(text), sha(text), "stored", p))
        pk[path] = p
    write_layout(out, base, recs, pk)
    return members_of(recs), []


def make_names_badutf8(base, out):
    def after(t):
        t.member(b"data/bad-\xff\xfe-\xc0\xaf-utf8.szp", b"not UTF-8\n")
    recs = base.base_records()
    write_layout(out, base, recs, base.packets, after=after)
    return members_of(recs), []


def make_hidden(base, out):
    with open(base.path, "rb") as f:
        data = f.read()
    t = TarOut(out)
    t.raw(data)  # the whole archive, end-of-archive marker and record padding
    t.member(b"hidden/after-the-end.txt", b"GNU tar -tif lists this; szarc must report it.\n")
    t.end()
    t.close()
    return members_of(base.base_records()), []


def _data_offset(path, name):
    with tarfile.open(path) as t:
        for m in t.getmembers():
            if m.name == name:
                return m.offset_data, m.size
    raise KeyError(name)


def make_truncated(base, out):
    second = base.manifest["members"][1]
    off, size = _data_offset(base.path, second["packet"])
    with open(base.path, "rb") as f:
        data = f.read()
    with open(out, "wb") as f:
        f.write(data[:off + size // 2])
    return {}, [second["path"]]


def make_damaged(base, out):
    second = base.manifest["members"][1]
    off, size = _data_offset(base.path, second["packet"])
    data = bytearray(open(base.path, "rb").read())
    data[off + size // 2] ^= 0x55
    with open(out, "wb") as f:
        f.write(data)
    recs = [r for r in base.base_records() if r["path"] != second["path"]]
    return members_of(recs), [second["path"]]


def make_manifest_1g(base, out):
    t = TarOut(out)
    t.member(b"szarc/manifest.json", None, size=(1 << 30) + 1)  # a hole on disk
    t.member(b"szarc/README.txt", base.readme)
    t.end()
    t.close()
    return {}, []


def make_base(base, out):
    if os.path.abspath(out) != os.path.abspath(base.path):
        shutil.copyfile(base.path, out)
    return members_of(base.base_records()), []


def inputs(a):
    big = a.big_mib * MIB
    return [
        # name, issue input number, builder, what, want
        ("bomb", 1, lambda b, o: make_bomb(b, o, big, 1),
         "zstd packet of %d MiB of zeros, manifest consistent" % a.big_mib,
         "extract and verify succeed with bounded memory"),
        ("bomb-x5", 1, lambda b, o: make_bomb(b, o, big, a.bombs),
         "%d such members" % a.bombs, "extract and verify succeed with bounded memory"),
        ("model-bulky", 1, lambda b, o: make_model_bulky(b, o, min(big, 60 * MIB), a.bombs),
         "%d model-coded packets of %d MiB, each declaring 1 byte"
         % (a.bombs, min(a.big_mib, 60)),
         "each fails with bounded memory (packets held for a batch are bounded in bytes)"),
        ("zstd-liar", 2, lambda b, o: make_liar(b, o, big),
         "zstd packet declaring 1 MiB, decoding to %d MiB" % a.big_mib,
         "fail at the first byte past the declared size"),
        ("huge-stored", 3, lambda b, o: make_huge(b, o, big, 0),
         "stored packet and manifest declaring 2^62 bytes", "exit 1 at once, nothing allocated"),
        ("huge-zstd", 3, lambda b, o: make_huge(b, o, big, 1),
         "zstd packet and manifest declaring 2^62 bytes (frame: %d MiB)" % a.big_mib,
         "exit 1 at once, nothing allocated"),
        ("sparse-gnu-readme", 4, lambda b, o: make_sparse_readme(b, o, big, "gnu"),
         "README as a GNU sparse member of %d MiB" % a.big_mib, "refused: sparse member"),
        ("sparse-pax-readme", 4, lambda b, o: make_sparse_readme(b, o, big, "pax"),
         "README as a pax 1.0 sparse member of %d MiB" % a.big_mib, "refused: sparse member"),
        ("sparse-pax-packet", 4, lambda b, o: make_sparse_packet(b, o, big, "pax"),
         "packet as a pax 1.0 sparse member of %d MiB (manifest consistent)" % a.big_mib,
         "refused: sparse member"),
        ("sparse-gnu-packet", 4, lambda b, o: make_sparse_packet(b, o, big, "gnu"),
         "packet as a GNU sparse member of %d MiB (manifest consistent)" % a.big_mib,
         "refused: sparse member"),
        ("readme-big", 5, lambda b, o: make_readme_big(b, o, a.readme_mb),
         "plain README of %d MB of text" % a.readme_mb, "skipped, not buffered: exit 0"),
        ("names-escape", 6, make_names_escape,
         "extra tar member named with ESC [2K, CR, a fake ok line, ESC [8m",
         "name quoted in text output"),
        ("names-bidi-c1", 6, make_names_bidi,
         "valid members whose paths hold U+202E and C1 controls", "paths quoted in text output"),
        ("names-badutf8", 6, make_names_badutf8, "extra tar member whose name is not UTF-8",
         "reported, name quoted; JSON findings complete"),
        ("hidden-after-eoa", 7, make_hidden, "member appended after the end-of-archive marker",
         "verify reports data after the end"),
        ("truncated", 8, make_truncated, "base archive cut inside its second packet",
         "exit 1 naming the member"),
        ("damaged-packet", 8, make_damaged, "one byte changed in the second of three packets",
         "intact members extracted, the damaged one named, exit 1"),
        ("manifest-1g", 8, make_manifest_1g, "manifest member declaring 1 GiB + 1 bytes",
         "refused before reading it"),
        ("base", 0, make_base, "the untouched base archive", "everything exits 0"),
    ]


def measure(argv):
    """hostile.py measure [--timeout S] [--stdout F] [--stderr F] -- CMD...:
    runs CMD, prints one JSON line {"exit", "rss_mib", "seconds", "via"}:
    its exit status ("timeout" when killed after S seconds, "signal N"), its
    peak resident set and the wall time. The peak comes from GNU time (%M)
    when /usr/bin/time exists ("via": "time"), else from this process's
    RUSAGE_CHILDREN ru_maxrss ("via": "python"; it waits for no other child,
    but a child forked from Python starts with Python's own pages counted,
    so figures under about 20 MiB read as about 20 MiB)."""
    import resource
    import signal
    import tempfile
    import time
    ap = argparse.ArgumentParser(prog="hostile.py measure")
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--stdout", default=os.devnull)
    ap.add_argument("--stderr", default=os.devnull)
    ap.add_argument("--shell", action="store_true",
                    help='print "EXIT RSS_MIB SECONDS VIA" (spaces in EXIT as _)')
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args(argv)
    cmd = a.cmd[1:] if a.cmd[:1] == ["--"] else a.cmd
    gnu_time = os.access("/usr/bin/time", os.X_OK)
    tf = None
    if gnu_time:
        fd, tf = tempfile.mkstemp(prefix="hostile-time-")
        os.close(fd)
        cmd = ["/usr/bin/time", "-f", "%x %M", "-o", tf] + cmd
    t0 = time.monotonic()
    with open(a.stdout, "wb") as so, open(a.stderr, "wb") as se:
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=so, stderr=se,
                             start_new_session=True)
        try:
            rc = p.wait(timeout=a.timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            rc = "timeout"
    secs = round(time.monotonic() - t0, 2)
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if tf:
        lines = open(tf).read().split("\n")
        os.unlink(tf)
        last = [x for x in lines if x.strip()][-1:] or [""]
        parts = last[0].split()
        sig = [x for x in lines if x.startswith("Command terminated by signal")]
        if rc != "timeout" and len(parts) == 2 and parts[1].isdigit():
            rss = int(parts[1])
            if sig:
                rc = "signal " + sig[0].split()[-1]
        elif rc != "timeout" and sig:
            rc = "signal " + sig[0].split()[-1]
    if isinstance(rc, int) and rc < 0:
        rc = "signal %d" % -rc
    res = {"exit": rc, "rss_mib": round(rss / 1024.0, 1), "seconds": secs,
           "via": "time" if gnu_time else "python"}
    if a.shell:
        print(str(rc).replace(" ", "_"), res["rss_mib"], secs, res["via"])
    else:
        print(json.dumps(res))
    return 0


def main():
    if sys.argv[1:2] == ["measure"]:
        return measure(sys.argv[2:])
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("outdir", nargs="?")
    ap.add_argument("--szarc", default=os.environ.get("SZARC", "szarc"))
    ap.add_argument("--big-mib", type=int, default=1024)
    ap.add_argument("--bombs", type=int, default=5)
    ap.add_argument("--readme-mb", type=int, default=300)
    ap.add_argument("--only", default="")
    ap.add_argument("--names", action="store_true", help="print the input names and exit")
    a = ap.parse_args()
    todo = inputs(a)
    if a.names:
        for name, num, _, what, want in todo:
            print("%-18s %d  %s; wanted: %s" % (name, num, what, want))
        return 0
    if not a.outdir:
        ap.error("OUTDIR is required")
    only = set(filter(None, a.only.split(",")))
    unknown = only - {t[0] for t in todo}
    if unknown:
        ap.error("unknown input: " + ", ".join(sorted(unknown)))
    os.makedirs(a.outdir, exist_ok=True)
    szarc = os.path.abspath(a.szarc) if os.sep in a.szarc else a.szarc
    base = Base(szarc, a.outdir)
    index = []
    for name, num, build, what, want in todo:
        if only and name not in only:
            continue
        out = os.path.join(a.outdir, name + ".szarc")
        members, damaged = build(base, out)
        index.append({"name": name, "file": out, "input": num, "what": what, "want": want,
                      "members": members, "damaged": damaged})
    with open(os.path.join(a.outdir, "index.json"), "w") as f:
        json.dump(index, f, indent=1, ensure_ascii=True)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
