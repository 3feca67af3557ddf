#!/usr/bin/env bash
# cli_serve_slurm.sh: `szarc serve --executor slurm` on a real one-node
# Slurm cluster the test starts and stops itself (tests/slurmlib.sh), driven
# over HTTP by tests/serve_slurm_check.py: a create, the verify of a good
# and of a damaged archive, and scheduled audits run as Slurm array jobs
# give the results of the local executor (the same archive bytes, the same
# verify report, the same audit records); a task killed while it runs is
# submitted again; a cancelled job is scancel'ed.
# Without sbatch the service refuses to start, naming it. Without Slurm (or
# not root) the test is skipped (77), or fails with SZARC_REQUIRE_SLURM=1.
# Usage: cli_serve_slurm.sh SZARC
set -u
SZARC=$1
. "$(dirname "$0")/testlib.sh"
command -v python3 > /dev/null || { echo "no python3: skipped"; exit 77; }

# no sbatch: a clear error at the start, before anything listens
mkdir -p nobin r
rc=0
PATH=$PWD/nobin "$SZARC" serve --listen 127.0.0.1:0 --state st0 --root r --model "$SZARC_MODEL" \
  --device cpu --executor slurm > nosb.out 2>&1 || rc=$?
check "--executor slurm without sbatch: exit 2, naming sbatch" \
  "[ $rc = 2 ] && grep -q 'executor slurm: sbatch not found in PATH' nosb.out || { cat nosb.out; false; }"
rc=0
"$SZARC" serve --listen 127.0.0.1:0 --state st0 --root r --tasks 2 > notask.out 2>&1 || rc=$?
check "--tasks without --executor slurm: exit 2" \
  "[ $rc = 2 ] && grep -q 'are for --executor slurm' notask.out || { cat notask.out; false; }"

. "$SRC/tests/slurmlib.sh"
slurm_start
python3 "$SRC/tests/serve_slurm_check.py" "$SZARC" "$T" "$SRC" || fail "serve_slurm_check.py"
exit $fail
