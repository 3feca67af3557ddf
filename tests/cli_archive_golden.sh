#!/usr/bin/env bash
# cli_archive_golden.sh: archives are byte-identical to the golden ones.
# The same inputs (copied with fixed times and modes), the same model (the
# generated tiny-gqa), SOURCE_DATE_EPOCH and the same test key give the
# same archive bytes, release after release: tests/data/golden/archives.sha256
# holds the sha256 of each, made by the code before the layered tree of
# issue 11 (commit dd2c847). A refactoring that changes one byte fails here;
# a deliberate format change records new digests with a new format version
# and keeps the old archives decoding. The semantic archives also pin the
# encoder's choices: when a level's policy changes on purpose (2026-11-30:
# level 1 changes no word) their digests are recorded anew, and the archives
# of the old policy keep decoding (tests/data/golden/format1/semantic*.szarc,
# cli_format1_golden.sh). These are format 1 (--format 1);
# format 2 (exact and semantic) is checked for determinism: the same inputs
# give the same bytes twice, and on a Vulkan device (when there is one) as on
# the C reference.
#   tests/cli_archive_golden.sh SZARC [--print]   (--print: the digests only)
SZARC=$1
. "$(dirname "$0")/testlib.sh"
export SOURCE_DATE_EPOCH=1700000000
model=${SZARC_MODEL:?the tiny test model (SZARC_MODEL)}
golden=$SRC/tests/data/golden

mkdir -p in/notes
cp "$SRC"/tests/data/text/sample.txt in/
cp "$SRC"/tests/data/semantic/prose.txt "$SRC"/tests/data/semantic/changelog.txt \
   "$SRC"/tests/data/semantic/records.json in/notes/
head -c 3000 "$SRC"/tests/data/atoms/log.txt > in/notes/log.txt
chmod 755 in in/notes && chmod 644 in/sample.txt in/notes/*
find in -exec touch -h -d @1600000000 {} +
cp "$golden"/test-key.pem key.pem && chmod 600 key.pem

make() { # NAME ARGS...: create NAME.szarc from in/
  local name=$1; shift
  "$SZARC" create --format 1 -q --device cpu --model "$model" -f "$name.szarc" "$@" in \
    || fail "create $name exited $?"
}
make exact
make zstd --method zstd
make stored --method stored
make model --method model --chunk 64
make semantic --mode semantic --method semantic --chunk 64
make semantic3 --mode semantic --method semantic --level 3
make signed --sign key.pem
make embedded --embed-model
"$SZARC" create --format 1 -q --device cpu --model "$model" -f - in/sample.txt > pipe.szarc \
  || fail "create to a pipe exited $?"

if [ "${2:-}" = --print ]; then
  sha256sum ./*.szarc | sed 's# \./# #'
  exit 0
fi
while read -r sum name; do
  [ -f "$name" ] || fail "$name: not made"
  check "$name is byte-identical to the golden archive" \
    "[ \"\$(sha256sum < $name | cut -d' ' -f1)\" = $sum ]"
done < "$golden"/archives.sha256
check "every archive made has a golden digest" \
  "[ \$(ls ./*.szarc | wc -l) = \$(wc -l < $golden/archives.sha256) ]"

# Format 2: deterministic, on every device; with the automatic choice (the
# tiny model loses to zstd: zstd groups) and with the model forced (model
# sets, copies)
mkdir f2
for k in 1 2; do
  "$SZARC" create -q --device cpu --model "$model" --chunk 64 -f f2/cpu$k.szarc in \
    || fail "format 2: create $k exited $?"
done
"$SZARC" create -q --device cpu --model "$model" --chunk 64 --method model -f f2/cpum.szarc in \
  || fail "format 2: create --method model exited $?"
check "format 2: the same inputs give the same archive bytes twice" "cmp -s f2/cpu1.szarc f2/cpu2.szarc"
check "format 2: the first member is szarc/manifest.json.zst" \
  "[ \"\$(tar -tf f2/cpu1.szarc | head -1)\" = szarc/manifest.json.zst ]"
check "format 2: --method model codes model groups" \
  "tar -xOf f2/cpum.szarc data/00000000.szg | head -c 6 | tail -c 1 | od -An -tu1 | grep -qw 2"
# semantic mode in format 2: the expansions forced (the semantic column), and
# as chosen (each expansion against its estimate, the archive against the
# exact one)
for k in 1 2; do
  "$SZARC" create -q --device cpu --model "$model" --chunk 64 --mode semantic --method semantic \
    --level 3 -f f2/sem$k.szarc in || fail "format 2 semantic: create $k exited $?"
done
"$SZARC" create -q --device cpu --model "$model" --chunk 64 --mode semantic --level 3 \
  -f f2/semauto.szarc in || fail "format 2 semantic (chosen): create exited $?"
check "format 2, semantic: the same inputs give the same archive bytes twice" \
  "cmp -s f2/sem1.szarc f2/sem2.szarc"
check "format 2, semantic: the manifest has the semantic column" \
  "tar -xOf f2/sem1.szarc szarc/manifest.json.zst | zstd -dc | grep -q '\"semantic\":{\"atoms_version\":1,'"
if "$SZARC" devices | grep -q '^vk:0'; then
  "$SZARC" create -q --device vk:0 --model "$model" --chunk 64 --mode semantic --method semantic \
    --level 3 -f f2/semvk.szarc in || fail "format 2 semantic: create on vk:0 exited $?"
  check "format 2, semantic: vk:0 and the C reference give the same archive bytes" \
    "cmp -s f2/sem1.szarc f2/semvk.szarc"
  "$SZARC" create -q --device vk:0 --model "$model" --chunk 64 --mode semantic --level 3 \
    -f f2/semautovk.szarc in || fail "format 2 semantic (chosen): create on vk:0 exited $?"
  check "format 2, semantic (chosen): vk:0 and the C reference give the same archive bytes" \
    "cmp -s f2/semauto.szarc f2/semautovk.szarc"
fi
if "$SZARC" devices | grep -q '^vk:0'; then
  "$SZARC" create -q --device vk:0 --model "$model" --chunk 64 -f f2/vk.szarc in \
    || fail "format 2: create on vk:0 exited $?"
  check "format 2: vk:0 and the C reference give the same archive bytes" \
    "cmp -s f2/cpu1.szarc f2/vk.szarc"
  "$SZARC" create -q --device vk:0 --model "$model" --chunk 64 --method model -f f2/vkm.szarc in \
    || fail "format 2: create --method model on vk:0 exited $?"
  check "format 2, model groups: vk:0 and the C reference give the same archive bytes" \
    "cmp -s f2/cpum.szarc f2/vkm.szarc"
else
  echo "no Vulkan device: format 2 on vk:0 not compared"
fi
exit $fail
