#!/usr/bin/env bash
# bench.sh: compression benchmark, side by side in one run, on the English
# texts of ../shared/bench/canterbury: bits per byte and MB/s of create and
# extract for szarc (on each engine given) against gzip -9, bzip2 -9,
# xz -9e and zstd -19; and the coder's overhead over the ideal code length.
#   tools/bench/bench.sh BUILD [DEVICE...]        (default devices: auto cpu)
# Env: BENCH_DIR (default ../shared/bench/canterbury), BENCH_FILES,
#      SZARC_MODEL / BENCH_MODEL (default model otherwise).
set -euo pipefail
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000}  # identical archives on every device
build=$(cd "${1:?build dir}" && pwd); shift
devices=("$@"); [ ${#devices[@]} -gt 0 ] || devices=(auto cpu)
szarc=$build/szarc
dir=${BENCH_DIR:-$(dirname "$0")/../../../shared/bench/canterbury}
dir=$(cd "$dir" && pwd)
files=(${BENCH_FILES:-alice29.txt asyoulik.txt lcet10.txt plrabn12.txt})
margs=(); [ -n "${BENCH_MODEL:-}" ] && margs=(--model "$BENCH_MODEL")
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
now() { date +%s.%N; }
field() { sed -n -e "s/^  \"$1\": \"\(.*\)\",\{0,1\}$/\1/p" -e "s/^  \"$1\": \([-0-9.e+]*\),\{0,1\}$/\1/p"; }

echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "model: $("$szarc" model info "${margs[@]}" | sed -n 's/^model *//p') ($("$szarc" model info "${margs[@]}" | sed -n 's/^parameters *//p') parameters)"
echo "devices: $("$szarc" devices | head -1)"
echo
echo "Bits per byte (lower is better); szarc = model-coded packet / whole archive"
echo
printf '| file | bytes | gzip -9 | bzip2 -9 | xz -9e | zstd -19 | szarc packet | szarc archive |\n|---|---:|---:|---:|---:|---:|---:|---:|\n'
speed=()
for f in "${files[@]}"; do
  src=$dir/$f; n=$(wc -c < "$src")
  row="| $f | $n"
  for c in "gzip -9" "bzip2 -9" "xz -9e" "zstd -19 -q"; do
    t0=$(now); $c -c < "$src" > "$tmp/c"; t1=$(now)
    case $c in zstd*) d="zstd -d -q";; *) d="${c%% *} -d";; esac
    $d -c < "$tmp/c" > "$tmp/d"; t2=$(now); cmp -s "$tmp/d" "$src"
    s=$(wc -c < "$tmp/c")
    row+=$(printf ' | %.3f' "$(echo "$s * 8 / $n" | bc -l)")
    speed+=("| $f | ${c%% -q} | $(printf '%.3f' "$(echo "$n / ($t1 - $t0) / 1000000" | bc -l)") | $(printf '%.3f' "$(echo "$n / ($t2 - $t1) / 1000000" | bc -l)") |")
  done
  first=""
  for dev in "${devices[@]}"; do
    rm -f "$tmp/a.szarc"; rm -rf "$tmp/x"; mkdir "$tmp/x"
    t0=$(now)
    (cd "$dir" && "$szarc" create -f "$tmp/a.szarc" "${margs[@]}" --device "$dev" --quiet "$f")
    t1=$(now)
    "$szarc" extract -f "$tmp/a.szarc" -C "$tmp/x" "${margs[@]}" --device "$dev" --quiet
    t2=$(now)
    cmp -s "$tmp/x/$f" "$src" || { echo "ROUND TRIP FAILED: $f on $dev" >&2; exit 1; }
    pk=$("$szarc" list -f "$tmp/a.szarc" --json | field packet_bytes)
    ar=$(wc -c < "$tmp/a.szarc")
    if [ -z "$first" ]; then
      first=$(sha256sum < "$tmp/a.szarc")
      row+=$(printf ' | %.3f | %.3f |' "$(echo "$pk * 8 / $n" | bc -l)" "$(echo "$ar * 8 / $n" | bc -l)")
    elif [ "$first" != "$(sha256sum < "$tmp/a.szarc")" ]; then
      echo "ARCHIVES DIFFER between devices for $f" >&2; exit 1
    fi
    dname=$dev; [ $dev = auto ] && dname="auto ($("$szarc" devices | sed -n 's/^auto: //p' | cut -c1-40 | sed 's/ *$//'))"
    speed+=("| $f | szarc, $dname | $(printf '%.4f' "$(echo "$n / ($t1 - $t0) / 1000000" | bc -l)") | $(printf '%.4f' "$(echo "$n / ($t2 - $t1) / 1000000" | bc -l)") |")
  done
  echo "$row"
  # coder overhead: packet bits against the ideal sum of -log2 p
  ev=$("$szarc" model eval "$src" "${margs[@]}" --device cpu --chunk "$("$szarc" list -f "$tmp/a.szarc" --json | sed -n 's/^  "chunk": \([0-9]*\),$/\1/p')" --json --quiet)
  # packet = 32-byte header + 8 bytes per chunk + the rANS streams (docs/format.md)
  nch=$("$szarc" list -f "$tmp/a.szarc" --json | sed -n 's/^      "chunks": \([0-9]*\),$/\1/p' | head -1)
  ideal=$(field bits <<<"$ev")
  sbits=$(( (pk - 32 - 8 * nch) * 8 ))
  ovh+=("| $f | $nch | ${ideal%.*} | $((pk * 8)) | $sbits | $(printf '%.3f' "$(echo "($sbits - $ideal) / 8 / $nch" | bc -l)") |")
done
echo
echo "Speed, MB/s of original text (create = compress, extract = decompress; szarc includes model loading)"
echo
printf '| file | tool | create MB/s | extract MB/s |\n|---|---|---:|---:|\n'
printf '%s\n' "${speed[@]}"
echo
echo "Coder overhead: the rANS streams (packet minus its header and chunk table) against the ideal code length"
echo
printf '| file | streams | ideal bits | packet bits | stream bits | stream excess, bytes per stream |\n|---|---:|---:|---:|---:|---:|\n'
printf '%s\n' "${ovh[@]}"
echo
echo "archives identical on every device: yes"
