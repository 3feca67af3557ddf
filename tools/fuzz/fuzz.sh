#!/usr/bin/env bash
# fuzz.sh: a fuzzing campaign. Builds the libFuzzer targets (tests/fuzz/fuzz_*.c)
# with clang in build-fuzz (-DSZARC_FUZZ=ON: the libraries carry coverage and
# ASan+UBSan too), then runs every target, or the ones named, one after the
# other on one core, and prints per target the executions, executions per
# second, the final coverage (libFuzzer's cov: edges and ft: features) and
# any crash with its reproducer.
#   tools/fuzz/fuzz.sh [SECONDS | -runs N] [TARGET...]      (default: 60 seconds each)
#   tools/fuzz/fuzz.sh -runs 10000000 packet verify
# TARGET is fuzz_X or X. Each target starts from its seeds tests/data/fuzz/X/
# (read only) and from what earlier campaigns found, kept in
# build-fuzz/fuzz-work/X/; a crash's input goes to
# build-fuzz/fuzz-work/crashes/fuzz_X-crash-*. Replay one with
# build-fuzz/tests/fuzz/fuzz_X FILE; once fixed, copy it to tests/data/fuzz/X/ so
# ctest replays it for good.
# Environment: SZARC_FUZZ_BUILD (build directory, default build-fuzz),
# FUZZ_ARGS (more libFuzzer flags, e.g. -max_len=4096), JOBS (build jobs, 2).
# Exit status: 0 when no target crashed, 1 when one did, 2 on a usage or
# build error.
set -uo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${SZARC_FUZZ_BUILD:-$src/build-fuzz}
limit=(-max_total_time=60)
what="60 s"
case "${1:-}" in
  -runs)
    [[ "${2:-}" =~ ^[0-9]+$ ]] || { echo "usage: $0 [SECONDS | -runs N] [TARGET...]" >&2; exit 2; }
    limit=(-runs="$2"); what="$2 runs"; shift 2 ;;
  -h|--help)
    sed -n '2,/^set /p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
  *)
    if [[ "${1:-}" =~ ^[0-9]+$ ]]; then limit=(-max_total_time="$1"); what="$1 s"; shift; fi ;;
esac

targets=()
if [ $# = 0 ]; then
  for f in "$src"/tests/fuzz/fuzz_*.c; do targets+=("$(basename "$f" .c)"); done
else
  for t; do
    t=fuzz_${t#fuzz_}
    [ -f "$src/tests/fuzz/$t.c" ] || { echo "fuzz.sh: no target $t (tests/fuzz/$t.c)" >&2; exit 2; }
    targets+=("$t")
  done
fi

command -v clang >/dev/null || { echo "fuzz.sh: clang is needed" >&2; exit 2; }
cmake -S "$src" -B "$build" -DCMAKE_C_COMPILER=clang -DSZARC_FUZZ=ON >/dev/null || exit 2
cmake --build "$build" -j "${JOBS:-2}" --target "${targets[@]}" >"$build/fuzz-build.log" 2>&1 || {
  tail -n 30 "$build/fuzz-build.log" >&2; echo "fuzz.sh: build failed ($build/fuzz-build.log)" >&2
  exit 2
}

work=$build/fuzz-work
mkdir -p "$work/crashes" "$work/logs"
read -ra extra <<<"${FUZZ_ARGS:-}"
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
echo "fuzz.sh: $what per target, one core; corpora in $work"
printf '%-16s %12s %9s %6s %7s  %s\n' target executions exec/s cov ft result
status=0
for t in "${targets[@]}"; do
  corpus=${t#fuzz_}
  mkdir -p "$work/$corpus"
  log=$work/logs/$t.log
  # the seeds are read, never written: new inputs go to the work corpus
  "$build/tests/fuzz/$t" "${limit[@]}" -print_final_stats=1 -timeout=25 \
    -artifact_prefix="$work/crashes/$t-" "${extra[@]}" \
    "$work/$corpus" "$src/tests/data/fuzz/$corpus" >"$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n1)
  last=$(grep -E '^#[0-9]+.*cov: [0-9]+' "$log" | tail -n1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  if [ $rc = 0 ]; then
    result=ok
  else
    status=1
    art=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n1)
    why=$( (grep -m1 'runtime error:' "$log" || grep -m1 '^SUMMARY:' "$log" ||
            grep -m1 'ERROR:' "$log") | cut -c1-160)
    result="CRASH (exit $rc) ${art:-no reproducer written}: ${why:-see $log}"
  fi
  printf '%-16s %12s %9s %6s %7s  %s\n' "$t" "${execs:--}" "${speed:--}" "${cov:--}" \
    "${ft:--}" "$result"
done
echo "logs: $work/logs/"
exit $status
