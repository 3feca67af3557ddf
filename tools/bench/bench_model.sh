#!/usr/bin/env bash
# bench_model.sh: the default model's quality on the integer path (what the
# coder uses) on ../shared/bench/canterbury, beside gzip -9, bzip2 -9, xz -9e,
# zstd -19 and brotli (when installed) measured in the same run; optionally
# the float32 model on the same chunks (--compare-float; slow).
#   tools/bench/bench_model.sh BUILD [FLOAT_FILES...]
# Env: BENCH_DIR, BENCH_FILES, BENCH_MODEL, BENCH_DEVICE (default cpu).
set -euo pipefail
build=$(cd "${1:?build dir}" && pwd); shift
float_files=" $* "
szarc=$build/szarc
dir=$(cd "${BENCH_DIR:-$(dirname "$0")/../../../shared/bench/canterbury}" && pwd)
files=(${BENCH_FILES:-alice29.txt asyoulik.txt lcet10.txt plrabn12.txt})
margs=(); [ -n "${BENCH_MODEL:-}" ] && margs=(--model "$BENCH_MODEL")
dev=${BENCH_DEVICE:-cpu}
field() { sed -n -e "s/^  \"$1\": \"\(.*\)\",\{0,1\}$/\1/p" -e "s/^  \"$1\": \([-0-9.e+]*\),\{0,1\}$/\1/p"; }
bpb() { printf '%.3f' "$(echo "$1 * 8 / $2" | bc -l)"; }

echo "model: $("$szarc" model info "${margs[@]}" | sed -n 's/^model *//p'); device $dev; machine $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores"
echo
hdr="| file | bytes | tokens | gzip -9 | bzip2 -9 | xz -9e | zstd -19 |"
command -v brotli >/dev/null && hdr+=" brotli -q 11 |"
hdr+=" szarc (integer) | float32 | integer over float | tokens/s |"
echo "$hdr"
echo "$hdr" | sed 's/[^|]*|/---|/g; s/^---|/|/' | sed 's/|---|/|---|/'
for f in "${files[@]}"; do
  src=$dir/$f; n=$(wc -c < "$src")
  cf=(); [[ "$float_files" == *" $f "* ]] && cf=(--compare-float)
  out=$("$szarc" model eval "$src" "${margs[@]}" --device "$dev" "${cf[@]}" --json --quiet)
  row="| $f | $n | $(field tokens <<<"$out")"
  for c in "gzip -9" "bzip2 -9" "xz -9e" "zstd -19 -q"; do row+=" | $(bpb "$($c -c < "$src" | wc -c)" "$n")"; done
  command -v brotli >/dev/null && row+=" | $(bpb "$(brotli -q 11 -c < "$src" | wc -c)" "$n")"
  row+=" | **$(printf '%.3f' "$(field bits_per_byte <<<"$out")")**"
  if [ ${#cf[@]} -gt 0 ]; then
    row+=" | $(printf '%.3f' "$(field float_bits_per_byte <<<"$out")") | $(printf '%+.2f%%' "$(echo "$(field integer_over_float <<<"$out") * 100" | bc -l)")"
  else
    row+=" | - | -"
  fi
  row+=" | $(printf '%.0f' "$(field tokens_per_s <<<"$out")") |"
  echo "$row"
done
