#!/bin/sh
# `make deb-check` (CI, as root): build the Debian package, install it with
# apt-get, enable it with a2enmod, serve with the system's Apache (its
# binary, its mods-enabled, the packaged module and llmproxy.conf) on
# 127.0.0.1:$PORT only, in front of the mock gateway; check /v1/models, a
# chat call, /openapi.json and /docs; stop it, purge the package and check
# that nothing of it is left (mods-enabled, module, files).
#
# Safe on a shared machine: the system's apache2 service is never started,
# reloaded or stopped (its own apache2.conf, port 80 and sites are not read:
# this Apache runs from a config of its own under build/deb-check/ that
# includes /etc/apache2/mods-enabled), and the modules a2enmod enabled as
# llmproxy's dependencies are disabled again at the end.
set -eu
PORT=${PORT:-19560}
MOCK_PORT=${DEB_CHECK_MOCK_PORT:-$((PORT + 1))}
top=$(pwd)
work=$top/build/deb-check
pkg=libapache2-mod-llmproxy
token="tok-deb-check-$$"
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
# the maintainer scripts must not restart the system's Apache
export APACHE2_MAINTSCRIPT_DEFER=1 DEBIAN_FRONTEND=noninteractive
APT="$SUDO env APACHE2_MAINTSCRIPT_DEFER=1 DEBIAN_FRONTEND=noninteractive apt-get -y -q -o DPkg::Lock::Timeout=300"
fail() { echo "deb-check: FAIL: $*" >&2; exit 1; }
ok() { echo "deb-check: ok: $*"; }

if dpkg-query -W -f='${Status}' $pkg 2>/dev/null | grep -q 'ok installed'; then
  fail "$pkg is installed already: purge it first (this check must not replace an install)"
fi

# (its output through a file, then shown: "tee /dev/stderr" opens the file
# stderr may be redirected to, a CI log, again and truncates it)
built=$(mktemp)
sh scripts/deb-build.sh > "$built" || { cat "$built"; rm -f "$built"; fail "make deb failed"; }
cat "$built"
deb=$(tail -n 1 "$built")
rm -f "$built"
[ -f "$deb" ] || fail "no package built"

rm -rf "$work"
mkdir -p "$work/run" "$work/lock" "$work/log"
ls /etc/apache2/mods-enabled > "$work/mods-before"
mock=""; apache_started=""
cleanup() {
  rc=$?
  if [ -n "$apache_started" ] && [ -f "$work/run/apache2.pid" ]; then
    $SUDO /usr/sbin/apache2 -f "$work/apache2.conf" -k stop 2>/dev/null || true
    sleep 1
  fi
  [ -n "$mock" ] && kill "$mock" 2>/dev/null
  if dpkg-query -W -f='${Status}' $pkg 2>/dev/null | grep -q 'installed'; then
    $APT purge $pkg >/dev/null 2>&1 || true
  fi
  # the dependencies a2enmod enabled for llmproxy
  for m in $(ls /etc/apache2/mods-enabled | sed -n 's/\.load$//p'); do
    grep -qx "$m.load" "$work/mods-before" || $SUDO a2dismod -q -f "$m" >/dev/null 2>&1 || true
  done
  exit $rc
}
trap cleanup EXIT INT TERM

# ---- install, enable ----
$APT install "$deb" > "$work/apt-install.log" 2>&1 || { cat "$work/apt-install.log"; fail "apt-get install"; }
ok "apt-get install ./$(basename "$deb")"
[ -f /usr/lib/apache2/modules/mod_llmproxy.so ] || fail "module not installed"
[ -f /etc/apache2/mods-available/llmproxy.load ] || fail "llmproxy.load not in mods-available"
[ -f /etc/apache2/mods-available/llmproxy.conf ] || fail "llmproxy.conf not in mods-available"
[ -f /usr/share/mod_llmproxy/docs/swagger-ui-bundle.js ] || fail "docs assets not installed"
[ ! -e /etc/apache2/mods-enabled/llmproxy.load ] || fail "installing enabled the module (it must wait for a2enmod)"
$SUDO a2enmod -q llmproxy > "$work/a2enmod.log" 2>&1 || { cat "$work/a2enmod.log"; fail "a2enmod llmproxy"; }
[ -L /etc/apache2/mods-enabled/llmproxy.load ] || fail "a2enmod did not enable llmproxy"
[ -e /etc/apache2/mods-enabled/proxy_http.load ] || fail "a2enmod did not honour '# Depends: proxy_http'"
ok "a2enmod llmproxy (with proxy_http)"

