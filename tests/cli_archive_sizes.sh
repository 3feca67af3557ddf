#!/usr/bin/env bash
# cli_archive_sizes.sh: every archive szarc writes reads back, at any size
# (issue 10: members over 1,048,577 bytes could not be read back). Each round
# trip creates, lists (exit 0, every member, the total size), extracts into a
# fresh directory and compares every byte (diff -r), verifies (exit 0), and
# has GNU tar list the packets (tar -tvf). At:
#   - every buffer boundary of the reading and writing code, +-1 (SIZES
#     below), as file sizes and as packet (tar member) sizes, binary and text;
#   - a 20 MB binary; a tree of 5,000 small files (the manifest passes 1 MiB);
#   - an archive with the default model embedded (an 8 MB member), read back
#     with no model given (and with a wrong one in SZARC_MODEL: the embedded
#     one must be what decodes it);
#   - a property test: random trees (random nesting and names, member sizes
#     log-uniform from 0 to 32 MiB, at least one over 1 MiB). The seed is
#     printed; SZARC_PROP_SEED=S replays it, SZARC_PROP_TREES=N runs N trees
#     (default 5), SZARC_PROP_MAX_MIB bounds the bytes of one tree (default 80),
#     SZARC_PROP_ONLY=1 runs nothing else.
# About 2 minutes on 2 cores; at most about 700 MB in $TMPDIR at a time.
# Usage: cli_archive_sizes.sh SZARC   (SZARC_MODEL: a small test model)
set -eu
SZARC=$1
. "$(dirname "$0")/testlib.sh"

# Sizes where a buffer of the reading or writing code changes; re-grep
# archive/tar.c, archive/layout.c, archive/member.c, archive/packet.c,
# archive/reader.c, archive/unpack.c, archive/extract.h, verify/audit.[ch]
# and archive/list.c when they change (keep in step with
# tests/test_archive_tar.c). As of 2026-11-30:
#   512       tar block: every header and the padding of every member's data
#   10240     tar record: 20 blocks, the unit libarchive writes
#   65536     the tar reader's blocks (TAR_BLOCK in archive/tar.c) and the
#             pieces list, extract and verify read (PIECE in archive/list.c, extract.c,
#             verify/audit.c); the first capacity of szarc_tar_read's buffer
#   131072    zstd output pieces (OUT_CAP in archive/unpack.c)
#   262144, 524288: doublings of szarc_tar_read's buffer
#   1048576   1 MiB: the next doubling, and the first capacity of the zstd
#             output in archive/member.c (unzstd, verify's expansion), which
#             reads one spare byte past it: hence B+2 from here on (the tar
#             reader had that spare byte until 2026-11-30: 1048578 is the
#             smallest member issue 10 lost)
#   2, 4, 8, 16 MiB: the doublings of those buffers
#   33554432  32 MiB: verify holds a member up to this size and streams a
#             larger one (SZARC_VERIFY_MEM_MAX in verify/audit.h), its
#             expansion batch (BATCH_BYTES in verify/audit.c), extract's
#             pending model packets (SZARC_EXTRACT_PENDING_MAX)
# Not here: the manifest's limit of 64 MiB and the statement's
# (SZARC_MANIFEST_MAX in archive/reader.h, SZARC_SIGNATURE_MAX: about 150,000
# members; tests/cli_hostile.sh declares a larger manifest), the 64 MiB
# model-coded packet and 2^20 tokens per batch (archive/member.h,
# archive/extract.h: model coding of megabytes is minutes on the C
# reference), the 4 GiB embedded model. The 16-byte packet header is
# accounted for by the packet-size variants below.
SIZES="512 10240 65536 131072 262144 524288 1048576 2097152 4194304 8388608 16777216 33554432"
SPARE_FROM=1048576 # boundaries from here on also get B+2 (the spare byte)
HDR=16             # packet header: a stored packet is its file + 16 bytes

command -v python3 > /dev/null && have_py=1 || have_py=0

# seeded bytes without python: AES-CTR keystream of a seed, else urandom
rnd() { # rnd N SEED > FILE
  if command -v openssl > /dev/null; then
    head -c "$1" /dev/zero | openssl enc -aes-128-ctr -nosalt -pass "pass:$2" -pbkdf2 2> /dev/null
  else
    head -c "$1" /dev/urandom
  fi
}
# text that zstd -19 codes fast: a ~100 KB block of words, repeated
txtblock() {
  local w=(the of and to in a is that for it as was with be by on not he this are
           or his from at which but have an they you were her she there been one all)
  local i=0 line
  RANDOM=7
  while [ $i -lt 1600 ]; do
    line="${w[RANDOM % 36]} ${w[RANDOM % 36]} ${w[RANDOM % 36]} ${w[RANDOM % 36]} ${w[RANDOM % 36]}"
    printf '%s %s, %s.\n' "$line" "${w[RANDOM % 36]}" "${w[RANDOM % 36]}"
    i=$((i + 1))
  done
}
txtblock > block.txt
text() { # text N > FILE
  local n=$1
  while :; do cat block.txt; done | head -c "$n"
}

