#!/usr/bin/env bash
# cli_semantic.sh: semantic mode in format 1 (--format 1; format 2 is
# cli_semantic2.sh), with the trained default
# model on tests/data/semantic/prose.txt: create --mode semantic --level 3
# makes a semantic member (list shows it, list --json has the semantic
# object); extract writes an expansion that differs from the original, has
# the manifest's sha256 and keeps every atom (eval: recall and precision
# exactly 1); eval --archive reports the member; verify (full) passes, and
# with --pubkey on a signed archive; a changed atoms_sha256 in the manifest
# and a changed level byte in the packet fail verify; the C reference and
# vk:0 (lavapipe when present) make the same bytes; usage errors
# exit 2; --level 0 is exact; --protect keeps its matches.
# Usage: cli_semantic.sh SZARC   (exit 77: no trained default model)
set -u
SZARC=$1
. "$(dirname "$0")/testlib.sh"
need_default_model
S() { "$SZARC" "$@"; }
M="--model $MODEL"
export SOURCE_DATE_EPOCH=1700000000
cp "$SRC/tests/data/semantic/prose.txt" prose.txt
touch -d '2001-02-03 04:05:06 UTC' prose.txt
S keygen -o key > /dev/null || fail "keygen"

# semantic mode never makes an archive larger than exact mode would: a
# semantic packet is kept only when it saves more than what its manifest
# record and statement line add (SZARC_SEM_RECORD_COST)
S create -f auto.szarc --format 1 $M --device cpu --quiet --mode semantic --level 3 --sign key prose.txt \
  || fail "create --mode semantic --level 3"
S create -f exact.szarc $M --device cpu --quiet --format 1 --sign key prose.txt \
  || fail "create --format 1"
check "semantic mode: no larger than exact mode" \
  '[ "$(stat -c %s auto.szarc)" -le "$(stat -c %s exact.szarc)" ]'

# create, signed, on the C reference, the semantic packet forced
S create -f a.szarc --format 1 $M --device cpu --quiet --mode semantic --method semantic --level 3 \
  --sign key prose.txt || fail "create --mode semantic --method semantic --level 3"
S list -f a.szarc > list.txt; rc=$?
check "list: exit 0" '[ $rc = 0 ]'
check "list: method semantic" 'grep -q "^ *4939  semantic  .* prose.txt" list.txt'
check "list: member note" \
  'grep -q "prose.txt  \[semantic level 3: expands to [0-9]* bytes, not the original; [0-9]* atoms exact\]" list.txt'
S list -f a.szarc --json > list.json; rc=$?
check "list --json: exit 0" '[ $rc = 0 ]'
check "list --json: mode semantic" 'grep -q "^      \"mode\": \"semantic\",$" list.json'
check "list --json: method semantic" 'grep -q "^      \"method\": \"semantic\",$" list.json'
check "list --json: semantic object" 'grep -q "^      \"semantic\": {$" list.json'
check "list --json: level 3" '[ "$(jfield level list.json)" = 3 ]'
check "list --json: original_size" '[ "$(jfield original_size list.json)" = 4939 ]'
check "list --json: original_sha256" \
  '[ "$(jfield original_sha256 list.json)" = "$(sha256sum < prose.txt | cut -c1-64)" ]'
check "list --json: atoms" '[ "$(jfield atoms list.json)" -gt 0 ]'
tar -xOf a.szarc szarc/manifest.json > manifest.json
check "manifest: atoms_sha256" 'grep -q "^        \"atoms_sha256\": \"[0-9a-f]\{64\}\"$" manifest.json'
check "statement: atoms-sha256" 'tar -xOf a.szarc szarc/signature | grep -q "^atoms-sha256 [0-9a-f]\{64\}$"'

# extract: the expansion, not the original, with the manifest's digest, every atom kept
mkdir x
S extract -f a.szarc -C x $M --device cpu --quiet; rc=$?
check "extract: exit 0" '[ $rc = 0 ]'
check "extract: the expansion differs from the original" '! cmp -s prose.txt x/prose.txt'
check "extract: sha256 is the manifest's" \
  '[ "$(sha256sum < x/prose.txt | cut -c1-64)" = "$(jfield sha256 list.json)" ]'
