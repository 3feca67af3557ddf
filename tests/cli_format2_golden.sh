#!/usr/bin/env bash
# cli_format2_golden.sh: format-2 archives written by the code before the
# match model (commit abc3ac6: group packets with header flags 0), committed
# in tests/data/golden/format2/, and by the code with the match model
# (commit b173a49: flags 1), in tests/data/golden/format2-match/, still
# list, extract and verify with this szarc: "archives of every earlier
# format keep decoding". For every NAME.szarc there the checks
# of golden_archive (testlib.sh): list prints NAME.list, extract writes the
# files of NAME.sha256 with the modes, mtimes and sizes of NAME.files, full
# verify exits 0. Also: their packets have flags 0 and 1, and this szarc's
# have flags 3 (so this test keeps reading the old kinds), signed.szarc verifies
# with --pubkey and fails once a byte of its group is flipped.
#   tests/cli_format2_golden.sh SZARC
SZARC=$(realpath "$1")
. "$(dirname "$0")/testlib.sh"
export LC_ALL=C
golden=$SRC/tests/data/golden/format2
tiny=${SZARC_MODEL:?the tiny test model (SZARC_MODEL)}
default=$SRC/models/szarc-default.gguf
[ -f "$default" ] || fail "$default: no default model"

n=0
for set_ in format2 format2-match; do
  mkdir "$T/$set_" && cd "$T/$set_" || fail "$T/$set_"
  for archive in "$SRC/tests/data/golden/$set_"/*.szarc; do
    name=$(basename "$archive" .szarc)
    n=$((n + 1))
    case $name in
      model) model=$tiny ;;
      embedded) model= ;;
      *) model=$default ;;
    esac
    golden_archive "$SRC/tests/data/golden/$set_" "$name" "$model"
  done
  cd "$T" || fail "$T"
done
check "the format-2 golden archives are all there (5 + 3)" "[ $n = 8 ]"

# the flags byte (offset 6 of the packet) of a model-coded group: 0 and 1
# in the records, 3 in what this szarc writes from the same files
flags_of() { # ARCHIVE: byte 6 of data/00000000.szg
  byte_at "$1" $(( $(data_offset "$1" data/00000000.szg) + 6 ))
}
check "model-default.szarc: its group packet has flags 0 (before the match model)" \
  "[ \"$(flags_of "$golden"/model-default.szarc)\" = 0 ]"
check "format2-match/model-default.szarc: its group packet has flags 1 (the match model)" \
  "[ \"$(flags_of "$golden"-match/model-default.szarc)\" = 1 ]"
mkdir new
"$SZARC" extract -q --device cpu --model "$default" -f "$golden"/model-default.szarc -C new
(cd new && "$SZARC" create -q --device cpu --model "$default" --method model -f ../new.szarc in) \
  2> new.err
check "this szarc writes the same files with flags 3 (the match and count models)" \
  "[ \"$(flags_of new.szarc)\" = 3 ] || cat new.err"

signed=$golden/signed.szarc
"$SZARC" verify --device cpu --model "$default" --pubkey "$SRC"/tests/data/golden/format1/test-key.pub \
  -f "$signed" > pub.verify 2>&1
check "signed: verify --pubkey exits 0" "[ $? = 0 ] || { cat pub.verify; false; }"
off=$(data_offset "$signed" data/00000000.szg)
flipbits "$signed" $((off + 40)) 1 flipped.szarc
"$SZARC" verify --device cpu --model "$default" -f flipped.szarc > flipped.verify 2>&1
rc=$?
check "signed, one group byte flipped: verify fails with exit 1 ($rc)" "[ $rc = 1 ]"
exit $fail
