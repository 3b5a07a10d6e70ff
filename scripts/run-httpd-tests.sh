#!/bin/sh
# Run the Apache::Test suite: start the mock gateway (two instances), run
# t/TEST against a real httpd with the module, stop everything.
set -u
# (envvars below reads unset variables)
B=${B:-build}
APXS=${APXS:-apxs}
HTTPD=${HTTPD:-/usr/sbin/apache2}
top=$(pwd)
export LLMP_SO="$top/$B/mod_llmproxy.so"
export LLMP_TOKEN="tok-7f3a9-SECRET-do-not-log"
# buffered backend calls: through mod_proxy_http (On) or libcurl (Off)
export LLMP_MODPROXY=${LLMP_MODPROXY:-On}
# Ports: LLMP_TEST_PORT (httpd, virtual hosts on the next ones) and the
# mock's; change them to run two suites side by side.
export LLMP_MOCK_PORT=${LLMP_MOCK_PORT:-18431}
export LLMP_MOCK2_PORT=${LLMP_MOCK2_PORT:-18432}
LLMP_TEST_PORT=${LLMP_TEST_PORT:-8529}
export LLMP_MOCK2_PIDFILE="$top/t/logs/mock2.pid"
# the mock over https (t/15_tls.t): two more instances
export LLMP_MOCK_TLS_PORT=${LLMP_MOCK_TLS_PORT:-18433}
export LLMP_MOCK_TLS2_PORT=${LLMP_MOCK_TLS2_PORT:-18434}
export LLMP_TLS_DIR="$top/t/logs/tls"
# t/28_limits.t: its redis-server and a second httpd on the next ports
export LLMP_REDIS_PORT=${LLMP_REDIS_PORT:-$((LLMP_MOCK_PORT + 4))}
export LLMP_HTTPD2_PORT=${LLMP_HTTPD2_PORT:-$((LLMP_MOCK_PORT + 5))}
# a PostgreSQL server t/27_usagedb.t starts for the usage database
export LLMP_PG_PORT=${LLMP_PG_PORT:-$((LLMP_MOCK_PORT + 7))}
mkdir -p t/logs
rm -f t/logs/error_log t/logs/llmproxy_log t/logs/asan.* t/logs/ubsan.*

# Throw-away certificates: two CAs; the mock's certificate (127.0.0.1) from
# the first; one for it from the second (which the first does not sign);
# one from the first for another name
rm -rf "$LLMP_TLS_DIR"
mkdir -p "$LLMP_TLS_DIR"
tls_ca() {
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$2" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$LLMP_TLS_DIR/$1.key" -out "$LLMP_TLS_DIR/$1.pem" 2>/dev/null
}
tls_server() {
  printf '%s\n' "subjectAltName=$4" "basicConstraints=CA:FALSE" \
    "keyUsage=critical,digitalSignature,keyEncipherment" \
    "extendedKeyUsage=serverAuth" > "$LLMP_TLS_DIR/ext.cnf"
  openssl req -new -newkey rsa:2048 -nodes -subj "/CN=$5" \
    -keyout "$LLMP_TLS_DIR/$1.key" -out "$LLMP_TLS_DIR/$1.csr" 2>/dev/null &&
  openssl x509 -req -in "$LLMP_TLS_DIR/$1.csr" -days 2 -set_serial "$3" \
    -CA "$LLMP_TLS_DIR/$2.pem" -CAkey "$LLMP_TLS_DIR/$2.key" \
    -extfile "$LLMP_TLS_DIR/ext.cnf" -out "$LLMP_TLS_DIR/$1.pem" 2>/dev/null
}
tls_ca ca1 "mod_llmproxy test CA 1" && tls_ca ca2 "mod_llmproxy test CA 2" &&
tls_server mock ca1 1001 IP:127.0.0.1 127.0.0.1 &&
tls_server otherca ca2 2001 IP:127.0.0.1 127.0.0.1 &&
tls_server othername ca1 1002 DNS:gateway.invalid gateway.invalid ||
  { echo "cannot make the test certificates (openssl)"; exit 1; }

