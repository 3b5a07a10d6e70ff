#!/bin/sh
# The benchmark and the endurance run of mod_llmproxy (loopback only).
#
#   sh bench/run.sh [bench]   `make bench`: the side-by-side table (~13 min, 3 rounds)
#   sh bench/run.sh soak      `make soak`: 1,000 streams, faults, RSS soak
#   sh bench/run.sh micro     the translator microbenchmark only
#   sh bench/run.sh latency   the per-event latency table only (~2 min)
#
# Environment (defaults in brackets):
#   BENCH_DURATION [10]  seconds per row      BENCH_WARMUP [2] seconds before
#   BENCH_CONNECTIONS [64]  wrk connections   BENCH_THREADS [2] wrk threads
#   BENCH_ROUNDS [3]     repeat every row, alternating; medians (ratios: of per-round pairs)
#   BENCH_MODELS_BIG [10000]  the large model list
#   BENCH_LAT_SECONDS [4] BENCH_LAT_STREAMS [4] BENCH_LAT_ROUNDS [5]
#   BENCH_PACED_US [2000] per-event latency: streams of 50 paced events, the
#                        direct and the proxied side by side (STREAMS each)
#                        for SECONDS, every row once a round; medians
#   BENCH_PORT_BASE [19000] every port below is this + an offset
#   SOAK_SECONDS [600]   SOAK_CLIENTS [1000]  SOAK_CONNECTIONS [16]
#   B [build]  HTTPD [/usr/sbin/apache2]
#   LLMP_ASAN=1 with B=build/asan: the module built with ASan/UBSan (soak)
# Ports (base 19000): +1 mock, +11 mod_proxy_http, +21 nginx, +31 mod_llmproxy
# (+32: the same with LLMProxyUseModProxy Off; +34 with limits in
# Redis on +61), +41 mod_llmproxy for the
# soak; TLS rows: +51 nginx with TLS in front of the mock, +12
# mod_proxy_http and +33 mod_llmproxy calling it over https. Everything runs under build/bench/ and is
# stopped on exit; the system's Apache and nginx are never touched.
set -eu

cmd=${1:-bench}
B=${B:-build}
HTTPD=${HTTPD:-/usr/sbin/apache2}
top=$(pwd)
BD=$top/$B/bench
DUR=${BENCH_DURATION:-10}
WARM=${BENCH_WARMUP:-2}
CONNS=${BENCH_CONNECTIONS:-64}
WTHREADS=${BENCH_THREADS:-2}
ROUNDS=${BENCH_ROUNDS:-3}
BIG=${BENCH_MODELS_BIG:-10000}
LAT_SECONDS=${BENCH_LAT_SECONDS:-4}
LAT_STREAMS=${BENCH_LAT_STREAMS:-4}
LAT_ROUNDS=${BENCH_LAT_ROUNDS:-5}
PACED_US=${BENCH_PACED_US:-2000}
SOAK_SECONDS=${SOAK_SECONDS:-600}
SOAK_CLIENTS=${SOAK_CLIENTS:-1000}
SOAK_CONNECTIONS=${SOAK_CONNECTIONS:-16}
PB=${BENCH_PORT_BASE:-19000}
MOCK_PORT=$((PB + 1)) PH_PORT=$((PB + 11)) NGX_PORT=$((PB + 21))
LLM_PORT=$((PB + 31)) LLMC_PORT=$((PB + 32))
# TLS rows: nginx terminates TLS in front of the mock on NGXS_PORT (the
# "https gateway"); mod_proxy_http (SSLProxyEngine) and mod_llmproxy call it
# from their vhosts on PHT_PORT and LLMT_PORT.
NGXS_PORT=$((PB + 51)) PHT_PORT=$((PB + 12)) LLMT_PORT=$((PB + 33))
SOAK_PORT=$((PB + 41))
# limits with LLMProxyLimitStore redis://: a redis-server of the bench's own
# and a vhost of mod_llmproxy that uses it
REDIS_PORT=$((PB + 61)) LLMR_PORT=$((PB + 34))
MOCK=http://127.0.0.1:$MOCK_PORT
SO=$top/$B/mod_llmproxy.so

[ -f bench/run.sh ] || { echo "run from the repository root" >&2; exit 2; }
mkdir -p "$BD" bench/results

