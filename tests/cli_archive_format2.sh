#!/usr/bin/env bash
# cli_archive_format2.sh: format 2 (docs/format.md, sections A-F), what
# szarc create writes by default: many small files sharing groups,
# duplicates stored once, empty files, a binary file, a file larger than a
# group spanning several, Unicode names; list, extract (all, or some
# members), verify (full, --quick, --json, --subset, signed with --pubkey),
# the README's commands with standard tools, a damaged group (its files fail,
# the others are intact), --format 1 writing format 1, and --mode semantic writing format 2 (format 1
# with --format 1).
# Usage: cli_archive_format2.sh SZARC   (SZARC_MODEL: a small test model)
set -eu
SZARC=$1
. "$(dirname "$0")/testlib.sh"
export SOURCE_DATE_EPOCH=1700000000

mkdir -p in/many in/dup "in/ünïcode" in/bin
for i in $(seq 1 300); do printf 'file %d: the river runs past the old mill\n' "$i" > in/many/f$i.txt; done
cp "$SRC/tests/data/text/sample.txt" in/dup/a.txt
cp "$SRC/tests/data/text/sample.txt" in/dup/b.txt
cp "$SRC/tests/data/text/sample.txt" "in/ünïcode/日本語 ✓.txt"
: > in/empty1
: > in/dup/empty2
awk 'BEGIN { x = 7; for (i = 0; i < 5000; i++) { x = (x * 1103515245 + 12345) % 2147483648; printf "%c", int(x / 65536) % 256 } }' > in/bin/blob.bin
# larger than a group (1 MiB): it spans three
seq 1 400000 > in/big.txt
cp in/big.txt in/dup/big-copy.txt # a duplicate spanning groups: written alongside
big=$(stat -c %s in/big.txt)
[ "$big" -gt 2097152 ] || fail "in/big.txt is too small ($big bytes)"
nfiles=$(find in -type f | wc -l)

# create (zstd: fast on 2 cores), list, extract
"$SZARC" create -f z.szarc --device cpu --quiet --method zstd in || fail "create (zstd)"
check "first member is szarc/manifest.json.zst" \
  "[ \"\$(tar -tf z.szarc | head -1)\" = szarc/manifest.json.zst ]"
check "members: manifest, README, groups data/NNNNNNNN.szg" \
  "[ \"\$(tar -tf z.szarc | sed -n 2p)\" = szarc/README.txt ] && ! tar -tf z.szarc | sed 1,2d | grep -vqx 'data/[0-9]\{8\}\.szg'"
ngroups=$(tar -tf z.szarc | grep -c '^data/[0-9]\{8\}\.szg$')
check "several files share a group, the large one spans several ($ngroups groups)" \
  "[ $ngroups -ge 3 ] && [ $ngroups -lt 10 ]"
tar -xOf z.szarc szarc/manifest.json.zst | zstd -dc > manifest.json
check "the manifest is compact JSON of format 2" \
  "grep -q '^{\"format\":\"szarc\",\"format_version\":2,' manifest.json && [ \$(wc -l < manifest.json) = 1 ]"
check "duplicates are stored once (the same offset)" \
  "jq -e '.files as \$f | [range(\$f.path|length)] | map(select(\$f.path[.] == \"in/dup/a.txt\" or \$f.path[.] == \"in/dup/b.txt\")) | map(\$f.offset[.]) | .[0] == .[1]' manifest.json > /dev/null"
"$SZARC" list -f z.szarc > list.txt || fail "list"
check "list shows every file" "[ \$(grep -c ' in/' list.txt) = $nfiles ]"
check "list: a duplicate has no packet bytes of its own" \
  "grep ' in/dup/b.txt\$' list.txt | awk '{exit !(\$3 == 0)}'"
mkdir out
"$SZARC" extract -f z.szarc -C out --device cpu --quiet || fail "extract"
check "round trip (zstd)" "diff -r in out/in"

