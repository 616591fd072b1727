#!/usr/bin/env bash
# Scale-out test: two `facescore serve` processes on one PostgreSQL database behind nginx (all on loopback).
# Writes a result through instance A, reads it through instance B and through nginx, deletes it through
# nginx, checks it is gone on both. Needs FS_TEST_PG_URL (scripts/ci-postgres.sh), nginx, curl, a built
# build/facescore and its models. Prints "scaleout: ok" and exits 0 on success.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${FS_TEST_PG_URL:?set FS_TEST_PG_URL (scripts/ci-postgres.sh prints one)}"
BIN=${FS_BIN:-build/facescore}
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
tmp=$(mktemp -d)
pids=()
cleanup() {
  [ -f "$tmp/nginx.pid" ] && kill "$(cat "$tmp/nginx.pid")" 2>/dev/null || true
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "scaleout: FAIL: $*" >&2; for f in "$tmp"/*.log; do echo "--- $f" >&2; tail -5 "$f" >&2; done; exit 1; }

start_serve() { # name -> sets port_<name>
  "$BIN" serve --listen 127.0.0.1:0 --db "$FS_TEST_PG_URL" --threads 1 >"$tmp/$1.out" 2>"$tmp/$1.log" &
  pids+=($!)
  local port=""
  for _ in $(seq 600); do
    port=$(grep -o '127\.0\.0\.1:[0-9]*' "$tmp/$1.out" 2>/dev/null | head -1 | cut -d: -f2 || true)
    [ -n "$port" ] && break
    kill -0 "${pids[-1]}" 2>/dev/null || fail "serve $1 exited"
    sleep 0.1
  done
  [ -n "$port" ] || fail "serve $1 did not report its port"
  eval "port_$1=$port"
}
start_serve a
start_serve b
nport=""
for _ in $(seq 50); do # a port nobody listens on
  p=$((20000 + RANDOM % 40000))
  (echo >"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { nport=$p; break; }
done
[ -n "$nport" ] || fail "no free port for nginx"
user_line=""
[ "$(id -u)" = 0 ] && user_line="user root;"
cat >"$tmp/nginx.conf" <<CONF
$user_line
worker_processes 1;
pid $tmp/nginx.pid;
error_log $tmp/nginx.log warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path $tmp/body; proxy_temp_path $tmp/proxy; fastcgi_temp_path $tmp/fcgi;
  uwsgi_temp_path $tmp/uwsgi; scgi_temp_path $tmp/scgi;
  upstream facescore { server 127.0.0.1:$port_a; server 127.0.0.1:$port_b; keepalive 8; }
  server {
    listen 127.0.0.1:$nport;
    client_max_body_size 11m;
    location / {
      proxy_pass http://facescore; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_set_header Host \$host; proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
    }
  }
}
CONF
"$NGINX" -p "$tmp" -c "$tmp/nginx.conf" -t >/dev/null 2>&1 || fail "nginx -t: $("$NGINX" -p "$tmp" -c "$tmp/nginx.conf" -t 2>&1 | tail -1)"
"$NGINX" -p "$tmp" -c "$tmp/nginx.conf"
for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$nport/healthz" >/dev/null 2>&1 && break; sleep 0.1; done

code() { curl -s -o "$tmp/body.json" -w '%{http_code}' "$@"; }
# write through A
[ "$(code -X POST -H 'Content-Type: image/jpeg' --data-binary @samples/face.jpg "http://127.0.0.1:$port_a/api/v1/score")" = 200 ] ||
  fail "POST via A: $(cat "$tmp/body.json")"
id=$(grep -o '"id":"[0-9a-f]*"' "$tmp/body.json" | head -1 | cut -d'"' -f4)
[ ${#id} = 32 ] || fail "no id in $(head -c 200 "$tmp/body.json")"
# read through B and through nginx (both upstreams, round robin)
[ "$(code "http://127.0.0.1:$port_b/api/v1/results/$id")" = 200 ] && grep -q "\"$id\"" "$tmp/body.json" ||
  fail "GET via B: $(cat "$tmp/body.json")"
for i in 1 2 3 4; do
  [ "$(code "http://127.0.0.1:$nport/api/v1/results/$id")" = 200 ] && grep -q "\"$id\"" "$tmp/body.json" ||
    fail "GET via nginx #$i: $(cat "$tmp/body.json")"
done
# write through nginx, read on both instances
[ "$(code -X POST -H 'Content-Type: image/jpeg' --data-binary @samples/face.jpg "http://127.0.0.1:$nport/api/v1/score")" = 200 ] ||
  fail "POST via nginx: $(cat "$tmp/body.json")"
id2=$(grep -o '"id":"[0-9a-f]*"' "$tmp/body.json" | head -1 | cut -d'"' -f4)
for p in "$port_a" "$port_b"; do
  [ "$(code "http://127.0.0.1:$p/api/v1/results/$id2")" = 200 ] || fail "GET $id2 via port $p"
done
# delete through nginx: gone everywhere
for x in "$id" "$id2"; do
  [ "$(code -X DELETE "http://127.0.0.1:$nport/api/v1/results/$x")" = 200 ] || fail "DELETE $x via nginx"
  for p in "$port_a" "$port_b"; do
    [ "$(code "http://127.0.0.1:$p/api/v1/results/$x")" = 404 ] || fail "deleted $x still there on port $p"
  done
done
echo "scaleout: ok (serve on :$port_a and :$port_b, nginx on :$nport, one PostgreSQL)"
