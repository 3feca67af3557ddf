#!/usr/bin/env bash
# bench_peer.sh: szarc's C reference side by side with llama.cpp on the same
# GGUF, the same text and the same threads, interleaved (szarc, llama.cpp,
# szarc, ...), medians of ROUNDS, and their ratio: teacher-forced (llama_tf,
# a scorer in szarc's layout: chunks of CHUNK tokens from BOS, every
# position scored) and decoding STREAMS streams at once
# (llama-batched-bench). Build llama.cpp with ../shared/peers/llama.cpp/build.sh.
#   tools/bench/bench_peer.sh BUILD LLAMA_BIN TEXT [MODEL]
# Env: ROUNDS (3), THREADS (2), CHUNK (256), STREAMS (64).
set -euo pipefail
build=${1:?build dir}; peer=${2:?llama.cpp bin dir}; text=${3:?text file}
szarc=$build/szarc
model=${4:-$("$szarc" model info | sed -n 's/^file *//p')}
rounds=${ROUNDS:-3}; threads=${THREADS:-2}; chunk=${CHUNK:-256}; streams=${STREAMS:-64}
export SZARC_THREADS=$threads
num() { sed -n "s/.*\"$1\": *\([0-9.e+]*\).*/\1/p" | head -n1; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; load average now:" \
     "$(cut -d' ' -f1-3 /proc/loadavg) (cores not free when it is above 0.5)"
echo "model: $model; text: $text ($(wc -c < "$text") bytes); threads $threads; chunk $chunk"
echo "szarc engine: $("$szarc" model eval "$text" --model "$model" --device cpu --json \
     --no-digest --chunk "$chunk" | sed -n 's/.*"device": "\(.*\)".*/\1/p')"
s_tf=(); l_tf=(); s_dec=(); l_dec=()
for r in $(seq "$rounds"); do
  s_tf+=("$("$szarc" model eval "$text" --model "$model" --device cpu --json --no-digest \
           --chunk "$chunk" | num tokens_per_s)")
  l_tf+=("$("$peer/llama_tf" "$model" "$text" "$chunk" "$threads" 2>/dev/null | num tokens_per_s)")
  s_dec+=("$("$szarc" model eval "$text" --model "$model" --device cpu --json --no-digest \
            --chunk "$chunk" --decode --streams "$streams" | num tokens_per_s)")
  # llama-batched-bench: the generation speed (S_TG t/s) of npl streams
  l_dec+=("$("$peer/llama-batched-bench" -m "$model" -c 16384 -b 2048 -ub 512 -npp 1 \
            -ntg $((chunk - 1)) -npl "$streams" -t "$threads" 2>/dev/null |
            awk -F'|' '/^\|/ && $2 ~ /[0-9]/ {gsub(/ /, "", $9); print $9}' | tail -n1)")
done
st=$(printf '%s\n' "${s_tf[@]}" | median); lt=$(printf '%s\n' "${l_tf[@]}" | median)
sd=$(printf '%s\n' "${s_dec[@]}" | median); ld=$(printf '%s\n' "${l_dec[@]}" | median)
echo
echo "| mode | szarc C reference tok/s | llama.cpp tok/s | szarc / llama.cpp |"
echo "|---|---:|---:|---:|"
printf '| teacher-forced | %.0f (%s) | %.0f (%s) | %.2f |\n' "$st" "${s_tf[*]}" "$lt" "${l_tf[*]}" \
  "$(echo "$st / $lt" | bc -l)"
printf '| decode, %s streams | %.0f (%s) | %.0f (%s) | %.2f |\n' "$streams" "$sd" "${s_dec[*]}" \
  "$ld" "${l_dec[*]}" "$(echo "$sd / $ld" | bc -l)"
