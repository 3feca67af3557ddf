#!/usr/bin/env bash
# cli_verify_damage.sh: szarc verify fails, for the right reason and naming
# it, on every kind of damage to a signed archive: one bit flipped in a
# packet, in the manifest, in the signature and in the signed statement; a
# truncated tar; a deleted, a duplicated and a reordered member; a different
# model (pin mismatch); the wrong public key. A good archive verifies (quick
# and full, on the C reference), every failure is reported (not only the
# first), --json streams one object per line, --subset splits the members.
# Usage: cli_verify_damage.sh SZARC
set -eu
SZARC=$1
. "$(dirname "$0")/testlib.sh"
MODELS=${SZARC_BUILD_DIR:-$(dirname "$SZARC")}/models

# verify_expect CODE PATTERN ARCHIVE [OPTIONS...]: verify (full, on the C
# reference) must exit with CODE and print PATTERN (a check name) on stdout
verify_expect() {
  local code=$1 pat=$2 arc=$3 rc=0
  shift 3
  "$SZARC" verify -f "$arc" --device cpu --quiet "$@" > out.txt 2> err.txt || rc=$?
  [ "$rc" = "$code" ] || fail "$arc $*: exit $rc, want $code: $(cat out.txt err.txt)"
  grep -q -- "$pat" out.txt || fail "$arc $*: output lacks '$pat': $(cat out.txt err.txt)"
}


# the offset of the first decimal digit at or after OFFSET in FILE
digit_at() {
  local off=$2 c
  while :; do
    c=$(byte_at "$1" "$off")
    [ "$c" -ge 48 ] && [ "$c" -le 56 ] && { echo "$off"; return; }
    off=$((off + 1))
  done
}


mkdir -p in
cp "$SRC/tests/data/text/sample.txt" in/sample.txt
printf 'a second file, model-coded as well.\n' > in/two.txt
printf 'third file %s\n' 1 2 3 > in/z-three.txt
"$SZARC" keygen -o key > /dev/null
"$SZARC" keygen -o other > /dev/null
export SOURCE_DATE_EPOCH=1700000000
"$SZARC" create --format 1 -f good.szarc --device cpu --quiet --method model --chunk 32 --sign key in
tar -tf good.szarc | tail -n1 | grep -qx 'szarc/signature' || fail "signature is not last"

# the good archive: quick and full, with and without the key; extract and list accept it
verify_expect 0 "^ok  *in/sample.txt (model" good.szarc --pubkey key.pub
grep -q "expanded and re-encoded" out.txt || fail "full verify did not expand"
grep -q "^signature: ok, key .* (the --pubkey key)" out.txt || fail "signature line"
verify_expect 0 "verified" good.szarc --quick --pubkey key.pub
grep -q "expanded" out.txt && fail "--quick expanded members"
verify_expect 0 "not checked against a trusted key" good.szarc
"$SZARC" list -f good.szarc > /dev/null || fail "list rejects a signed archive"
mkdir x && "$SZARC" extract -f good.szarc -C x --device cpu --quiet || fail "extract signed"
diff -r in x/in || fail "signed archive round trip"

# an unsigned archive is valid, and says so; --pubkey makes the signature mandatory
"$SZARC" create --format 1 -f unsigned.szarc --device cpu --quiet --method model --chunk 32 in
# the unsigned warning (not with --quiet, which prints no warning)
rc=0; "$SZARC" verify -f unsigned.szarc --device cpu --quick > out.txt 2> err.txt || rc=$?
[ "$rc" = 0 ] && grep -q "^warning  *archive: unsigned" out.txt ||
  fail "unsigned.szarc --quick: exit $rc, want 0 and the warning: $(cat out.txt err.txt)"
verify_expect 0 "^ok  *in/sample.txt" unsigned.szarc --quick
verify_expect 1 "^FAILED  *archive: unsigned" unsigned.szarc --quick --pubkey key.pub

# wrong public key
verify_expect 1 "wrong-key: signed by key" good.szarc --pubkey other.pub
grep -q "^ok  *in/sample.txt" out.txt || fail "wrong key: members should still verify"

