#!/usr/bin/env bash
# cli_semantic2.sh: semantic mode in format 2 (docs/format.md section B,
# docs/semantic.md section 7), what `create --mode semantic` writes by
# default, with the trained default model on the C reference:
# - never larger than exact mode: a collection of small files and one prose
#   file at levels 1 to 3 (signed too), each of tests/data/semantic's inputs
#   alone at level 3, and all of them together; where no expansion pays for
#   itself the archive is exact mode's, byte for byte;
# - the expansions forced (--method semantic): the manifest's semantic
#   column and the statement's semantic lines, list (method semantic, the
#   note, --json's semantic object), extract (the expansion, with the
#   manifest's digest, every atom kept), a duplicate sharing its range,
#   eval --archive (the patterns from the manifest), verify (full with
#   --pubkey: atoms checked; --quick);
# - damage: a changed atoms_sha256 in the manifest fails verify (unsigned:
#   atom-hash; signed: manifest-digest); a changed semantic line of the
#   statement fails the signature; a statement re-signed without its
#   semantic lines is a statement finding;
# - --protect: the patterns are in the manifest once, their matches kept;
# - vk:0 (lavapipe) gives the bytes of the C reference;
# - --format 1 --mode semantic still writes format 1.
# Usage: cli_semantic2.sh SZARC   (exit 77: no trained default model)
set -u
SZARC=$1
. "$(dirname "$0")/testlib.sh"
need_default_model
S() { "$SZARC" "$@"; }
M="--model $MODEL --device cpu"
export SOURCE_DATE_EPOCH=1700000000
S keygen -o key > /dev/null || fail "keygen"
size() { stat -c %s "$1"; }
manifest() { tar -xOf "$1" szarc/manifest.json.zst | zstd -dc; }

# inputs: several small files and one prose file
mkdir -p coll/notes
cp "$SRC/tests/data/semantic/prose.txt" coll/prose.txt
printf 'Meeting moved to Tuesday, 10:30, room 4.\n' > coll/notes/meeting.txt
printf 'Buy milk, bread and eggs; call the plumber.\n' > coll/notes/todo.txt
printf 'The build passed on the second try, after a clean checkout.\n' > coll/notes/build.txt
printf '{"name": "szarc", "version": 2}\n' > coll/notes/data.json
cp "$SRC/tests/data/text/sample.txt" coll/sample.txt
find coll -exec touch -h -d @1600000000 {} +

# --- never larger than exact mode ---------------------------------------------
S create -f exact.szarc $M --quiet coll || fail "create (exact)"
S create -f exact-signed.szarc $M --quiet --sign key coll || fail "create (exact, signed)"
for L in 1 2 3; do
  S create -f s$L.szarc $M --quiet --mode semantic --level $L coll || fail "create --level $L"
  check "collection, level $L: $(size s$L.szarc) bytes, exact mode $(size exact.szarc)" \
    '[ "$(size s$L.szarc)" -le "$(size exact.szarc)" ]'
  check "collection, level $L: format 2" \
    '[ "$(tar -tf s$L.szarc | head -1)" = szarc/manifest.json.zst ]'
done
S create -f s3-signed.szarc $M --quiet --mode semantic --level 3 --sign key coll \
  || fail "create --level 3 --sign"
check "collection, level 3, signed: no larger than exact mode, signed" \
  '[ "$(size s3-signed.szarc)" -le "$(size exact-signed.szarc)" ]'
# with the default model no expansion here saves what it adds: exact mode's bytes
check "collection, level 3: no expansion pays, the archive is exact mode's byte for byte" \
  'cmp -s s3.szarc exact.szarc && cmp -s s3-signed.szarc exact-signed.szarc'