# rt LABEL TREE [CREATE OPTIONS...]: the whole round trip of directory TREE;
# leaves the archive LABEL.szarc and its `tar -tvf` listing in tv.txt
rt() {
  local label=$1 tree=$2 rc
  shift 2
  local a=$label.szarc nfiles bytes t0=$SECONDS
  nfiles=$(find "$tree" -type f | wc -l)
  bytes=$(find "$tree" -type f -printf '%s\n' | awk '{ s += $1 } END { printf "%.0f", s }')
  rm -rf "$a" out && mkdir out
  rc=0
  "$SZARC" create --format 1 -f "$a" --device cpu --quiet "$@" "$tree" 2> err.txt || rc=$?
  check "$label: create ($nfiles files, $bytes bytes) exits 0" '[ $rc = 0 ] || { head -3 err.txt; false; }'
  [ $rc = 0 ] || return 0
  rc=0
  "$SZARC" list -f "$a" > list.txt 2> err.txt || rc=$?
  check "$label: list exits 0" '[ $rc = 0 ] || { head -3 err.txt; false; }'
  check "$label: list shows $nfiles files, $bytes bytes" \
    'tail -n1 list.txt | grep -Eq "^ *$bytes .* $nfiles files;" || { tail -n1 list.txt; false; }'
  rc=0
  "$SZARC" extract -f "$a" -C out --device cpu --quiet 2> err.txt || rc=$?
  check "$label: extract exits 0" '[ $rc = 0 ] || { head -3 err.txt; false; }'
  check "$label: extracted files are identical" 'diff -r "$tree" "out/$tree" > diff.txt 2>&1 || { head -5 diff.txt; false; }'
  rm -rf out
  rc=0
  "$SZARC" verify -f "$a" --device cpu --quiet > ver.txt 2> err.txt || rc=$?
  check "$label: verify exits 0" '[ $rc = 0 ] || { grep -v "^ok" ver.txt | head -5; head -3 err.txt; false; }'
  rc=0
  tar -tvf "$a" > tv.txt 2> err.txt || rc=$?
  check "$label: tar -tvf exits 0 and lists $nfiles packets" \
    '[ $rc = 0 ] && [ "$(grep -c " data/.*\.szp$" tv.txt)" = $nfiles ] || { head -3 err.txt; false; }'
  echo "     $label: $((SECONDS - t0)) s"
}
# packets SIZE...: every SIZE is the size of a packet in tv.txt
packets() {
  local s
  for s in "$@"; do
    awk -v s="$s" '$3 == s && / data\// { f = 1 } END { exit !f }' tv.txt || return 1
  done
}

if [ "${SZARC_PROP_ONLY:-0}" != 1 ]; then
# --- 1. the boundaries --------------------------------------------------------
# Binary (random) members are stored: zstd -19 on incompressible data costs
# about 3 MB/s on these machines, and --method auto would try it on each.
# File sizes B-1, B, B+1 (B+2) exercise what holds a decoded file; packet
# sizes B-1, B, B+1 (files of B-17, B-16, B-15) what holds a tar member.
small=""
for b in $SIZES; do
  [ "$b" -lt 1000000 ] && small="$small $b"
done
sizes_of() { # sizes_of B: the file sizes for boundary B, as "f SIZE" and "p SIZE"
  local b=$1
  echo "f $((b - 1))"; echo "f $b"; echo "f $((b + 1))"
  [ "$b" -ge $SPARE_FROM ] && echo "f $((b + 2))"
  echo "p $((b - HDR - 1))"; echo "p $((b - HDR))"; echo "p $((b - HDR + 1))"
}
bnd_tree() { # bnd_tree DIR B...: random members at every size of those boundaries
  local d=$1 b kind s
  shift
  mkdir -p "$d"
  for b in "$@"; do
    sizes_of "$b" | while read -r kind s; do
      rnd "$s" "$kind$s" > "$d/$kind-$s.bin"
    done
  done
}
bnd_tree bnd-small $small
: > bnd-small/empty
printf x > bnd-small/one
rt bnd-small bnd-small --method stored
for b in $small; do
  check "bnd-small: packets of $((b - 1)), $b and $((b + 1)) bytes" "packets $((b - 1)) $b $((b + 1))"
done
rm -rf bnd-small bnd-small.szarc
for b in $SIZES; do
  [ "$b" -lt 1000000 ] && continue
  bnd_tree "bnd-$b" "$b"
  rt "bnd-$b" "bnd-$b" --method stored
  check "bnd-$b: packets of $((b - 1)), $b and $((b + 1)) bytes" "packets $((b - 1)) $b $((b + 1))"
  rm -rf "bnd-$b" "bnd-$b.szarc"
