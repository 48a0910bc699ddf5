#!/usr/bin/env bash
# A private single-node Grid Engine (qmaster + execd) for the tests, everything under one directory.
#
#   scripts/sge-test-cluster.sh start DIR   installs the Debian packages if missing, makes a cell of
#                                           its own under DIR (SGE_ROOT=DIR/root, classic spooling in
#                                           DIR/qmaster, execd spool DIR/execd), starts sge_qmaster,
#                                           configures it (submit host, 1 s scheduling, a queue
#                                           test.q of 16 slots), starts sge_execd, runs a smoke test
#                                           (a 3-task array, checked with qacct) and writes DIR/env.
#   scripts/sge-test-cluster.sh stop-controller DIR / start-controller DIR
#                                           stops or restarts sge_qmaster alone (a batch system that is down)
#   scripts/sge-test-cluster.sh stop DIR    deletes the jobs left, stops sge_execd and sge_qmaster
#                                           by their recorded pids.
#
# DIR/env exports SGE_ROOT, SGE_CELL, SGE_QMASTER_PORT and SGE_EXECD_PORT (every client finds the
# cell and the qmaster through them; Debian's client wrappers honour them) and DCPROD_TEST_SGE=1.
#
# Grid Engine's daemons have no setting for their listening address: they are started with
# scripts/loopback-bind.c preloaded, which binds their wildcard sockets to 127.0.0.1. The daemons
# daemonize themselves; their pids come from their own pid files, checked against the marker
# DCPROD_SGE_TEST_DIR=DIR in their environment before any signal.
#
# Exit status of start: 0 when the cluster runs and the smoke test passed; 1 otherwise, with the
# reason (and the tails of the logs) on stderr, and nothing left running.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$HERE/scripts/service-helpers.sh"
PROG="sge-test-cluster"
QUEUE="test"
SLOTS=16
SGE_BIN=/usr/lib/gridengine
READY_TIMEOUT=60   # seconds until qmaster answers and the queue is usable
EXECD_RECONNECT_TIMEOUT=180  # seconds until sge_execd is back with a restarted qmaster
JOB_TIMEOUT=60     # seconds until the smoke test's tasks are in the accounting
STOP_TIMEOUT=30    # seconds between SIGTERM and SIGKILL

say() { echo "$PROG: $*" >&2; }
usage() { echo "usage: $0 start|stop|stop-controller|start-controller DIR" >&2; exit 2; }

# ---------------------------------------------------------------------------------------------
# Processes