mkdir each
for f in "$SRC"/tests/data/semantic/*; do
  b=$(basename "$f")
  cp "$f" each/$b && touch -d @1600000000 each/$b
  (cd each && S create -f ../e-x.szarc $M --quiet --force $b && \
   S create -f ../e-s.szarc $M --quiet --force --mode semantic --level 3 $b) \
    || fail "create $b"
  check "$b alone, level 3: $(size e-s.szarc) bytes, exact mode $(size e-x.szarc)" \
    '[ "$(size e-s.szarc)" -le "$(size e-x.szarc)" ]'
done
S create -f all-x.szarc $M --quiet each && S create -f all-s.szarc $M --quiet --mode semantic \
  --level 2 each || fail "create each/"
check "tests/data/semantic together, level 2: no larger than exact mode" \
  '[ "$(size all-s.szarc)" -le "$(size all-x.szarc)" ]'
# format 1's semantic archive of the collection is what issue 13 was about
S create -f f1.szarc $M --quiet --format 1 --mode semantic coll || fail "create --format 1"
check "--format 1 --mode semantic: format 1, as before" \
  '[ "$(tar -tf f1.szarc | head -1)" = szarc/manifest.json ] && tar -tf f1.szarc | grep -q "^data/coll/prose.txt.szp$"'

# --- forced expansions --------------------------------------------------------
cp coll/prose.txt coll/notes/prose-copy.txt
touch -d @1600000000 coll/notes/prose-copy.txt
S create -f a.szarc $M --quiet --mode semantic --method semantic --level 3 --sign key coll \
  || fail "create --method semantic --level 3 --sign"
manifest a.szarc > manifest.json
check "manifest: the semantic column, after files" \
  'grep -q "\]},\"semantic\":{\"atoms_version\":1,\"patterns\":\[\],\"file\":\[" manifest.json'
S list -f a.szarc > list.txt; rc=$?
check "list: exit 0" '[ $rc = 0 ]'
check "list: prose.txt is semantic, with its note" \
  'grep -q "^ *4939  semantic .*  coll/prose.txt  \[semantic level 3: expands to [0-9]* bytes, not the original; 21 atoms exact\]$" list.txt'
check "list: its duplicate too" 'grep -q "^ *4939  semantic .*  coll/notes/prose-copy.txt  \[semantic" list.txt'
S list -f a.szarc --json > list.json; rc=$?
check "list --json: exit 0" '[ $rc = 0 ]'
python3 - list.json > prose.json <<'EOF' || fail "list --json: no prose.txt"
import json, sys
for m in json.load(open(sys.argv[1]))["members"]:
    if m["path"] == "coll/prose.txt":
        print(json.dumps(m, indent=2))
EOF
check "list --json: mode and method semantic" \
  '[ "$(jfield mode prose.json)" = semantic ] && [ "$(jfield method prose.json)" = semantic ]'
check "list --json: the semantic object (level 3, original size and sha256, 21 atoms)" \
  '[ "$(jfield level prose.json)" = 3 ] && [ "$(jfield original_size prose.json)" = 4939 ] &&
   [ "$(jfield original_sha256 prose.json)" = "$(sha256sum < coll/prose.txt | cut -c1-64)" ] &&
   [ "$(jfield atoms prose.json)" = 21 ]'
n_sem=$(grep -c '"mode": "semantic"' list.json)
check "statement: one semantic line per semantic file ($n_sem), after the groups" \
  '[ "$(tar -xOf a.szarc szarc/signature | grep -c "^semantic [0-9]* [0-9]* [0-9a-f]\{64\}$")" = "$n_sem" ] &&
   tar -xOf a.szarc szarc/signature | grep -A1 "^semantic " | tail -1 | grep -q "^end$"'

mkdir x
S extract -f a.szarc -C x $M --quiet; rc=$?
check "extract: exit 0" '[ $rc = 0 ]'
check "extract: the expansion, not the original" '! cmp -s coll/prose.txt x/coll/prose.txt'
check "extract: sha256 and size are the manifest's" \
  '[ "$(sha256sum < x/coll/prose.txt | cut -c1-64)" = "$(jfield sha256 prose.json)" ] &&
   [ "$(wc -c < x/coll/prose.txt)" = "$(jfield size prose.json)" ]'
check "extract: the duplicate is the same expansion" 'cmp -s x/coll/prose.txt x/coll/notes/prose-copy.txt'
check "manifest: the duplicate names the same range" \
  'python3 -c "import json,sys; f=json.load(open(\"manifest.json\"))[\"files\"]; p=f[\"path\"];
i,j=p.index(\"coll/prose.txt\"),p.index(\"coll/notes/prose-copy.txt\"); sys.exit(f[\"offset\"][i]!=f[\"offset\"][j])"'
S eval coll/prose.txt x/coll/prose.txt --json > eval.json; rc=$?
for k in critical_atom_recall weighted_atom_recall atom_precision; do
  check "eval: $k is exactly 1" '[ $rc = 0 ] && [ "$(jfield $k eval.json)" = 1.0 ]'
done
S eval coll/prose.txt x/coll/prose.txt --archive a.szarc --json > ea.json; rc=$?
check "eval --archive: the member, semantic, level 3, the expansion matches" \
  '[ $rc = 0 ] && [ "$(jfield mode ea.json)" = semantic ] && [ "$(jfield level ea.json)" = 3 ] &&
   [ "$(jfield expansion_matches ea.json)" = true ] && [ "$(jfield archive_patterns ea.json)" = 0 ]'

S verify -f a.szarc $M --quiet --pubkey key.pub > v.txt; rc=$?
check "verify --pubkey (full): exit 0" '[ $rc = 0 ] && grep -q "^signature: ok" v.txt'
check "verify (full): atoms checked" \
  'grep -q "^ok  *coll/prose.txt (semantic, [0-9]* bytes, expanded, protected atoms checked, re-encoded)" v.txt'
S verify -f a.szarc --quick --pubkey key.pub > v.txt; rc=$?
check "verify --quick: exit 0, semantic" '[ $rc = 0 ] && grep -q "^ok  *coll/prose.txt (semantic" v.txt'
S verify -f a.szarc $M --json > v.json; rc=$?
check "verify --json: method semantic" \
  '[ $rc = 0 ] && grep -q "\"path\":\"coll/prose.txt\",\"method\":\"semantic\"" v.json'

# --- damage -------------------------------------------------------------------
# retar.py ARCHIVE OUT MEMBER FILE: the archive with MEMBER's bytes replaced
cat > retar.py <<'EOF'
import io, sys, tarfile
src, dst, name, repl = sys.argv[1:5]
data = open(repl, "rb").read()
with tarfile.open(src) as t, tarfile.open(dst, "w", format=tarfile.PAX_FORMAT) as o:
    for m in t.getmembers():
        b = data if m.name == name else t.extractfile(m).read()
        i = tarfile.TarInfo(m.name)
        i.size, i.mtime, i.mode = len(b), m.mtime, m.mode
        o.addfile(i, io.BytesIO(b))
EOF
S create -f u.szarc $M --quiet --mode semantic --method semantic --level 3 coll/prose.txt \
  || fail "create (unsigned)"
manifest u.szarc | python3 -c '
import re, sys
s = sys.stdin.read()
sys.stdout.write(re.sub(r"(\"atoms_sha256\":\[\")(.)", lambda m: m.group(1) + ("1" if m.group(2) == "0" else "0"), s))' > bad.json
zstd -q -19 -f bad.json -o bad.zst && python3 retar.py u.szarc bad-u.szarc szarc/manifest.json.zst bad.zst \
  || fail "retar"
S verify -f bad-u.szarc $M --quiet > v.txt; rc=$?
check "damaged atoms_sha256 (unsigned): verify exit 1, atom-hash" \
  '[ $rc = 1 ] && grep -q "atom-hash: the expansion has 21 protected atoms with root [0-9a-f]*; the manifest lists 21 with root" v.txt'
S verify -f bad-u.szarc --quick > v.txt; rc=$?
check "damaged atoms_sha256 (unsigned): --quick does not expand, passes" '[ $rc = 0 ]'
manifest a.szarc | python3 -c '
import re, sys
s = sys.stdin.read()
sys.stdout.write(re.sub(r"(\"atoms_sha256\":\[\")(.)", lambda m: m.group(1) + ("1" if m.group(2) == "0" else "0"), s))' > bad.json
zstd -q -19 -f bad.json -o bad.zst && python3 retar.py a.szarc bad-s.szarc szarc/manifest.json.zst bad.zst \
  || fail "retar"
S verify -f bad-s.szarc --quick --pubkey key.pub > v.txt; rc=$?
check "damaged atoms_sha256 (signed): verify exit 1, manifest-digest" \
  '[ $rc = 1 ] && grep -q "manifest-digest" v.txt'
tar -xOf a.szarc szarc/signature | sed '0,/^semantic \([0-9]*\) \([0-9]*\) 0/s//semantic \1 \2 1/;0,/^semantic \([0-9]*\) \([0-9]*\) [1-9a-f]/s//semantic \1 \2 0/' > sig.txt
check "the statement's semantic line was changed" '! tar -xOf a.szarc szarc/signature | cmp -s - sig.txt'
python3 retar.py a.szarc bad-sig.szarc szarc/signature sig.txt || fail "retar"
S verify -f bad-sig.szarc --quick --pubkey key.pub > v.txt; rc=$?
check "changed semantic line of the statement: verify exit 1, bad-signature" \
  '[ $rc = 1 ] && grep -q "bad-signature" v.txt'
# re-signed without its semantic lines (a valid signature by the same key):
# the statement no longer describes the manifest's semantic files
if command -v openssl > /dev/null; then
  tar -xOf a.szarc szarc/signature | sed -n '1,/^end$/p' | grep -v '^semantic ' > st.txt
  pub=$(openssl pkey -in key -pubout -outform DER | tail -c 32 | od -An -tx1 | tr -d ' \n')
  sig=$(openssl pkeyutl -sign -inkey key -rawin -in st.txt | od -An -tx1 | tr -d ' \n')
  { cat st.txt; echo "signature ed25519 $pub $sig"; } > resigned.txt
  python3 retar.py a.szarc resigned.szarc szarc/signature resigned.txt || fail "retar"
  S verify -f resigned.szarc --quick --pubkey key.pub > v.txt; rc=$?
  check "re-signed without semantic lines: signature ok, verify exit 1, statement" \
    '[ $rc = 1 ] && grep -q "^signature: ok" v.txt &&
     grep -q "statement: file [0-9]*: the statement.s semantic line and the manifest.s semantic column differ" v.txt'
else
  echo "no openssl command: the re-signed statement is not checked"
fi

# --- --protect ----------------------------------------------------------------
mkdir pin && cp coll/prose.txt pin/prose.txt
(cd pin && S create -f ../p.szarc $M --quiet --mode semantic --method semantic --level 3 \
  --protect river --protect '\bhas\b' prose.txt) || fail "create --protect"
check "--protect: the patterns are in the manifest, once" \
  'manifest p.szarc | grep -q "\"patterns\":\[\"river\",\"\\\\\\\\bhas\\\\\\\\b\"\]"'
mkdir xp
S extract -f p.szarc -C xp $M --quiet || fail "extract --protect"
for w in river has; do
  check "--protect: '$w' count kept ($(grep -ow $w pin/prose.txt | wc -l))" \
    '[ "$(grep -ow $w xp/prose.txt | wc -l)" = "$(grep -ow $w pin/prose.txt | wc -l)" ]'
done
S verify -f p.szarc $M --quiet > v.txt; rc=$?
check "--protect: verify (full) exit 0, atoms checked with the manifest's patterns" \
  '[ $rc = 0 ] && grep -q "^ok  *prose.txt (semantic, .*protected atoms checked" v.txt'
S eval pin/prose.txt xp/prose.txt --archive p.szarc --json > ep.json; rc=$?
check "--protect: eval --archive uses the archive's 2 patterns" \
  '[ $rc = 0 ] && [ "$(jfield archive_patterns ep.json)" = 2 ] &&
   [ "$(jfield critical_atom_recall ep.json)" = 1.0 ]'

# --- devices ------------------------------------------------------------------
dev=auto; "$SZARC" devices | grep -q '^vk:0' && dev=vk:0
S create -f dev.szarc --model "$MODEL" --device $dev --quiet --mode semantic --method semantic \
  --level 3 --sign key coll || fail "create --device $dev"
check "--device $dev: byte-identical to --device cpu" 'cmp -s a.szarc dev.szarc'
S create -f dev-s.szarc --model "$MODEL" --device $dev --quiet --mode semantic --level 3 coll \
  && S create -f cpu-s.szarc $M --quiet --mode semantic --level 3 coll \
  || fail "create --device $dev (chosen)"
check "--device $dev (expansions as chosen): byte-identical to --device cpu" 'cmp -s cpu-s.szarc dev-s.szarc'

exit $fail
