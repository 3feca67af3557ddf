#!/usr/bin/env bash
# cli_volumes.sh: collections (docs/format.md section V). create --volumes N
# writes N volumes that each list, extract and verify alone and together hold
# every file once, split by content bytes, and a signed index; --volume K/N
# writes the same K-th volume alone, byte for byte. list, extract and verify
# take the index: one report, members numbered across the volumes, subsets
# that partition them; a missing, swapped or damaged volume, a changed index,
# another signer and a hostile index (a name with '/') each fail (exit 1)
# with their finding; nothing is overwritten without --force, and a
# collection's folder inside its inputs is refused.
# Usage: cli_volumes.sh SZARC
set -u
SZARC=$1
. "$(dirname "$0")/testlib.sh"
export SOURCE_DATE_EPOCH=1700000000
run() { "$SZARC" "$@" --device cpu; }

mkdir -p in/sub out
for i in 1 2 3 4 5 6; do head -c $((i * 300)) "$SRC/tests/data/text/sample.txt" > in/t$i.txt; done
for j in $(seq 40); do cat "$SRC/tests/data/text/sample.txt"; done | head -c 20000 > in/sub/big.txt
printf 'tiny\n' > in/sub/z.txt
(cd in && find . -type f | sed 's#^\./#in/#' | LC_ALL=C sort) > all.txt
"$SZARC" keygen -q -o k && "$SZARC" keygen -q -o other || fail "keygen"

run create -q --volumes 3 --sign k -f out/c in
check "create --volumes 3 exits 0" "[ $? = 0 ]"
check "three volumes and an index" \
  "[ -f out/c.000.szarc ] && [ -f out/c.001.szarc ] && [ -f out/c.002.szarc ] && [ -f out/c.szarc-index ] && [ ! -e out/c.003.szarc ]"
check "no temporary file left" "[ \$(ls -A out | wc -l) = 4 ]"

# each volume is an ordinary archive: verifies and lists alone; together they
# hold every file once
: > vols.txt
for v in 0 1 2; do
  run verify -q -f out/c.00$v.szarc --pubkey k.pub > /dev/null
  check "volume $v verifies alone" "[ $? = 0 ]"
  "$SZARC" list -f out/c.00$v.szarc --json | sed -n 's/^ *"path": "\(.*\)",$/\1/p' > v$v.txt
  check "volume $v holds at least one file" "[ -s v$v.txt ]"
  cat v$v.txt >> vols.txt
done
check "the volumes hold every file exactly once" "LC_ALL=C sort vols.txt | diff -u all.txt -"
check "consecutive runs of the sorted files" "cat v0.txt v1.txt v2.txt | diff -u all.txt -"
check "split by bytes: in/sub/big.txt (20000 of 26305 bytes) is volume 0 alone" \
  "[ \"\$(cat v0.txt)\" = in/sub/big.txt ]"

# --volume K/N alone gives the K-th volume of --volumes N, byte for byte
run create -q --volume 2/3 --sign k -f out2.szarc in
check "--volume 2/3 is volume 001 byte for byte" "cmp out2.szarc out/c.001.szarc"

# the index: strict form, names, signature
check "index line 1 is canonical JSON naming the volumes" \
  "head -n1 out/c.szarc-index | grep -q '^{\"format\":\"szarc-index\",\"index_version\":1,.*\"name\":\"c.002.szarc\"'"
check "index line 2 is the signature" \
  "[ \$(wc -l < out/c.szarc-index) = 2 ] && sed -n 2p out/c.szarc-index | grep -Eq '^signature ed25519 [0-9a-f]{64} [0-9a-f]{128}\$'"

# verify the collection: one report
run verify -f out/c.szarc-index --pubkey k.pub --json > v.jsonl
check "verify INDEX --pubkey exits 0" "[ $? = 0 ]"
check "one summary: 8 members, 3 volumes, signed, verified" \
  "tail -n1 v.jsonl | grep -q '\"signature\":\"ok\",.*\"members\":8,\"selected\":8,.*\"result\":\"verified\",\"exit\":0,\"volumes\":3}'"
check "each member names its volume" \
  "[ \$(grep -c '\"type\":\"member\".*\"volume\":\"c.00[012].szarc\"}\$' v.jsonl) = 8 ]"
