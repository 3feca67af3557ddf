#!/usr/bin/env bash
# cli_archive_damage.sh: damaged input gives a clear error naming the member
# and the cause, and exit 1; every member that passes its own checks is still
# extracted, a damaged one never appears: a truncated archive, a flipped byte
# in a packet (model-coded and stored), in the manifest, a missing member, an
# extra, duplicate or reordered member, a wrong file hash, a garbage file, a
# foreign tar, a manifest path that escapes.
# Usage: cli_archive_damage.sh SZARC
set -eu
SZARC=$1
. "$(dirname "$0")/testlib.sh"

# expect CODE PATTERN ARCHIVE [FILE...]: extract must exit with CODE, say
# PATTERN on stderr, and write exactly the FILEs (intact, as in in/), nothing
# else: no damaged file, no temporary file
expect() {
  local code=$1 pat=$2 arc=$3 rc=0 f
  shift 3
  rm -rf out && mkdir out
  "$SZARC" extract -f "$arc" -C out --device cpu --quiet 2> err.txt || rc=$?
  [ "$rc" = "$code" ] || fail "$arc: exit $rc, want $code ($(cat err.txt))"
  grep -q -- "$pat" err.txt || fail "$arc: message lacks '$pat': $(cat err.txt)"
  for f in "$@"; do
    cmp -s "in/$f" "out/in/$f" || fail "$arc: in/$f was not extracted intact ($(cat err.txt))"
  done
  local want=$# have
  have=$(find out -type f | wc -l)
  [ "$have" = "$want" ] || fail "$arc: $have files written, want $want: $(find out -type f | tr '\n' ' ')"
}


mkdir -p in
cp "$SRC/tests/data/text/sample.txt" in/sample.txt
printf 'STOREDMARKER-%s\n' 1 2 3 > in/stored.txt
"$SZARC" create --format 1 -f good.szarc --device cpu --quiet --method model --chunk 32 in/sample.txt
"$SZARC" create --format 1 -f st.szarc --device cpu --quiet --method stored in

# the good archive extracts
rm -rf out && mkdir out
"$SZARC" extract -f good.szarc -C out --quiet || fail "good archive"
cmp in/sample.txt out/in/sample.txt || fail "good archive round trip"

# truncated
size=$(wc -c < good.szarc)
head -c $((size / 2)) good.szarc > half.szarc
expect 1 "szarc: half.szarc:" half.szarc
head -c 700 good.szarc > head.szarc
expect 1 "szarc: head.szarc:" head.szarc

# cut right after the last member: no end-of-archive marker (libarchive and
# GNU tar read it without a word); the member itself is intact
end=$(python3 -c "import tarfile; m=tarfile.open('good.szarc').getmembers()[-1]; print(m.offset_data + (m.size + 511) // 512 * 512)")
head -c "$end" good.szarc > noend.szarc
expect 1 "without its end-of-archive marker" noend.szarc sample.txt
rc=0; "$SZARC" verify -f noend.szarc --quick > v.txt 2>&1 || rc=$?
[ "$rc" = 1 ] && grep -q "truncated-archive" v.txt || fail "verify of an archive without its end marker: exit $rc"

# a flipped byte in a model-coded packet and in a stored packet
off=$(data_offset good.szarc data/in/sample.txt.szp)
flipbits good.szarc $((off + 40)) 0x55 flip-model.szarc
expect 1 "member 'in/sample.txt' (model): the packet is damaged" flip-model.szarc
off=$(data_offset st.szarc data/in/stored.txt.szp)
flipbits st.szarc $((off + 20)) 0x55 flip-stored.szarc
expect 1 "member 'in/stored.txt' (stored): the packet is damaged" flip-stored.szarc sample.txt

# a flipped byte in the manifest: a JSON error or a hash that no longer matches
off=$(data_offset good.szarc szarc/manifest.json)
flipbits good.szarc $((off + 1)) 0x55 flip-manifest.szarc
expect 1 "manifest" flip-manifest.szarc

# members missing, extra, out of order (rebuilt with GNU tar from the raw members)
mkdir raw && tar -xf st.szarc -C raw
(cd raw && tar --format=pax -cf ../missing.szarc szarc/manifest.json szarc/README.txt \
   data/in/sample.txt.szp)
