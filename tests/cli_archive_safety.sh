#!/usr/bin/env bash
# cli_archive_safety.sh: create and extract refuse what would lose data or
# escape: existing archives and files (unless --force), absolute and '..'
# paths, symbolic links in the target; SIGINT leaves no partial archive; a
# model that does not match the pin exits 3 naming both hashes; an archive
# with --embed-model decodes with no model at hand; zstd/stored archives need
# no model; exit codes and --help.
# Usage: cli_archive_safety.sh SZARC   (SZARC_MODEL: a small test model)
set -eu
SZARC=$1
. "$(dirname "$0")/testlib.sh"
BUILD=${SZARC_BUILD_DIR:-$(dirname "$SZARC")}
# run CODE CMD...: CMD must exit with CODE; its stderr is left in err.txt
run() {
  local code=$1 rc=0
  shift
  "$@" 2> err.txt > out.txt || rc=$?
  [ "$rc" = "$code" ] || fail "$*: exit $rc, want $code ($(cat err.txt))"
}
no_tmp() { [ -z "$(find . -name '.*szarc*' -o -name '.szarc-tmp*')" ] || fail "temporary files left: $(find . -name '.*szarc*')"; }

mkdir -p in/sub
cp "$SRC/tests/data/text/sample.txt" in/sample.txt
printf 'hello\n' > in/sub/hello.txt
ln -s ../sample.txt in/sub/link

# create: the symbolic link is skipped with a warning
run 0 "$SZARC" create -f a.szarc --device cpu --method model --chunk 32 in
grep -q "in/sub/link: symbolic link not stored" err.txt || fail "no warning for the link"
"$SZARC" list -f a.szarc | grep -q link && fail "a symbolic link was stored"

# create: refuses an existing archive, absolute and '..' paths, missing files
cp a.szarc before.szarc
run 2 "$SZARC" create -f a.szarc --device cpu --quiet in
grep -q "exists (use --force" err.txt || fail "no 'exists' message"
cmp a.szarc before.szarc || fail "existing archive changed"
run 0 "$SZARC" create -f a.szarc --device cpu --quiet --force --method model --chunk 32 in
run 2 "$SZARC" create -f abs.szarc --device cpu --quiet "$T/in"
grep -q "absolute paths are not stored" err.txt || fail "absolute path message"
run 2 "$SZARC" create -f up.szarc --device cpu --quiet in/../in
grep -q "paths with '..' are not stored" err.txt || fail "'..' message"
run 2 "$SZARC" create -f none.szarc --device cpu --quiet in/nothing
[ ! -e abs.szarc ] && [ ! -e up.szarc ] && [ ! -e none.szarc ] || fail "archive left after an error"
run 2 "$SZARC" create -f x.szarc --bogus in
run 2 "$SZARC" create in
no_tmp

# SIGINT while creating: no archive, no temporary file
mkdir slow
# (words that do not repeat: format 2 copies repeats instead of coding them)
awk 'BEGIN { x = 1; for (i = 0; i < 600000; i++) { x = (x * 1103515245 + 12345) % 2147483648; printf "w%d ", x % 99991 } }' > slow/big.txt
"$SZARC" create -f int.szarc --device cpu --quiet --method model slow 2>/dev/null &
pid=$!
sleep 1
kill -INT $pid
rc=0; wait $pid || rc=$?
[ "$rc" != 0 ] || fail "create finished before SIGINT (make slow/big.txt larger)"
[ ! -e int.szarc ] || fail "partial archive after SIGINT"
no_tmp

# extract: refuses to overwrite, then --force does
mkdir out
run 0 "$SZARC" extract -f a.szarc -C out --quiet
echo changed > out/in/sub/hello.txt
run 2 "$SZARC" extract -f a.szarc -C out --quiet
grep -q "exists (use --force" err.txt || fail "no 'exists' message on extract"
[ "$(cat out/in/sub/hello.txt)" = changed ] || fail "overwritten without --force"
[ "$(cat out/in/sample.txt)" = "$(cat in/sample.txt)" ] || fail "sample.txt damaged"
run 0 "$SZARC" extract -f a.szarc -C out --quiet --force
cmp in/sub/hello.txt out/in/sub/hello.txt || fail "--force did not restore"
no_tmp

# extract: a symbolic link in the target is never followed
mkdir elsewhere out2
ln -s ../elsewhere out2/in
run 2 "$SZARC" extract -f a.szarc -C out2 --quiet --force
grep -q "'in' is a symbolic link" err.txt || fail "symlink message: $(cat err.txt)"
[ -z "$(ls -A elsewhere)" ] || fail "extract wrote through a symbolic link"
run 2 "$SZARC" extract -f a.szarc -C missing-dir --quiet

# the model pin: another model is refused with both hashes and advice
run 3 "$SZARC" extract -f a.szarc -C out --force --quiet --model "$BUILD/models/small-mha.gguf"
want=$("$SZARC" model info --json | sed -n 's/.*"gguf_sha256": "\([0-9a-f]*\)".*/\1/p')
have=$("$SZARC" model info --json --model "$BUILD/models/small-mha.gguf" | sed -n 's/.*"gguf_sha256": "\([0-9a-f]*\)".*/\1/p')
[ -n "$want" ] && [ -n "$have" ] || fail "model info --json gives no gguf_sha256"
grep -q "$want" err.txt && grep -q "$have" err.txt && grep -q -- "--embed-model" err.txt \
  || fail "pin message lacks the hashes or the advice: $(cat err.txt)"
SZARC_MODEL=/nonexistent run 3 "$SZARC" extract -f a.szarc -C out --force --quiet

# --embed-model: decodes with no model at hand
run 0 "$SZARC" create -f e.szarc --device cpu --quiet --embed-model --method model --chunk 32 in
tar -tf e.szarc | grep -q '^szarc/model.gguf$' || fail "no embedded model"
mkdir out3
SZARC_MODEL=/nonexistent run 0 "$SZARC" extract -f e.szarc -C out3 --quiet
diff -r in/sample.txt out3/in/sample.txt || fail "embedded-model round trip"
"$SZARC" list -f e.szarc | grep -q embedded || fail "list does not show the embedded model"

# stored and zstd members need no model
run 0 "$SZARC" create -f z.szarc --device cpu --quiet --method zstd in
mkdir out4
SZARC_MODEL=/nonexistent run 0 "$SZARC" extract -f z.szarc -C out4 --quiet
diff -r in/sample.txt out4/in/sample.txt || fail "zstd round trip without a model"

# create with no usable model: exit 3; a device index that does not exist is
# a usage error (2); a Vulkan device with no driver cannot be used (4)
SZARC_MODEL=/nonexistent run 3 "$SZARC" create -f n.szarc --quiet in
run 2 "$SZARC" create -f n.szarc --quiet --device vk:99 in
VK_ICD_FILENAMES=/nonexistent.json run 4 "$SZARC" create -f n.szarc --quiet --device vk:0 in
[ ! -e n.szarc ] || fail "archive left after a model or device error"
no_tmp

# --help documents the commands and the exit codes
"$SZARC" --help > help.txt
for w in "create -f ARCHIVE" "extract -f ARCHIVE" "list -f ARCHIVE" "3  no usable model"; do
  grep -q -- "$w" help.txt || fail "--help lacks '$w'"
done
echo ok