python3 t/mock/upstream.py --port "$LLMP_MOCK_PORT" --token "$LLMP_TOKEN" \
  >t/logs/mock.log 2>&1 &
mock1=$!
python3 t/mock/upstream.py --port "$LLMP_MOCK2_PORT" --token "$LLMP_TOKEN" \
  --pidfile "$LLMP_MOCK2_PIDFILE" >t/logs/mock2.log 2>&1 &
mock2=$!
python3 t/mock/upstream.py --port "$LLMP_MOCK_TLS_PORT" --token "$LLMP_TOKEN" \
  --tls-cert "$LLMP_TLS_DIR/mock.pem" --tls-key "$LLMP_TLS_DIR/mock.key" \
  >t/logs/mock-tls.log 2>&1 &
mock3=$!
python3 t/mock/upstream.py --port "$LLMP_MOCK_TLS2_PORT" --token "$LLMP_TOKEN" \
  --tls-cert "$LLMP_TLS_DIR/mock.pem" --tls-key "$LLMP_TLS_DIR/mock.key" \
  --tls-alt "$LLMP_TLS_DIR/othername.pem:$LLMP_TLS_DIR/othername.key" \
  --tls-alt "$LLMP_TLS_DIR/otherca.pem:$LLMP_TLS_DIR/otherca.key" \
  >t/logs/mock-tls2.log 2>&1 &
mock4=$!
cleanup() { kill "$mock1" "$mock2" "$mock3" "$mock4" 2>/dev/null; }
trap cleanup EXIT INT TERM
for url in "http://127.0.0.1:$LLMP_MOCK_PORT" \
           "https://127.0.0.1:$LLMP_MOCK_TLS_PORT" \
           "https://127.0.0.1:$LLMP_MOCK_TLS2_PORT"; do
  i=0
  until curl -s -o /dev/null --cacert "$LLMP_TLS_DIR/ca1.pem" "$url/__mock/stats"; do
    i=$((i+1)); [ $i -lt 50 ] || { echo "mock gateway $url did not start"; cat t/logs/mock*.log; exit 1; }
    sleep 0.1
  done
done

if [ -n "${LLMP_ASAN:-}" ]; then
  libasan=$(${CC:-gcc} -print-file-name=libasan.so)
  # httpd is not built with ASan: its runtime must be loaded first
  export LD_PRELOAD="$libasan"
  export ASAN_OPTIONS="detect_leaks=0:log_path=$top/t/logs/asan:abort_on_error=0"
  export UBSAN_OPTIONS="print_stacktrace=1:log_path=$top/t/logs/ubsan"
fi

# The modules to load, with the MPM asked for (event by default, or worker)
mpm=${LLMP_MPM:-event}
moddir=$("$APXS" -q LIBEXECDIR)
sed -e "s#@MPM@#$mpm#g" -e "s#@MODDIR@#$moddir#g" t/inherit.conf.tmpl \
  > "$top/$B/inherit-$mpm.conf"
echo "httpd tests: $mpm MPM${LLMP_ASAN:+, ASan/UBSan}, LLMProxyUseModProxy $LLMP_MODPROXY"
user_args=""
if [ "$(id -u)" = 0 ]; then
  user_args="-user www-data -group www-data"
fi
# a fresh configuration for every run (ports, MPM and module may change)
perl t/TEST -clean >/dev/null 2>&1
# shellcheck disable=SC2086
perl t/TEST -apxs "$APXS" -httpd "$HTTPD" -httpd_conf "$top/$B/inherit-$mpm.conf" \
  -port "$LLMP_TEST_PORT" $user_args -maxclients 16 ${LLMP_TEST_ARGS:-} "$@"
rc=$?
exit $rc