# the README: at most 1 KiB, and its commands recover a zstd group and a file
tar -xOf z.szarc szarc/README.txt > README.txt
check "README at most 1024 bytes ($(wc -c < README.txt))" "[ \$(wc -c < README.txt) -le 1024 ]"
check "README names the commands" \
  "grep -q 'zstd -dc | jq' README.txt && grep -q 'tail -c +17' README.txt && grep -q 'szarc extract -f' README.txt"
off=$(jq '.files.offset[(.files.path | index("in/many/f1.txt"))]' manifest.json)
size=$(jq '.files.size[(.files.path | index("in/many/f1.txt"))]' manifest.json)
# its group: the first whose end passes off; S, the group's start
read -r gi start < <(jq -r '.groups.size[]' manifest.json |
  awk -v o="$off" '{ if (o < s + $1) { print NR - 1, s; exit } s += $1 }')
tar -xOf z.szarc "$(printf 'data/%08d.szg' "$gi")" | tail -c +17 | zstd -d > g
tail -c +$((off - start + 1)) g | head -c "$size" > f1
check "a file cut out of its group with tail and head" "cmp -s f1 in/many/f1.txt"

# the model: forced, and automatic (small inputs), through a pipe
"$SZARC" create -f - --device cpu --quiet --method model --chunk 32 in/dup/a.txt in/dup/b.txt \
  in/dup/empty2 in/many/f1.txt "in/ünïcode" in/empty1 > m.szarc || fail "create (model)"
check "model groups" "\"$SZARC\" list -f m.szarc | grep -q ' model '"
rm -rf out && mkdir out
"$SZARC" extract -f - -C out --device cpu --quiet < m.szarc || fail "extract (model, stdin)"
check "round trip (model)" "cmp -s in/dup/a.txt out/in/dup/a.txt && cmp -s in/dup/b.txt out/in/dup/b.txt && cmp -s in/many/f1.txt out/in/many/f1.txt && diff -r 'in/ünïcode' 'out/in/ünïcode'"
"$SZARC" verify -f m.szarc --device cpu --quiet > v.txt || fail "verify (model) exited $?"
check "verify: one line per file" "[ \$(grep -c '^ok ' v.txt) = 6 ]"

# some members: only their groups are read
rm -rf out && mkdir out
"$SZARC" extract -f z.szarc -C out --device cpu --quiet in/big.txt in/dup/b.txt || fail "extract MEMBER"
check "extract MEMBER restores those alone" \
  "[ \"\$(cd out && find . -type f | sort | tr '\n' ' ')\" = './in/big.txt ./in/dup/b.txt ' ] && cmp -s in/big.txt out/in/big.txt"

# verify: full, quick, JSON, subsets
"$SZARC" verify -f z.szarc --device cpu --quiet > v.txt || fail "verify exited $?"
check "verify: every file ok" "[ \$(grep -c '^ok ' v.txt) = $nfiles ]"
"$SZARC" verify -f z.szarc --quick --json > vq.json || fail "verify --quick exited $?"
check "verify --json: one member object per file" \
  "[ \$(grep -c '\"type\":\"member\"' vq.json) = $nfiles ] && grep -q '\"mode\":\"quick\"' vq.json"
n1=$("$SZARC" verify -f z.szarc --device cpu --subset 1/2 --json | grep -c '"type":"member"')
n2=$("$SZARC" verify -f z.szarc --device cpu --subset 2/2 --json | grep -c '"type":"member"')
check "verify --subset 1/2 and 2/2 cover the files ($n1 + $n2)" "[ $((n1 + n2)) = $nfiles ]"

# a damaged group: the files of that group fail, the others are intact
# (text comes first: group 1 holds the middle of in/big.txt alone)
first=in/big.txt
off=$(data_offset z.szarc data/00000001.szg)
flipbits z.szarc $((off + 100)) 1 bad.szarc
rm -rf out && mkdir out
rc=0
"$SZARC" extract -f bad.szarc -C out --device cpu --quiet 2> err.txt || rc=$?
check "damaged group: extract exits 1" "[ $rc = 1 ]"
check "damaged group: its file is named with the group" \
  "grep -q \"member '$first' ([a-z]*): data/00000001.szg: the packet is damaged\" err.txt"