expect 1 "member 'in/stored.txt' (stored): its packet is missing" missing.szarc sample.txt
(cd raw && tar --format=pax -cf ../nomanifest.szarc szarc/README.txt data)
expect 1 "not a szarc archive" nomanifest.szarc
echo extra > raw/szarc/extra.txt
(cd raw && tar --format=pax -cf ../extra.szarc szarc/manifest.json szarc/README.txt \
   data/in/sample.txt.szp data/in/stored.txt.szp szarc/extra.txt)
expect 1 "member 'szarc/extra.txt' has no place in the layout" extra.szarc sample.txt stored.txt
(cd raw && tar --format=pax --hard-dereference -cf ../dup.szarc szarc/manifest.json \
   szarc/README.txt data/in/sample.txt.szp data/in/stored.txt.szp data/in/stored.txt.szp)
expect 1 "member 'data/in/stored.txt.szp' has no place in the layout (a duplicate" dup.szarc \
  sample.txt stored.txt
(cd raw && tar --format=pax --hard-dereference -cf ../dup2.szarc szarc/manifest.json \
   szarc/README.txt data/in/sample.txt.szp data/in/sample.txt.szp data/in/stored.txt.szp)
expect 1 "member 'data/in/sample.txt.szp' has no place in the layout (a duplicate" \
  dup2.szarc sample.txt stored.txt
(cd raw && tar --format=pax -cf ../order.szarc szarc/manifest.json szarc/README.txt \
   data/in/stored.txt.szp data/in/sample.txt.szp)
expect 1 "member 'data/in/sample.txt.szp' is out of its place" order.szarc sample.txt \
  stored.txt

# a manifest whose path escapes the target (its packet renamed to match)
mkdir evil && tar -xf st.szarc -C evil
sed -i 's#"in/stored.txt"#"../stored.txt"#; s#"data/in/stored.txt.szp"#"data/../stored.txt.szp"#' \
  evil/szarc/manifest.json
grep -q '"../stored.txt"' evil/szarc/manifest.json || fail "could not edit the manifest"
(cd evil && tar --format=pax -cf ../evil.szarc szarc/manifest.json szarc/README.txt \
   data/in/sample.txt.szp data/in/stored.txt.szp)
expect 1 "'.' or '..' path component" evil.szarc
[ ! -e stored.txt ] || fail "a file escaped the target"

# a manifest whose file hash is wrong (packets intact): decoding succeeds, the
# restored bytes fail their check, nothing is written
mkdir wrong && tar -xf st.szarc -C wrong
sha=$(sha256sum in/sample.txt | cut -c1-64)
bad=$(echo "$sha" | sed 's/^./0/; t; s/^/x/')
[ "$bad" != "$sha" ] || bad=$(echo "$sha" | sed 's/^./1/')
sed -i "s/\"$sha\"/\"$bad\"/" wrong/szarc/manifest.json
grep -q "$bad" wrong/szarc/manifest.json || fail "could not edit the manifest hash"
(cd wrong && tar --format=pax -cf ../wrong.szarc szarc/manifest.json szarc/README.txt \
   data/in/sample.txt.szp data/in/stored.txt.szp)
expect 1 "member 'in/sample.txt' (stored): the sha256 of the decoded bytes differs" wrong.szarc \
  stored.txt
grep -q "1 of 2 members failed their checks and were not written" err.txt || fail "summary line"

# garbage, an empty file, and a tar that is not a szarc archive
head -c 20000 /dev/urandom > garbage.szarc
expect 1 "szarc: garbage.szarc:" garbage.szarc
: > empty.szarc
expect 1 "szarc: empty.szarc:" empty.szarc
tar -cf foreign.szarc -C in sample.txt
expect 1 "not a szarc archive" foreign.szarc
"$SZARC" list -f foreign.szarc 2>/dev/null && fail "list accepted a foreign tar"
rc=0; "$SZARC" extract -f nonexistent.szarc -C out 2>/dev/null || rc=$?
[ "$rc" = 2 ] || fail "missing archive: exit $rc, want 2"
echo ok
