#!/usr/bin/env bash
# bench_audit.sh: the audit throughput the service's schedule sustains
# (docs/benchmarks.md, "Scheduled audits"): quick and full audits of a
# collection of archives, members and MB per hour, and the devices needed
# to keep N TB fully verified every 90 days at that rate.
#   tools/bench/bench_audit.sh BUILD [MODEL] [JOBS] [SECONDS] [METHOD]
#   (default: models/szarc-default.gguf, 3 workers: 2 may audit, 60 s a
#   kind, the collection made with create --method auto)
set -eu
build=$(cd "${1:?usage: bench_audit.sh BUILD [MODEL] [JOBS] [SECONDS]}" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
model=$(realpath "${2:-$src/models/szarc-default.gguf}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "load before: $(uptime | sed 's/.*load average/load average/')"
python3 "$src/tools/bench/audit_bench.py" "$build/szarc" "$model" "$src" "$work" "${3:-3}" "${4:-60}" "${5:-auto}"
echo "load after: $(uptime | sed 's/.*load average/load average/')"
