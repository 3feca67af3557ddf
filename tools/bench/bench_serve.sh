#!/usr/bin/env bash
# bench_serve.sh: the service's measurements (docs/benchmarks.md, "The
# service"): N = 1, 4, 16 concurrent verify jobs against the same jobs in a
# row, with results checked identical to `szarc verify --json`, then the
# loopback load test (200 clients polling while 8 verify jobs run).
#   tools/bench/bench_serve.sh BUILD [MODEL]    (default: models/szarc-default.gguf)
set -eu
build=${1:?usage: bench_serve.sh BUILD [MODEL]}
src=$(cd "$(dirname "$0")/../.." && pwd)
model=${2:-$src/models/szarc-default.gguf}
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "load before: $(uptime | sed 's/.*load average/load average/')"
python3 "$src/tools/bench/serve_bench.py" batch "$build/szarc" "$model" 1 4 16
echo "load: $(uptime | sed 's/.*load average/load average/')"
python3 "$src/tools/bench/serve_bench.py" load "$build/szarc" "$model" 200 8 60
echo "load after: $(uptime | sed 's/.*load average/load average/')"