# pid_file DIR NAME : where the daemon NAME writes its pid.
pid_file() {
    case "$2" in
        sge_qmaster) echo "$1/qmaster/qmaster.pid" ;;
        # execd's spool directory is named after the host as the cell resolves it.
        sge_execd) ls "$1"/execd/*/execd.pid 2>/dev/null | head -n 1 ;;
    esac
}

# daemon_pid DIR NAME : the pid of daemon NAME of this cell, if it runs: from its pid file, with
# its command name and the marker DCPROD_SGE_TEST_DIR=DIR in its environment (not a recycled pid).
daemon_pid() {
    local dir="$1" name="$2" file pid
    file=$(pid_file "$dir" "$name")
    [ -n "$file" ] && [ -s "$file" ] || return 1
    pid=$(tr -d '[:space:]' <"$file")
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ] || return 1
    { tr '\0' '\n' <"/proc/$pid/environ"; } 2>/dev/null | grep -qxF "DCPROD_SGE_TEST_DIR=$dir" || return 1
    echo "$pid"
}

# marked_processes DIR : every process carrying the cell's marker (the daemons, sge_shepherd and
# the jobs they started), but this shell and its ancestors.
marked_processes() {
    local dir="$1" p
    for p in /proc/[0-9]*; do
        p=${p#/proc/}
        [ "$p" = $$ ] || [ "$p" = "$BASHPID" ] && continue
        { tr '\0' '\n' <"/proc/$p/environ"; } 2>/dev/null | grep -qxF "DCPROD_SGE_TEST_DIR=$dir" && echo "$p"
    done
    return 0
}

# client DIR COMMAND... : a Grid Engine client command against this cell.
client() {
    local dir="$1"
    shift
    env -u LD_PRELOAD SGE_ROOT="$dir/root" SGE_CELL=default \
        SGE_QMASTER_PORT="$(cat "$dir/qmaster.port")" SGE_EXECD_PORT="$(cat "$dir/execd.port")" \
        timeout 30 "$@"
}

# launch DIR NAME : starts daemon NAME of the cell (it daemonizes) with the loopback shim and the
# marker, and waits for its pid file.
launch() {
    local dir="$1" name="$2" waited=0
    DCPROD_SGE_TEST_DIR="$dir" LD_PRELOAD="$dir/loopback-bind.so" SGE_ROOT="$dir/root" SGE_CELL=default \
        SGE_QMASTER_PORT="$(cat "$dir/qmaster.port")" SGE_EXECD_PORT="$(cat "$dir/execd.port")" \
        "$SGE_BIN/$name" </dev/null >"$dir/log/$name.out" 2>&1 || fail "$dir" "$name did not start"
    while ! daemon_pid "$dir" "$name" >/dev/null; do
        [ "$waited" -lt $((READY_TIMEOUT * 10)) ] || fail "$dir" "$name wrote no pid file in ${READY_TIMEOUT}s"
        sleep 0.1
        waited=$((waited + 1))
    done
}

stop_daemon() {
    local dir="$1" name="$2" pid
    pid=$(daemon_pid "$dir" "$name") || return 0
    terminate "$pid" "$name"
}

# delete_jobs DIR : deletes every job of the cell (while qmaster runs) and waits for them to end.
delete_jobs() {
    local dir="$1" waited=0 jobs
    daemon_pid "$dir" sge_qmaster >/dev/null || return 0
    jobs=$(client "$dir" qstat -u '*' 2>/dev/null | awk 'NR > 2 {print $1}' | sort -u) || return 0
    [ -z "$jobs" ] && return 0
    say "deleting the jobs left:" $jobs
    client "$dir" qdel -f $jobs >/dev/null 2>&1 || true
    while [ "$waited" -lt 150 ]; do
        jobs=$(client "$dir" qstat -u '*' 2>/dev/null) || break
        [ -z "$jobs" ] && break
        sleep 0.2
        waited=$((waited + 1))
    done
}

stop_all() {
    local dir="$1" p
    delete_jobs "$dir"
    stop_daemon "$dir" sge_execd
    stop_daemon "$dir" sge_qmaster
    # Shepherds and jobs that outlived execd.
    for p in $(marked_processes "$dir"); do
        say "pid $p ($(cat "/proc/$p/comm" 2>/dev/null)) outlived the daemons: SIGKILL"
        kill -KILL "$p" 2>/dev/null || true
    done
}


logs_tail() {
    local dir="$1" f
    for f in "$dir"/log/*.out "$dir"/qmaster/messages "$dir"/execd/*/messages; do
        [ -s "$f" ] || continue
        say "last lines of $f:"
        tail -n 15 "$f" | sed 's/^/    /' >&2
    done
}

fail() {
    local dir="$1"
    shift
    say "$*"
    logs_tail "$dir"
    say "stopping what was started in $dir"
    stop_all "$dir" || true
    exit 1
}

# ---------------------------------------------------------------------------------------------
# The cell

