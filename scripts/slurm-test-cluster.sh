#!/usr/bin/env bash
# A private single-node Slurm cluster for the tests, everything under one directory.
#
#   scripts/slurm-test-cluster.sh start DIR   installs the Debian packages if missing, starts a
#                                             private MariaDB (scripts/mariadb-test-server.sh in
#                                             DIR/mariadb), munged, slurmdbd, slurmctld and slurmd,
#                                             waits until the node is idle, runs a smoke test (a
#                                             batch job and a 3-task array, checked with sacct)
#                                             and writes DIR/env.
#   scripts/slurm-test-cluster.sh stop-controller DIR / start-controller DIR
#                                             stops or restarts slurmctld alone (a batch system that is down)
#   scripts/slurm-test-cluster.sh stop DIR    cancels the jobs left, stops slurmd, slurmctld,
#                                             slurmdbd and munged by their recorded pids, then the
#                                             MariaDB server.
#
# MaxJobCount is 10000, Slurm's default, unless DCPROD_SLURM_MAX_JOB_COUNT says otherwise (the
# mass-submission benchmark holds 41,000 jobs).
#
# DIR/env exports SLURM_CONF (DIR/slurm.conf: every client finds the controller, the database
# daemon and the munge socket through it) and DCPROD_TEST_SLURM=1. The partition is `test`
# (the default), the node has 16 CPUs (more than the machine: SlurmdParameters=config_overrides)
# and memory is accounted (CR_CPU_Memory) and enforced by polling (OverMemoryKill).
#
# Nothing listens on anything but 127.0.0.1 (own free ports) and unix sockets under DIR. The
# daemons run without systemd, each in its own session (setsid); their pids are in
# DIR/<daemon>.pid.manager and stop uses only those (and the sessions they lead).
#
# Exit status of start: 0 when the cluster runs and the smoke test passed; 1 otherwise, with the
# reason (and the tails of the logs) on stderr, and nothing left running.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$HERE/scripts/service-helpers.sh"
PROG="slurm-test-cluster"
CLUSTER="dcprodtest"
PARTITION="test"
DB_USER="slurm"
DB_NAME="slurm_acct_db"
DAEMONS_STOP_ORDER="slurmd slurmctld slurmdbd munged"
DBD_TIMEOUT=60     # seconds until slurmdbd answers on its port
IDLE_TIMEOUT=60    # seconds until the node is idle
JOB_TIMEOUT=60     # seconds until a smoke-test job is COMPLETED in sacct
STOP_TIMEOUT=30    # seconds between SIGTERM and SIGKILL
SOCKET_MAX=107     # bytes in a unix socket path (sun_path is 108 with the NUL)

say() { echo "$PROG: $*" >&2; }
usage() { echo "usage: $0 start|stop|stop-controller|start-controller DIR" >&2; exit 2; }

# ---------------------------------------------------------------------------------------------
# Processes

# daemon_pid DIR NAME : prints the pid recorded for daemon NAME, if that process is still NAME
# started by this script for DIR (not a recycled pid): its command name and the marker variable
# DCPROD_SLURM_TEST_DIR=DIR in its environment.
daemon_pid() {
    local dir="$1" name="$2" pid
    [ -s "$dir/$name.pid.manager" ] || return 1
    pid=$(cat "$dir/$name.pid.manager")
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ] || return 1
    has_marker "$dir" "$pid" || return 1
    echo "$pid"
}