check "extract: size is the manifest's" '[ "$(wc -c < x/prose.txt)" = "$(jfield size list.json)" ]'
S eval prose.txt x/prose.txt --json > eval.json; rc=$?
check "eval: exit 0" '[ $rc = 0 ]'
for k in critical_atom_recall weighted_atom_recall atom_precision; do
  check "eval: $k is exactly 1" '[ "$(jfield $k eval.json)" = 1.0 ]'
done
check "eval: chrf below 1" 'awk -v x="$(jfield chrf eval.json)" "BEGIN { exit !(x > 0.5 && x < 1) }"'

# eval --archive: the member of the original, its mode, level and cost
S eval prose.txt x/prose.txt --archive a.szarc --json > ea.json; rc=$?
check "eval --archive: exit 0" '[ $rc = 0 ]'
check "eval --archive: archive_member" '[ "$(jfield archive_member ea.json)" = prose.txt ]'
check "eval --archive: mode semantic" '[ "$(jfield mode ea.json)" = semantic ]'
check "eval --archive: level 3" '[ "$(jfield level ea.json)" = 3 ]'
check "eval --archive: original_bytes" '[ "$(jfield original_bytes ea.json)" = 4939 ]'
check "eval --archive: packet_bytes" \
  '[ "$(jfield packet_bytes ea.json)" = "$(jfield packet_size list.json)" ]'
check "eval --archive: bits_per_byte" 'awk -v b="$(jfield bits_per_byte ea.json)" \
  -v p="$(jfield packet_bytes ea.json)" "BEGIN { d = b - 8 * p / 4939; exit !(d < 1e-9 && d > -1e-9) }"'
check "eval --archive: the expansion is the member's" \
  '[ "$(jfield expansion_matches ea.json)" = true ]'
check "eval --archive: recall unchanged" '[ "$(jfield critical_atom_recall ea.json)" = 1.0 ]'
S eval prose.txt x/prose.txt --archive a.szarc > ea.txt; rc=$?
check "eval --archive text: exit 0" '[ $rc = 0 ]'
check "eval --archive text: member, mode, level, bits per byte" \
  'grep -q "^archive_member  *prose.txt$" ea.txt && grep -q "^mode  *semantic$" ea.txt &&
   grep -q "^level  *3$" ea.txt && grep -q "^bits_per_byte  *[0-9.]*$" ea.txt'
printf 'not in the archive\n' > other.txt
S eval other.txt x/prose.txt --archive a.szarc > /dev/null 2> err.txt; rc=$?
check "eval --archive: no member matches: exit 2, names the archive and the original" \
  '[ $rc = 2 ] && grep -q "a.szarc" err.txt && grep -q "other.txt" err.txt'
S eval x/prose.txt prose.txt --archive a.szarc > /dev/null 2> err.txt; rc=$?
check "eval --archive: the expansion as ORIGINAL: exit 2, says so" \
  '[ $rc = 2 ] && grep -q "is the expansion of the semantic member prose.txt" err.txt'
S eval prose.txt x/prose.txt --archive missing.szarc > /dev/null 2> err.txt; rc=$?
check "eval --archive: missing archive: exit 2" '[ $rc = 2 ] && grep -q "missing.szarc" err.txt'

# verify: full, with the public key (p.szarc below: full, unsigned)
S verify -f a.szarc $M --device cpu --quiet --pubkey key.pub > v.txt; rc=$?
check "verify --pubkey (full): exit 0" '[ $rc = 0 ] && grep -q "^signature: ok" v.txt'
check "verify --pubkey (full): expanded, atoms checked, re-encoded" \
  'grep -q "^ok  *prose.txt (semantic, .*expanded, protected atoms checked, re-encoded" v.txt'
S verify -f a.szarc --quick > v.txt; rc=$?
check "verify --quick without a key: exit 0" '[ $rc = 0 ] && grep -q "^ok  *prose.txt (semantic" v.txt'

