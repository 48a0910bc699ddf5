#!/usr/bin/env bash
# A private MariaDB server for the tests, everything under one directory.
#
#   scripts/mariadb-test-server.sh start DIR   installs mariadb-server if missing, creates
#                                               DIR/my.cnf and a data directory, starts mariadbd
#                                               (unix socket DIR/mysqld.sock and a free TCP port
#                                               on 127.0.0.1), creates the user dcprod_test with a
#                                               random password, writes DIR/client.cnf (0600) and
#                                               DIR/env, and checks both with a real client.
#   scripts/mariadb-test-server.sh stop DIR    stops the server started in DIR, by its pid.
#
# DIR/env exports DCPROD_TEST_MARIADB_DEFAULTS (the client option file: user, password, host,
# port), _HOST, _PORT, _USER and _SOCKET. The test user has all privileges on the databases
# named dcprod_*, so a test creates and drops its own database. The password is only in
# DIR/client.cnf: it never appears in a process's arguments.
#
# A second user, dcprod_file, has the same privileges and the global FILE privilege, with which
# the server reads and writes files (LOAD_FILE, SELECT ... INTO OUTFILE, LOAD DATA INFILE): the
# tests show that a read-only `dcprod sql` refuses those even to it. DIR/env exports its option
# file as DCPROD_TEST_MARIADB_FILE_DEFAULTS (DIR/client-file.cnf, 0600, its password only there)
# and its name as DCPROD_TEST_MARIADB_FILE_USER.
#
# Exit status of start: 0 when the server runs and the test user can log in over TCP and
# load a file with LOAD DATA LOCAL INFILE; 1 otherwise, with the reason (and the tail of the
# server's error log) on stderr, and no server left running.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$HERE/scripts/service-helpers.sh"
PROG="mariadb-test-server"
# Ports tried: 3307, else 3308-3399, else random ones.
PORT_CANDIDATES="3307 $(seq 3308 3399) $(shuf -i 20000-60000 -n 50)"
TEST_USER="dcprod_test"
FILE_USER="dcprod_file"
START_TIMEOUT=30   # seconds until the socket answers
STOP_TIMEOUT=30    # seconds between SIGTERM and SIGKILL

say() { echo "$PROG: $*" >&2; }
usage() { echo "usage: $0 start|stop DIR" >&2; exit 2; }

# server_pid DIR : prints the pid recorded by start, if that process is still the mariadbd of DIR.
server_pid() {
    local dir="$1" pid
    [ -s "$dir/mariadbd.pid.manager" ] || return 1
    pid=$(cat "$dir/mariadbd.pid.manager")
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    [ -r "/proc/$pid/cmdline" ] || return 1
    # The pid must still be our server (not a recycled pid): mariadbd with DIR/my.cnf.
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "--defaults-file=$dir/my.cnf" || return 1
    echo "$pid"
}

stop_server() {
    local dir="$1" pid
    if ! pid=$(server_pid "$dir"); then
        rm -f "$dir/mariadbd.pid.manager"
        return 0
    fi
    terminate "$pid" mariadbd
    rm -f "$dir/mariadbd.pid.manager"
}


write_my_cnf() {
    local dir="$1" port="$2"
    cat >"$dir/my.cnf" <<EOF
# Written by scripts/mariadb-test-server.sh: a private server for the tests.
[mysqld]
datadir=$dir/data
socket=$dir/mysqld.sock
port=$port
bind-address=127.0.0.1
local-infile=1
pid-file=$dir/mariadbd.pid
log-error=$dir/mariadbd.err
skip-name-resolve
innodb_buffer_pool_size=256M
max_connections=100
# Debian's packaged server (50-server.cnf, not read here) has these too; MariaDB's are latin1.
character-set-server=utf8mb4
collation-server=utf8mb4_general_ci
EOF
}

# root_sql DIR : runs the SQL of stdin as root through the socket (unix_socket authentication).
root_sql() {
    local dir="$1"
    mariadb --defaults-file="$dir/my.cnf" --socket="$dir/mysqld.sock" -u root -N -B
}

error_log_tail() {
    local dir="$1"
    if [ -s "$dir/mariadbd.err" ]; then
        say "last lines of $dir/mariadbd.err:"
        tail -n 25 "$dir/mariadbd.err" | sed 's/^/    /' >&2
    fi
    if [ -s "$dir/mariadbd.out" ]; then
        say "output of mariadbd:"
        tail -n 10 "$dir/mariadbd.out" | sed 's/^/    /' >&2
    fi
}