# session_members SID : the pids of the processes in session SID (except SID itself).
session_members() {
    local sid="$1" p
    for p in /proc/[0-9]*; do
        p=${p#/proc/}
        [ "$p" = "$sid" ] && continue
        [ "$(stat_field "$p" 6 2>/dev/null)" = "$sid" ] && echo "$p"
    done
    return 0
}

# has_marker DIR PID : true when process PID has DCPROD_SLURM_TEST_DIR=DIR in its environment
# (set by launch, inherited by the daemons' own children such as slurmctld's slurmscriptd).
has_marker() {
    { tr '\0' '\n' <"/proc/$2/environ"; } 2>/dev/null | grep -qxF "DCPROD_SLURM_TEST_DIR=$1"
}

# stop_daemon DIR NAME : SIGTERM to the recorded pid, wait, SIGKILL; then SIGKILL to whatever is
# left in the session the daemon led (e.g. slurmctld's slurmscriptd). When the daemon is gone
# already, only the processes of its session that carry the marker are killed (the pid may have
# been recycled).
stop_daemon() {
    local dir="$1" name="$2" pid recorded="" p
    [ -s "$dir/$name.pid.manager" ] && recorded=$(cat "$dir/$name.pid.manager")
    if pid=$(daemon_pid "$dir" "$name"); then
        terminate "$pid" "$name"
        # Started by `setsid`, the daemon led its own session: its session id is its pid.
        for p in $(session_members "$pid"); do
            say "$name left pid $p ($(cat "/proc/$p/comm" 2>/dev/null)) in its session: SIGKILL"
            kill -KILL "$p" 2>/dev/null || true
        done
    elif [[ "$recorded" =~ ^[0-9]+$ ]]; then
        for p in $(session_members "$recorded"); do
            has_marker "$dir" "$p" || continue
            say "$name (pid $recorded) is gone but left pid $p ($(cat "/proc/$p/comm" 2>/dev/null)): SIGKILL"
            kill -KILL "$p" 2>/dev/null || true
        done
    fi
    rm -f "$dir/$name.pid.manager"
}

# launch DIR NAME COMMAND... : starts COMMAND (a daemon in the foreground) in a session of its
# own, output to DIR/log/NAME.out, and records its pid in DIR/NAME.pid.manager.
launch() {
    local dir="$1" name="$2" pid
    shift 2
    # Not a process-group leader (a background child of a non-interactive shell), setsid execs
    # the daemon in place: $! is the daemon's pid.
    DCPROD_SLURM_TEST_DIR="$dir" SLURM_CONF="$dir/slurm.conf" \
        setsid "$@" </dev/null >"$dir/log/$name.out" 2>&1 &
    pid=$!
    echo "$pid" >"$dir/$name.pid.manager"
    LAUNCHED_PID=$pid
}

# cancel_jobs DIR : cancels every job of the cluster (when slurmctld still runs) and waits a
# little for them to end, so that slurmd can clean up its job steps.
cancel_jobs() {
    local dir="$1" ids waited=0
    daemon_pid "$dir" slurmctld >/dev/null || return 0
    ids=$(SLURM_CONF="$dir/slurm.conf" timeout 15 squeue -h -o %F 2>/dev/null | sort -u) || return 0
    [ -z "$ids" ] && return 0
    say "cancelling the jobs left:" $ids
    SLURM_CONF="$dir/slurm.conf" timeout 15 scancel $ids 2>/dev/null || true
    while [ "$waited" -lt 150 ]; do
        ids=$(SLURM_CONF="$dir/slurm.conf" timeout 15 squeue -h -o %F 2>/dev/null) || break
        [ -z "$ids" ] && break
        sleep 0.2
        waited=$((waited + 1))
    done
}

# stray_stepds DIR : the slurmstepd processes of DIR's slurmd still running. slurmd starts each
# in a session of its own (with the job's processes), so they are not in slurmd's session; they
# are known by their name and SLURM_CONF=DIR/slurm.conf in their environment (set by slurmd).
stray_stepds() {
    local dir="$1" p
    for p in /proc/[0-9]*; do
        p=${p#/proc/}
        [ "$(cat "/proc/$p/comm" 2>/dev/null)" = slurmstepd ] || continue
        { tr '\0' '\n' <"/proc/$p/environ"; } 2>/dev/null | grep -qxF "SLURM_CONF=$dir/slurm.conf" && echo "$p"
    done
    return 0
}

# kill_stray_stepds DIR : SIGKILL to those slurmstepd and to the job processes in their sessions.
kill_stray_stepds() {
    local dir="$1" p sid own_sid q
    own_sid=$(stat_field $$ 6)
    for p in $(stray_stepds "$dir"); do
        sid=$(stat_field "$p" 6) || continue
        say "slurmstepd (pid $p) outlived slurmd: SIGKILL to it and its session $sid"
        kill -KILL "$p" 2>/dev/null || true
        [ "$sid" -gt 1 ] && [ "$sid" != "$own_sid" ] || continue
        for q in $sid $(session_members "$sid"); do
            kill -KILL "$q" 2>/dev/null || true
        done
    done
}

stop_all() {
    local dir="$1" name
    cancel_jobs "$dir"
    for name in $DAEMONS_STOP_ORDER; do
        stop_daemon "$dir" "$name"
        [ "$name" = slurmd ] && kill_stray_stepds "$dir"
    done
    if [ -d "$dir/mariadb" ]; then
        "$HERE/scripts/mariadb-test-server.sh" stop "$dir/mariadb"
    fi
}

# ---------------------------------------------------------------------------------------------
# Configuration

write_configs() {
    local dir="$1" host="$2" ctld_port="$3" slurmd_port="$4" dbd_port="$5" db_port="$6" \
          db_pass="$7" real_memory="$8"
    local sock="$dir/munge/munge.socket.2"

    cat >"$dir/slurm.conf" <<EOF
# Written by scripts/slurm-test-cluster.sh: a private single-node cluster for the tests.
ClusterName=$CLUSTER
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
# Bind to what the host name resolves to (127.0.0.1 here), not to every address.
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$sock
CredType=cred/munge
MpiDefault=none
# No mail program on the machine ("Configured MailProg is invalid").
MailProg=/bin/true
ReturnToService=2
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherParams=OverMemoryKill
# Poll the tasks' memory every second (default 30 s): a job over its --mem is killed within ~1-2 s.
JobAcctGatherFrequency=task=1
SchedulerParameters=batch_sched_delay=0
MaxArraySize=1001
MaxJobCount=${DCPROD_SLURM_MAX_JOB_COUNT:-10000}
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStoragePort=$dbd_port
# The munge socket, for the connections to slurmdbd (without it: "Protocol authentication error").
AccountingStoragePass=$sock
JobCompType=jobcomp/none
# Without it, CR_CPU_Memory gives a job without --mem the whole node's memory: one job at a time.
DefMemPerCPU=$((real_memory / 16))
SlurmdParameters=config_overrides
NodeName=$host NodeAddr=127.0.0.1 CPUs=16 RealMemory=$real_memory State=UNKNOWN
PartitionName=$PARTITION Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF

    (
        umask 077
        rm -f "$dir/slurmdbd.conf"
        cat >"$dir/slurmdbd.conf" <<EOF
# Written by scripts/slurm-test-cluster.sh; read by slurmdbd from the directory of \$SLURM_CONF.
AuthType=auth/munge
AuthInfo=socket=$sock
DbdHost=$host
DbdAddr=127.0.0.1
DbdPort=$dbd_port
CommunicationParameters=NoInAddrAny
SlurmUser=root
PidFile=$dir/run/slurmdbd.pid
LogFile=$dir/log/slurmdbd.log
DebugLevel=info
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$db_port
StorageUser=$DB_USER
StoragePass=$db_pass
StorageLoc=$DB_NAME
EOF
    )
    chmod 0600 "$dir/slurmdbd.conf"
}

# ---------------------------------------------------------------------------------------------
# Start

# logs_tail DIR : the last lines of each daemon's log (or of its output, when it has no log file:
# in the foreground the Slurm daemons write both, munged -F only its output).
logs_tail() {
    local dir="$1" name f
    for name in db-user munged slurmdbd sacctmgr slurmctld slurmd; do
        f="$dir/log/$name.log"
        [ -s "$f" ] || f="$dir/log/$name.out"
        [ -s "$f" ] || continue
        say "last lines of $f:"
        tail -n 15 "$f" | sed 's/^/    /' >&2
    done
}

# fail DIR MESSAGE : says why, shows the logs, stops everything, exits 1.
fail() {
    local dir="$1"
    shift
    say "$*"
    logs_tail "$dir"
    say "stopping what was started in $dir"
    stop_all "$dir" || true
    exit 1
}

# check_alive DIR NAME PID : fails when the daemon has exited.
check_alive() {
    local dir="$1" name="$2" pid="$3"
    alive "$pid" || fail "$dir" "$name (pid $pid) exited"
}

start_munged() {
    local dir="$1" waited=0
    mkdir -p "$dir/munge"
    # munged exits at once when a directory above its socket is not 0755, as mktemp -d makes it (0700).
    chmod 0755 "$dir" "$dir/munge"
    (
        umask 077
        mungekey --create --keyfile="$dir/munge/munge.key" >/dev/null 2>&1 \
            || dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
    )
    chmod 0400 "$dir/munge/munge.key"
    # -F: in the foreground (logging to its output: DIR/log/munged.out), so the pid is ours.
    launch "$dir" munged munged -F --socket="$dir/munge/munge.socket.2" \
        --key-file="$dir/munge/munge.key" --pid-file="$dir/munge/munged.pid" \
        --log-file="$dir/log/munged.log" --seed-file="$dir/munge/munged.seed"
    local pid=$LAUNCHED_PID
    until munge -n -S "$dir/munge/munge.socket.2" 2>/dev/null \
            | unmunge -S "$dir/munge/munge.socket.2" >/dev/null 2>&1; do
        check_alive "$dir" munged "$pid"
        [ "$waited" -ge 100 ] && fail "$dir" "munged (pid $pid) did not answer within 10s"
        sleep 0.1
        waited=$((waited + 1))
    done
}

start_slurmdbd() {
    local dir="$1" dbd_port="$2" waited=0
    launch "$dir" slurmdbd slurmdbd -D
    local pid=$LAUNCHED_PID
    until port_answers "$dbd_port"; do
        check_alive "$dir" slurmdbd "$pid"
        [ "$waited" -ge $((DBD_TIMEOUT * 10)) ] \
            && fail "$dir" "slurmdbd (pid $pid) did not answer on 127.0.0.1:$dbd_port within ${DBD_TIMEOUT}s"
        sleep 0.1
        waited=$((waited + 1))
    done
}

# node_state DIR HOST : the state of the node as sinfo says it (idle, idle*, down*, ...).
node_state() {
    SLURM_CONF="$1/slurm.conf" timeout 15 sinfo -h -N -n "$2" -o %t 2>/dev/null | head -n 1
}

wait_idle() {
    local dir="$1" host="$2" started=$SECONDS state="" name
    while :; do
        state=$(node_state "$dir" "$host" || true)
        [ "$state" = idle ] && return 0
        for name in slurmctld slurmd; do
            daemon_pid "$dir" "$name" >/dev/null || fail "$dir" "$name exited (node state: ${state:-unknown})"
        done
        [ $((SECONDS - started)) -ge "$IDLE_TIMEOUT" ] \
            && fail "$dir" "node $host not idle within ${IDLE_TIMEOUT}s (state: ${state:-unknown})"
        sleep 0.2
    done
}

# job_rows DIR ID : sacct's rows JobID|State|ExitCode for the allocations of job ID (no steps).
job_rows() {
    SLURM_CONF="$1/slurm.conf" timeout 15 sacct -n -X --parsable2 -j "$2" -o JobID,State,ExitCode 2>/dev/null
}

# wait_job DIR ID ROWS : waits until sacct shows ROWS allocations of job ID, all in a final
# state; true when all are COMPLETED with exit code 0:0.
wait_job() {
    local dir="$1" id="$2" want="$3" started=$SECONDS rows n final
    while :; do
        rows=$(job_rows "$dir" "$id" || true)
        # A pending or running array may also have a row JOBID_[range].
        n=$(printf '%s\n' "$rows" | grep -c '|' || true)
        final=$(printf '%s\n' "$rows" | grep -cE '\|(COMPLETED|FAILED|CANCELLED[^|]*|TIMEOUT|OUT_OF_MEMORY|NODE_FAIL|BOOT_FAIL|DEADLINE|PREEMPTED)\|' || true)
        if [ "$n" -eq "$want" ] && [ "$final" -eq "$want" ]; then
            break
        fi
        if [ $((SECONDS - started)) -ge "$JOB_TIMEOUT" ]; then
            say "job $id not finished in sacct within ${JOB_TIMEOUT}s; sacct says:"
            printf '%s\n' "$rows" | sed 's/^/    /' >&2
            return 1
        fi
        sleep 0.2
    done
    if [ "$(printf '%s\n' "$rows" | grep -cE '\|COMPLETED\|0:0$' || true)" -ne "$want" ]; then
        say "job $id did not complete; sacct says:"
        printf '%s\n' "$rows" | sed 's/^/    /' >&2
        return 1
    fi
}

# submit DIR ARGS... : sbatch --parsable ARGS, prints the job id.
submit() {
    local dir="$1" out
    shift
    out=$(SLURM_CONF="$dir/slurm.conf" sbatch --parsable "$@" 2>&1) \
        || { say "sbatch $* failed: $out"; return 1; }
    # --parsable prints JOBID or JOBID;CLUSTER.
    [[ "${out%%;*}" =~ ^[0-9]+$ ]] || { say "sbatch --parsable $* printed '$out'"; return 1; }
    echo "${out%%;*}"
}

# smoke_test DIR : a batch job and a 3-task array (both submitted at once: slurmctld's first
# scheduling pass comes a few seconds after it starts), both COMPLETED in sacct with their output.
smoke_test() {
    local dir="$1" id aid out i
    local sdir="$dir/smoke"
    mkdir -p "$sdir"
    printf '%s\n' '#!/bin/sh' 'echo "smoke ${SLURM_JOB_ID} ${SLURM_ARRAY_TASK_ID:-single}"' >"$sdir/job.sh"
    chmod 0755 "$sdir/job.sh"

    id=$(submit "$dir" -J dcprod-smoke -D "$sdir" -o "$sdir/single-%j.out" "$sdir/job.sh") || return 1
    aid=$(submit "$dir" -J dcprod-smoke-array -D "$sdir" --array=0-2%2 \
            -o "$sdir/array-%A_%a.out" "$sdir/job.sh") || return 1

    wait_job "$dir" "$id" 1 || return 1
    out=$(SLURM_CONF="$dir/slurm.conf" sacct --parsable2 -j "$id" -o JobID,State,ExitCode 2>&1)
    if ! printf '%s\n' "$out" | grep -qxF "$id|COMPLETED|0:0"; then
        say "sacct -j $id does not show $id|COMPLETED|0:0:"
        printf '%s\n' "$out" | sed 's/^/    /' >&2
        return 1
    fi
    if [ "$(cat "$sdir/single-$id.out" 2>/dev/null)" != "smoke $id single" ]; then
        say "job $id did not write its output to $sdir/single-$id.out"
        return 1
    fi

    wait_job "$dir" "$aid" 3 || return 1
    for i in 0 1 2; do
        if ! grep -qxE "smoke [0-9]+ $i" "$sdir/array-${aid}_$i.out" 2>/dev/null; then
            say "array task ${aid}_$i did not write its output to $sdir/array-${aid}_$i.out"
            return 1
        fi
    done
    say "smoke test passed: job $id and array $aid (3 tasks) COMPLETED in sacct"
}

start_cluster() {
    local dir started=$SECONDS host
    dir=$(realpath -m -- "$1")
    host=$(hostname -s)

    # Unix sockets under DIR: slurmd's step sockets SPOOL/HOST_JOBID.STEPID (the longest), the
    # MariaDB socket (scripts/mariadb-test-server.sh takes at most 90 bytes for DIR/mariadb) and
    # munged's socket.
    local longest="$dir/spool/${host}_4294967295.4294967295"
    if [ "${#longest}" -gt "$SOCKET_MAX" ] || [ "${#dir}" -gt 82 ]; then
        say "directory path too long for the unix sockets under it: $dir (${#dir} bytes; a step" \
            "socket would be $longest, ${#longest} bytes, at most $SOCKET_MAX)"
        return 1
    fi
    if [ "$(id -u)" -ne 0 ]; then
        say "needs root: slurmd starts the jobs as their users (SlurmUser=root)"
        return 1
    fi
    mkdir -p "$dir"
    local name
    for name in $DAEMONS_STOP_ORDER; do
        if daemon_pid "$dir" "$name" >/dev/null; then
            say "$name already runs for $dir (pid $(daemon_pid "$dir" "$name")); stop it first"
            return 1
        fi
    done
    if [ -e "$dir/slurm.conf" ] || [ -e "$dir/mariadb" ]; then
        say "$dir has a cluster already: start wants a fresh directory"
        return 1
    fi

    . "$HERE/scripts/system-packages.sh"
    install_packages slurm-wlm slurmdbd munge slurm-client
    local cmd
    for cmd in munged mungekey munge unmunge slurmdbd slurmctld slurmd sacctmgr sbatch sacct sinfo squeue scancel; do
        command -v "$cmd" >/dev/null 2>&1 || { say "$cmd not found after installing the Slurm packages"; return 1; }
    done
    # The host name must resolve to a loopback address: the daemons bind to what it resolves to.
    local addr
    addr=$(getent ahostsv4 "$host" | awk 'NR == 1 {print $1}')
    if [[ "$addr" != 127.* ]]; then
        say "$host resolves to '${addr:-nothing}', not to a loopback address: the daemons would" \
            "listen on it (add '127.0.0.1 $host' to /etc/hosts)"
        return 1
    fi

    mkdir -p "$dir/log" "$dir/run" "$dir/state" "$dir/spool"
    # Interrupted, start leaves nothing running either.
    trap 'fail "$dir" "interrupted"' INT TERM HUP

    # The private MariaDB (installs mariadb-server if missing) and slurmdbd's user in it.
    "$HERE/scripts/mariadb-test-server.sh" start "$dir/mariadb" || fail "$dir" "the private MariaDB did not start"
    local db_port db_pass
    db_port=$(. "$dir/mariadb/env" && echo "$DCPROD_TEST_MARIADB_PORT")
    db_pass=$(LC_ALL=C tr -dc 'A-Za-z0-9' </dev/urandom | head -c 32 || true)
    [ "${#db_pass}" -eq 32 ] || fail "$dir" "could not make a random password"
    # Through the socket as root; the password goes on stdin (printf is a builtin).
    if ! printf '%s\n' \
        "CREATE USER '$DB_USER'@'127.0.0.1' IDENTIFIED BY '$db_pass';" \
        "CREATE USER '$DB_USER'@'localhost' IDENTIFIED BY '$db_pass';" \
        "GRANT ALL PRIVILEGES ON \`$DB_NAME\`.* TO '$DB_USER'@'127.0.0.1';" \
        "GRANT ALL PRIVILEGES ON \`$DB_NAME\`.* TO '$DB_USER'@'localhost';" \
        | mariadb --defaults-file="$dir/mariadb/my.cnf" --socket="$dir/mariadb/mysqld.sock" \
            -u root -N -B >"$dir/log/db-user.out" 2>&1; then
        fail "$dir" "creating the MariaDB user $DB_USER failed (see $dir/log/db-user.out)"
    fi

    local ctld_port slurmd_port dbd_port
    ctld_port=$(pick_port "" "$db_port") || fail "$dir" "no free TCP port on 127.0.0.1"
    slurmd_port=$(pick_port "" "$db_port" "$ctld_port") || fail "$dir" "no free TCP port on 127.0.0.1"
    dbd_port=$(pick_port "" "$db_port" "$ctld_port" "$slurmd_port") || fail "$dir" "no free TCP port on 127.0.0.1"

    # Below the machine's memory: 8000 MB, or 3/4 of the memory of a smaller machine.
    local mem_mb real_memory=8000
    mem_mb=$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)
    [ $((mem_mb * 3 / 4)) -lt "$real_memory" ] && real_memory=$((mem_mb * 3 / 4))

    write_configs "$dir" "$host" "$ctld_port" "$slurmd_port" "$dbd_port" "$db_port" "$db_pass" "$real_memory"

    start_munged "$dir"
    start_slurmdbd "$dir" "$dbd_port"
    say "munged and slurmdbd (127.0.0.1:$dbd_port) ready after $((SECONDS - started))s"

    if ! SLURM_CONF="$dir/slurm.conf" timeout 30 sacctmgr -i add cluster "$CLUSTER" >"$dir/log/sacctmgr.out" 2>&1; then
        fail "$dir" "sacctmgr add cluster $CLUSTER failed: $(cat "$dir/log/sacctmgr.out")"
    fi

    launch "$dir" slurmctld slurmctld -D -f "$dir/slurm.conf"
    launch "$dir" slurmd slurmd -D -f "$dir/slurm.conf"
    wait_idle "$dir" "$host"
    say "node $host idle after $((SECONDS - started))s (slurmctld 127.0.0.1:$ctld_port, slurmd 127.0.0.1:$slurmd_port)"

    smoke_test "$dir" || fail "$dir" "the smoke test failed"

    {
        echo "# Written by scripts/slurm-test-cluster.sh; source it."
        printf 'export SLURM_CONF=%q\n' "$dir/slurm.conf"
        printf 'export DCPROD_TEST_SLURM_DIR=%q\n' "$dir"
        echo "export DCPROD_TEST_SLURM=1"
    } >"$dir/env"
    say "cluster $CLUSTER ready in $dir after $((SECONDS - started))s; $dir/env written"
}

[ $# -eq 2 ] || usage
case "$1" in
    start)
        start_cluster "$2"
        ;;
    stop)
        [ -d "$2" ] || exit 0
        # The same absolute path as start's (symbolic links resolved): the daemons' marker.
        stop_all "$(realpath -- "$2")"
        ;;
    stop-controller)
        # For the tests of a batch system that is down: slurmctld alone stops.
        stop_daemon "$(realpath -- "$2")" slurmctld
        ;;
    start-controller)
        dir="$(realpath -- "$2")"
        daemon_pid "$dir" slurmctld >/dev/null && { say "slurmctld already runs for $dir"; exit 0; }
        launch "$dir" slurmctld slurmctld -D -f "$dir/slurm.conf"
        wait_idle "$dir" "$(hostname -s)"
        say "slurmctld running again for $dir"
        ;;
    *)
        usage
        ;;
esac
