#!/usr/bin/env bash
# cli_verify_backend.sh: a good signed archive passes a full szarc verify on
# a Vulkan device (lavapipe in CI) and on the C reference, and an archive
# created on one backend verifies on the other (expansion and re-encoding
# are bit-identical). Also: the embedded model is used when no --model is
# given, and the --json summary names the device.
# Usage: cli_verify_backend.sh SZARC   (exit 77: no Vulkan device, skipped)
set -eu
SZARC=$1
. "$(dirname "$0")/testlib.sh"

skip_without_vulkan
export SOURCE_DATE_EPOCH=1700000000
mkdir -p in/sub
cp "$SRC/tests/data/text/sample.txt" in/sample.txt
printf 'Ελληνικά, русский, 中文, עברית\r\nand \xff invalid bytes\n' > in/sub/mixed.txt
printf 'z' > in/sub/one
"$SZARC" keygen -o key > /dev/null

"$SZARC" create -f cpu.szarc --device cpu --quiet --method model --chunk 32 --sign key in \
  || fail "create on cpu"
"$SZARC" create -f vk.szarc --device vk:0 --quiet --method model --chunk 32 --sign key in \
  || fail "create on vk:0"
cmp cpu.szarc vk.szarc || fail "signed archives from cpu and vk:0 differ"

# each verifies on both backends
for arc in cpu vk; do
  for dev in cpu vk:0; do
    rc=0
    "$SZARC" verify -f $arc.szarc --device $dev --quiet --pubkey key.pub --json > out.txt || rc=$?
    [ "$rc" = 0 ] || fail "$arc.szarc on $dev: exit $rc: $(cat out.txt)"
    [ "$(grep -c '"type":"member".*"status":"ok","expanded":true' out.txt)" = 3 ] \
      || fail "$arc.szarc on $dev: members: $(cat out.txt)"
    want=cpu; [ $dev = cpu ] || want=llvmpipe
    tail -n1 out.txt | grep -q "\"device\":\"$want\|\"device\":\"[^\"]*$want" \
      || fail "$arc.szarc on $dev: device: $(tail -n1 out.txt)"
  done
done

# the embedded model is used when no --model is given (SZARC_MODEL unset)
"$SZARC" create -f emb.szarc --device cpu --quiet --method model --chunk 32 --embed-model \
  --sign key in || fail "create --embed-model"
env -u SZARC_MODEL "$SZARC" verify -f emb.szarc --device vk:0 --quiet --pubkey key.pub \
  > out.txt || fail "embedded model: $(cat out.txt)"
grep -q "3 ok, 0 failed" out.txt || fail "embedded model: $(cat out.txt)"
echo ok
