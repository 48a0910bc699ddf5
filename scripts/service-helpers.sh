# Ports on 127.0.0.1 and processes stopped by pid, for the test services; sourced by
# scripts/mariadb-test-server.sh, scripts/slurm-test-cluster.sh and scripts/sge-test-cluster.sh.

# port_free PORT : true when nothing listens on 127.0.0.1:PORT and it can be bound.
port_free() {
    local port="$1"
    # Something listening answers a connect (also a server bound to 0.0.0.0).
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        return 1
    fi
    if command -v python3 >/dev/null 2>&1; then
        python3 - "$port" <<'EOF' 2>/dev/null
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers do
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
EOF
    fi
}

# pick_port CANDIDATES [EXCLUDED...] : prints the first port of the list CANDIDATES (default: 100
# random ones in 20000-60000) that is free on 127.0.0.1 and not one of EXCLUDED.
pick_port() {
    local port candidates="${1:-}" excluded
    shift || true
    excluded=" $* "
    [ -n "$candidates" ] || candidates=$(shuf -i 20000-60000 -n 100)
    for port in $candidates; do
        [[ "$excluded" == *" $port "* ]] && continue
        if port_free "$port"; then
            echo "$port"
            return 0
        fi
    done
    return 1
}

# port_answers PORT : true when something accepts a connection on 127.0.0.1:PORT.
port_answers() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# stat_field PID N : field N of /proc/PID/stat (3 = state, 6 = session id), read after the
# command name, which may hold spaces and parentheses.
stat_field() {
    local stat rest idx=$(($2 - 2))
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    rest=${stat##*) }
    set -- $rest
    [ "$#" -ge "$idx" ] || return 1
    echo "${!idx}"
}

# alive PID : true while the process exists and has not exited. An exited process stays a zombie
# for a moment until pid 1 reaps it, but a multi-threaded daemon's main thread may also look like a
# zombie while its other threads still run: a zombie with more than one task is alive.
alive() {
    local state tasks
    kill -0 "$1" 2>/dev/null || return 1
    state=$(stat_field "$1" 3) || return 1
    [ "$state" != Z ] && return 0
    tasks=$(ls "/proc/$1/task" 2>/dev/null | wc -l)
    [ "$tasks" -gt 1 ]
}

# terminate PID NAME : SIGTERM, up to STOP_TIMEOUT seconds for it to end, then SIGKILL; returns
# when the process is gone. The caller's `say` reports a SIGKILL.
terminate() {
    local pid="$1" name="$2" waited=0
    kill -TERM "$pid" 2>/dev/null || true
    while alive "$pid" && [ "$waited" -lt $((STOP_TIMEOUT * 10)) ]; do
        sleep 0.1
        waited=$((waited + 1))
    done
    if alive "$pid"; then
        say "$name (pid $pid) still running ${STOP_TIMEOUT}s after SIGTERM: SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        while alive "$pid"; do sleep 0.1; done
    fi
}