# launch DIR : starts mariadbd and waits until it answers on the socket.
# Returns 0 when ready, 1 on failure, 3 when the TCP port was taken meanwhile.
launch() {
    local dir="$1" pid waited=0
    : >"$dir/mariadbd.err"
    setsid mariadbd --defaults-file="$dir/my.cnf" --user="$RUN_USER" \
        </dev/null >"$dir/mariadbd.out" 2>&1 &
    pid=$!
    # setsid execs mariadbd in place (a background child is no process group leader),
    # so $! is the server's pid; the pid-file, once written, says the same.
    echo "$pid" >"$dir/mariadbd.pid.manager"
    while :; do
        if mariadb --defaults-file="$dir/my.cnf" --socket="$dir/mysqld.sock" -u root \
            -N -B -e 'select 1' >/dev/null 2>&1; then
            break
        fi
        if ! alive "$pid"; then
            wait "$pid" 2>/dev/null || true
            rm -f "$dir/mariadbd.pid.manager"
            if grep -qE "Bind on TCP/IP port|Address already in use" "$dir/mariadbd.err"; then
                return 3
            fi
            say "mariadbd exited before it was ready"
            error_log_tail "$dir"
            return 1
        fi
        if [ "$waited" -ge $((START_TIMEOUT * 10)) ]; then
            say "mariadbd (pid $pid) did not answer on $dir/mysqld.sock within ${START_TIMEOUT}s"
            error_log_tail "$dir"
            stop_server "$dir"
            return 1
        fi
        sleep 0.1
        waited=$((waited + 1))
    done
    if [ -s "$dir/mariadbd.pid" ] && [ "$(cat "$dir/mariadbd.pid")" != "$pid" ]; then
        # Should not happen (see above); trust the server's own pid-file.
        cat "$dir/mariadbd.pid" >"$dir/mariadbd.pid.manager"
    fi
}

start_server() {
    local dir="$1" port attempt tried="" started=$SECONDS
    mkdir -p "$dir"
    dir="$(cd "$dir" && pwd)"
    if server_pid "$dir" >/dev/null; then
        say "a server already runs in $dir (pid $(server_pid "$dir")); stop it first"
        return 1
    fi
    if [ -e "$dir/data" ]; then
        say "$dir/data exists: start wants a fresh directory"
        return 1
    fi
    # A unix socket path is limited to 107 bytes.
    if [ "${#dir}" -gt 90 ]; then
        say "directory path too long for a unix socket: $dir"
        return 1
    fi
    RUN_USER="$(id -un)"

    . "$HERE/scripts/system-packages.sh"
    install_packages mariadb-server mariadb-client
    local cmd
    for cmd in mariadbd mariadb-install-db mariadb; do
        command -v "$cmd" >/dev/null 2>&1 || { say "$cmd not found after installing mariadb-server"; return 1; }
    done

    port=$(pick_port "$PORT_CANDIDATES") || { say "no free TCP port on 127.0.0.1"; return 1; }
    write_my_cnf "$dir" "$port"

    # --skip-test-db: no `test` database open to every account and no anonymous accounts.
    local install_args=(--defaults-file="$dir/my.cnf" --auth-root-authentication-method=socket
                        --user="$RUN_USER" --skip-test-db)
    # Not root: the root account is then reached through the socket by this OS user.
    [ "$RUN_USER" != root ] && install_args+=(--auth-root-socket-user="$RUN_USER")
    if ! mariadb-install-db "${install_args[@]}" >"$dir/install-db.log" 2>&1; then
        say "mariadb-install-db failed (its output: $dir/install-db.log)"
        error_log_tail "$dir"
        return 1
    fi

    # Another process may take the port between the check and mariadbd's bind: try others.
    for attempt in 1 2 3 4 5; do
        local rc=0
        launch "$dir" || rc=$?
        [ "$rc" -eq 0 ] && break
        [ "$rc" -ne 3 ] && return 1
        tried="$tried $port"
        say "port $port was taken meanwhile; trying another"
        port=$(pick_port "$PORT_CANDIDATES" $tried) || { say "no free TCP port on 127.0.0.1"; return 1; }
        write_my_cnf "$dir" "$port"
        [ "$attempt" -eq 5 ] && { say "no port could be bound"; error_log_tail "$dir"; return 1; }
    done
    say "mariadbd (pid $(cat "$dir/mariadbd.pid.manager")) ready on $dir/mysqld.sock and 127.0.0.1:$port after $((SECONDS - started))s"

    # From here on, a failure stops the server again.
    if ! setup_user "$dir" "$port" || ! verify "$dir"; then
        stop_server "$dir"
        return 1
    fi
    say "user $TEST_USER can log in over TCP and LOAD DATA LOCAL INFILE; $dir/env written ($((SECONDS - started))s)"
}