# one bit in a model-coded packet: that member fails, the others pass
off=$(data_offset good.szarc data/in/sample.txt.szp)
psize=$(tar -tvf good.szarc | grep ' data/in/sample.txt.szp$' | awk '{print $3}')
flipbits good.szarc $((off + psize - 3)) 4 flip-packet.szarc
verify_expect 1 "packet-digest: packet sha256 is" flip-packet.szarc --pubkey key.pub
grep -q "^FAILED  *in/sample.txt" out.txt || fail "flipped packet: member not named"
grep -q "^ok  *in/two.txt" out.txt || fail "flipped packet: other members not reported ok"
grep -q "what to do:" out.txt || fail "no advice"
verify_expect 1 "packet-digest" flip-packet.szarc --quick
# extract refuses it as well
"$SZARC" extract -f flip-packet.szarc -C x --device cpu --quiet 2> /dev/null && fail "extract"

# one bit in the manifest (a digit of a hash or size: the JSON stays valid)
off=$(digit_at good.szarc $(( $(offset_of good.szarc '"gguf_sha256": "') + 16 )))
flipbits good.szarc "$off" 1 flip-manifest.szarc
verify_expect 1 "manifest-digest: szarc/manifest.json has sha256" flip-manifest.szarc --quick
# ... and one that breaks the JSON: both findings, and the members are still checked
off=$(data_offset good.szarc szarc/manifest.json)
flipbits good.szarc "$off" 1 broken-manifest.szarc
verify_expect 1 "^FAILED  *archive: manifest: manifest" broken-manifest.szarc --pubkey key.pub
grep -q "manifest-digest: szarc/manifest.json is not the signed manifest" out.txt \
  || fail "broken manifest: digest finding"
grep -q "^ok  *in/sample.txt (model, .*expanded and re-encoded" out.txt \
  || fail "broken manifest: members not checked against the statement: $(cat out.txt)"

# one bit in the signature (a digit of its hex)
sigline=$(offset_of good.szarc 'signature ed25519 ')
off=$(digit_at good.szarc $((sigline + 18 + 64 + 1 + 10)))
flipbits good.szarc "$off" 1 flip-sig.szarc
verify_expect 1 "bad-signature" flip-sig.szarc --quick --pubkey key.pub
grep -q "^ok  *in/sample.txt" out.txt || fail "bad signature: members should still be checked"

# one bit in the signed statement (a digit of the manifest digest it signs)
st=$(offset_of good.szarc 'manifest-sha256 ')
off=$(digit_at good.szarc $((st + 16)))
flipbits good.szarc "$off" 1 flip-statement.szarc
verify_expect 1 "bad-signature: the signature does not match the statement" \
  flip-statement.szarc --quick --pubkey key.pub
# and a bit that breaks its form ('members' -> 'memberr')
off=$(( $(offset_of good.szarc 'members 3') + 6 ))
flipbits good.szarc "$off" 1 bad-statement.szarc
verify_expect 1 "statement: szarc/signature: statement line 7" bad-statement.szarc --quick

# truncated tar: in the middle of a packet
size=$(wc -c < good.szarc)
off=$(data_offset good.szarc data/in/two.txt.szp)
head -c $((off + 10)) good.szarc > cut.szarc
verify_expect 1 "truncated-archive" cut.szarc --quick --pubkey key.pub
grep -q "^FAILED  *in/z-three.txt" out.txt || fail "truncated: missing member not named"
head -c $((size / 2)) good.szarc > half.szarc
verify_expect 1 "FAILED" half.szarc --quick

# members deleted, duplicated, reordered, added (rebuilt with GNU tar)
mkdir raw && tar -xf good.szarc -C raw
P=data/in
(cd raw && tar --format=pax -cf ../deleted.szarc szarc/manifest.json szarc/README.txt \
   $P/sample.txt.szp $P/z-three.txt.szp szarc/signature)
verify_expect 1 "missing-member: packet member data/in/two.txt.szp is missing" deleted.szarc \
  --pubkey key.pub
grep -q "^ok  *in/sample.txt" out.txt || fail "deleted: other members not checked"
(cd raw && tar --format=pax --hard-dereference -cf ../dup.szarc szarc/manifest.json \
   szarc/README.txt $P/sample.txt.szp $P/two.txt.szp $P/two.txt.szp $P/z-three.txt.szp \
   szarc/signature)
verify_expect 1 "duplicate-member: packet member data/in/two.txt.szp appears 2 times" dup.szarc \
  --quick
(cd raw && tar --format=pax -cf ../order.szarc szarc/manifest.json szarc/README.txt \
   $P/two.txt.szp $P/sample.txt.szp $P/z-three.txt.szp szarc/signature)