# ---- the mock gateway, the system's Apache on $PORT ----
python3 t/mock/upstream.py --port "$MOCK_PORT" --token "$token" > "$work/mock.log" 2>&1 &
mock=$!
i=0
until curl -s -o /dev/null "http://127.0.0.1:$MOCK_PORT/__mock/stats"; do
  i=$((i+1)); [ $i -lt 50 ] || { cat "$work/mock.log"; fail "mock gateway did not start"; }
  sleep 0.1
done
user=""
[ "$(id -u)" = 0 ] && { user="User www-data
Group www-data"; chown -R www-data "$work/run" "$work/lock" "$work/log"; }
cat > "$work/apache2.conf" <<CONF
# The system's Apache (ServerRoot /etc/apache2, its mods-enabled) on
# 127.0.0.1:$PORT only: not apache2.conf, not ports.conf, no site.
ServerRoot /etc/apache2
DefaultRuntimeDir $work/run
PidFile $work/run/apache2.pid
Mutex file:$work/lock default
ServerName localhost
Listen 127.0.0.1:$PORT
$user
ErrorLog $work/log/error.log
LogLevel warn llmproxy:info
IncludeOptional mods-enabled/*.load
IncludeOptional mods-enabled/*.conf
DocumentRoot $work/run
LLMProxyModelListURL http://127.0.0.1:$MOCK_PORT/models
LLMProxyAuthToken $token
CONF
chmod 600 "$work/apache2.conf"
# the variables of Debian's envvars that mods-enabled files may use
export APACHE_RUN_DIR="$work/run" APACHE_LOCK_DIR="$work/lock" \
       APACHE_LOG_DIR="$work/log" APACHE_PID_FILE="$work/run/apache2.pid" \
       APACHE_RUN_USER=www-data APACHE_RUN_GROUP=www-data
/usr/sbin/apache2 -f "$work/apache2.conf" -t > "$work/configtest.log" 2>&1 ||
  { cat "$work/configtest.log"; fail "configtest"; }
/usr/sbin/apache2 -f "$work/apache2.conf" -k start || fail "apache2 did not start"
apache_started=1
base="http://127.0.0.1:$PORT"
i=0
until [ "$(curl -s -o /dev/null -w '%{http_code}' "$base/v1/models")" = 200 ]; do
  i=$((i+1)); [ $i -lt 100 ] || { cat "$work/log/error.log"; fail "/v1/models never answered 200"; }
  sleep 0.2
done
curl -s "$base/v1/models" | grep -q '"id":"gpt-4o-mini"' || fail "/v1/models lacks gpt-4o-mini"
ok "GET /v1/models"
out=$(curl -s -w '\n%{http_code}' "$base/v1/chat/completions" -H 'Content-Type: application/json' \
      -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello"}]}')
[ "$(printf '%s' "$out" | tail -n 1)" = 200 ] || fail "chat call: $out"
printf '%s' "$out" | grep -q '"choices"' || fail "chat answer: $out"
ok "POST /v1/chat/completions"
curl -s "$base/openapi.json" | grep -q '"openapi":"3.1.0"' || fail "/openapi.json"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$base/docs/")" = 200 ] || fail "/docs/"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$base/docs/swagger-ui-bundle.js")" = 200 ] || fail "/docs assets"
ok "/openapi.json and /docs from /usr/share/mod_llmproxy/docs"
! grep -q "$token" "$work/log/error.log" || fail "the token is in the error log"

# ---- stop, purge ----
/usr/sbin/apache2 -f "$work/apache2.conf" -k stop
i=0
while [ -f "$work/run/apache2.pid" ]; do
  i=$((i+1)); [ $i -lt 100 ] || fail "apache2 did not stop"
  sleep 0.1
done
apache_started=""
ok "apache2 stopped"
$APT purge $pkg > "$work/apt-purge.log" 2>&1 || { cat "$work/apt-purge.log"; fail "apt-get purge"; }
left=$(ls /etc/apache2/mods-enabled /etc/apache2/mods-available | grep -i llmproxy || true)
[ -z "$left" ] || fail "left after purge: $left"
for f in /usr/lib/apache2/modules/mod_llmproxy.so /usr/share/mod_llmproxy \
         /usr/share/doc/$pkg; do
  [ ! -e "$f" ] || fail "left after purge: $f"
done
ok "purged: nothing of llmproxy in mods-enabled or mods-available"
echo "deb-check: PASS"