# create_user DIR PORT USER CNF [GLOBAL-PRIVILEGE] : a user with all privileges on dcprod_*
# (and GLOBAL-PRIVILEGE on *.*, if given), a random password, and its client option file CNF.
create_user() {
    local dir="$1" port="$2" user="$3" cnf="$4" global="${5:-}" password host
    # 32 alphanumerics: no quoting needed in SQL or in an option file.
    password=$(LC_ALL=C tr -dc 'A-Za-z0-9' </dev/urandom | head -c 32 || true)
    [ "${#password}" -eq 32 ] || { say "could not make a random password"; return 1; }
    # The password goes to the client on stdin (printf is a shell builtin: no process arguments).
    if ! for host in localhost 127.0.0.1; do
            printf '%s\n' \
                "CREATE USER '$user'@'$host' IDENTIFIED BY '$password';" \
                "GRANT ALL PRIVILEGES ON \`dcprod\\_%\`.* TO '$user'@'$host';"
            [ -z "$global" ] || printf '%s\n' "GRANT $global ON *.* TO '$user'@'$host';"
        done | root_sql "$dir" >"$dir/setup-$user.log" 2>&1; then
        say "creating user $user failed:"
        sed 's/^/    /' "$dir/setup-$user.log" >&2
        return 1
    fi
    (
        umask 077
        rm -f "$cnf"
        printf '%s\n' \
            "# Written by scripts/mariadb-test-server.sh: a test user of the private server." \
            "[client]" \
            "user=$user" \
            "password=$password" \
            "host=127.0.0.1" \
            "port=$port" >"$cnf"
    )
    chmod 0600 "$cnf"
}

# setup_user DIR PORT : the test users, their client option files and DIR/env.
setup_user() {
    local dir="$1" port="$2"
    create_user "$dir" "$port" "$TEST_USER" "$dir/client.cnf" || return 1
    create_user "$dir" "$port" "$FILE_USER" "$dir/client-file.cnf" FILE || return 1
    {
        echo "# Written by scripts/mariadb-test-server.sh; source it."
        printf 'export DCPROD_TEST_MARIADB_DEFAULTS=%q\n' "$dir/client.cnf"
        printf 'export DCPROD_TEST_MARIADB_HOST=%q\n' "127.0.0.1"
        printf 'export DCPROD_TEST_MARIADB_PORT=%q\n' "$port"
        printf 'export DCPROD_TEST_MARIADB_USER=%q\n' "$TEST_USER"
        printf 'export DCPROD_TEST_MARIADB_SOCKET=%q\n' "$dir/mysqld.sock"
        printf 'export DCPROD_TEST_MARIADB_FILE_DEFAULTS=%q\n' "$dir/client-file.cnf"
        printf 'export DCPROD_TEST_MARIADB_FILE_USER=%q\n' "$FILE_USER"
    } >"$dir/env"
}

# verify DIR : with client.cnf only, the test user logs in over TCP and loads a CSV file.
verify() {
    local dir="$1" out
    if ! out=$(mariadb --defaults-file="$dir/client.cnf" -N -B \
            -e "select 1" 2>&1) \
        || [ "$out" != 1 ]; then
        say "user $TEST_USER cannot log in with $dir/client.cnf:"
        echo "$out" | sed 's/^/    /' >&2
        return 1
    fi
    printf '%s\n' '1,"plain"' '2,"with, comma"' >"$dir/probe.csv"
    if ! out=$(printf '%s\n' \
            "DROP DATABASE IF EXISTS dcprod_probe;" \
            "CREATE DATABASE dcprod_probe;" \
            "CREATE TABLE dcprod_probe.t (id INT PRIMARY KEY, name VARCHAR(40));" \
            "LOAD DATA LOCAL INFILE '$dir/probe.csv' INTO TABLE dcprod_probe.t FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' LINES TERMINATED BY '\\n';" \
            "SELECT COUNT(*), MAX(name) FROM dcprod_probe.t;" \
            "DROP DATABASE dcprod_probe;" \
            | mariadb --defaults-file="$dir/client.cnf" --local-infile=1 -N -B 2>&1); then
        say "LOAD DATA LOCAL INFILE failed for $TEST_USER:"
        echo "$out" | sed 's/^/    /' >&2
        rm -f "$dir/probe.csv"
        return 1
    fi
    rm -f "$dir/probe.csv"
    if [ "$out" != "$(printf '2\twith, comma')" ]; then
        say "LOAD DATA LOCAL INFILE loaded something else than the 2 probe lines:"
        echo "$out" | sed 's/^/    /' >&2
        return 1
    fi
}

[ $# -eq 2 ] || usage
case "$1" in
    start)
        start_server "$2"
        ;;
    stop)
        [ -d "$2" ] || exit 0
        stop_server "$(cd "$2" && pwd)"
        ;;
    *)
        usage
        ;;
esac
