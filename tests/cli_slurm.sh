#!/usr/bin/env bash
# cli_slurm.sh: szarc slurm on a real one-node Slurm cluster the test starts
# and stops itself (tests/slurmlib.sh). A collection created through sbatch
# (one volume per array task) is byte for byte the one create --volumes
# writes locally, index included; verified through sbatch (one --subset
# slice per task) it gives the report a local verify gives, line for line
# but for the timing keys; a task cancelled while it runs (scancel) ends
# without finishing, is submitted again alone by szarc slurm status, and the
# merged report is still complete. Without Slurm (or not root) the test is
# skipped (77), or fails with SZARC_REQUIRE_SLURM=1 (CI).
# Usage: cli_slurm.sh SZARC
set -u
SZARC=$1
. "$(dirname "$0")/testlib.sh"
. "$SRC/tests/slurmlib.sh"
export SOURCE_DATE_EPOCH=1700000000
slurm_start

mkdir -p in/sub local sl
for i in 1 2 3 4 5 6; do head -c $((i * 300)) "$SRC/tests/data/text/sample.txt" > in/t$i.txt; done
for j in $(seq 40); do cat "$SRC/tests/data/text/sample.txt"; done | head -c 20000 > in/sub/big.txt
printf 'tiny\n' > in/sub/z.txt
"$SZARC" keygen -q -o k || fail "keygen"

# the collection through sbatch is the local one, byte for byte
"$SZARC" create -q --device cpu --volumes 3 --sign k -f local/c in || fail "local create"
"$SZARC" slurm create -q -o sl/c --tasks 3 --sign k --device cpu --time 5 --wait in 2> c.err
check "slurm create --tasks 3 --wait exits 0" "[ $? = 0 ] || { cat c.err; false; }"
for v in 000 001 002; do
  check "volume $v is the local one, byte for byte" "cmp local/c.$v.szarc sl/c.$v.szarc"
done
check "the index is the local one, byte for byte (signed)" "cmp local/c.szarc-index sl/c.szarc-index"
check "three tasks, one attempt each" \
  "tr -d ' \n' < sl/c.slurm/job.json | grep -q '\"attempts\":\\[1,1,1\\]'"

# the same report as a local verify, but for the timing keys
norm() { sed -e 's/"seconds":[^,]*,"members_per_second":[^,]*,"mb_per_second":[^,]*,//' "$1" | sort; }
"$SZARC" verify --device cpu --json -f sl/c.szarc-index --pubkey k.pub > local.jsonl
check "local verify of the collection exits 0" "[ $? = 0 ]"
"$SZARC" slurm verify -q -f sl/c.szarc-index --pubkey k.pub --tasks 3 --device cpu --json --wait \
  > slurm.jsonl 2> v.err
check "slurm verify --tasks 3 --json --wait exits 0" "[ $? = 0 ] || { cat v.err; false; }"
check "slurm verify merges the slices into the local report" \
  "[ -s local.jsonl ] && diff -u <(norm local.jsonl) <(norm slurm.jsonl)"
check "the merged report: 8 members once each, one summary" \
  "[ \$(grep -c '\"type\":\"member\"' slurm.jsonl) = 8 ] && [ \$(grep -c '\"type\":\"summary\"' slurm.jsonl) = 1 ]"

# a damaged, unsigned collection: the same findings, warnings and exit as locally
mkdir un
"$SZARC" create -q --device cpu --volumes 3 -f un/c in || fail "unsigned create"
off=$(data_offset un/c.002.szarc data/00000000.szg)
putbyte un/c.002.szarc $((off + 40)) $(( $(byte_at un/c.002.szarc $((off + 40))) ^ 1 ))
rc=0; "$SZARC" verify --device cpu --json -f un/c.szarc-index > local3.jsonl || rc=$?
check "local verify of the damaged collection: exit 1" "[ $rc = 1 ]"
rc=0; "$SZARC" slurm verify -q -f un/c.szarc-index --tasks 2 --device cpu --json --wait \
  > slurm3.jsonl 2> v3.err || rc=$?
check "slurm verify of the damaged collection: exit 1" "[ $rc = 1 ] || { cat v3.err; false; }"
check "... and the local report: volume-digest, packet-digest, 4 unsigned warnings" \
  "grep -q volume-digest slurm3.jsonl && grep -q packet-digest slurm3.jsonl && [ \$(grep -c '\"check\":\"unsigned\"' slurm3.jsonl) = 4 ] && diff -u <(norm local3.jsonl) <(norm slurm3.jsonl)"

# a task cancelled mid-run is submitted again, alone; the report is complete
SZARC_SLURM_TASK_DELAY=4 "$SZARC" slurm verify -q -f sl/c.szarc-index --tasks 3 --device cpu \
  --json --dir vjob > first.txt 2>&1
check "slurm verify without --wait: exit 75 (not done yet)" "[ $? = 75 ]"
job=$(sed -n 's/^ *"id": \([0-9]*\),*$/\1/p' vjob/job.json | head -n1)
running=
for _ in $(seq 100); do
  running=$(squeue -h -r -j "$job" -t RUNNING -o '%K' 2> /dev/null | sort -n | head -n1)
  [ -n "$running" ] && break
  sleep 0.1
done
check "a task of job $job runs" "[ -n '$running' ]"
scancel "${job}_${running}"
for _ in $(seq 100); do
  squeue -h -r -j "$job" -o '%K' 2> /dev/null | grep -qx "$running" || break
  sleep 0.1
done
"$SZARC" slurm status vjob --json --wait > resumed.jsonl 2> resumed.err
check "slurm status --wait after the cancel exits 0" "[ $? = 0 ] || { cat resumed.err; false; }"
k=$((running + 1))
check "the cancelled task ($k) was submitted again" \
  "grep -q \"task $k ended without finishing (attempt 1); submitting it again\" resumed.err"
att=$(tr -d ' \n' < vjob/job.json | sed 's/.*"attempts":\[\([0-9,]*\)\].*/\1/')
want=$(for t in 1 2 3; do [ $t = $k ] && printf 2, || printf 1,; done)
check "only that task ran twice (attempts $att)" "[ '$att,' = '$want' ]"
check "two Slurm jobs: the array and the one task" \
  "[ \$(tr -d ' \n' < vjob/job.json | grep -o '\"id\":' | wc -l) = 2 ]"
"$SZARC" verify --device cpu --json -f sl/c.szarc-index > local2.jsonl
check "the resumed job's report is the local one" "[ -s local2.jsonl ] && diff -u <(norm local2.jsonl) <(norm resumed.jsonl)"
"$SZARC" slurm status vjob > again.txt
check "status of a finished job reports again" "grep -q 'verified; 8 of 8 members checked by 3 tasks' again.txt"
exit $fail
