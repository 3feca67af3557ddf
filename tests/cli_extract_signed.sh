#!/usr/bin/env bash
# cli_extract_signed.sh: extract --pubkey checks the signature, the signer and
# every digest before it writes a file, in the same run, and refuses
# otherwise (exit 1, nothing written): an unsigned archive, another signer,
# an archive re-signed by another key after a change, a damaged packet; it
# works from a pipe too. Without --pubkey, a damaged member costs only itself
# in extract and is marked by list.
# Usage: cli_extract_signed.sh SZARC
set -eu
SZARC=$1
. "$(dirname "$0")/testlib.sh"

mkdir -p in/sub
cp "$SRC/tests/data/text/sample.txt" in/sample.txt
printf 'STOREDMARKER-%s\n' 1 2 3 > in/sub/stored.txt
head -c 5000 /dev/urandom > in/sub/r.bin
"$SZARC" keygen -o alice > /dev/null
"$SZARC" keygen -o mallory > /dev/null
chmod 600 alice mallory
"$SZARC" create --format 1 -f signed.szarc --device cpu --quiet --sign alice in
"$SZARC" create --format 1 -f unsigned.szarc --device cpu --quiet in

# refuse CODE PATTERN ARCHIVE [extract args]: exit CODE, PATTERN said, nothing written
refuse() {
  local code=$1 pat=$2 arc=$3 rc=0
  shift 3
  rm -rf out && mkdir out
  "$SZARC" extract -f "$arc" -C out --device cpu --quiet "$@" 2> err.txt || rc=$?
  [ "$rc" = "$code" ] || fail "$arc $*: exit $rc, want $code ($(cat err.txt))"
  grep -q -- "$pat" err.txt || fail "$arc $*: message lacks '$pat': $(cat err.txt)"
  [ -z "$(find out -mindepth 1)" ] || fail "$arc $*: written: $(find out | tr '\n' ' ')"
}

# the signer's key: everything, intact
rm -rf out && mkdir out
"$SZARC" extract -f signed.szarc -C out --device cpu --pubkey alice.pub 2> err.txt ||
  fail "signed archive with its key: $(cat err.txt)"
diff -r in out/in || fail "signed round trip"
check "the summary says the signature was checked" "grep -q 'signature and signer checked' err.txt"

# from a pipe: copied to a temporary file, checked, then extracted
rm -rf out && mkdir out
"$SZARC" extract -f - -C out --device cpu --quiet --pubkey alice.pub < signed.szarc ||
  fail "signed archive from a pipe"
diff -r in out/in || fail "signed round trip from a pipe"

refuse 1 "not signed" unsigned.szarc --pubkey alice.pub
refuse 1 "signed by another key" signed.szarc --pubkey mallory.pub
refuse 2 "pubkey" signed.szarc --pubkey nonexistent.pub

# a changed packet: the digest no longer matches the signed one
off=$(data_offset signed.szarc data/in/sub/stored.txt.szp)
flipbits signed.szarc $((off + 20)) 0x55 flipped.szarc
refuse 1 "nothing was written" flipped.szarc --pubkey alice.pub

# the same change, re-signed by mallory: a valid signature, but not alice's
mkdir raw && tar -xf flipped.szarc -C raw
"$SZARC" create --format 1 -f mallory.szarc --device cpu --quiet --sign mallory in
refuse 1 "signed by another key" mallory.szarc --pubkey alice.pub

# without --pubkey: the damaged member is not written, the others are
rm -rf out && mkdir out
rc=0
"$SZARC" extract -f flipped.szarc -C out --device cpu --quiet 2> err.txt || rc=$?
check "damaged member: exit 1" "[ $rc = 1 ]"
check "damaged member named with its reason" \
  "grep -q \"member 'in/sub/stored.txt' ([a-z]*): the packet is damaged\" err.txt"
check "damaged member not written" "[ ! -e out/in/sub/stored.txt ]"
check "intact members written" "cmp -s in/sample.txt out/in/sample.txt && cmp -s in/sub/r.bin out/in/sub/r.bin"
check "no temporary file left" "[ -z \"\$(find out -name '.szarc-tmp-*')\" ]"

# a member named on the command line, intact, from a damaged archive
rm -rf out && mkdir out
"$SZARC" extract -f flipped.szarc -C out --device cpu --quiet in/sample.txt ||
  fail "an intact member named from a damaged archive"
cmp in/sample.txt out/in/sample.txt || fail "named member"

# list marks the damaged member and exits 1; --json says which
rc=0
"$SZARC" list -f flipped.szarc > list.txt 2> err.txt || rc=$?
check "list of a damaged archive: exit 1" "[ $rc = 1 ]"
check "list marks the damaged member" "grep 'in/sub/stored.txt' list.txt | grep -q DAMAGED"
check "list does not mark intact members" "! grep 'in/sample.txt' list.txt | grep -q DAMAGED"
rc=0
"$SZARC" list -f flipped.szarc --json > list.json 2> /dev/null || rc=$?
check "list --json: intact false for the damaged member" \
  "python3 -c \"import json,sys; m={x['path']:x for x in json.load(open('list.json'))['members']}; sys.exit(not (m['in/sub/stored.txt']['intact'] is False and 'damage' in m['in/sub/stored.txt'] and m['in/sample.txt']['intact'] is True))\""
"$SZARC" list -f signed.szarc > /dev/null || fail "list of an intact archive"
exit $fail