grep '"type":"member"' v.jsonl | sed 's/.*"index":\([0-9]*\),"path":"\([^"]*\)".*/\1 \2/' > members.txt
check "member i is the i-th file of the collection" \
  "diff -u <(awk '{print NR-1, \$0}' all.txt) members.txt"
if python3 -c 'from jsonschema import Draft202012Validator' 2> /dev/null; then
  python3 - "$SRC/docs/schemas/verify.json" v.jsonl > schema.txt 2>&1 <<'PY'
import json, sys
from jsonschema import Draft202012Validator
v = Draft202012Validator(json.load(open(sys.argv[1])))
bad = [e.message for l in open(sys.argv[2]) for e in v.iter_errors(json.loads(l))]
print("\n".join(bad)); sys.exit(1 if bad else 0)
PY
  check "verify --json of a collection validates against docs/schemas/verify.json" "[ $? = 0 ] || { cat schema.txt; false; }"
fi

# subsets across volumes partition the members
: > subsets.txt
for k in 1 2 3 4; do
  run verify -f out/c.szarc-index --quick --subset $k/4 --json | grep '"type":"member"' \
    | sed 's/.*"index":\([0-9]*\),.*/\1/' >> subsets.txt
done
check "--subset 1/4 .. 4/4 of a collection: every member exactly once" \
  "[ \"\$(sort -n subsets.txt | tr '\n' ' ')\" = '0 1 2 3 4 5 6 7 ' ]"
run verify -f out/c.szarc-index --quick --subset 2/4 --json | grep '"type":"member"' \
  | sed 's/.*"index":\([0-9]*\),.*/\1/' | tr '\n' ' ' > s2.txt
check "--subset 2/4 is members 1 and 5" "[ \"\$(cat s2.txt)\" = '1 5 ' ]"

# list and extract of the collection
"$SZARC" list -f out/c.szarc-index --json > l.json
if python3 -c 'from jsonschema import Draft202012Validator' 2> /dev/null; then
  "$SZARC" list -f out/c.szarc-index --json > l0.json
  python3 - "$SRC/docs/schemas/list.json" l0.json > lschema.txt 2>&1 <<'PY'
import json, sys
from jsonschema import Draft202012Validator
v = Draft202012Validator(json.load(open(sys.argv[1])))
bad = [e.message for e in v.iter_errors(json.load(open(sys.argv[2])))]
print("\n".join(bad)); sys.exit(1 if bad else 0)
PY
  check "list --json of a collection validates against docs/schemas/list.json" "[ $? = 0 ] || { cat lschema.txt; false; }"
fi
check "list INDEX --json: every file, each with its volume, then the volumes" \
  "[ \$(grep -c '\"volume\": \"c.00' l.json) = 8 ] && grep -q '\"volumes\": \\[' l.json"
mkdir x
run extract -q -f out/c.szarc-index --pubkey k.pub -C x
check "extract INDEX --pubkey exits 0" "[ $? = 0 ]"
check "extract INDEX restores every file" "diff -r in x/in"
mkdir x2
run extract -q -f out/c.szarc-index -C x2 in/sub/big.txt in/t1.txt
check "extract INDEX MEMBER... finds each in its volume" \
  "cmp in/sub/big.txt x2/in/sub/big.txt && cmp in/t1.txt x2/in/t1.txt && [ \$(find x2 -type f | wc -l) = 2 ]"
mkdir x3
rc=0; run extract -q -f out/c.szarc-index --pubkey other.pub -C x3 2> e.txt || rc=$?
check "extract --pubkey of another signer: exit 1, nothing written" \
  "[ $rc = 1 ] && [ -z \"\$(ls -A x3)\" ] && grep -q 'signed by another key' e.txt"

# damage: each is a failure with its finding
fails_with() { # NAME DIR CHECK
  local rc=0
  run verify -f "$2/c.szarc-index" --quick --json > "$1.jsonl" 2> "$1.err" || rc=$?
  check "$1: exit 1 and a '$3' finding" "[ $rc = 1 ] && grep -q '\"check\":\"$3\"' '$1.jsonl'"
}
cp -r out m && rm m/c.001.szarc
fails_with missing m missing-volume
check "missing: the other volumes' members are still reported" \
  "[ \$(grep -c '\"type\":\"member\"' missing.jsonl) = \$(( 8 - \$(wc -l < v1.txt) )) ]"
