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
