#!/usr/bin/env bash
# cli_format1_golden.sh: format-1 archives, written once by the code of
# format version 1 and committed in tests/data/golden/format1/, still list,
# extract and verify with this szarc ("format 1 forever": docs/format.md).
# For every NAME.szarc there:
#   szarc list          prints exactly NAME.list
#   szarc extract       writes exactly the files of NAME.sha256 (sha256 of
#                       what extract must write: the expansion for semantic
#                       members) with the modes, mtimes and sizes of NAME.files
#   szarc verify        (full: expand and re-encode) exits 0
# and signed.szarc also verifies with --pubkey test-key.pub, and fails verify
# once one byte of a data packet is flipped.
# Models: tiny-gqa ($SZARC_MODEL, whose sha256 must still be the pinned one),
# models/szarc-default.gguf of the source tree for auto-default.szarc, and
# none for embedded.szarc (it carries its own).
#   tests/cli_format1_golden.sh SZARC
SZARC=$(realpath "$1")
. "$(dirname "$0")/testlib.sh"
export LC_ALL=C
golden=$SRC/tests/data/golden/format1
tiny=${SZARC_MODEL:?the tiny test model (SZARC_MODEL)}
default=$SRC/models/szarc-default.gguf
tiny_pin=fc19fa0e21cc08411eff8f3171586f918b5c3df92b3c056bae695e6926c267cb

[ "$(sha256sum < "$tiny" | cut -d' ' -f1)" = $tiny_pin ] ||
  fail "$tiny is not the tiny-gqa the format-1 archives pin ($tiny_pin):" \
       "tools/gen/gen_model must keep writing the same test model"
[ -f "$default" ] || fail "$default: no default model"

n=0
for archive in "$golden"/*.szarc; do
  name=$(basename "$archive" .szarc)
  n=$((n + 1))
  case $name in
    auto-default) model=$default ;;
    embedded) model= ;;
    *) model=$tiny ;;
  esac
  golden_archive "$golden" "$name" "$model"
done
check "the format-1 golden archives are all there (8)" "[ $n = 8 ]"

# signed.szarc: the signature holds, and a flipped byte in a packet breaks it
signed=$golden/signed.szarc
"$SZARC" verify --device cpu --model "$tiny" --pubkey "$golden"/test-key.pub -f "$signed" \
  > pub.verify 2>&1
check "signed: verify --pubkey exits 0" "[ $? = 0 ] || { cat pub.verify; false; }"
off=$(data_offset "$signed" data/in/sample.txt.szp)
[ -n "$off" ] || fail "signed.szarc: no data/in/sample.txt.szp"
flipbits "$signed" $((off + 100)) 1 flipped.szarc
"$SZARC" verify --device cpu --model "$tiny" -f flipped.szarc > flipped.verify 2>&1
rc=$?
check "signed, one packet byte flipped: verify fails with exit 1 ($rc)" "[ $rc = 1 ]"
"$SZARC" verify --device cpu --model "$tiny" --pubkey "$golden"/test-key.pub -f flipped.szarc \
  > flipped.pub.verify 2>&1
rc=$?
check "signed, one packet byte flipped: verify --pubkey fails with exit 1 ($rc)" "[ $rc = 1 ]"
exit $fail