# make_cell DIR HOST : SGE_ROOT with the Debian binaries, the bootstrap of a root-administered
# cell with classic spooling under DIR, and the spooled defaults (global configuration, complexes,
# usersets, root as manager), as Debian's init_cluster does for /var/lib/gridengine.
make_cell() {
    local dir="$1" host="$2" common="$1/root/default/common" link
    mkdir -p "$common" "$dir/qmaster" "$dir/execd" "$dir/log"
    for link in bin lib utilbin util; do ln -s "/var/lib/gridengine/$link" "$dir/root/$link"; done
    cat >"$common/bootstrap" <<EOF
admin_user              none
default_domain          none
ignore_fqdn             false
spooling_method         classic
spooling_lib            libspoolc
spooling_params         $common;$dir/qmaster
binary_path             $SGE_BIN
qmaster_spool_dir       $dir/qmaster
security_mode           none
listener_threads        2
worker_threads          2
scheduler_threads       1
EOF
    echo "$host" >"$common/act_qmaster"
    # Clients connecting from 127.0.0.1 resolve to `localhost`: the same host for the cell.
    echo "$host localhost" >"$common/host_aliases"
    # Root's jobs (min_uid/min_gid 0), the execd spool under DIR, loads reported every 5 s. The
    # accounting is written every 3 s (a site's default is 15 s): a task leaves qstat before qacct has
    # it, so every Grid Engine test goes through dcprod's wait for the accounting, as at a site.
    sed -e "s|^execd_spool_dir .*|execd_spool_dir        $dir/execd|" \
        -e 's/^min_uid .*/min_uid                0/' -e 's/^min_gid .*/min_gid                0/' \
        -e 's/^load_report_time .*/load_report_time       00:00:05/' \
        -e 's/^reporting_params .*/reporting_params       accounting=true reporting=false flush_time=00:00:03 joblog=false sharelog=00:00:00 accounting_flush_time=00:00:03/' \
        /usr/share/gridengine/default-configuration >"$dir/configuration"
    local spool_init="$SGE_BIN/spoolinit classic libspoolc $common;$dir/qmaster init"
    {
        SGE_ROOT="$dir/root" SGE_CELL=default $spool_init \
            && SGE_ROOT="$dir/root" SGE_CELL=default "$SGE_BIN/spooldefaults" configuration "$dir/configuration" \
            && SGE_ROOT="$dir/root" SGE_CELL=default "$SGE_BIN/spooldefaults" complexes /usr/share/gridengine/util/resources/centry \
            && SGE_ROOT="$dir/root" SGE_CELL=default "$SGE_BIN/spooldefaults" usersets /usr/share/gridengine/util/resources/usersets \
            && SGE_ROOT="$dir/root" SGE_CELL=default "$SGE_BIN/spooldefaults" managers root
    } >"$dir/log/spool-init.out" 2>&1 || fail "$dir" "initialising the spool failed (see $dir/log/spool-init.out)"
}

# configure DIR HOST : submit host, scheduling every second and right after submissions, the
# execution host and the queue.
configure() {
    local dir="$1" host="$2"
    client "$dir" qconf -as "$host" >>"$dir/log/qconf.out" 2>&1 || fail "$dir" "qconf -as $host failed"
    client "$dir" qconf -ssconf >"$dir/sched.conf" 2>>"$dir/log/qconf.out" || fail "$dir" "qconf -ssconf failed"
    sed -i -e 's/^schedule_interval .*/schedule_interval 0:0:1/' -e 's/^flush_submit_sec .*/flush_submit_sec 1/' \
        -e 's/^flush_finish_sec .*/flush_finish_sec 1/' "$dir/sched.conf"
    client "$dir" qconf -Msconf "$dir/sched.conf" >>"$dir/log/qconf.out" 2>&1 || fail "$dir" "qconf -Msconf failed"
    cat >"$dir/exechost.conf" <<EOF
hostname              $host
load_scaling          NONE
complex_values        NONE
user_lists            NONE
xuser_lists           NONE
projects              NONE
xprojects             NONE
usage_scaling         NONE
report_variables      NONE
EOF
    client "$dir" qconf -Ae "$dir/exechost.conf" >>"$dir/log/qconf.out" 2>&1 || fail "$dir" "qconf -Ae failed"
    # Every attribute of a queue (qconf -Aq takes no defaults); no parallel environment, the job
    # script run as an executable (unix_behavior), no limits but those the jobs ask for.
    {
        printf '%s\n' "qname $QUEUE" "hostlist $host" "seq_no 0" "load_thresholds NONE" \
            "suspend_thresholds NONE" "nsuspend 1" "suspend_interval 00:05:00" "priority 0" \
            "min_cpu_interval 00:05:00" "processors UNDEFINED" "qtype BATCH INTERACTIVE" \
            "ckpt_list NONE" "pe_list NONE" "rerun FALSE" "slots $SLOTS" "tmpdir /tmp" \
            "shell /bin/sh" "prolog NONE" "epilog NONE" "shell_start_mode unix_behavior" \
            "starter_method NONE" "suspend_method NONE" "resume_method NONE" "terminate_method NONE" \
            "notify 00:00:60" "owner_list NONE" "user_lists NONE" "xuser_lists NONE" \
            "subordinate_list NONE" "complex_values NONE" "projects NONE" "xprojects NONE" \
            "calendar NONE" "initial_state default"
        for limit in rt cpu fsize data stack core rss vmem; do
            printf 's_%s INFINITY\nh_%s INFINITY\n' "$limit" "$limit"
        done
    } >"$dir/queue.conf"
    client "$dir" qconf -Aq "$dir/queue.conf" >>"$dir/log/qconf.out" 2>&1 || fail "$dir" "qconf -Aq $QUEUE failed"
}