done

# text members: compressible text through zstd at every boundary (file sizes
# B-1, B, B+1 (B+2): the zstd output buffer), and model-coded text at the
# small ones (the test model codes about 10 KB/s on the C reference)
mkdir -p txt-zstd txt-model
for b in $SIZES; do
  for s in $((b - 1)) $b $((b + 1)); do text $s > "txt-zstd/t-$s.txt"; done
  [ "$b" -ge $SPARE_FROM ] && text $((b + 2)) > "txt-zstd/t-$((b + 2)).txt"
done
rt txt-zstd txt-zstd --method zstd
check "txt-zstd: every member is zstd-coded" '[ "$(grep -c " zstd " list.txt)" -gt 30 ] && ! grep -q " stored " list.txt'
rm -rf txt-zstd txt-zstd.szarc
for s in 511 512 513 10239 10240 10241; do text $s > "txt-model/t-$s.txt"; done
cp "$SRC/tests/data/text/sample.txt" txt-model/
rt txt-model txt-model --method model
check "txt-model: every member is model-coded" '! grep -Eq " (zstd|stored) " list.txt'
rm -rf txt-model txt-model.szarc

# --- 2. a 20 MB binary, 5,000 files, an embedded model -------------------------
mkdir bin20
rnd 20000000 bin20 > bin20/big.bin
rt bin20 bin20 # --method auto: what a user gets (zstd is tried, stored wins)
rm -rf bin20 bin20.szarc

mkdir many
if [ $have_py = 1 ]; then
  python3 - << 'PY'
import os, random
r = random.Random(5000)
for i in range(5000):
    d = "many/d%02d/e%d" % (i % 50, i % 7)
    os.makedirs(d, exist_ok=True)
    with open("%s/file-%04d.bin" % (d, i), "wb") as f:
        f.write(r.randbytes(r.randint(0, 64)))
PY
else
  for i in $(seq 0 4999); do
    d=many/d$((i % 50))/e$((i % 7)); mkdir -p "$d"
    head -c $((i % 65)) /dev/urandom > "$d/file-$i.bin"
  done
fi
rt many many
check "many: the manifest passes 1 MiB" \
  '[ "$(awk "/ szarc\/manifest.json$/ { print \$3 }" tv.txt)" -gt 1048578 ]'
rm -rf many many.szarc

mkdir emb
head -c 600 "$SRC/tests/data/text/sample.txt" > emb/sample.txt
DEF=$SRC/models/szarc-default.gguf
if [ -f "$DEF" ]; then
  "$SZARC" create --format 1 -f emb.szarc --device cpu --quiet --model "$DEF" --embed-model emb
  check "emb: the embedded model is a member of over 1 MiB" \
    '[ "$(tar -tvf emb.szarc | awk "/szarc\/model.gguf/ { print \$3 }")" -gt 1048578 ]'
  for how in unset wrong; do
    rm -rf out && mkdir out
    rc=0
    if [ $how = unset ]; then
      env -u SZARC_MODEL "$SZARC" extract -f emb.szarc -C out --device cpu --quiet 2> err.txt || rc=$?
    else # a model that does not match the pin: only the embedded one decodes
      "$SZARC" extract -f emb.szarc -C out --device cpu --quiet 2> err.txt || rc=$?
    fi
    check "emb: extract with SZARC_MODEL $how exits 0" '[ $rc = 0 ] || { head -3 err.txt; false; }'
    check "emb: extract with SZARC_MODEL $how gives the file" 'cmp -s emb/sample.txt out/emb/sample.txt'
  done
  rc=0
  env -u SZARC_MODEL "$SZARC" list -f emb.szarc > list.txt 2> err.txt || rc=$?
  check "emb: list exits 0 and says embedded" '[ $rc = 0 ] && grep -q embedded list.txt'
  rc=0
  env -u SZARC_MODEL "$SZARC" verify -f emb.szarc --device cpu --quiet > ver.txt 2> err.txt || rc=$?
  check "emb: verify exits 0" '[ $rc = 0 ] || { grep -v "^ok" ver.txt | head -5; false; }'
  check "emb: tar -tf lists the model" 'tar -tf emb.szarc | grep -qx szarc/model.gguf'
  rm -rf emb.szarc out
else
  echo "skipping the embedded model: $DEF not found"
fi
fi # SZARC_PROP_ONLY

