#!/usr/bin/env bash
# make_format1_golden.sh: writes the format-1 golden archives of
# tests/data/golden/format1/ and the records that tests/cli_format1_golden.sh
# checks them against.
#
#   tools/gen/make_format1_golden.sh SZARC TINY_MODEL DEFAULT_MODEL [OUT]
#
# SZARC is a szarc that writes format 1, TINY_MODEL the generated tiny-gqa
# test model (build/models/tiny-gqa.gguf), DEFAULT_MODEL models/szarc-default.gguf;
# OUT defaults to tests/data/golden/format1 of this source tree. The inputs
# come from OUT/inputs/ (committed), copied with fixed modes and mtimes.
#
# Once format 2 is what szarc writes, never run this into the source tree:
# the committed archives are the record of format 1 (see the README there).
# Run it into another directory to compare, if you must.
set -euo pipefail
[ $# -ge 3 ] || { echo "usage: $0 SZARC TINY_MODEL DEFAULT_MODEL [OUT]" >&2; exit 2; }
szarc=$(realpath "$1")
tiny=$(realpath "$2")
default=$(realpath "$3")
src=$(cd "$(dirname "$0")/../.." && pwd)
out=$(realpath -m "${4:-$src/tests/data/golden/format1}")
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

mkdir -p "$out"
openssl pkey -in key.pem -pubout -out "$out"/test-key.pub
for a in ./*.szarc; do
  name=$(basename "$a" .szarc)
  model=$tiny
  [ "$name" = auto-default ] && model=$default
  "$szarc" list -f "$a" > "$name.list"
  mkdir "x.$name"
  "$szarc" extract -q --device cpu --model "$model" -f "$a" -C "x.$name"
  (cd "x.$name" && find . -type f | sort | sed 's#^\./##' | xargs -d '\n' sha256sum) > "$name.sha256"
  (cd "x.$name" && find . -type f | sort | sed 's#^\./##' | xargs -d '\n' stat -c '%a %Y %s %n') > "$name.files"
  "$szarc" verify -f "$a" --device cpu --model "$model" > /dev/null
  cp "$a" "$name.list" "$name.sha256" "$name.files" "$out"/
done
# exact members must come back as their inputs
for name in auto-default model zstd stored signed embedded; do
  tree=in
  [ "$name" = auto-default ] && tree=mix
  (find "$tree" -type f | sort | xargs -d '\n' sha256sum) | cmp - "$name.sha256"
done
echo "format-1 golden archives written to $out:"
(cd "$out" && ls -l ./*.szarc)
