#!/usr/bin/env bash
# bench_verify.sh: szarc verify throughput (members/s and MB/s of original
# text), quick and full, on every Vulkan device and on the C reference, for
# one signed archive made from the given files (model-coded, so that the
# full audit runs the model: expand, then re-encode). Prints a Markdown table
# for docs/benchmarks.md; every run must verify (exit 0).
#   tools/bench/bench_verify.sh BUILD_DIR [MODEL] [FILE...]
# Defaults: the default model; ../shared/bench/canterbury/*.txt (or, when
# absent, tests/data/text/sample.txt). SZARC_BENCH_CHUNK sets --chunk.
set -euo pipefail
build=${1:?build dir}; shift
model=${1:-}; [ $# -gt 0 ] && shift
src=$(cd "$(dirname "$0")/../.." && pwd)
files=("$@")
if [ ${#files[@]} = 0 ]; then
  for f in "$src"/../shared/bench/canterbury/*.txt; do [ -f "$f" ] && files+=("$f"); done
  [ ${#files[@]} -gt 0 ] || files=("$src/tests/data/text/sample.txt")
fi
szarc=$(cd "$build" && pwd)/szarc
margs=(); [ -n "$model" ] && margs=(--model "$(cd "$(dirname "$model")" && pwd)/$(basename "$model")")
chunk=(); [ -n "${SZARC_BENCH_CHUNK:-}" ] && chunk=(--chunk "$SZARC_BENCH_CHUNK")
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
mkdir "$T/in"
cp "${files[@]}" "$T/in/"
num() { sed -n "s/.*\"$1\":\([-0-9.e+]*\)[,}].*/\1/p"; }
str() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p"; }
now() { date +%s.%N; }

name=$("$szarc" model info "${margs[@]}" | sed -n 's/^model *//p')
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $(free -g | awk '/Mem/ {print $2}') GiB"
echo "devices:"; "$szarc" devices | sed 's/^/  /'
echo "model: $name; threads for the C reference: ${SZARC_THREADS:-2}"
echo "files: ${#files[@]}, $(cat "${files[@]}" | wc -c) bytes"
"$szarc" keygen -o "$T/key" > /dev/null
start=$(now)
(cd "$T/in" && "$szarc" create -f "$T/a.szarc" --quiet --method model "${chunk[@]}" "${margs[@]}" \
  --sign "$T/key" .)
echo "create (best device): $(awk "BEGIN {printf \"%.2f\", $(now) - $start}") s," \
  "archive $(wc -c < "$T/a.szarc") bytes"
echo
echo "| device | mode | members | MB | seconds | members/s | MB/s |"
echo "|---|---|---:|---:|---:|---:|---:|"
devs=(cpu); "$szarc" devices | grep -q '^vk:0' && devs+=(vk:0)
status=0
for d in "${devs[@]}"; do
  for mode in quick full; do
    extra=(); [ $mode = quick ] && extra=(--quick)
    rc=0
    out=$("$szarc" verify -f "$T/a.szarc" --device "$d" "${margs[@]}" --pubkey "$T/key.pub" \
          --json --quiet "${extra[@]}" | tail -n1) || rc=$?
    [ $rc = 0 ] || { status=1; echo "verify on $d ($mode) exited $rc: $out" >&2; }
    dev=$(str device <<<"$out"); [ -n "$dev" ] || dev="$d (no model run)"
    printf '| %s | %s | %s | %.3f | %.2f | %.2f | %.4f |\n' "$dev" "$mode" \
      "$(num selected <<<"$out")" "$(awk "BEGIN {print $(num bytes <<<"$out") / 1e6}")" \
      "$(num seconds <<<"$out")" "$(num members_per_second <<<"$out")" \
      "$(num mb_per_second <<<"$out")"
  done
done
exit $status