# wait_qmaster DIR : until sge_qmaster answers a client (READY_TIMEOUT seconds at most).
wait_qmaster() {
    local dir="$1" waited=0
    until client "$dir" qconf -sh >/dev/null 2>&1; do
        [ "$waited" -lt $((READY_TIMEOUT * 5)) ] || return 1
        sleep 0.2
        waited=$((waited + 1))
    done
}

# wait_ready DIR SECONDS : until the queue instance has a load report and no alarm or unknown state;
# says what it last saw and returns 1 after SECONDS.
wait_ready() {
    local dir="$1" timeout="$2" waited=0 line
    while :; do
        line=$(client "$dir" qstat -f -q "$QUEUE" 2>/dev/null | grep "^$QUEUE@" || true)
        # Columns: queuename qtype resv/used/tot load_avg arch [states].
        if [ -n "$line" ] && [ "$(echo "$line" | awk '{print $4}')" != "-NA-" ] \
            && [ -z "$(echo "$line" | awk '{print $6}')" ]; then
            return 0
        fi
        [ "$waited" -lt $((timeout * 5)) ] || { say "queue $QUEUE not ready after ${timeout}s: '$line'"; return 1; }
        sleep 0.2
        waited=$((waited + 1))
    done
}

# smoke_test DIR : a 3-task array that writes its task ids; its 3 tasks must be in the accounting
# with exit status 0.
smoke_test() {
    local dir="$1" job waited=0 ok
    mkdir -p "$dir/smoke"
    printf '#!/bin/sh\necho "task $SGE_TASK_ID"\n' >"$dir/smoke/task.sh"
    chmod +x "$dir/smoke/task.sh"
    job=$(client "$dir" qsub -terse -t 1-3 -N smoke -j y -o "$dir/smoke" "$dir/smoke/task.sh" 2>"$dir/log/smoke.out") \
        || { say "qsub failed: $(cat "$dir/log/smoke.out")"; return 1; }
    job=${job%%.*}
    while :; do
        ok=$(client "$dir" qacct -j "$job" 2>/dev/null | awk '$1 == "exit_status" && $2 == 0' | wc -l || true)
        [ "$ok" -eq 3 ] && return 0
        [ "$waited" -lt $((JOB_TIMEOUT * 5)) ] || { say "smoke test job $job: $ok of 3 tasks accounted after ${JOB_TIMEOUT}s"; return 1; }
        sleep 0.2
        waited=$((waited + 1))
    done
}

