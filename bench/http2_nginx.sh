#!/usr/bin/env bash
# HTTP/2 vs HTTP/1.1 to an API behind nginx with TLS (a CA and a server
# certificate made here; nginx proxy_pass to an ingest-sink over plain HTTP).
# For each version: records/s delivered, requests/s, and how many TLS
# connections nginx saw (HTTP/2 multiplexes all requests in flight on one).
#
# usage: bench/http2_nginx.sh [BUILD_DIR]   (default: build)
# env: SECONDS_PER_RUN (10), RATE (100000), MIF (16), LATENCY_MS (5), BATCH (200)
set -euo pipefail
BIN=$(cd "${1:-build}/bin" && pwd)
SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
RATE=${RATE:-100000}
MIF=${MIF:-16}
LATENCY_MS=${LATENCY_MS:-5}
BATCH=${BATCH:-200}
command -v openssl >/dev/null && [ -x /usr/sbin/nginx ] || {
  echo "openssl and nginx-light are needed: run scripts/install-deps.sh" >&2
  exit 1
}
w=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$w"' EXIT
cd "$w"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=bench-ca -keyout ca.key -out ca.pem 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout srv.key -out srv.csr 2>/dev/null
echo "subjectAltName=IP:127.0.0.1,DNS:localhost" >san.ext
openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile san.ext \
  -out srv.pem 2>/dev/null

"$BIN/ingest-sink" --port 0 --discard --latency-ms "$LATENCY_MS" >sink.out 2>sink.err &
for _ in $(seq 100); do [ -s sink.out ] && break; sleep 0.1; done
sink_port=$(head -1 sink.out | sed 's/.*://')
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
user=""; [ "$(id -u)" = 0 ] && user="user root;"
cat >nginx.conf <<CONF
$user
worker_processes 1; daemon off; pid $w/nginx.pid; error_log $w/error.log;
events { worker_connections 1024; }
http {
  log_format c '\$connection \$server_protocol';
  access_log $w/access.log c;
  client_body_temp_path $w/t1; proxy_temp_path $w/t2; fastcgi_temp_path $w/t3;
  uwsgi_temp_path $w/t4; scgi_temp_path $w/t5;
  client_max_body_size 16m; client_body_buffer_size 16m;
  upstream sink { server 127.0.0.1:$sink_port; keepalive 64; }
  server {
    listen 127.0.0.1:$port ssl http2;
    ssl_certificate $w/srv.pem; ssl_certificate_key $w/srv.key;
    location / { proxy_pass http://sink; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
CONF
/usr/sbin/nginx -c "$w/nginx.conf" -p "$w" -e "$w/error.log" &
for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done

echo "nginx TLS -> ingest-sink (+${LATENCY_MS} ms), MAX_IN_FLIGHT=$MIF, batch $BATCH, ${SECONDS_PER_RUN}s at $RATE records/s offered"
printf '%-8s %12s %12s %12s %8s\n' version records/s requests/s connections p99_ms
for v in 1.1 2; do
  : >access.log
  kill -USR1 "$(cat nginx.pid)"  # reopen the log
  API=https://localhost:$port KEY=TEST_KEY CA_FILE=$w/ca.pem HTTP_VERSION=$v MAX_IN_FLIGHT=$MIF \
    BATCH_SIZE=$BATCH DRAIN_TIMEOUT=10 STATS_INTERVAL=0 LOG_LEVEL=WARN \
    "$BIN/nf2ingest" --generate="$RATE" --duration="$SECONDS_PER_RUN" --report="$w/r$v.json" \
    2>"run$v.log" || true
  sleep 0.5
  python3 - "$w/r$v.json" "$w/access.log" "$v" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
lines = [l.split() for l in open(sys.argv[2]) if l.strip()]
conns = len({l[0] for l in lines})
rec = r["records_per_s"]["achieved"]
req = r["requests_per_s"]["achieved"]
p99 = r["latency_ms"].get("p99", 0)
print(f"{sys.argv[3]:8} {rec:12.0f} {req:12.0f} {conns:12d} {p99:>8}")
PY
done
