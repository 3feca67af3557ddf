#!/usr/bin/env bash
# The main job, until archives exist (issue 4): evaluate the default model on
# the sample text on the best device and on the C reference, and show that
# the digests of every frequency table agree.
set -euo pipefail
build=${1:-build}
szarc=$build/szarc
sample=tests/data/text/sample.txt
# the value of a top-level key in szarc's indented JSON (string or number)
field() { sed -n -e "s/^  \"$1\": \"\(.*\)\",\{0,1\}$/\1/p" -e "s/^  \"$1\": \([-0-9.e+]*\),\{0,1\}$/\1/p"; }

echo "== devices"
"$szarc" devices
echo
echo "== default model"
"$szarc" model info
echo
echo "== teacher-forced evaluation of $sample"
best=$("$szarc" model eval "$sample" --device auto --json)
ref=$("$szarc" model eval "$sample" --device cpu --json)
printf '%-44s %10s %12s %s\n' device bits/byte tokens/s digest
for r in "$best" "$ref"; do
  printf '%-44s %10.4f %12.0f %s\n' "$(field device <<<"$r" | cut -c1-44)" \
    "$(field bits_per_byte <<<"$r")" "$(field tokens_per_s <<<"$r")" "$(field digest <<<"$r")"
done
if [ "$(field digest <<<"$best")" = "$(field digest <<<"$ref")" ]; then
  echo "digests agree: every frequency table is bit-identical on both engines"
else
  echo "DIGESTS DIFFER: the engines disagree (this is a bug; please report it)" >&2
  exit 1
fi