check "damaged group: its file and its duplicate are not written" \
  "[ ! -e 'out/$first' ] && [ ! -e out/in/dup/big-copy.txt ]"
check "damaged group: the files of other groups are written" \
  "cmp -s in/many/f1.txt out/in/many/f1.txt && cmp -s in/bin/blob.bin out/in/bin/blob.bin"
rc=0
"$SZARC" verify -f bad.szarc --device cpu > vb.txt 2>&1 || rc=$?
check "damaged group: verify exits 1" "[ $rc = 1 ]"
check "damaged group: verify names the file and the group" \
  "grep -A1 \"^FAILED    $first \" vb.txt | grep -q 'packet-digest: data/00000001.szg'"
check "damaged group: verify passes the other files" "grep -q '^ok        in/many/f1.txt' vb.txt"
"$SZARC" list -f bad.szarc > lb.txt 2>&1 && fail "list of a damaged archive exits 0"
check "damaged group: list marks its files" "grep \" $first \" lb.txt | grep -q DAMAGED"

# signed: verify and extract with --pubkey; a wrong key is refused
"$SZARC" keygen -o alice > /dev/null
"$SZARC" keygen -o mallory > /dev/null
"$SZARC" create -f s.szarc --device cpu --quiet --method zstd --sign alice in/many in/dup || fail "create --sign"
check "statement version 2 with the group lines" \
  "tar -xOf s.szarc szarc/signature | head -1 | grep -qx 'szarc-statement 2' && tar -xOf s.szarc szarc/signature | grep -q '^group 0 '"
"$SZARC" verify -f s.szarc --device cpu --pubkey alice.pub --quiet > /dev/null || fail "verify --pubkey"
rc=0
"$SZARC" verify -f s.szarc --device cpu --pubkey mallory.pub --quiet > w.txt || rc=$?
check "verify --pubkey another key: exit 1, wrong-key" "[ $rc = 1 ] && grep -q wrong-key w.txt"
rm -rf out && mkdir out
"$SZARC" extract -f s.szarc -C out --device cpu --quiet --pubkey alice.pub || fail "extract --pubkey"
check "extract --pubkey" "diff -r in/many out/in/many"
off=$(data_offset s.szarc data/00000000.szg)
flipbits s.szarc $((off + 40)) 1 sbad.szarc
rc=0
"$SZARC" verify -f sbad.szarc --device cpu --pubkey alice.pub --quick > sv.txt || rc=$?
check "signed, damaged group: verify --quick fails with packet-digest" \
  "[ $rc = 1 ] && grep -q 'packet-digest: data/00000000.szg: packet sha256 is .*, the statement signs' sv.txt"

# format 1 on request; semantic mode writes format 2 unless --format 1
"$SZARC" create -f one.szarc --device cpu --quiet --method zstd --format 1 in/dup || fail "--format 1"
check "--format 1 writes szarc/manifest.json and .szp packets" \
  "[ \"\$(tar -tf one.szarc | head -1)\" = szarc/manifest.json ] && tar -tf one.szarc | grep -q 'data/in/dup/a.txt.szp'"
rc=0
"$SZARC" create -f x.szarc --device cpu --quiet --format 3 in/dup 2> /dev/null || rc=$?
check "--format 3 is refused (exit 2)" "[ $rc = 2 ]"
for fmt in "" "--format 2"; do
  rc=0
  "$SZARC" create -f sem.szarc --device cpu --quiet --force $fmt --mode semantic in/dup 2> e.txt || rc=$?
  check "--mode semantic $fmt writes format 2 (szarc/manifest.json.zst)" \
    "[ $rc = 0 ] && [ \"\$(tar -tf sem.szarc | head -1)\" = szarc/manifest.json.zst ]"
done
rc=0
"$SZARC" create -f sem1.szarc --device cpu --quiet --format 1 --mode semantic in/dup 2> e.txt || rc=$?
check "--format 1 --mode semantic writes format 1" \
  "[ $rc = 0 ] && [ \"\$(tar -tf sem1.szarc | head -1)\" = szarc/manifest.json ]"
exit $fail
