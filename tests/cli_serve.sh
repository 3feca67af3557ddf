#!/usr/bin/env bash
# cli_serve.sh: `szarc serve` run for real: started on a free loopback port,
# driven over HTTP by tests/serve_check.py (create, verify of a good and a
# damaged archive against `szarc verify --json`, extract, cancel, events,
# auth failures, paths outside the roots, limits, kill -9 and restart,
# SIGTERM), and stopped. The tiny model of $SZARC_MODEL on the C reference.
SZARC=${1:?usage: cli_serve.sh SZARC}
. "$(dirname "$0")/testlib.sh"
command -v python3 > /dev/null || { echo "no python3: skipped"; exit 77; }
python3 "$SRC/tests/serve_check.py" "$SZARC" "$T" "$SRC"