# ---- tools: wrk, nginx, a compiler, python3 (Debian packages) ----
need=""
command -v wrk >/dev/null 2>&1 || need="$need wrk"
[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null 2>&1 || need="$need nginx-light"
command -v gcc >/dev/null 2>&1 || need="$need gcc"
command -v python3 >/dev/null 2>&1 || need="$need python3"
command -v curl >/dev/null 2>&1 || need="$need curl"
command -v redis-server >/dev/null 2>&1 || need="$need redis-server"
if [ -n "$need" ]; then
  echo "bench: installing$need"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  # nginx's package tries to start the system service: keep it stopped
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $need >/dev/null
fi
NGINX=$(command -v nginx 2>/dev/null || echo /usr/sbin/nginx)
[ -f "$SO" ] || { echo "bench: $SO missing: run 'make' first" >&2; exit 2; }

CFLAGS_B="-std=gnu99 -g -O2 -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers"
gcc $CFLAGS_B -o "$BD/mock_upstream" bench/mock_upstream.c -lpthread
gcc $CFLAGS_B -o "$BD/streamlat" bench/streamlat.c
moddir=$(apxs -q LIBEXECDIR 2>/dev/null || echo /usr/lib/apache2/modules)

# ---- processes we start, stopped on exit ----
PIDS=""
HTTPD_DIRS=""
cleanup() {
  set +e
  for d in $HTTPD_DIRS; do
    [ -f "$d/httpd.pid" ] && kill "$(cat "$d/httpd.pid")" 2>/dev/null
  done
  [ -f "$BD/nginx/nginx.pid" ] && kill "$(cat "$BD/nginx/nginx.pid")" 2>/dev/null
  for p in $PIDS; do kill "$p" 2>/dev/null; done
  sleep 1
  for d in $HTTPD_DIRS; do
    [ -f "$d/httpd.pid" ] && kill -9 "$(cat "$d/httpd.pid")" 2>/dev/null
  done
  return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

stats() { curl -s --max-time 5 "$MOCK/__stats"; }
# CPU time (clock ticks) of a server's processes: the parent's own and
# reaped children's (cutime/cstime), plus every live child's utime+stime.
cpu_ticks() {  # pidfile
  python3 - "$1" <<'PYEOF'
import os, sys
try:
    parent = int(open(sys.argv[1]).read().split()[0])
except (OSError, ValueError, IndexError):
    print(0); sys.exit(0)
total = 0
for d in os.listdir("/proc"):
    if not d.isdigit():
        continue
    try:
        st = open("/proc/%s/stat" % d).read()
    except OSError:
        continue
    f = st[st.rindex(")") + 2:].split()
    pid, ppid = int(d), int(f[1])
    if pid == parent:
        total += int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])
    elif ppid == parent:
        total += int(f[11]) + int(f[12])
print(total)
PYEOF
}
CLK_TCK=$(getconf CLK_TCK 2>/dev/null || echo 100)
stat_of() { printf '%s' "$1" | sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p"; }

wait_port() {  # port [seconds]
  i=0
  while [ $i -lt $(( ${2:-10} * 10 )) ]; do
    curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$1/" && return 0
    sleep 0.1; i=$((i + 1))
  done
  echo "bench: nothing answers on port $1" >&2
  return 1
}

# A throw-away certificate for 127.0.0.1 (the TLS rows' gateway).
make_cert() {
  [ -f "$BD/tls/cert.pem" ] && return 0
  mkdir -p "$BD/tls"
  openssl req -x509 -newkey rsa:2048 -nodes -days 7 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 -keyout "$BD/tls/key.pem" \
    -out "$BD/tls/cert.pem" >/dev/null 2>&1
  chmod 644 "$BD/tls/key.pem" "$BD/tls/cert.pem"
}

start_mock() {  # models
  "$BD/mock_upstream" -p $MOCK_PORT -n "$1" -t "${BENCH_MOCK_THREADS:-1}" \
    -k 50 -D "$PACED_US" 2>"$BD/mock.log" &
  MOCK_PID=$!
  PIDS="$PIDS $MOCK_PID"
  wait_port $MOCK_PORT
}

# Run httpd; with LLMP_ASAN=1 (module built with ASan/UBSan, B=build/asan)
# the sanitizer runtime is preloaded, as in scripts/run-httpd-tests.sh.
httpd_cmd() {  # dir args...
  hd=$1; shift
  if [ -n "${LLMP_ASAN:-}" ]; then
    LD_PRELOAD=$(gcc -print-file-name=libasan.so) \
    ASAN_OPTIONS="detect_leaks=0:log_path=$hd/asan:abort_on_error=0" \
    UBSAN_OPTIONS="print_stacktrace=1:log_path=$hd/ubsan" "$HTTPD" "$@"
  else
    "$HTTPD" "$@"
  fi
}

# httpd config: name port mode(proxy|llm|soak)
gen_httpd() {
  d=$BD/$1
  mkdir -p "$d"
  user=""
  if [ "$(id -u)" = 0 ]; then
    user="User www-data
Group www-data"
    chown www-data "$d" 2>/dev/null || true
  fi
  if [ "$3" = soak ]; then
    mpm="ServerLimit 5
StartServers 4
ThreadLimit 256
ThreadsPerChild 256
MinSpareThreads 64
MaxSpareThreads 1280
MaxRequestWorkers 1280
AsyncRequestWorkerFactor 2"
  else
    # same MPM and threads for mod_proxy_http and mod_llmproxy
    mpm="ServerLimit 2
StartServers 2
ThreadLimit 64
ThreadsPerChild 64
MinSpareThreads 32
MaxSpareThreads 128
MaxRequestWorkers 128"
  fi
  cat > "$d/httpd.conf" <<EOF
# generated by bench/run.sh
ServerRoot "$d"
DefaultRuntimeDir "$d"
PidFile "$d/httpd.pid"
ServerName localhost
Listen 127.0.0.1:$2
$user
LoadModule mpm_event_module $moddir/mod_mpm_event.so
LoadModule authz_core_module $moddir/mod_authz_core.so
$mpm
MaxConnectionsPerChild 0
KeepAlive On
MaxKeepAliveRequests 0
KeepAliveTimeout 30
Timeout 60
# as Debian's apache2.conf: no .htaccess lookups
<Directory />
    AllowOverride None
</Directory>
ErrorLog "$d/error_log"
LogLevel warn
EOF
  if [ "$3" = proxy ]; then
    cat >> "$d/httpd.conf" <<EOF
LoadModule proxy_module $moddir/mod_proxy.so
LoadModule proxy_http_module $moddir/mod_proxy_http.so
ProxyPass /openai/ $MOCK/openai/
ProxyPass /anthropic/ $MOCK/anthropic/
ProxyPass /models $MOCK/models
LoadModule ssl_module $moddir/mod_ssl.so
Listen 127.0.0.1:$PHT_PORT
<VirtualHost 127.0.0.1:$PHT_PORT>
    SSLProxyEngine on
    SSLProxyCACertificateFile $BD/tls/cert.pem
    ProxyPass /openai/ https://127.0.0.1:$NGXS_PORT/openai/
    ProxyPass /anthropic/ https://127.0.0.1:$NGXS_PORT/anthropic/
</VirtualHost>
EOF
  else
    timeout=30; [ "$3" = soak ] && timeout=3
    # mod_proxy_http carries the buffered calls (LLMProxyUseModProxy On);
    # the libcurl rows use a second port with LLMProxyUseModProxy Off
    curl_vhost=""
    if [ "$3" = llm ]; then
      curl_vhost="Listen 127.0.0.1:$LLMC_PORT
<VirtualHost 127.0.0.1:$LLMC_PORT>
    LLMProxyUseModProxy Off
    <Location /v1>
        SetHandler llmproxy
    </Location>
</VirtualHost>
Listen 127.0.0.1:$LLMR_PORT
<VirtualHost 127.0.0.1:$LLMR_PORT>
    LLMProxyLimitStore redis://127.0.0.1:$REDIS_PORT
    <Location /limited/v1>
        SetHandler llmproxy
        LLMProxyLimit requests 1000000000/minute
        LLMProxyLimit tokens 1000000000000/day
    </Location>
</VirtualHost>
Listen 127.0.0.1:$LLMT_PORT
<VirtualHost 127.0.0.1:$LLMT_PORT>
    LLMProxyModelListURL https://127.0.0.1:$NGXS_PORT/models
    LLMProxyCACertificateFile $BD/tls/cert.pem
    <Location /v1>
        SetHandler llmproxy
    </Location>
</VirtualHost>"
    fi
    cat >> "$d/httpd.conf" <<EOF
LoadModule proxy_module $moddir/mod_proxy.so
LoadModule proxy_http_module $moddir/mod_proxy_http.so
# mod_ssl: buffered calls to the https gateway (the TLS rows) go through
# mod_proxy_http with it, as on a system with mod_ssl enabled
LoadModule ssl_module $moddir/mod_ssl.so
LoadModule llmproxy_module $SO
LLMProxyModelListURL $MOCK/models
LLMProxyAuthToken benchtoken
LLMProxyRefreshInterval ${BENCH_REFRESH:-2}
LLMProxyConnectTimeout 2
LLMProxyTimeout $timeout
LLMProxyModelListMaxSize 16M
<Location /v1>
    SetHandler llmproxy
</Location>
<Location /health>
    SetHandler llmproxy
</Location>
# limits on (shm): a request limit and a token budget that never refuse
<Location /limited/v1>
    SetHandler llmproxy
    LLMProxyLimit requests 1000000000/minute
    LLMProxyLimit tokens 1000000000000/day
</Location>
$curl_vhost
EOF
  fi
  httpd_cmd "$d" -t -f "$d/httpd.conf" 2>"$d/configtest.log" \
    || { cat "$d/configtest.log" >&2; return 1; }
}

# a redis-server for the "limits redis" row (Debian package redis-server,
# installed by make deps), no persistence, stopped on exit
start_redis() {
  mkdir -p "$BD/redis"
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' \
    --appendonly no --dir "$BD/redis" --daemonize no \
    >"$BD/redis/redis.log" 2>&1 &
  PIDS="$PIDS $!"
  i=0
  until redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; do
    i=$((i + 1)); [ $i -lt 50 ] || { echo "bench: redis-server did not start" >&2; return 1; }
    sleep 0.1
  done
}

start_httpd() {  # name port
  d=$BD/$1
  rm -f "$d/error_log" "$d/httpd.pid" "$d"/asan.* "$d"/ubsan.*
  httpd_cmd "$d" -f "$d/httpd.conf" -k start
  HTTPD_DIRS="$HTTPD_DIRS $d"
  wait_port "$2"
}

start_nginx() {
  d=$BD/nginx
  mkdir -p "$d/tmp"
  nuser="user root;"
  [ "$(id -u)" = 0 ] && { nuser="user www-data;"; chown -R www-data "$d/tmp"; }
  [ "$(id -u)" = 0 ] || nuser=""
  cat > "$d/nginx.conf" <<EOF
# generated by bench/run.sh: proxy_pass with upstream keepalive
$nuser
worker_processes 2;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $d/tmp/body;
    proxy_temp_path $d/tmp/proxy;
    fastcgi_temp_path $d/tmp/fcgi;
    uwsgi_temp_path $d/tmp/uwsgi;
    scgi_temp_path $d/tmp/scgi;
    keepalive_requests 100000;
    upstream mock {
        server 127.0.0.1:$MOCK_PORT;
        keepalive 64;
        keepalive_requests 100000;
    }
    server {
        listen 127.0.0.1:$NGX_PORT;
        location / {
            proxy_pass http://mock;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
    server {
        listen 127.0.0.1:$NGXS_PORT ssl;
        ssl_certificate $BD/tls/cert.pem;
        ssl_certificate_key $BD/tls/key.pem;
        keepalive_requests 100000;
        location / {
            proxy_pass http://mock;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
EOF
  "$NGINX" -p "$d" -e "$d/error.log" -c "$d/nginx.conf"
  wait_port $NGX_PORT
}

# Sum of the RSS (kB) of an httpd parent and its children.
rss_sum() {  # pidfile
  p=$(cat "$1" 2>/dev/null) || { echo 0; return; }
  ps -o rss= -p "$p" --ppid "$p" 2>/dev/null | awk '{s+=$1} END {print s+0}'
}

# Sample rss_sum every $2 seconds while $3 exists; the max goes to $4.
rss_sampler() {  # pidfile interval flagfile outfile [logfile]
  max=0
  while [ -f "$3" ]; do
    v=$(rss_sum "$1")
    [ "$v" -gt "$max" ] && max=$v
    echo "$max" > "$4"
    [ -n "${5:-}" ] && echo "$(date +%s) $v" >> "$5"
    sleep "$2"
  done
}

RESULTS=$BD/rows.tsv

# One wrk row: label url body(-|file) pidfile(-|file)
wrk_row() {
  label=$1 url=$2 body=$3 pidf=$4
  # BENCH_ROWS: an extended regular expression; the rows whose label it
  # does not match are skipped (name the reference rows too)
  if [ -n "${BENCH_ROWS:-}" ] && ! printf '%s\n' "$label" | grep -Eq -- "$BENCH_ROWS"; then
    return 0
  fi
  if [ "$body" = - ]; then unset WRK_BODY || true; else export WRK_BODY=$top/bench/wrk/body-$body.json; fi
  if [ "$WARM" -gt 0 ]; then
    wrk -t"$WTHREADS" -c"$CONNS" -d"${WARM}s" -s bench/wrk/req.lua "$url" >/dev/null 2>&1 || true
  fi
  s0=$(stats)
  flag=$BD/sampling.$$
  rssf=$BD/rss.$$
  echo 0 > "$rssf"
  if [ "$pidf" != - ]; then
    touch "$flag"
    rss_sampler "$pidf" 0.5 "$flag" "$rssf" &
    spid=$!
  fi
  c0=0; [ "$pidf" != - ] && c0=$(cpu_ticks "$pidf")
  wout=$(wrk -t"$WTHREADS" -c"$CONNS" -d"${DUR}s" --latency -s bench/wrk/req.lua "$url" 2>&1) || true
  c1=0; [ "$pidf" != - ] && c1=$(cpu_ticks "$pidf")
  if [ "$pidf" != - ]; then rm -f "$flag"; wait "$spid" 2>/dev/null || true; fi
  s1=$(stats)
  res=$(printf '%s\n' "$wout" | grep '^RESULT' || echo "RESULT rps=0 p50=0 p99=0")
  get() { printf '%s' "$res" | sed -n "s/.* $1=\([0-9.]*\).*/\1/p"; }
  conns=$(( $(stat_of "$s1" connections) - $(stat_of "$s0" connections) ))
  mreq=$(( $(stat_of "$s1" requests) - $(stat_of "$s0" requests) - 1 ))
  errs=$(( $(get connect) + $(get read) + $(get write) + $(get status) + $(get timeout) ))
  rss=$(cat "$rssf"); rm -f "$rssf"
  [ "$pidf" = - ] && rss=-
  # CPU microseconds per request of the server's processes ("-": not measured)
  cpu=-
  nreq=$(get requests)
  if [ "$pidf" != - ] && [ "${nreq:-0}" -gt 0 ] 2>/dev/null; then
    cpu=$(( (c1 - c0) * 1000000 / CLK_TCK / nreq ))
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$(get rps)" \
    "$(get p50)" "$(get p99)" "$errs" "$rss" "$conns" "$mreq" "$nreq" "$cpu" >> "$RESULTS"
  printf '  %-34s %9s req/s  CPU %5s us/req  p50 %6s us  p99 %6s us  errors %s  new backend conns %s\n' \
    "$label" "$(get rps)" "$cpu" "$(get p50)" "$(get p99)" "$errs" "$conns"
  if [ "$errs" -gt 0 ]; then
    echo "    wrk errors: connect $(get connect) read $(get read) write $(get write) status $(get status) timeout $(get timeout)"
  fi
}

set_models() {  # n: switch the mock's list, wait for mod_llmproxy to see it
  curl -s --max-time 5 "$MOCK/__ctl?models=$1" >/dev/null
  last="filler-model-$(printf '%05d' $(( $1 > 9 ? $1 - 10 : 0 )))"
  i=0
  while [ $i -lt 150 ]; do
    n=$(curl -s --max-time 5 "http://127.0.0.1:$LLM_PORT/v1/models" | grep -o '"object":"model"' | wc -l)
    [ "$n" -ge "$1" ] && [ "$1" -gt 10 ] && return 0
    [ "$1" -le 10 ] && [ "$n" -le 10 ] && [ "$n" -gt 0 ] && return 0
    sleep 0.2; i=$((i + 1))
  done
  echo "bench: mod_llmproxy did not pick up the $1-model list ($n seen)" >&2
  return 1
}

build_micro() {
  objs=$(ls "$B"/obj/src/llmp_*.o 2>/dev/null | tr '\n' ' ')
  [ -n "$objs" ] || { echo "bench: no core objects in $B/obj/src: run make" >&2; return 1; }
  gcc $CFLAGS_B -Iinclude $(apr-1-config --cppflags --includes) \
    $(apu-1-config --includes) -o "$BD/micro" bench/micro.c $objs \
    $(apr-1-config --link-ld) $(apu-1-config --link-ld) -lcurl -lcjson -lcrypto -lhiredis
}

json_field() {  # json field
  printf '%s' "$1" | python3 -c "import json,sys; d=json.load(sys.stdin); print(d.get('$2'))"
}

crash_check() {  # httpd dirs...
  c=0
  for d in "$@"; do
    n=$(grep -c -E 'exit signal|Segmentation|AddressSanitizer|runtime error' "$d/error_log" 2>/dev/null || true)
    c=$((c + ${n:-0}))
    n=$(cat "$d"/asan.* "$d"/ubsan.* 2>/dev/null | grep -c -E 'ERROR|runtime error' || true)
    c=$((c + ${n:-0}))
  done
  echo $c
}

# ---- per-event latency ----
# Each row runs its proxied streams and direct streams to the mock side by
# side (LAT_STREAMS each, LAT_SECONDS, one streamlat process), so both see
# the same machine in the same seconds; the rows take turns, LAT_ROUNDS
# times. Per row: medians over the rounds of each side's p50/p90/p99 and of
# the per-round differences (proxied - direct). "direct vs direct" is the
# method's own noise floor. One JSON line per row and round in LAT_LOG.
LAT_LOG=$BD/latency.jsonl
lat_rows() {  # [nginx]
  rm -f "$LAT_LOG"
  dO="$MOCK_PORT,/openai/v1/chat/completions,gpt-paced,$LAT_STREAMS"
  dA="$MOCK_PORT,/anthropic/v1/messages,claude-paced,$LAT_STREAMS"
  rows="direct vs direct|$dO|$dO
mod_proxy_http pass-through|$dO|$PH_PORT,/openai/v1/chat/completions,gpt-paced,$LAT_STREAMS"
  [ "${1:-}" = nginx ] && rows="$rows
nginx pass-through|$dO|$NGX_PORT,/openai/v1/chat/completions,gpt-paced,$LAT_STREAMS"
  rows="$rows
llmproxy pass-through|$dO|$LLM_PORT,/v1/chat/completions,gpt-paced,$LAT_STREAMS
llmproxy anthropic->chat|$dA|$LLM_PORT,/v1/chat/completions,claude-paced,$LAT_STREAMS
llmproxy anthropic->responses (issue 10)|$dA|$LLM_PORT,/v1/responses,claude-paced,$LAT_STREAMS
llmproxy openai->messages (issue 11)|$dO|$LLM_PORT,/v1/messages,gpt-paced,$LAT_STREAMS"
  echo "per-event latency: $LAT_ROUNDS round(s); each row ${LAT_SECONDS}s, $LAT_STREAMS direct + $LAT_STREAMS proxied streams of 50 events ${PACED_US}us apart"
  r=1
  while [ $r -le "$LAT_ROUNDS" ]; do
    printf '%s\n' "$rows" | while IFS='|' read -r label base row; do
      # which side opens its streams first alternates with the rounds
      if [ $((r % 2)) = 1 ]; then
        out=$("$BD/streamlat" multi --duration "$LAT_SECONDS" "direct=$base" "proxied=$row")
      else
        out=$("$BD/streamlat" multi --duration "$LAT_SECONDS" "proxied=$row" "direct=$base")
      fi
      printf '%s\n' "$out" | python3 -c '
import json, sys
label, rnd = sys.argv[1], int(sys.argv[2])
d = {}
for line in sys.stdin:
    j = json.loads(line)
    d[j.pop("label")] = j
print(json.dumps({"round": rnd, "row": label, "direct": d.get("direct"),
                  "proxied": d.get("proxied")}))' "$label" "$r" >> "$LAT_LOG"
      tail -1 "$LAT_LOG" | python3 -c '
import json, sys
j = json.loads(sys.stdin.read())
b, x = j["direct"], j["proxied"]
f = lambda v: "-" if v is None else "%d" % v
print("  round %d  %-42s direct p50/p99 %5s/%6s us  proxied %5s/%6s us  added p99 %6s us  %s" % (
    j["round"], j["row"], f(b["p50_us"]), f(b["p99_us"]), f(x["p50_us"]), f(x["p99_us"]),
    "-" if x["p99_us"] is None or b["p99_us"] is None else "%+d" % (x["p99_us"] - b["p99_us"]),
    " ".join("%s=%d" % kv for kv in sorted(x["outcomes"].items()))))'
    done
    r=$((r + 1))
  done
}

# The table of lat_rows' log (markdown).
lat_table() {
  python3 - "$LAT_LOG" "$LAT_STREAMS" "$LAT_SECONDS" "$PACED_US" <<'PYEOF'
import json, sys, statistics
rows, order = {}, []
for line in open(sys.argv[1]):
    j = json.loads(line)
    if j["row"] not in rows:
        order.append(j["row"]); rows[j["row"]] = []
    rows[j["row"]].append(j)
streams, secs, paced = sys.argv[2:5]
n = max(len(v) for v in rows.values()) if rows else 0
print("Per-event delivery latency: mock stamp -> arrival at the client (kernel "
      "receive time stamp of the event's last byte), %s direct and %s proxied "
      "streams of 50 events %s us apart side by side for %s s per row and "
      "round, %d round(s); medians over the rounds; \"added\" = median of the "
      "per-round differences proxied - direct. Target (issues 10, 11): added "
      "p99 < 200 us." % (streams, streams, paced, secs, n))
print()
print("| path | rounds | events | direct p50/p90/p99 us | proxied p50/p90/p99 us "
      "| added p50 us | added p90 us | added p99 us | added p99 per round | outcomes |")
print("|---|---:|---:|---|---|---:|---:|---:|---|---|")
def med(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None
def f(v):
    return "-" if v is None else "%d" % round(v)
def fs(v):
    return "-" if v is None else "%+d" % round(v)
for label in order:
    rr = rows[label]
    b = {k: med([r["direct"][k] for r in rr]) for k in ("p50_us", "p90_us", "p99_us")}
    x = {k: med([r["proxied"][k] for r in rr]) for k in ("p50_us", "p90_us", "p99_us")}
    def diff(k):
        return [r["proxied"][k] - r["direct"][k] for r in rr
                if r["proxied"][k] is not None and r["direct"][k] is not None]
    out = {}
    for r in rr:
        for k, v in r["proxied"]["outcomes"].items():
            out[k] = out.get(k, 0) + v
    print("| %s | %d | %d | %s/%s/%s | %s/%s/%s | %s | %s | %s | %s | %s |" % (
        label, len(rr), sum(r["proxied"]["events"] for r in rr),
        f(b["p50_us"]), f(b["p90_us"]), f(b["p99_us"]),
        f(x["p50_us"]), f(x["p90_us"]), f(x["p99_us"]),
        fs(med(diff("p50_us"))), fs(med(diff("p90_us"))), fs(med(diff("p99_us"))),
        " ".join(fs(v) for v in diff("p99_us")),
        " ".join("%s=%d" % kv for kv in sorted(out.items()))))
PYEOF
}

# ======================= sh bench/run.sh latency =======================
run_latency() {
  out=bench/results/latency-$(date +%Y-%m-%d-%H%M).md
  make_cert
  start_mock 10
  gen_httpd proxy_http $PH_PORT proxy
  gen_httpd llmproxy $LLM_PORT lat
  start_httpd proxy_http $PH_PORT
  start_httpd llmproxy $LLM_PORT
  set_models 10
  lat_rows
  crashes=$(crash_check "$BD/llmproxy" "$BD/proxy_http")
  {
    echo "# mod_llmproxy per-event latency, $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "$(nproc) cores, $(uname -r); $("$HTTPD" -v | head -1 | sed 's/Server version: //'), event MPM 2x64 threads."
    echo
    lat_table
    echo
    echo "Crash lines in the error logs (exit signal, Segmentation): $crashes"
  } > "$out"
  echo
  cat "$out"
  echo "latency: written to $out"
}

# ======================= make bench =======================
# the table of the rows measured: medians, and the per-round ratios to
# each row's reference row
rows_table() {
    python3 - "$RESULTS" <<'PYEOF'
import sys, statistics
rows = {}
order = []
for line in open(sys.argv[1]):
    f = line.rstrip("\n").split("\t")
    if len(f) < 9: continue
    if len(f) < 10: f.append("-")
    if f[0] not in rows: order.append(f[0]); rows[f[0]] = []
    rows[f[0]].append(f)
def med(label, i, cast=float):
    vals = [cast(r[i]) for r in rows.get(label, []) if r[i] not in ("", "-")]
    return statistics.median(vals) if vals else None
def base(label):
    # reference rows for overhead (direct) and ratio (mod_proxy_http)
    if "stream50" in label: return "direct stream50", "mod_proxy_http stream50"
    if "models" in label:
        n = label.split("(")[-1].rstrip(")")
        return "direct /models (%s)" % n, None
    if "(TLS)" in label: return "direct chat", "mod_proxy_http chat (TLS)"
    # a Responses call is compared with the same call on chat completions
    if "responses" in label: return "direct chat", "llmproxy chat anthropic"
    # a limit: compared with the same call without one
    if "limits" in label: return "direct chat", "llmproxy chat pass-through"
    # /v1/messages: compared with chat completions pass-through
    if "messages" in label: return "direct chat", "llmproxy chat pass-through"
    return "direct chat", "mod_proxy_http chat"
print("| configuration | req/s | CPU us/req | p50 us | p99 us | overhead p50 us | req/s ratio to reference* | CPU/req ratio to reference* | p99 vs reference* | errors | peak RSS MB | new backend conns / backend requests |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
dcpu = []
for label in order:
    rps, p50, p99 = med(label, 1), med(label, 2), med(label, 3)
    d, ph = base(label)
    ov = "-"
    if d and d != label and med(d, 2) is not None: ov = "%+d" % (p50 - med(d, 2))
    ratio = p99r = cpur = "-"
    cr = pairs = []
    cpu = med(label, 9)
    cpu = "%d" % cpu if cpu is not None else "-"
    if ph and ph != label and med(ph, 1):
        # paired by round (the i-th row of each label was measured in the
        # same round, minutes apart at most): the median of the per-round
        # ratios is robust to a slow minute on a shared machine
        pairs = list(zip(rows[label], rows.get(ph, [])))
        rr = [float(a[1]) / float(b[1]) for a, b in pairs if float(b[1]) > 0]
        pr = [float(a[3]) / float(b[3]) for a, b in pairs if float(b[3]) > 0]
        cr = [float(a[9]) / float(b[9]) for a, b in pairs
              if a[9] not in ("", "-") and b[9] not in ("", "-") and float(b[9]) > 0]
        if rr: ratio = "%.2f" % statistics.median(rr)
        if cr: cpur = "%.2fx" % statistics.median(cr)
        if pr: p99r = "%.2fx" % statistics.median(pr)
    errs = int(sum(int(r[4] or 0) for r in rows[label]))
    rss = med(label, 5)
    rss = "%.1f" % (rss / 1024.0) if rss is not None else "-"
    conns = int(sum(int(r[6] or 0) for r in rows[label]))
    mreq = int(sum(int(r[7] or 0) for r in rows[label]))
    if "limits" in label and cr:
        dcpu.append("%s: %s us" % (label, ", ".join("%+d" % (float(a[9]) - float(b[9]))
                    for a, b in pairs if a[9] not in ("", "-") and b[9] not in ("", "-"))))
    print("| %s | %.0f | %s | %d | %d | %s | %s | %s | %s | %d | %s | %s |" % (
        label, rps, cpu, p50, p99, ov, ratio, cpur, p99r, errs, rss, "%d / %d" % (conns, mreq)))
print()
print("\\* reference: mod_proxy_http's row (its TLS row for the TLS rows); for the "
      "responses rows, \"llmproxy chat anthropic\" (the same call on /v1/chat/completions); for "
      "the messages and limits rows, \"llmproxy chat pass-through\"; "
      "ratios are medians of the per-round ratios.")
for d in dcpu:
    print("CPU per request over chat pass-through, per round, " + d)
PYEOF
}

run_bench() {
  out=bench/results/$(date +%Y-%m-%d-%H%M).md
  rm -f "$RESULTS"
  echo "bench: ${DUR}s per row, $CONNS connections, $WTHREADS wrk threads, $ROUNDS round(s)"
  build_micro
  make_cert
  start_mock 10
  start_redis
  gen_httpd proxy_http $PH_PORT proxy
  gen_httpd llmproxy $LLM_PORT llm
  start_httpd proxy_http $PH_PORT
  start_httpd llmproxy $LLM_PORT
  start_nginx
  set_models 10
  # the TLS vhost's list comes through nginx, which started after httpd
  i=0
  until curl -sf -o /dev/null --max-time 2 "http://127.0.0.1:$LLMT_PORT/v1/models"; do
    i=$((i + 1)); [ $i -lt 100 ] || { echo "bench: the TLS vhost has no model list" >&2; return 1; }
    sleep 0.2
  done
  PHP=$BD/proxy_http/httpd.pid LLP=$BD/llmproxy/httpd.pid NGP=$BD/nginx/nginx.pid
  D=http://127.0.0.1
  r=1
  while [ $r -le "$ROUNDS" ]; do
    echo "round $r: 10 models"
    set_models 10
    wrk_row "direct chat"                  $D:$MOCK_PORT/openai/v1/chat/completions chat -
    wrk_row "mod_proxy_http chat"          $D:$PH_PORT/openai/v1/chat/completions chat "$PHP"
    wrk_row "nginx chat"                   $D:$NGX_PORT/openai/v1/chat/completions chat "$NGP"
    wrk_row "llmproxy chat pass-through"   $D:$LLM_PORT/v1/chat/completions chat "$LLP"
    wrk_row "llmproxy chat pass limits shm" $D:$LLM_PORT/limited/v1/chat/completions chat "$LLP"
    wrk_row "llmproxy chat pass limits redis" $D:$LLMR_PORT/limited/v1/chat/completions chat "$LLP"
    wrk_row "llmproxy chat anthropic"      $D:$LLM_PORT/v1/chat/completions anthropic "$LLP"
    wrk_row "llmproxy responses anthropic" $D:$LLM_PORT/v1/responses responses-anthropic "$LLP"
    wrk_row "llmproxy responses anthropic stored" $D:$LLM_PORT/v1/responses responses-anthropic-stored "$LLP"
    wrk_row "llmproxy messages pass-through" $D:$LLM_PORT/v1/messages messages "$LLP"
    wrk_row "llmproxy messages openai"     $D:$LLM_PORT/v1/messages messages-openai "$LLP"
    wrk_row "llmproxy chat pass (libcurl)" $D:$LLMC_PORT/v1/chat/completions chat "$LLP"
    wrk_row "llmproxy chat anthropic (libcurl)" $D:$LLMC_PORT/v1/chat/completions anthropic "$LLP"
    wrk_row "mod_proxy_http chat (TLS)"    $D:$PHT_PORT/openai/v1/chat/completions chat "$PHP"
    wrk_row "llmproxy chat pass (TLS)"     $D:$LLMT_PORT/v1/chat/completions chat "$LLP"
    wrk_row "llmproxy chat anthropic (TLS)" $D:$LLMT_PORT/v1/chat/completions anthropic "$LLP"
    if [ -n "${BENCH_QUICK:-}" ]; then r=$((r + 1)); continue; fi
    wrk_row "direct stream50"              $D:$MOCK_PORT/openai/v1/chat/completions stream -
    wrk_row "mod_proxy_http stream50"      $D:$PH_PORT/openai/v1/chat/completions stream "$PHP"
    wrk_row "nginx stream50"               $D:$NGX_PORT/openai/v1/chat/completions stream "$NGP"
    wrk_row "llmproxy stream50 pass"       $D:$LLM_PORT/v1/chat/completions stream "$LLP"
    wrk_row "llmproxy stream50 anthropic"  $D:$LLM_PORT/v1/chat/completions anthropic-stream "$LLP"
    wrk_row "direct /models (10)"          $D:$MOCK_PORT/models - -
    wrk_row "llmproxy /v1/models (10)"     $D:$LLM_PORT/v1/models - "$LLP"
    echo "round $r: $BIG models"
    set_models "$BIG"
    wrk_row "direct /models ($BIG)"        $D:$MOCK_PORT/models - -
    wrk_row "llmproxy /v1/models ($BIG)"   $D:$LLM_PORT/v1/models - "$LLP"
    wrk_row "llmproxy chat pass ($BIG)"    $D:$LLM_PORT/v1/chat/completions chat "$LLP"
    wrk_row "llmproxy chat anthropic ($BIG)" $D:$LLM_PORT/v1/chat/completions anthropic "$LLP"
    r=$((r + 1))
  done
  set_models 10
  if [ -n "${BENCH_QUICK:-}" ]; then
    sort -s -t "$(printf '\t')" -k1,1 "$RESULTS" | cut -f1-4,10
    rows_table
    return 0
  fi

  lat_rows nginx

  echo "microbenchmark"
  micro=$("$BD/micro" || echo "MICRO failed")
  crashes=$(crash_check "$BD/llmproxy" "$BD/proxy_http")

  {
    echo "# mod_llmproxy bench, $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "$(nproc) cores, $(uname -r); $("$HTTPD" -v | head -1 | sed 's/Server version: //'), event MPM 2x64 threads (mod_proxy_http and mod_llmproxy alike); nginx $("$NGINX" -v 2>&1 | sed 's/.*nginx\///'), 2 workers, upstream keepalive 64."
    echo "wrk: ${DUR}s per row after ${WARM}s warm-up, $CONNS connections, $WTHREADS threads, $ROUNDS round(s) (median). Request body ~1.8 KB; stream50 = 50 content events, no delay."
    echo
    rows_table
    echo
    lat_table
    echo
    echo "Microbenchmark of the core (bench/micro.c):"
    echo
    echo '```'
    printf '%s\n' "$micro" | sed 's/^MICRO //'
    echo '```'
    echo
    echo "Crash lines in the error logs (exit signal, Segmentation): $crashes"
  } > "$out"
  echo
  cat "$out"
  echo
  echo "bench: written to $out"
}

# ======================= make soak =======================
run_soak() {
  out=bench/results/soak-$(date +%Y-%m-%d-%H%M).md
  S=$BD/soak
  start_mock 10
  curl -s "$MOCK/__ctl?paced_us=200000" >/dev/null   # 50 events over 10 s
  gen_httpd soak $SOAK_PORT soak
  start_httpd soak $SOAK_PORT
  SP=$S/httpd.pid
  i=0
  while [ $i -lt 100 ]; do
    curl -s --max-time 2 "http://127.0.0.1:$SOAK_PORT/v1/models" | grep -q gpt-paced && break
    sleep 0.2; i=$((i + 1))
  done
  rss_start=$(rss_sum "$SP")

  echo "soak 1/3: $SOAK_CLIENTS concurrent streaming clients (50 events each, 200 ms apart)"
  s0=$(stats)
  flag=$BD/soak.flag
  touch "$flag"
  rss_sampler "$SP" 1 "$flag" "$BD/soak_rss_peak1" &
  spid=$!
  many=$(python3 bench/streamclient.py clients --port $SOAK_PORT --model gpt-paced \
         --n "$SOAK_CLIENTS" --ramp 3 --timeout 120)
  rm -f "$flag"; wait $spid 2>/dev/null || true
  s1=$(stats)
  echo "  $many"
  many_conns=$(( $(stat_of "$s1" connections) - $(stat_of "$s0" connections) ))
  many_peak=$(cat "$BD/soak_rss_peak1")

  echo "soak 2/3: faults under load"
  curl -s "$MOCK/__ctl?paced_us=5000" >/dev/null
  WRK_BODY=$top/bench/wrk/body-chat.json wrk -t2 -c"$SOAK_CONNECTIONS" -d60s \
    -s bench/wrk/req.lua "http://127.0.0.1:$SOAK_PORT/v1/chat/completions" > "$BD/soak_faultload.txt" 2>&1 &
  wpid=$!
  PIDS="$PIDS $wpid"
  python3 bench/streamclient.py faults --port $SOAK_PORT --conc 48 --timeout 60 \
    --plan "bench-reset:s:100,bench-reset:j:50,bench-stall:s:40,bench-stall:j:20,claude-stall:s:20,bench-garbage:s:60,bench-garbage:j:60,claude-garbage:s:60,claude-garbage:j:60,gpt-paced:s:200:3,claude-paced:s:100:3,gpt-bench:j:200,claude-bench:j:200,gpt-bench:s:100,claude-bench:s:100" \
    > "$BD/faults1.json" &
  fpid=$!
  sleep 5
  echo "  model list down (503) for 8 s, then back"
  curl -s "$MOCK/__ctl?status=503" >/dev/null
  sleep 3     # > LLMProxyRefreshInterval: the module has seen the 503 by now
  python3 bench/streamclient.py faults --port $SOAK_PORT --conc 16 --timeout 60 \
    --plan "gpt-bench:j:100,claude-bench:j:50,claude-bench:s:50,gpt-paced:s:20" \
    > "$BD/faults_down.json" || true
  sleep 3
  list_down_v1=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$SOAK_PORT/v1/models")
  curl -s "$MOCK/__ctl?status=200" >/dev/null
  wait "$fpid" || true
  python3 bench/streamclient.py faults --port $SOAK_PORT --conc 16 --timeout 60 \
    --plan "gpt-bench:j:100,claude-bench:s:50,gpt-paced:s:50" > "$BD/faults2.json" || true
  wait "$wpid" 2>/dev/null || true
  faults=$(cat "$BD/faults1.json")
  down=$(cat "$BD/faults_down.json")
  after=$(cat "$BD/faults2.json")
  fault_wrk=$(grep '^RESULT' "$BD/soak_faultload.txt" || echo "RESULT none")
  echo "  faults: $faults"
  echo "  while the list URL was down: $down"
  echo "  after:  $after"
  echo "  load during faults: $fault_wrk"

  echo "soak 3/3: steady load for ${SOAK_SECONDS}s, RSS every 10 s"
  curl -s "$MOCK/__ctl?paced_us=2000" >/dev/null
  rm -f "$BD/soak_rss.log"
  touch "$flag"
  rss_sampler "$SP" 10 "$flag" "$BD/soak_rss_peak3" "$BD/soak_rss.log" &
  spid=$!
  s0=$(stats)
  # mixed steady load: pass-through, translated, streams and /v1/models
  wpids=""
  for b in chat anthropic stream anthropic-stream; do
    WRK_BODY=$top/bench/wrk/body-$b.json wrk -t1 -c"$(( SOAK_CONNECTIONS / 4 + 1 ))" -d"${SOAK_SECONDS}s" \
      -s bench/wrk/req.lua "http://127.0.0.1:$SOAK_PORT/v1/chat/completions" > "$BD/soak_wrk_$b.txt" 2>&1 &
    wpids="$wpids $!"
  done
  unset WRK_BODY || true
  wrk -t1 -c2 -d"${SOAK_SECONDS}s" -s bench/wrk/req.lua "http://127.0.0.1:$SOAK_PORT/v1/models" > "$BD/soak_wrk_models.txt" 2>&1 &
  wpids="$wpids $!"
  PIDS="$PIDS $wpids"
  python3 bench/streamclient.py latency --port $SOAK_PORT --model gpt-paced --streams 32 \
    --duration "$SOAK_SECONDS" > "$BD/soak_streams.json" || true
  for p in $wpids; do wait "$p" 2>/dev/null || true; done
  rm -f "$flag"
  wait "$spid" 2>/dev/null || true
  s1=$(stats)
  soak_conns=$(( $(stat_of "$s1" connections) - $(stat_of "$s0" connections) ))
  soak_reqs=$(( $(stat_of "$s1" requests) - $(stat_of "$s0" requests) ))
  crashes=$(crash_check "$S")

  {
    echo "# mod_llmproxy soak, $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "event MPM, 5 children x 256 threads; LLMProxyTimeout 3 s; mock on $MOCK_PORT."
    echo
    echo "## $SOAK_CLIENTS concurrent streams"
    echo "$many"
    echo "backend connections opened: $many_conns; peak RSS of httpd: $((many_peak / 1024)) MB (at start $((rss_start / 1024)) MB)"
    echo
    echo "## Faults under load (resets, stalls past the timeout, garbage, client disconnects, list down 8 s)"
    echo "$faults"
    echo "requests while the list URL answered 503: $down"
    echo "requests after the faults: $after"
    echo "GET /v1/models while the list URL answered 503: HTTP $list_down_v1"
    echo "wrk chat load during the faults: $fault_wrk"
    echo
    echo "## Steady load for ${SOAK_SECONDS}s (RSS of httpd, MB, every 10 s)"
    awk 'NR==1{f=$2} {l=$2; if ($2>m) m=$2; printf "%d ", $2/1024} END {printf "\nfirst %d MB, last %d MB, max %d MB\n", f/1024, l/1024, m/1024}' "$BD/soak_rss.log"
    for b in chat anthropic stream anthropic-stream models; do
      echo "wrk $b: $(grep '^RESULT' "$BD/soak_wrk_$b.txt" || echo none)"
    done
    echo "paced streams: $(cat "$BD/soak_streams.json")"
    echo "backend connections opened during the soak: $soak_conns for $soak_reqs backend requests"
    echo
    echo "Crash lines in error_log (exit signal, Segmentation, sanitizer): $crashes"
  } > "$out"
  echo
  cat "$out"
  echo "soak: written to $out"
}

case "$cmd" in
  bench) run_bench ;;
  soak) run_soak ;;
  micro) build_micro; "$BD/micro" ;;
  latency) run_latency ;;
  *) echo "usage: sh bench/run.sh [bench|soak|micro|latency]" >&2; exit 2 ;;
esac
