# TCP ports on 127.0.0.1 for the test services; sourced by scripts/mariadb-test-server.sh and
# scripts/slurm-test-cluster.sh.

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

# port_answers PORT : true when something accepts a connection on 127.0.0.1:PORT.
port_answers() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}