start_cluster() {
    local dir started=$SECONDS host
    dir=$(realpath -m -- "$1")
    host=$(hostname -s)
    if [ "$(id -u)" -ne 0 ]; then
        say "needs root: sge_execd starts the jobs as their users"
        return 1
    fi
    mkdir -p "$dir"
    if [ -e "$dir/root" ]; then
        say "$dir has a cell already: start wants a fresh directory"
        return 1
    fi

    . "$HERE/scripts/system-packages.sh"
    if [ -n "$(missing_packages gridengine-master gridengine-exec gridengine-client)" ]; then
        # The packages' configuration questions, answered before installing.
        printf '%s\n' "gridengine-common shared/gridengineconfig boolean true" \
            "gridengine-common shared/gridenginecell string default" \
            "gridengine-common shared/gridenginemaster string $host" | debconf-set-selections
    fi
    install_packages gridengine-master gridengine-exec gridengine-client gcc libc6-dev
    local cmd
    for cmd in qsub qstat qacct qdel qconf; do
        command -v "$cmd" >/dev/null 2>&1 || { say "$cmd not found after installing the Grid Engine packages"; return 1; }
    done
    local addr
    addr=$(getent ahostsv4 "$host" | awk 'NR == 1 {print $1}')
    if [[ "$addr" != 127.* ]]; then
        say "$host resolves to '${addr:-nothing}', not to a loopback address (add '127.0.0.1 $host' to /etc/hosts)"
        return 1
    fi
    chmod 0755 "$dir"
    mkdir -p "$dir/log"
    trap 'fail "$dir" "interrupted"' INT TERM HUP

    gcc -shared -fPIC -O2 -o "$dir/loopback-bind.so" "$HERE/scripts/loopback-bind.c" -ldl 2>"$dir/log/gcc.out" \
        || fail "$dir" "building scripts/loopback-bind.c failed"
    local qmaster_port execd_port
    qmaster_port=$(pick_port "") || fail "$dir" "no free TCP port on 127.0.0.1"
    execd_port=$(pick_port "" "$qmaster_port") || fail "$dir" "no free TCP port on 127.0.0.1"
    echo "$qmaster_port" >"$dir/qmaster.port"
    echo "$execd_port" >"$dir/execd.port"

    make_cell "$dir" "$host"
    launch "$dir" sge_qmaster
    wait_qmaster "$dir" || fail "$dir" "sge_qmaster does not answer on 127.0.0.1:$qmaster_port"
    configure "$dir" "$host"
    launch "$dir" sge_execd
    wait_ready "$dir" "$READY_TIMEOUT" || fail "$dir" "the execution host did not report"
    say "qmaster 127.0.0.1:$qmaster_port and execd 127.0.0.1:$execd_port ready after $((SECONDS - started))s"

    smoke_test "$dir" || fail "$dir" "the smoke test failed"

    {
        echo "# Written by scripts/sge-test-cluster.sh; source it."
        printf 'export SGE_ROOT=%q\n' "$dir/root"
        echo "export SGE_CELL=default"
        echo "export SGE_QMASTER_PORT=$qmaster_port"
        echo "export SGE_EXECD_PORT=$execd_port"
        printf 'export DCPROD_TEST_SGE_DIR=%q\n' "$dir"
        echo "export DCPROD_TEST_SGE=1"
    } >"$dir/env"
    say "Grid Engine cell ready in $dir after $((SECONDS - started))s; $dir/env written"
}

[ $# -eq 2 ] || usage
case "$1" in
    start)
        start_cluster "$2"
        ;;
    stop)
        [ -d "$2" ] || exit 0
        stop_all "$(realpath -- "$2")"
        ;;
    stop-controller)
        stop_daemon "$(realpath -- "$2")" sge_qmaster
        ;;
    start-controller)
        dir="$(realpath -- "$2")"
        daemon_pid "$dir" sge_qmaster >/dev/null && { say "sge_qmaster already runs for $dir"; exit 0; }
        launch "$dir" sge_qmaster
        wait_qmaster "$dir" || { say "sge_qmaster does not answer"; exit 1; }
        # sge_execd reconnects by itself, after up to a minute: the queue is usable when it has.
        wait_ready "$dir" "$EXECD_RECONNECT_TIMEOUT" || exit 1
        say "sge_qmaster running again for $dir"
        ;;
    *)
        usage
        ;;
esac
