#!/usr/bin/env bash
# The main job: archive the sample documents with the default model on the
# best device, list the archive with tar, extract it, compare every file, and
# compare bits per byte with gzip -9, bzip2 -9, xz -9e and zstd -19 measured
# in the same run. Also shows that the C reference and every Vulkan device
# compute bit-identical frequency tables.
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
szarc=$build/szarc
cd "$(dirname "$0")/../.."
# the sample documents: the project's own texts (MIT, see LICENSE)
docs=(README.md LICENSE docs/numerics.md docs/format.md tests/data/text/sample.txt)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
field() { sed -n -e "s/^  \"$1\": \"\(.*\)\",\{0,1\}$/\1/p" -e "s/^  \"$1\": \([-0-9.e+]*\),\{0,1\}$/\1/p"; }
now() { date +%s.%N; }

echo "== devices"
"$szarc" devices
echo
echo "== default model"
"$szarc" model info
echo
echo "== szarc create (best device)"
t0=$(now)
"$szarc" create -f "$tmp/demo.szarc" "${docs[@]}"
t1=$(now)
printf 'wrote %s bytes in %.1f s\n' "$(wc -c < "$tmp/demo.szarc")" "$(echo "$t1 - $t0" | bc -l)"
echo
echo "== tar -tvf demo.szarc"
tar -tvf "$tmp/demo.szarc"
echo
echo "== szarc extract, then compare every file"
t0=$(now)
mkdir "$tmp/out"
"$szarc" extract -f "$tmp/demo.szarc" -C "$tmp/out"
t1=$(now)
printf 'extracted in %.1f s\n' "$(echo "$t1 - $t0" | bc -l)"
for f in "${docs[@]}"; do
  cmp "$f" "$tmp/out/$f" && echo "identical: $f"
done
echo
echo "== bits per byte (lower is better), measured now"
echo "   (the others compress each file alone; szarc's format 2 codes the files together"
echo "   in groups, and its column is each file's share of its group's packet)"
printf '%-28s %8s %8s %8s %8s %8s %8s %s\n' file bytes gzip-9 bzip2-9 xz-9e zstd-19 szarc method
"$szarc" list -f "$tmp/demo.szarc" --json > "$tmp/list.json"
for f in "${docs[@]}"; do
  n=$(wc -c < "$f")
  row=$(printf '%-28s %8d' "$f" "$n")
  for c in "gzip -9" "bzip2 -9" "xz -9e" "zstd -19 -q"; do
    row+=$(printf ' %8.3f' "$(echo "$($c -c < "$f" | wc -c) * 8 / $n" | bc -l)")
  done
  # the member's record in szarc list --json
  rec=$(awk -v p="\"path\": \"$f\"" 'index($0, p) {on = 1} on {print} on && /}/ {exit}' "$tmp/list.json")
  pk=$(sed -n 's/.*"packet_size": \([0-9]*\).*/\1/p' <<<"$rec")
  me=$(sed -n 's/.*"method": "\([a-z]*\)".*/\1/p' <<<"$rec")
  row+=$(printf ' %8.3f %s' "$(echo "$pk * 8 / $n" | bc -l)" "$me")
  echo "$row"
done
echo
echo "== the same frequency tables on every engine: the C reference and each Vulkan device"
ref=$("$szarc" model eval tests/data/text/sample.txt --device cpu --json --quiet)
printf '%-48s %s\n' "$(field device <<<"$ref")" "$(field digest <<<"$ref")"
status=0
for dev in $("$szarc" devices | sed -n 's/^\(vk:[0-9]*\) .*/\1/p'); do
  # vk:N explicitly: "auto" prefers the C reference over CPU-type devices
  out=$("$szarc" model eval tests/data/text/sample.txt --device "$dev" --json --quiet) || continue
  printf '%-48s %s\n' "$(field device <<<"$out")" "$(field digest <<<"$out")"
  [ "$(field digest <<<"$out")" = "$(field digest <<<"$ref")" ] || status=1
done
if [ $status = 0 ]; then
  echo "digests agree: every frequency table is bit-identical on every engine"
else
  echo "DIGESTS DIFFER: the engines disagree (this is a bug; please report it)" >&2
  exit 1
fi