cp -r out s && cp out/c.002.szarc s/c.001.szarc
fails_with swapped s volume-digest
check "swapped: the message says another archive is in its place" "grep -q 'another archive in its place' swapped.jsonl"
cp -r out d
off=$(data_offset out/c.002.szarc data/00000000.szg)
flipbits out/c.002.szarc $((off + 40)) 1 d/c.002.szarc
fails_with damaged d volume-digest
check "damaged: its member fails too (packet-digest)" "grep -q '\"check\":\"packet-digest\"' damaged.jsonl"
cp -r out i
h=$(sed -n '1s/.*"name":"c.000.szarc","size":[0-9]*,"sha256":"\(.\).*/\1/p' out/c.szarc-index)
[ "$h" = 0 ] && n=1 || n=0
sed -i "1s/\(\"name\":\"c.000.szarc\",\"size\":[0-9]*,\"sha256\":\"\)./\1$n/" i/c.szarc-index
fails_with changed-index i bad-signature
rc=0; run verify -f out/c.szarc-index --quick --pubkey other.pub > o.txt 2>&1 || rc=$?
check "another signer: exit 1, wrong-key" "[ $rc = 1 ] && grep -q 'wrong-key' o.txt"
cp -r out h && sed -i '1s/"name":"c.000.szarc"/"name":"..\/c.000.szarc"/' h/c.szarc-index
rc=0; run verify -f h/c.szarc-index --json > hostile.jsonl 2>&1 || rc=$?
check "a name with '/': exit 1, one 'index' finding naming the file" \
  "[ $rc = 1 ] && [ \$(wc -l < hostile.jsonl) = 1 ] && grep -q '\"check\":\"index\".*h/c.szarc-index: index: line 1: volumes\\[0\\].name: not a plain file name' hostile.jsonl"
rc=0; "$SZARC" list -f h/c.szarc-index > /dev/null 2>&1 || rc=$?
check "list of that index: exit 1" "[ $rc = 1 ]"

# nothing overwritten without --force; --force replaces
cp out/c.szarc-index idx.orig
rc=0; run create -q --volumes 3 --sign k -f out/c in 2> e.txt || rc=$?
check "an existing collection: exit 2 without --force, unchanged" \
  "[ $rc = 2 ] && grep -q 'exists (use --force' e.txt && cmp idx.orig out/c.szarc-index"
run create -q --volumes 2 --force -f out/c in
check "--force --volumes 2 writes a new index over it" \
  "[ $? = 0 ] && grep -q '\"volumes\":\\[{\"name\":\"c.000.szarc\".*{\"name\":\"c.001.szarc\"[^{]*\\]}\$' out/c.szarc-index"

# an interrupted create --volumes leaves all of the collection or nothing,
# whenever the signal comes (the volumes stay temporary until all are done)
mkdir -p big sig
for j in 1 2 3; do # text without repeats, so that the model codes it all (a few seconds)
  awk -v s=$j 'BEGIN { x = s * 7919; n = split("the of and a to in is was he for it with as his on be at by had are but from or she an they which you one were her all we there been has when who will more no if out so said what up its about into than them can only other new some could time", w, " ")
    for (i = 0; i < 30000; i++) { x = (x * 1103515245 + 12345) % 2147483648
      printf "%s%s", w[1 + int(x / 65536) % n], (i % 12 == 11) ? ".\n" : " " } }' > big/f$j.txt
done
for d in 0.3 1.2; do
  rm -rf sig/*
  "$SZARC" create -q --device cpu --volumes 3 -f sig/c big 2> /dev/null &
  pid=$!
  sleep $d
  kill -INT $pid 2> /dev/null
  wait $pid
  n=$(ls -A sig | wc -l)
  check "SIGINT after ${d}s: the whole collection or nothing (found $n files)" \
    "[ $n = 0 ] || { [ $n = 4 ] && [ -f sig/c.szarc-index ]; }"
done

# usage errors
rc=0; run create -q --volumes 10 -f out/many in 2> e.txt || rc=$?
check "more volumes than files: exit 2" "[ $rc = 2 ] && grep -q 'only 8 files' e.txt && [ ! -e out/many.szarc-index ]"
rc=0; run create -q --volumes 2 -f in/sub/c in 2> e.txt || rc=$?
check "a collection inside its inputs: exit 2" "[ $rc = 2 ] && grep -q 'inside in' e.txt"
rc=0; run create -q --volume 3/2 -f out/v.szarc in 2> /dev/null || rc=$?
check "--volume 3/2: exit 2" "[ $rc = 2 ]"
exit $fail
