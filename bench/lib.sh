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
    # what the build itself needs, whichever script asked (bench/rules, bench/stick and
    # bench/tcp list only their peers)
    bench_install gcc pkg-config meson ninja-build libnghttp2-dev liburcu-dev libck-dev \
        zlib1g-dev libcrypt-dev libssl-dev
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
    bench_nginx_ext "$1" "$2"
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
    local pid=$1 kids c
    # its children (nghttpx's worker, nginx's worker) exit on their own once it stops; wait
    # for them too, so they do not overlap with whatever runs next
    kids=$(ps -o pid= --ppid "$pid" 2>/dev/null || true)
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
    for c in $kids; do
        for _ in $(seq 1 50); do
            [ -d "/proc/$c" ] && [ "$(awk '{print $3}' "/proc/$c/stat" 2>/dev/null)" != Z ] || break
            sleep 0.1
        done
    done
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

# ---- scenario loads (bench/run, bench/profile) ---------------------------------------------
# bench_scenario SCENARIO: sets BENCH_LOADS (the loads it runs, in order) and BENCH_DEF_N
# (default -n: normal, --quick); returns 1 for an unknown scenario.
bench_scenario() {
    case $1 in
    seed) BENCH_LOADS=(c300 c310); BENCH_DEF_N=(100000 20000) ;;
    h1-keepalive) BENCH_LOADS=(c100); BENCH_DEF_N=(100000 20000) ;;
    h1-close) BENCH_LOADS=(c50-close); BENCH_DEF_N=(20000 5000) ;;
    h2-large) BENCH_LOADS=(c16m16-100k); BENCH_DEF_N=(20000 4000) ;;
    overflow-churn) BENCH_LOADS=(churn); BENCH_DEF_N=(60000 20000) ;;
    *) return 1 ;;
    esac
}

# overflow-churn: client counts of the short runs beside the 290 steady clients
BENCH_CHURN_FG=(10 15 20 25 30)

# bench_load_setup LOAD N: sets H2ARGS (h2load arguments but -n/-t/URL), URLPATH, PROTO
# (h1|h2: which direct-to-nginx port fits), LOAD_N (requests of the measured run), WARMN
# (requests of the discarded warm-up run) and DESC.
bench_load_setup() {
    URLPATH=/
    LOAD_N=$2
    case $1 in
    c300) H2ARGS=(-c300 -m400 --rate=300); PROTO=h2 ;;
    # the last 10 clients connect a second after the first 300: the first 300 must still be
    # busy then for anything to go to pbcoffee, so at least 100000 requests
    c310) H2ARGS=(-c310 -m400 --rate=300); PROTO=h2; [ "$LOAD_N" -ge 100000 ] || LOAD_N=100000 ;;
    c100) H2ARGS=(--h1 -c100); PROTO=h1 ;;
    c50-close) H2ARGS=(--h1 -c50 -H 'Connection: close'); PROTO=h1 ;;
    c16m16-100k) H2ARGS=(-c16 -m16); PROTO=h2; URLPATH=/100k ;;
    churn) H2ARGS=(-c290 -m1 --rps=30); PROTO=h2 ;;
    *) echo "unknown load $1" >&2; return 1 ;;
    esac
    WARMN=$((LOAD_N / 10))
    [ "$WARMN" -ge 2000 ] || WARMN=2000
    [ "$1" != c16m16-100k ] || [ "$WARMN" -le 1000 ] || WARMN=1000
    DESC="h2load ${H2ARGS[*]} -n$LOAD_N"
    [ "$1" != churn ] || DESC+=" + rounds of -c${BENCH_CHURN_FG[0]}..${BENCH_CHURN_FG[-1]} -m1 x10 req"
    # h2load threads: one per generator CPU, never more than clients
    local a c=1
    for a in "${H2ARGS[@]}"; do [[ $a =~ ^-c([0-9]+)$ ]] && c=${BASH_REMATCH[1]}; done
    BENCH_H2T=${BENCH_CLI_NCPU:-1}
    [ "$BENCH_H2T" -le "$c" ] || BENCH_H2T=$c
    # time bound of one h2load run
    BENCH_TMO=$((120 + LOAD_N / 300))
}

bench_alive() { [ -d "/proc/$1" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }

# h2load on the generator's CPUs, bounded by BENCH_TMO seconds
bench_h2load() {
    timeout -k 5 "${BENCH_TMO:-300}" taskset -c "${BENCH_CLI_CPUS:-0}" h2load "$@"
}

# bench_load_warm LOAD URL: the discarded warm-up run (after bench_load_setup)
bench_load_warm() {
    if [ "$1" = churn ]; then
        bench_h2load -t"$BENCH_H2T" -c100 -m10 -n"$WARMN" "$2" >/dev/null 2>&1 || true
    else
        bench_h2load -t"$BENCH_H2T" "${H2ARGS[@]}" -n"$WARMN" "$2" >/dev/null 2>&1 || true
    fi
}

# bench_load_run LOAD URL BASE [N]: the measured run (after bench_load_setup; N defaults to
# LOAD_N), h2load summaries in BASE*.out and --log-file rows in BASE*.log. Sets BENCH_OUTS,
# BENCH_LOGS (arrays), BENCH_REQS (requests asked for) and BENCH_WALL (seconds, churn only).
bench_load_run() {
    local load=$1 url=$2 base=$3 n=${4:-$LOAD_N}
    BENCH_OUTS=("$base.out")
    BENCH_LOGS=("$base.log")
    BENCH_REQS=$n
    BENCH_WALL=""
    if [ "$load" != churn ]; then
        bench_h2load -t"$BENCH_H2T" "${H2ARGS[@]}" -n"$n" --log-file="$base.log" "$url" \
            >"$base.out" 2>&1 || true
        return 0
    fi
    # 290 steady rate-limited clients in the background; beside them, one short h2load after
    # the other (10..30 new clients, 10 requests each, then they close) until the steady ones
    # are done, so fe_conn keeps crossing 300 and reaching maxconn
    local t0 t1 rounds=0 fc bg
    t0=$(date +%s.%N)
    bench_h2load -t"$BENCH_H2T" "${H2ARGS[@]}" -n"$n" --log-file="$base.log" "$url" \
        >"$base.out" 2>&1 &
    bg=$!
    BENCH_PIDS+=("$bg")
    while bench_alive "$bg" && [ "$rounds" -lt 5000 ]; do
        fc=${BENCH_CHURN_FG[$((rounds % ${#BENCH_CHURN_FG[@]}))]}
        timeout -k 5 60 taskset -c "${BENCH_CLI_CPUS:-0}" h2load -t1 -c"$fc" -m1 \
            -n$((fc * 10)) --log-file="$base.fg$rounds.log" "$url" >"$base.fg$rounds.out" 2>&1 || true
        BENCH_OUTS+=("$base.fg$rounds.out")
        BENCH_LOGS+=("$base.fg$rounds.log")
        BENCH_REQS=$((BENCH_REQS + fc * 10))
        rounds=$((rounds + 1))
    done
    wait "$bg" 2>/dev/null || true
    bench_forget "$bg"
    t1=$(date +%s.%N)
    BENCH_WALL=$(python3 -c "print(f'{$t1 - $t0:.3f}')")
}
