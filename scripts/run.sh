#!/bin/sh
# `make run`: start httpd in the foreground with mod_llmproxy on $PORT,
# configured from the environment or a .env file (MODEL_LIST_URL,
# MODEL_LIST_AUTH_TOKEN, LOG_LEVEL), like the original Python proxy.
set -eu
B=${B:-build}
PORT=${PORT:-8000}
HTTPD=${HTTPD:-/usr/sbin/apache2}
top=$(pwd)

# .env: KEY=VALUE lines; the environment wins over the file.
if [ -f .env ]; then
  while IFS= read -r line || [ -n "$line" ]; do
    line=$(printf '%s' "$line" | sed -e 's/^[[:space:]]*//' -e 's/^export[[:space:]]\{1,\}//')
    case "$line" in ''|'#'*) continue ;; esac
    key=${line%%=*}; val=${line#*=}
    case "$key" in MODEL_LIST_URL|MODEL_LIST_AUTH_TOKEN|LOG_LEVEL|PORT) ;; *) continue ;; esac
    case "$val" in
      \"*) val=$(printf '%s' "$val" | sed -e 's/^"//' -e 's/".*$//') ;;
      \'*) val=$(printf '%s' "$val" | sed -e "s/^'//" -e "s/'.*\$//") ;;
      *) val=$(printf '%s' "$val" | sed -e 's/[[:space:]]#.*$//' -e 's/[[:space:]]*$//') ;;
    esac
    if eval "[ -z \"\${$key+set}\" ]"; then export "$key=$val"; fi
  done < .env
fi

level=$(printf '%s' "${LOG_LEVEL:-INFO}" | tr '[:lower:]' '[:upper:]')
case "$level" in
  DEBUG) ll=debug ;; INFO) ll=info ;; WARNING|WARN) ll=warn ;;
  ERROR) ll=error ;; CRITICAL) ll=crit ;; NONE) ll=emerg ;;
  *) echo "LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR, CRITICAL or NONE" >&2; exit 2 ;;
esac
accesslog='CustomLog /dev/stdout llmproxy'
[ "$level" = NONE ] && accesslog='# access log off (LOG_LEVEL=NONE)'

rundir=$top/$B/run
mkdir -p "$rundir"
user=''
if [ "$(id -u)" = 0 ]; then
  user='User www-data
Group www-data'
  chown www-data "$rundir" 2>/dev/null || true
fi
moddir=$(apxs -q LIBEXECDIR 2>/dev/null || echo /usr/lib/apache2/modules)
listen=${LISTEN:-127.0.0.1:$PORT}
sed -e "s#@RUNDIR@#$rundir#g" -e "s#@LISTEN@#$listen#g" \
    -e "s#@MODDIR@#$moddir#g" -e "s#@SO@#$top/$B/mod_llmproxy.so#g" \
    -e "s#@LOGLEVEL@#$ll#g" -e "s#@CONFDIR@#$top/conf#g" \
    -e "s#@DOCSDIR@#$top/docs#g" \
    -e "s#@ACCESSLOG@#$accesslog#" \
    conf/run.conf.in > "$rundir/httpd.conf.tmp"
awk -v u="$user" '{ if ($0 == "@USER@") print u; else print }' "$rundir/httpd.conf.tmp" > "$rundir/httpd.conf"
rm -f "$rundir/httpd.conf.tmp"

echo "mod_llmproxy: http://$listen/v1 (model list: ${MODEL_LIST_URL:-https://api.eliza.yandex.net/models}, token: $( [ -n "${MODEL_LIST_AUTH_TOKEN:-}" ] && echo set || echo none ), log level: $level)"
echo "health: http://$listen/health   docs: http://$listen/docs/   stop: Ctrl-C"
"$HTTPD" -t -f "$rundir/httpd.conf" >/dev/null 2>&1 || "$HTTPD" -t -f "$rundir/httpd.conf"
exec "$HTTPD" -f "$rundir/httpd.conf" -DFOREGROUND
