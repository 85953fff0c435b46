#!/usr/bin/env bash
# Starts Debian's nginx (nginx-light) as the lab's plaintext throughput reference: writes a
# config into the private --tmp folder (pid, logs, temp paths all there), prints the lab's
# "listening on" line once the port accepts, and execs nginx in the foreground so the pid the
# harness holds (and measures) is nginx's master process.
set -euo pipefail

port=8080 host=127.0.0.1 threads=1 idle_timeout=30 tmp=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --port) port="$2" ;;
    --host) host="$2" ;;
    --threads) threads="$2" ;;
    --idle-timeout) idle_timeout="$2" ;;
    --tmp) tmp="$2" ;;
    *) echo "nginx/run.sh: unknown flag $1 (flags: --port --host --threads --idle-timeout --tmp)" >&2
       exit 2 ;;
  esac
  shift 2
done
if [[ -z $tmp ]]; then
  echo "nginx/run.sh: --tmp DIR is required (the harness passes {tmp})" >&2
  exit 2
fi
if [[ $port == 0 ]]; then
  echo "nginx/run.sh: nginx cannot report an ephemeral port; pass a fixed --port" >&2
  exit 2
fi
nginx_bin="$(command -v nginx || echo /usr/sbin/nginx)"
mkdir -p "$tmp"
# As root nginx would switch its workers to "nobody", who cannot use $tmp; keep the caller's user.
user_line=""
[[ $(id -u) -eq 0 ]] && user_line="user $(id -un);"

cat >"$tmp/nginx.conf" <<CONF
$user_line
worker_processes $threads;
pid $tmp/nginx.pid;
error_log $tmp/error.log warn;
events {
    worker_connections 16384;
}
http {
    access_log off;
    server_tokens off;
    keepalive_timeout ${idle_timeout}s;
    keepalive_requests 100000000;
    client_max_body_size 1m;
    client_body_temp_path $tmp/client_body;
    proxy_temp_path $tmp/proxy;
    fastcgi_temp_path $tmp/fastcgi;
    uwsgi_temp_path $tmp/uwsgi;
    scgi_temp_path $tmp/scgi;
    default_type text/plain;

    server {
        listen $host:$port backlog=4096 reuseport;
        # Constant bodies: nginx has no JSON serializer and no /compute or /sleep, so this is
        # the plaintext throughput ceiling, not an implementation of the contract. 400/413
        # keep nginx's own HTML bodies (an error_page for them breaks their close semantics).
        error_page 405 @method_not_allowed;
        location = /plaintext {
            if (\$request_method !~ ^(GET|HEAD)\$) { return 405; }
            return 200 "Hello, World!";
        }
        location = /json {
            if (\$request_method !~ ^(GET|HEAD)\$) { return 405; }
            default_type application/json;
            return 200 '{"message":"Hello, World!"}';
        }
        location / {
            return 404 "Not Found";
        }
        location @method_not_allowed {
            add_header Allow "GET, HEAD" always;
            return 405 "Method Not Allowed";
        }
    }
}
CONF

# Announce only when the socket accepts (nginx itself prints nothing); bounded to 10 s. The
# poller is forked from a subshell that exits at once, so it is not left as nginx's child.
announce() {
  for _ in $(seq 1 1000); do
    if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then
      echo "listening on $host:$port (event_loop, $threads threads)"
      return 0
    fi
    sleep 0.01
  done
  echo "nginx/run.sh: nginx did not start listening on $host:$port within 10 s; see $tmp/error.log" >&2
}
( announce & )

# nginx: SIGTERM and SIGINT are its fast shutdown, exit status 0.
exec "$nginx_bin" -p "$tmp" -c "$tmp/nginx.conf" -e "$tmp/error.log" -g 'daemon off;'