# the same archive made on vk:0 (lavapipe in CI) when there is one, else
# with --device auto ("auto" takes the C reference over a CPU-type device)
dev=auto; "$SZARC" devices | grep -q '^vk:0' && dev=vk:0
S create -f dev.szarc --format 1 $M --device $dev --quiet --mode semantic --method semantic --level 3 \
  --sign key prose.txt
check "--device $dev: byte-identical to --device cpu" 'cmp a.szarc dev.szarc'

# --protect: every match stays; the archive verifies (unsigned: its manifest is the reference).
# The patterns travel in the packet (about 15 bytes here), more than level 3
# saves on this prose with the default model: --method semantic forces the
# semantic packet (as --method model forces model coding in exact mode).
mkdir pin && cp prose.txt pin/prose.txt
(cd pin && S create -f ../p.szarc --format 1 $M --device cpu --quiet --mode semantic --method semantic \
  --level 3 --protect river --protect '\bhas\b' prose.txt) || fail "create --protect"
mkdir xp
S extract -f p.szarc -C xp $M --device cpu --quiet; rc=$?
check "--protect: semantic member" 'S list -f p.szarc | grep -q " semantic .*prose.txt"'
check "--protect: extract exit 0" '[ $rc = 0 ]'
for w in river has; do
  check "--protect: '$w' count kept ($(grep -ow $w pin/prose.txt | wc -l))" \
    '[ "$(grep -ow $w xp/prose.txt | wc -l)" = "$(grep -ow $w pin/prose.txt | wc -l)" ]'
done
S verify -f p.szarc $M --device cpu --quiet > v.txt; rc=$?
check "--protect: verify (full, unsigned) exit 0" \
  '[ $rc = 0 ] && grep -q "^ok  *prose.txt (semantic, .*expanded, protected atoms checked, re-encoded" v.txt'
S eval pin/prose.txt xp/prose.txt --archive p.szarc --json > ep.json; rc=$?
check "--protect: eval --archive uses the member's 2 patterns" \
  '[ $rc = 0 ] && [ "$(jfield archive_patterns ep.json)" = 2 ] &&
   [ "$(jfield critical_atom_recall ep.json)" = 1.0 ]'

# damage: the manifest's atoms_sha256 (one hex digit, in place: the tar stays valid)
cp p.szarc bad-atoms.szarc
off=$(( $(offset_of bad-atoms.szarc '"atoms_sha256": "') + 17 ))
[ "$(byte_at bad-atoms.szarc $off)" = 48 ] && putbyte bad-atoms.szarc $off 49 \
  || putbyte bad-atoms.szarc $off 48
S verify -f bad-atoms.szarc $M --device cpu --quiet > v.txt; rc=$?
check "damaged atoms_sha256: verify exit 1, atom-hash" \
  '[ $rc = 1 ] && grep -q "atom-hash: the expansion has [0-9]* protected atoms with root" v.txt'
# ... of the signed archive: the manifest no longer matches the statement
cp a.szarc bad-atoms-signed.szarc
off=$(( $(offset_of bad-atoms-signed.szarc '"atoms_sha256": "') + 17 ))
[ "$(byte_at bad-atoms-signed.szarc $off)" = 48 ] && putbyte bad-atoms-signed.szarc $off 49 \
  || putbyte bad-atoms-signed.szarc $off 48
S verify -f bad-atoms-signed.szarc --quick --pubkey key.pub > v.txt; rc=$?
check "damaged atoms_sha256 (signed): verify exit 1, manifest-digest" \
  '[ $rc = 1 ] && grep -q "manifest-digest" v.txt'

# damage: the packet's level byte (offset 6 of the .szp)
off=$(( $(data_offset a.szarc data/prose.txt.szp) + 6 ))
check "packet: level byte is 3" '[ "$(byte_at a.szarc $off)" = 3 ]'
for lv in 2 0; do
  cp a.szarc bad-level.szarc
  putbyte bad-level.szarc $off $lv
  S verify -f bad-level.szarc $M --device cpu --quiet > v.txt; rc=$?
  check "damaged level byte ($lv): verify exit 1, packet-format" \
    '[ $rc = 1 ] && grep -q "packet-format: .*level $lv" v.txt'
