#!/usr/bin/env bash
# What cannot run here (systemd, Docker) is at least checked for syntax: the
# unit file, the compose file, the Dockerfile's runtime packages, every nginx
# config (nginx -t), and the example env file documenting every variable.
set -u
root=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=${2:+$(realpath "$2")}
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
check() { if "$@" >"$tmp/out" 2>&1; then echo "ok: $*"; else echo "FAIL: $*"; cat "$tmp/out"; fail=1; fi; }

check bash -n "$root/deploy/dev"
# systemd: verify a copy whose ExecStart points at a binary that exists.
sed -e "s#/usr/local/bin/chathub#${bin:-/bin/true}#" -e "s#^EnvironmentFile=.*#EnvironmentFile=-/dev/null#" \
    "$root/deploy/chathub.service" >"$tmp/chathub.service"
if command -v systemd-analyze >/dev/null; then
    check systemd-analyze verify --man=no "$tmp/chathub.service"
fi
check /usr/bin/python3 -c "import sys, yaml; d = yaml.safe_load(open(sys.argv[1])); assert {'hub1', 'hub2', 'postgres', 'redis', 'nginx'} <= set(d['services'])" "$root/deploy/docker-compose.yml"
check grep -q 'libwebsockets-evlib-uv' <(sed -n '/^FROM debian:12-slim$/,$p' "$root/deploy/Dockerfile")
check grep -qE '^ENTRYPOINT \["/usr/local/bin/chathub"\]' "$root/deploy/Dockerfile"

# nginx: the template, the TLS variant with a throwaway certificate, the compose file.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/key.pem" -out "$tmp/cert.pem" -days 1 \
    -subj /CN=localhost >/dev/null 2>&1
for d in client_body proxy fastcgi uwsgi scgi; do mkdir -p "$tmp/$d"; done
render() {
    sed -e "s#@PREFIX@#$tmp#g" -e "s#@LISTEN@#127.0.0.1:18443#" -e "s#@CERT@#$tmp/cert.pem#" \
        -e "s#@KEY@#$tmp/key.pem#" -e "s#@SERVERS@#        server 127.0.0.1:18001;#" "$1"
}
render "$root/deploy/nginx/chathub.conf.in" >"$tmp/plain.conf"
render "$root/deploy/nginx/chathub-tls.conf.in" >"$tmp/tls.conf"
{
    echo "pid $tmp/compose.pid; error_log $tmp/error.log; events {}"
    echo "http { client_body_temp_path $tmp/client_body; proxy_temp_path $tmp/proxy;"
    echo "fastcgi_temp_path $tmp/fastcgi; uwsgi_temp_path $tmp/uwsgi; scgi_temp_path $tmp/scgi;"
    sed -e 's#hub[12]:8001#127.0.0.1:18001#' -e "s#/var/log/nginx/access.log#$tmp/access.log#" \
        -e 's#listen 80;#listen 127.0.0.1:18080;#' "$root/deploy/nginx/compose.conf"
    echo "}"
} >"$tmp/compose.conf"
if command -v nginx >/dev/null; then
    for c in plain tls compose; do
        check nginx -t -q -p "$tmp" -c "$tmp/$c.conf"
    done
fi

# Every variable the hub reads is documented in the example env file.
for v in $(grep -oE '"[A-Z][A-Z_]*[A-Z]"' "$root/hub/hub_config.c" | tr -d '"' | sort -u); do
    grep -qE "^#?$v=" "$root/deploy/chathub.env.example" || { echo "FAIL: $v missing from chathub.env.example"; fail=1; }
done
exit $fail
