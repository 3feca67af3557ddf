#!/usr/bin/env bash
# bench_engine.sh: engine throughput, side by side in one run: teacher-forced
# (all positions of a chunk in parallel) and decode (one token per stream per
# step, streams batched), on every Vulkan device and on the C reference, for
# the given models. Prints a Markdown table for docs/benchmarks.md and checks
# that every engine produced the same digest.
#   tools/bench/bench_engine.sh BUILD_DIR TEXT [MODEL...]
set -euo pipefail
build=${1:?build dir}; text=${2:?text file}; shift 2
models=("$@")
[ ${#models[@]} -gt 0 ] || models=("")
szarc=$build/szarc
field() { sed -n -e "s/^  \"$1\": \"\(.*\)\",\{0,1\}$/\1/p" -e "s/^  \"$1\": \([-0-9.e+]*\),\{0,1\}$/\1/p"; }

echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $(free -g | awk '/Mem/ {print $2}') GiB"
echo "devices:"; "$szarc" devices | sed 's/^/  /'
echo "text: $text ($(wc -c < "$text") bytes); threads for the C reference: ${SZARC_THREADS:-2}"
echo
echo "| model | device | mode | tokens | bits/byte | tokens/s | digest |"
echo "|---|---|---|---:|---:|---:|---|"
status=0
for m in "${models[@]}"; do
  margs=(); [ -n "$m" ] && margs=(--model "$m")
  name=$("$szarc" model info "${margs[@]}" | sed -n 's/^model *//p')
  devs=(cpu); "$szarc" devices --json | grep -q '"id": "vk:0"' && devs+=(vk:0)
  first=""
  for d in "${devs[@]}"; do
    for mode in teacher-forced decode-1 decode-8 decode-64; do
      extra=(); [ $mode != teacher-forced ] && extra=(--decode --streams "${mode#decode-}")
      out=$("$szarc" model eval "$text" "${margs[@]}" --device "$d" "${extra[@]}" --json --quiet)
      dig=$(field digest <<<"$out")
      [ -z "$first" ] && first=$dig
      [ "$dig" = "$first" ] || status=1
      printf '| %s | %s | %s | %s | %.4f | %.0f | %s |\n' "$name" "$(field device <<<"$out")" \
        "$mode" "$(field tokens <<<"$out")" "$(field bits_per_byte <<<"$out")" \
        "$(field tokens_per_s <<<"$out")" "${dig:0:16}"
    done
  done
done
[ $status = 0 ] && echo && echo "all digests agree" || { echo "DIGESTS DIFFER" >&2; exit 1; }