done

# eval --explain: every change, with its kind; level 3 changes words
S eval prose.txt x/prose.txt --explain > ex3.txt; rc=$?
check "eval --explain: exit 0, a summary line" \
  '[ $rc = 0 ] && grep -q "^changes  *[1-9][0-9]* ([1-9][0-9]* of words)$" ex3.txt'
check "eval --explain: change lines, words among them" \
  'grep -q "^change  *[0-9]*  *[0-9]*  word  \".*\" -> \".*\"$" ex3.txt'
S eval prose.txt x/prose.txt --explain --json > ex3.json; rc=$?
check "eval --explain --json: changes and word_changes" \
  '[ $rc = 0 ] && grep -q "^  \"changes\": \[$" ex3.json && [ "$(jfield word_changes ex3.json)" -gt 0 ]'
check "eval --explain --json: each change's keys" \
  'grep -q "\"kind\": \"word\"" ex3.json && grep -q "\"original_start\": " ex3.json &&
   grep -q "\"expansion_start\": " ex3.json && grep -q "\"before\": " ex3.json &&
   grep -q "\"after\": " ex3.json'

# the default level (punct, 1) changes no word: on prose, legal text, verse
# and code the expansion's words are the original's
for f in prose.txt legal.txt verse.txt code.c; do
  [ -f $f ] || cp "$SRC/tests/data/semantic/$f" $f
  rm -rf xd && mkdir xd
  S create -f d.szarc --format 1 $M --device cpu --quiet --force --mode semantic --method semantic $f \
    || fail "create --mode semantic $f (default level)"
  S extract -f d.szarc -C xd $M --device cpu --quiet || fail "extract $f (default level)"
  S list -f d.szarc --json > d.json
  check "default level: $f: level 1" '[ "$(jfield level d.json)" = 1 ]'
  S eval $f xd/$f --explain --json > d-eval.json; rc=$?
  check "default level: $f: no word changes, atoms exact" \
    '[ $rc = 0 ] && [ "$(jfield word_changes d-eval.json)" = 0 ] &&
     [ "$(jfield critical_atom_recall d-eval.json)" = 1.0 ] &&
     [ "$(jfield atom_precision d-eval.json)" = 1.0 ]'
  check "default level: $f: the same lines" '[ "$(wc -l < $f)" = "$(wc -l < xd/$f)" ]'
done

# level names: words is 2, synonyms is 3
S create -f n2.szarc --format 1 $M --device cpu --quiet --mode semantic --method semantic --level words \
  prose.txt && S create -f l2.szarc --format 1 $M --device cpu --quiet --mode semantic --method semantic \
  --level 2 prose.txt || fail "create --level words, --level 2"
check "--level words is --level 2" 'cmp -s n2.szarc l2.szarc'

# usage errors: exit 2, no archive left
for args in "--level 2" "--mode lossy" "--mode semantic --level 7" "--mode semantic --level wordz" \
            "--mode semantic --method zstd" "--method semantic" "--protect river"; do
  rm -f u.szarc
  S create -f u.szarc --format 1 $M --device cpu --quiet $args prose.txt 2> err.txt; rc=$?
  check "create $args: exit 2" '[ $rc = 2 ] && [ -s err.txt ] && [ ! -e u.szarc ]'
done

# --level 0: an exact archive
S create -f l0.szarc --format 1 $M --device cpu --quiet --mode semantic --level 0 prose.txt; rc=$?
S list -f l0.szarc --json > l0.json
check "--level 0: exit 0, mode exact" '[ $rc = 0 ] && [ "$(jfield mode l0.json)" = exact ]'
check "--level 0: no semantic object" '! grep -q "\"semantic\"" l0.json'
S eval prose.txt prose.txt --archive l0.szarc --json > e0.json; rc=$?
check "--level 0: eval --archive: mode exact, level 0" \
  '[ $rc = 0 ] && [ "$(jfield mode e0.json)" = exact ] && [ "$(jfield level e0.json)" = 0 ]'

exit $fail
