#!/usr/bin/env bash
# cli_archive_backend.sh: an archive made on the C reference is byte-identical
# to one made on a Vulkan device (lavapipe in CI), and each extracts with the
# other. Creation is deterministic with SOURCE_DATE_EPOCH set.
# Usage: cli_archive_backend.sh SZARC   (exit 77: no Vulkan device, skipped)
set -eu
SZARC=$1
. "$(dirname "$0")/testlib.sh"

skip_without_vulkan
export SOURCE_DATE_EPOCH=1700000000
mkdir -p in/sub
cp "$SRC/tests/data/text/sample.txt" in/sample.txt
printf 'Ελληνικά, русский, 中文, עברית\r\nand \xff invalid bytes\n' > in/sub/mixed.txt
printf 'z' > in/sub/one

for method in model auto; do
  "$SZARC" create -f cpu-$method.szarc --device cpu --quiet --method $method --chunk 32 in \
    || fail "create on cpu ($method)"
  "$SZARC" create -f vk-$method.szarc --device vk:0 --quiet --method $method --chunk 32 in \
    || fail "create on vk:0 ($method)"
  cmp cpu-$method.szarc vk-$method.szarc || fail "cpu and vk:0 archives differ ($method)"
  "$SZARC" create -f again.szarc --device cpu --quiet --method $method --chunk 32 in
  cmp cpu-$method.szarc again.szarc || fail "two runs on cpu differ ($method)"
  rm -f again.szarc
done
"$SZARC" list -f cpu-model.szarc | grep -q ' model ' || fail "no model-coded member"

# each extracts with the other backend
mkdir a b
"$SZARC" extract -f cpu-model.szarc -C a --device vk:0 --quiet || fail "cpu archive on vk:0"
"$SZARC" extract -f vk-model.szarc -C b --device cpu --quiet || fail "vk:0 archive on cpu"
diff -r in a/in && diff -r in b/in || fail "cross-backend round trip differs"
echo ok
