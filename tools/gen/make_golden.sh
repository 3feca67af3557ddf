#!/usr/bin/env bash
# make_golden.sh: writes a set of golden archives, the record of what one
# version of szarc wrote, with the records the golden tests check them
# against (NAME.list, NAME.sha256, NAME.files).
#
#   tools/gen/make_golden.sh SET SZARC TINY_MODEL DEFAULT_MODEL [OUT]
#
# SET is one of
#   format1  tests/data/golden/format1: format 1, by a szarc that writes it
#            (commit 1a2c628; tests/cli_format1_golden.sh)
#   format2  tests/data/golden/format2: format 2 before the match model (group
#            packets with flags 0), by a szarc of commit abc3ac6
#            (tests/cli_format2_golden.sh)
#   format2-match  tests/data/golden/format2-match: format 2 with the match
#            model and before the count model (group packets with flags 1),
#            by a szarc of commit b173a49 (tests/cli_format2_golden.sh)
# TINY_MODEL is the generated tiny-gqa test model (build/models/tiny-gqa.gguf),
# DEFAULT_MODEL models/szarc-default.gguf; OUT defaults to the SET's folder of
# this source tree. The inputs come from tests/data/golden/format1/inputs
# (committed), copied with fixed modes and mtimes.
#
# Never run it into the source tree with a szarc other than the SET's: the
# committed archives are the record (see the README of each folder). Run it
# into another directory to compare, if you must.
set -euo pipefail
[ $# -ge 4 ] || { echo "usage: $0 format1|format2|format2-match SZARC TINY_MODEL DEFAULT_MODEL [OUT]" >&2; exit 2; }
set_=$1
szarc=$(realpath "$2")
tiny=$(realpath "$3")
default=$(realpath "$4")
src=$(cd "$(dirname "$0")/../.." && pwd)
out=$(realpath -m "${5:-$src/tests/data/golden/$set_}")
inputs=$src/tests/data/golden/format1/inputs
key=$src/tests/data/golden/test-key.pem

export SOURCE_DATE_EPOCH=1700000000
export LC_ALL=C
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

# the inputs, with fixed modes and mtimes (git keeps neither)
cp -R "$inputs"/in "$inputs"/mix .
find in mix -type d -exec chmod 755 {} +
find in mix -type f -exec chmod 644 {} +
chmod 755 in/run.sh
find in mix -exec touch -h -d @1600000000 {} +
cp "$key" key.pem && chmod 600 key.pem

mk() { # NAME MODEL TREE ARGS...: create NAME.szarc
  local name=$1 model=$2 tree=$3; shift 3
  "$szarc" create -q --device cpu --model "$model" -f "$name.szarc" "$@" "$tree"
}
case $set_ in
format1)
  # tiny-gqa is an untrained test model: in auto mode it never beats zstd, so
  # the auto-choice case (stored, zstd and model members) uses the default
  # model, which also covers the default model's path.
  mk auto-default "$default" mix
  mk model "$tiny" in --method model
  mk zstd "$tiny" in --method zstd
  mk stored "$tiny" in --method stored
  mk semantic1 "$tiny" in --mode semantic --method semantic --level 1
  mk semantic3 "$tiny" in --mode semantic --method semantic --level 3
  mk signed "$tiny" in --sign key.pem
  mk embedded "$tiny" in --embed-model
  on_default="auto-default" exact="auto-default model zstd stored signed embedded" ;;
format2)
  # the default model codes prose better than zstd: model segments and
  # copies; the auto case's group holds binary files, so it is zstd
  mk auto-default "$default" mix
  mk model-default "$default" in --method model
  mk model "$tiny" in --method model
  mk signed "$default" in --sign key.pem
  mk embedded "$tiny" in --embed-model --method model
  on_default="auto-default model-default signed"
  exact="auto-default model-default model signed embedded" ;;
format2-match)
  # model groups with the match model (flag 1): the default model's
  # segments and copies, the tiny model, a signed one
  mk model-default "$default" in --method model
  mk model "$tiny" in --method model
  mk signed "$default" in --sign key.pem
  on_default="model-default signed"
  exact="model-default model signed" ;;
*) echo "$0: unknown set '$set_'" >&2; exit 2 ;;
esac

mkdir -p "$out"
[ $set_ = format1 ] && openssl pkey -in key.pem -pubout -out "$out"/test-key.pub
for a in ./*.szarc; do
  name=$(basename "$a" .szarc)
  model=$tiny
  case " $on_default " in *" $name "*) model=$default ;; esac
  "$szarc" list -f "$a" > "$name.list"
  mkdir "x.$name"
  "$szarc" extract -q --device cpu --model "$model" -f "$a" -C "x.$name"
  (cd "x.$name" && find . -type f | sort | sed 's#^\./##' | xargs -d '\n' sha256sum) > "$name.sha256"
  (cd "x.$name" && find . -type f | sort | sed 's#^\./##' | xargs -d '\n' stat -c '%a %Y %s %n') > "$name.files"
  "$szarc" verify -f "$a" --device cpu --model "$model" > /dev/null
  cp "$a" "$name.list" "$name.sha256" "$name.files" "$out"/
done
# exact members must come back as their inputs
for name in $exact; do
  tree=in
  [ "$name" = auto-default ] && tree=mix
  (find "$tree" -type f | sort | xargs -d '\n' sha256sum) | cmp - "$name.sha256"
done
echo "$set_ golden archives written to $out:"
(cd "$out" && ls -l ./*.szarc)