verify_expect 1 "reordered-member: packet member data/in/sample.txt.szp" order.szarc --quick
(cd raw && tar --format=pax -cf ../sigfirst.szarc szarc/signature szarc/manifest.json \
   szarc/README.txt $P/sample.txt.szp $P/two.txt.szp $P/z-three.txt.szp)
verify_expect 1 "reordered-member" sigfirst.szarc --quick
echo extra > raw/szarc/extra.txt
(cd raw && tar --format=pax -cf ../extra.szarc szarc/manifest.json szarc/README.txt \
   $P/sample.txt.szp $P/two.txt.szp $P/z-three.txt.szp szarc/extra.txt szarc/signature)
verify_expect 1 "unexpected-member: member 6 of the tar, 'szarc/extra.txt'" extra.szarc --quick

# every failure is reported, not only the first: a flipped packet and a deleted member
cp flip-packet.szarc multi.szarc
mkdir raw2 && tar -xf flip-packet.szarc -C raw2
(cd raw2 && tar --format=pax -cf ../multi.szarc szarc/manifest.json szarc/README.txt \
   $P/sample.txt.szp $P/two.txt.szp szarc/signature)
verify_expect 1 "packet-digest" multi.szarc --quick
grep -q "missing-member: packet member data/in/z-three.txt.szp" out.txt || fail "multi: missing"

# another model: the pin does not match (exit 3); the stored member is still checked
verify_expect 3 "model-pin: model .*small-mha" good.szarc --model "$MODELS/small-mha.gguf"
grep -q "^unchecked  *in/sample.txt" out.txt || fail "pin mismatch: member state"
grep -q "not verified (no usable model)" out.txt || fail "pin mismatch: summary"
# members that are not model-coded need no model
"$SZARC" create --format 1 -f stored.szarc --device cpu --quiet --method stored --sign key in
verify_expect 0 "^ok  *in/sample.txt (stored, .*expanded and re-encoded" stored.szarc \
  --model "$MODELS/small-mha.gguf" --pubkey key.pub

# --json: one object per line, members as they finish, then the summary
"$SZARC" verify -f flip-packet.szarc --device cpu --quiet --json > j.txt && fail "json exit"
[ "$(wc -l < j.txt)" = 4 ] || fail "json: $(wc -l < j.txt) lines, want 4: $(cat j.txt)"
"$SZARC" verify -f unsigned.szarc --quick --json > j2.txt || fail "json: unsigned"
head -n1 j2.txt | grep -q '^{"type":"archive","check":"unsigned","status":"warning"' \
  || fail "json: archive line: $(cat j2.txt)"
grep -q '^{"type":"member","index":0,"path":"in/sample.txt","method":"model",.*"status":"failed",.*"check":"packet-digest"' j.txt \
  || fail "json: member: $(cat j.txt)"
tail -n1 j.txt | grep -q '^{"type":"summary",.*"failed":1,.*"result":"failed","exit":1}$' \
  || fail "json: summary: $(tail -n1 j.txt)"
if command -v python3 > /dev/null; then
  python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' j.txt \
    || fail "json: a line does not parse"
fi

# --subset K/N: the slices partition the members (index modulo N)
for k in 1 2; do
  "$SZARC" verify -f good.szarc --device cpu --quiet --quick --subset $k/2 > s$k.txt \
    || fail "subset $k/2"
done
grep -q "2 of 3 members checked (subset 1/2)" s1.txt || fail "subset 1/2: $(cat s1.txt)"
grep -q "1 of 3 members checked (subset 2/2)" s2.txt || fail "subset 2/2: $(cat s2.txt)"
grep -q "^ok  *in/two.txt" s2.txt || fail "subset 2/2 holds member 1"

# usage and I/O errors: exit 2
rc=0; "$SZARC" verify -f nonexistent.szarc 2> /dev/null || rc=$?
[ "$rc" = 2 ] || fail "missing archive: exit $rc"
rc=0; "$SZARC" verify -f good.szarc --subset 3/2 2> /dev/null || rc=$?
[ "$rc" = 2 ] || fail "bad subset: exit $rc"
rc=0; "$SZARC" verify -f good.szarc --pubkey nonexistent.pub 2> /dev/null || rc=$?
[ "$rc" = 2 ] || fail "missing key: exit $rc"
echo ok