# --- 3. property test: random trees --------------------------------------------
# Sizes log-uniform on 0..32 MiB; contents random, text, zeros or mixed.
# Trees are created with --method stored (half of them), zstd or auto. zstd
# -19 costs about a second per 3 MB of random bytes (create, and verify's
# re-encoding again), and auto runs the model on text (about 10 KB/s on the C
# reference): so a zstd or auto tree with more than 6 MiB of random bytes is
# stored instead, and auto trees keep text members under 4 KB (16 KB in all).
# Each tree holds at most SZARC_PROP_MAX_MIB; the largest member is kept.
if [ $have_py = 1 ]; then
  cat > gen.py << 'PY'
import os, random, sys
seed, top, max_bytes = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
r = random.Random(seed)
MIB = 1 << 20
TOP = 32 * MIB
def size():
    if r.random() < 0.05:
        return 0
    return min(TOP, int(2 ** r.uniform(0, 25.0001)))  # 1 .. 32 MiB
n = 1 + int(2 ** r.uniform(0, 6))  # 1 .. 64 members
sizes = [size() for _ in range(n)]
big = max(range(n), key=lambda k: sizes[k])
if sizes[big] <= MIB + 2:  # always one member past the first buffer capacity
    sizes[big] = int(2 ** r.uniform(20.01, 25))
sizes[big] = min(sizes[big], max(MIB + 3, max_bytes // 2))
while sum(sizes) > max_bytes:  # halve the largest other members until under the bound
    i = max((k for k in range(n) if k != big), key=lambda k: sizes[k], default=big)
    if i == big or sizes[i] == 0:
        break
    sizes[i] //= 2
# components: letters, digits, spaces, dots, dashes, multibyte UTF-8
ALPHA = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -_+=,;@#%&()[]{}'~" \
        "éßøÅçñü中文字日本語한국ДжΩλ🦊✓∑"
def comp(dot):
    k = 1 + int(2 ** r.uniform(0, 5.3))  # 1 .. 40 characters
    s = "".join(r.choice(ALPHA) for _ in range(k)).strip() or "x"
    if s.startswith("-"):
        s = "_" + s
    return s + (r.choice([".txt", ".bin", ".dat", ".tar.gz", ""]) + ".f" if dot else "")
dirs = [""]
words = open("block.txt", "rb").read()
paths, kinds = set(), {"random": 0, "text": 0, "zeros": 0, "mixed": 0}
method = r.choice(["stored", "stored", "zstd", "auto"])
entries = []
for s in sizes:
    while True:
        d = r.choice(dirs)
        if r.random() < 0.3 and d.count("/") < 6:
            d = (d + "/" if d else "") + comp(False)
            dirs.append(d)
        p = (d + "/" if d else "") + comp(True)
        if p not in paths and len(p.encode()) < 3000:
            break
    paths.add(p)
    kind = r.choice(["random", "random", "text", "zeros", "mixed"])
    if method == "auto" and kind == "text" and s > 4096:
        kind = "mixed"  # auto would run the model on it
    entries.append((p, s, kind))
rand_bytes = sum(s for p, s, k in entries if k in ("random", "mixed"))
text_bytes = sum(s for p, s, k in entries if k == "text")
if method != "stored" and (rand_bytes > 6 * MIB or (method == "auto" and text_bytes > 16384)):
    method = "stored"
for p, s, kind in entries:
    full = os.path.join(top, p)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    if kind == "random":
        data = r.randbytes(s)
    elif kind == "zeros":
        data = bytes(s)
    elif kind == "text":
        data = (words * (s // len(words) + 1))[:s]
    else:  # text, half of each 4 KB random: binary to the method choice
        data = bytearray((words * (s // len(words) + 1))[:s])
        for o in range(0, s, 4096):
            data[o:o + 2048] = r.randbytes(len(data[o:o + 2048]))
        data = bytes(data)
    with open(full, "wb") as f:
        f.write(data)
    kinds[kind] += 1
print(method, len(entries), sum(sizes), max(sizes),
      " ".join("%s=%d" % kv for kv in kinds.items()))
PY
  seed=${SZARC_PROP_SEED:-$(( $(date +%s) % 100000 * 1000 + RANDOM % 1000 ))}
  trees=${SZARC_PROP_TREES:-5}
  max_mib=${SZARC_PROP_MAX_MIB:-80}
  echo "property: seed $seed, $trees trees (replay: SZARC_PROP_SEED=$seed SZARC_PROP_TREES=$trees)"
  for i in $(seq 0 $((trees - 1))); do
    s=$((seed + i))
    rm -rf prop
    read -r method n total largest kinds <<< "$(python3 gen.py $s prop $((max_mib << 20)))"
    echo "tree $i: seed $s: $n members, $total bytes (largest $largest), $kinds, --method $method"
    [ -n "$method" ] || fail "gen.py failed for seed $s"
    rt "prop-seed-$s" prop --method "$method"
    rm -rf prop "prop-seed-$s.szarc"
  done
else
  echo "no python3: the property test is skipped"
fi

[ $fail = 0 ] || exit 1
[ $have_py = 1 ] || exit 77
echo ok
