#!/usr/bin/env bash
# bench_semantic.sh: semantic mode, size against fidelity. For every file and
# every level 0..3 (0 = exact mode): the member's packet size, bits per byte
# of the original, the change against exact, the deviations the encoder kept,
# and `szarc eval` of the expansion against the original (chrF, critical and
# weighted atom recall, atom precision). Every archive must verify (full
# audit; SZARC_BENCH_VERIFY=0 skips it, the tests cover it). Prints a
# Markdown table for docs/semantic.md. The archives are format 2 (the
# default since 2026-11-30): a member's packet bytes are its share of its
# group packets; SZARC_BENCH_FORMAT=1 measures format 1.
#   tools/bench/bench_semantic.sh BUILD_DIR [MODEL] FILE...
# SZARC_BENCH_DEVICE picks the device (default cpu: the C reference).
set -euo pipefail
build=${1:?build dir}; shift
model=${1:?model (empty for the default)}; shift
[ $# -gt 0 ] || { echo "usage: $0 BUILD_DIR MODEL FILE..." >&2; exit 2; }
szarc=$(cd "$build" && pwd)/szarc
margs=(); [ -n "$model" ] && margs=(--model "$(cd "$(dirname "$model")" && pwd)/$(basename "$model")")
dev=${SZARC_BENCH_DEVICE:-cpu}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
num() { sed -n "s/.*\"$1\": *\([-0-9.e+]*\).*/\1/p" | head -1; }

echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; device $dev"
echo "model: $("$szarc" model info "${margs[@]}" | sed -n 's/^model *//p')"
echo
echo "| file | level | packet bytes | bits/byte | vs exact | deviations kept | chrF | critical recall | weighted recall | precision | create s |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for f in "$@"; do
  name=$(basename "$f")
  mkdir -p "$T/in" && rm -f "$T/in/"* && cp "$f" "$T/in/$name"
  bytes=$(wc -c < "$f")
  exact=
  for level in 0 1 2 3; do
    rm -rf "$T/a.szarc" "$T/out"
    t0=$(date +%s.%N)
    (cd "$T/in" && "$szarc" create -f "$T/a.szarc" --device "$dev" "${margs[@]}" \
      --format "${SZARC_BENCH_FORMAT:-2}" --mode semantic --level "$level" "$name") 2> "$T/log"
    t1=$(date +%s.%N)
    "$szarc" list -f "$T/a.szarc" --json > "$T/list.json"
    psize=$(num packet_size < "$T/list.json")
    [ -n "$exact" ] || exact=$psize
    dev_kept=$(sed -n 's/.*: \([0-9]*\) deviations,.*/\1/p' "$T/log" | head -1)
    [ -n "$dev_kept" ] || dev_kept=0
    mkdir "$T/out"
    "$szarc" extract -f "$T/a.szarc" -C "$T/out" --device "$dev" "${margs[@]}" --quiet
    "$szarc" eval "$f" "$T/out/$name" --json > "$T/eval.json"
    if [ "${SZARC_BENCH_VERIFY:-1}" != 0 ]; then
      "$szarc" verify -f "$T/a.szarc" --device "$dev" "${margs[@]}" --quiet > /dev/null ||
        { echo "verify failed: $name level $level" >&2; exit 1; }
    fi
    awk -v n="$name" -v l="$level" -v p="$psize" -v b="$bytes" -v e="$exact" -v d="$dev_kept" \
      -v c="$(num chrf < "$T/eval.json")" -v cr="$(num critical_atom_recall < "$T/eval.json")" \
      -v wr="$(num weighted_atom_recall < "$T/eval.json")" \
      -v pr="$(num atom_precision < "$T/eval.json")" -v t="$(awk "BEGIN {print $t1 - $t0}")" \
      'BEGIN { printf "| %s | %s | %d | %.3f | %+.2f%% | %d | %.4f | %.4f | %.4f | %.4f | %.1f |\n",
               n, l, p, 8 * p / b, 100 * (p - e) / e, d, c, cr, wr, pr, t }'
  done
done
