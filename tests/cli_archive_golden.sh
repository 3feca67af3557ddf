#!/usr/bin/env bash
# cli_archive_golden.sh: archives are byte-identical to the golden ones.
# The same inputs (copied with fixed times and modes), the same model (the
# generated tiny-gqa), SOURCE_DATE_EPOCH and the same test key give the
# same archive bytes, release after release: tests/data/golden/archives.sha256
# holds the sha256 of each, made by the code before the layered tree of
# issue 11 (commit dd2c847). A refactoring that changes one byte fails here;
# a deliberate format change records new digests with a new format version
# and keeps the old archives decoding.
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
  "$SZARC" create -q --device cpu --model "$model" -f "$name.szarc" "$@" in \
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
"$SZARC" create -q --device cpu --model "$model" -f - in/sample.txt > pipe.szarc \
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
exit $fail
