# bench/lib.sh - shared by the bench/ scripts: install what is missing, build a release
# binary, start real nginx backends on loopback, clean up only what we started.
# Source it after `set -euo pipefail` and `cd` to the repository root.

BENCH_PIDS=()
BENCH_WORK=$(mktemp -d /tmp/spillway-bench.XXXXXX)

bench_cleanup() {
    for p in "${BENCH_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${BENCH_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$BENCH_WORK"
}
trap bench_cleanup EXIT

bench_install() { # packages...
    local missing=()
    for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "installing: ${missing[*]}"
        local sudo=""
        [ "$(id -u)" -ne 0 ] && sudo="sudo"
        $sudo apt-get update -q >/dev/null
        $sudo apt-get install -y -q "${missing[@]}" >/dev/null
    fi
}

bench_build() { # -> build-release/spillway
    echo "== building spillway (release) =="
    if [ -f build-release/build.ninja ]; then
        meson setup --reconfigure build-release --buildtype=release >/dev/null
    else
        meson setup build-release --buildtype=release >/dev/null
    fi
    ninja -C build-release spillway >/dev/null
}

bench_free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

bench_wait_port() { # port
    for _ in $(seq 1 200); do
        (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
        sleep 0.05
    done
    echo "port $1 never opened" >&2
    return 1
}

# Starts an nginx (one worker, 19000 connections) answering "NAME\n" on 127.0.0.1:PORT, with
# stub_status on /nginx_status for its own counters.
bench_nginx() { # name port
    local name=$1 port=$2 dir=$BENCH_WORK/nginx-$1
    mkdir -p "$dir/logs" "$dir/tmp"
    local user=""
    [ "$(id -u)" -eq 0 ] && user="user root;"
    cat >"$dir/nginx.conf" <<NGX
$user
worker_processes 1;
worker_rlimit_nofile 40000;
daemon off;
pid $dir/nginx.pid;
error_log $dir/logs/error.log;
events { worker_connections 19000; }
http {
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path $dir/tmp;
    proxy_temp_path $dir/tmp;
    fastcgi_temp_path $dir/tmp;
    uwsgi_temp_path $dir/tmp;
    scgi_temp_path $dir/tmp;
    server {
        listen 127.0.0.1:$port reuseport backlog=4096;
        location = /nginx_status { stub_status; }
        location / { default_type text/plain; return 200 "$name\n"; }
    }
}
NGX
    nginx -p "$dir" -c "$dir/nginx.conf" &
    BENCH_PIDS+=($!)
    bench_wait_port "$port"
}

# "ACCEPTS REQUESTS" from an nginx's stub_status; the call itself is one more of each
bench_nginx_counts() { # port
    curl -s "http://127.0.0.1:$1/nginx_status" | awk 'NR==3 {print $1, $3}'
}

# ---- additions for bench/run and bench/profile ----------------------------------------------

# CPU placement: the server side (proxy + nginx) and the load generator get disjoint CPUs. On
# a 2-CPU box the server side gets the first allowed CPU and h2load the second; with more CPUs
# the lower half goes to the server side and the upper half to h2load. BENCH_SERVER_CPUS and
# BENCH_CLIENT_CPUS (taskset lists, e.g. "0-7") override. Sets BENCH_SRV_CPUS, BENCH_CLI_CPUS
# and BENCH_CLI_NCPU (how many CPUs h2load gets, its -t).
bench_cpus() {
    local allowed
    allowed=$(python3 -c 'import os; print(" ".join(map(str, sorted(os.sched_getaffinity(0)))))')
    read -r -a _cpus <<<"$allowed"
    local n=${#_cpus[@]}
    if [ "$n" -lt 2 ]; then
        BENCH_SRV_CPUS=${_cpus[0]}
        BENCH_CLI_CPUS=${_cpus[0]}
        echo "warning: one CPU only; the generator and the server side share it" >&2
    else
        local half=$((n / 2))
        BENCH_SRV_CPUS=$(IFS=,; echo "${_cpus[*]:0:half}")
        BENCH_CLI_CPUS=$(IFS=,; echo "${_cpus[*]:half}")
    fi
    BENCH_SRV_CPUS=${BENCH_SERVER_CPUS:-$BENCH_SRV_CPUS}
    BENCH_CLI_CPUS=${BENCH_CLIENT_CPUS:-$BENCH_CLI_CPUS}
    BENCH_CLI_NCPU=$(python3 -c '
import sys
n = 0
for part in sys.argv[1].split(","):
    a, _, b = part.partition("-")
    n += int(b or a) - int(a) + 1
print(n)' "$BENCH_CLI_CPUS")
}

# Forgets a PID (after we stopped and reaped it), so the exit trap never signals a PID that
# the kernel may have handed to somebody else since.
bench_forget() { # pid
    local keep=() p
    for p in "${BENCH_PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
    BENCH_PIDS=("${keep[@]}")
}

# Stops one process we started (SIGTERM, then SIGKILL after about 10 s), reaps it, forgets it.
bench_stop() { # pid
    local pid=$1
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        # a zombie child still answers kill -0; reaped below
        [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" = Z ] && break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    bench_forget "$pid"
}

# Like bench_nginx (one worker answering "NAME\n" on 127.0.0.1:PORT, stub_status on
# /nginx_status), started under `taskset -c $BENCH_SRV_CPUS` when that is set, plus:
#   /100k      a 100 KiB static file (102400 bytes), for large responses;
#   H2PORT     when given, a second listener speaking cleartext HTTP/2 (prior knowledge), for
#              "direct to nginx" runs over h2c (nginx 1.22 speaks only HTTP/2 on such a port).
# Sets BENCH_NGINX_PID to the master's PID (the worker is its child).
bench_nginx_ext() { # name port [h2port]
    local name=$1 port=$2 h2port=${3:-} dir=$BENCH_WORK/nginx-$1
    mkdir -p "$dir/logs" "$dir/tmp" "$dir/www"
    head -c 102400 /dev/zero | tr '\0' 'x' >"$dir/www/100k"
    local user="" h2listen=""
    [ "$(id -u)" -eq 0 ] && user="user root;"
    [ -n "$h2port" ] && h2listen="listen 127.0.0.1:$h2port http2 reuseport backlog=4096;"
    cat >"$dir/nginx.conf" <<NGX
$user
worker_processes 1;
worker_rlimit_nofile 40000;
daemon off;
pid $dir/nginx.pid;
error_log $dir/logs/error.log;
events { worker_connections 19000; }
http {
    access_log off;
    keepalive_requests 1000000;
    sendfile on;
    http2_max_concurrent_streams 128;
    client_body_temp_path $dir/tmp;
    proxy_temp_path $dir/tmp;
    fastcgi_temp_path $dir/tmp;
    uwsgi_temp_path $dir/tmp;
    scgi_temp_path $dir/tmp;
    server {
        listen 127.0.0.1:$port reuseport backlog=4096;
        $h2listen
        location = /nginx_status { stub_status; }
        location = /100k { root $dir/www; default_type application/octet-stream; }
        location / { default_type text/plain; return 200 "$name\n"; }
    }
}
NGX
    if [ -n "${BENCH_SRV_CPUS:-}" ]; then
        taskset -c "$BENCH_SRV_CPUS" nginx -p "$dir" -c "$dir/nginx.conf" &
    else
        nginx -p "$dir" -c "$dir/nginx.conf" &
    fi
    BENCH_NGINX_PID=$!
    BENCH_PIDS+=("$BENCH_NGINX_PID")
    bench_wait_port "$port"
    [ -z "$h2port" ] || bench_wait_port "$h2port"
}

# The seed frontend, bound to 127.0.0.1:PORT, for spillway and HAProxy alike (same text).
# No `log` lines: per-request logging would be measured, not proxying. SRVOPTS is appended to
# each server line (e.g. "maxconn 1000").
bench_seed_cfg() { # file port nbthread adeport pbport [srvopts]
    local file=$1 port=$2 nbt=$3 ade=$4 pb=$5 srvopts=${6:-}
    cat >"$file" <<CFG
global
    nbthread $nbt

defaults
    mode http
    timeout connect 5s
    timeout client 2m
    timeout server 1m

frontend webserver
    bind 127.0.0.1:$port
    mode http
    maxconn 310
    option forwardfor
    acl too_many_connections fe_conn(webserver) gt 300
    use_backend pbcoffee if too_many_connections
    default_backend ade

backend ade
    server ade1 127.0.0.1:$ade${srvopts:+ $srvopts}

backend pbcoffee
    server pbcoffee1 127.0.0.1:$pb${srvopts:+ $srvopts}
CFG
}
