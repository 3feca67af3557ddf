# slurmlib.sh: a one-node Slurm cluster of its own for a test (Debian's
# slurm-wlm and munge; docs/scale.md, /work/shared/design/slurm-notes.md).
# Everything lives under $SLURM_HOME (inside the test's folder): the munge
# key and socket, slurm.conf, state, spool and logs, with ports picked free,
# so that it touches nothing of the machine's own Slurm or munge and two
# tests can run at once. Source after testlib.sh, then
#   slurm_start          start munged, slurmctld and slurmd; exit 77 (or 1
#                        with SZARC_REQUIRE_SLURM=1) when they cannot start
#   slurm_stop           stop them (by their process ids); also on exit
# slurm_start exports SLURM_CONF, so sbatch, squeue, scancel and szarc
# slurm talk to this cluster. The node declares 8 CPUs whatever it has
# (config_overrides), so that a test's array tasks start together; it and
# the controller listen on 127.0.0.1, whether or not the host name resolves.
SLURM_HOME=$T/slurm
slurm_pids=()

slurm_unavailable() {
  echo "no Slurm cluster: $*: skipped"
  slurm_stop
  [ "${SZARC_REQUIRE_SLURM:-0}" = 1 ] && exit 1
  exit 77
}

slurm_stop() {
  local p
  for p in "${slurm_pids[@]}"; do kill "$p" 2> /dev/null; done
  for p in "${slurm_pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2> /dev/null || break; sleep 0.1; done
    kill -9 "$p" 2> /dev/null
  done
  slurm_pids=()
}

# A TCP port nobody listens on, from a range of the test's own.
free_port() {
  local p
  for _ in $(seq 50); do
    p=$(( 20000 + RANDOM % 30000 ))
    if ! (exec 3<> "/dev/tcp/127.0.0.1/$p") 2> /dev/null &&
       ! (exec 3<> "/dev/tcp/127.0.0.1/$((p + 1))") 2> /dev/null; then
      echo "$p"; return
    fi
  done
  echo 0
}

slurm_start() {
  local b
  for b in munged slurmctld slurmd sbatch squeue scancel; do
    command -v "$b" > /dev/null || slurm_unavailable "$b not installed (Debian: slurm-wlm, munge)"
  done
  [ "$(id -u)" = 0 ] || slurm_unavailable "slurmd must run as root"
  trap 'slurm_stop; rm -rf "$T"' EXIT
  mkdir -p "$SLURM_HOME"/{state,spool,log,munge}
  chmod 700 "$SLURM_HOME/munge"
  dd if=/dev/urandom of="$SLURM_HOME/munge/key" bs=1024 count=1 status=none
  chmod 400 "$SLURM_HOME/munge/key"
  local sock=$SLURM_HOME/munge/sock
  munged -f --socket="$sock" --key-file="$SLURM_HOME/munge/key" \
    --pid-file="$SLURM_HOME/munge/pid" --seed-file="$SLURM_HOME/munge/seed" \
    --log-file="$SLURM_HOME/log/munged.log" 2> "$SLURM_HOME/log/munged.err" ||
    slurm_unavailable "munged: $(cat "$SLURM_HOME/log/munged.err")"
  slurm_pids+=("$(cat "$SLURM_HOME/munge/pid")")
  local host port mem
  host=$(hostname -s)
  port=$(free_port)
  [ "$port" != 0 ] || slurm_unavailable "no free port"
  mem=$(( $(awk '/MemTotal/ { print int($2 / 1024) }' /proc/meminfo) / 2 ))
  cat > "$SLURM_HOME/slurm.conf" <<CONF
ClusterName=szarctest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$sock
CredType=cred/munge
StateSaveLocation=$SLURM_HOME/state
SlurmdSpoolDir=$SLURM_HOME/spool
SlurmctldPidFile=$SLURM_HOME/slurmctld.pid
SlurmdPidFile=$SLURM_HOME/slurmd.pid
SlurmctldLogFile=$SLURM_HOME/log/slurmctld.log
SlurmdLogFile=$SLURM_HOME/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MinJobAge=600
SchedulerParameters=sched_interval=1
SlurmdParameters=config_overrides
NodeName=$host NodeAddr=127.0.0.1 CPUs=8 RealMemory=$mem State=UNKNOWN
PartitionName=main Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
  export SLURM_CONF=$SLURM_HOME/slurm.conf
  slurmctld -D -f "$SLURM_CONF" > "$SLURM_HOME/log/slurmctld.out" 2>&1 &
  slurm_pids+=($!)
  slurmd -D -N "$host" -f "$SLURM_CONF" > "$SLURM_HOME/log/slurmd.out" 2>&1 &
  slurm_pids+=($!)
  for _ in $(seq 100); do
    sinfo -h -o '%t' 2> /dev/null | grep -qx idle && return 0
    sleep 0.2
  done
  slurm_unavailable "the node did not become idle: $(tail -n 3 "$SLURM_HOME/log/slurmctld.log" "$SLURM_HOME/log/slurmd.log" 2> /dev/null)"
}
