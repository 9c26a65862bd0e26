#!/usr/bin/env bash
# CPU profiles of svcproxy under the bench's loads, drawn as flame graphs (issue 15): bulk 1 stream (iperf3),
# keep-alive HTTP and a new connection per request (wrk), each against svcproxy started by the launcher with
# its defaults. async-profiler (tools.profiler:async-profiler from Maven Central, in ~/.m2 or fetched by mvn) is
# attached by jcmd after an unmeasured warm-up, samples every ~1 ms of CPU (itimer: no perf_events needed),
# and writes collapsed stacks; bench/flamegraph.py draws them. Loopback only: svcproxy on 127.0.10.42,
# endpoints on 127.0.0.42. Everything started is stopped on exit.
# --event alloc samples allocations (by size, TLAB-driven) instead of CPU.
# --jit-settle S (default 30, as bench.py's): after the fixed warm-up, up to S seconds more of the row's load, 2 s
# at a time, while svcproxy's JIT compiler threads took over 5% of its CPU in the last stretch - the profile
# shows the JIT-settled JVM the bench measures, not one still compiling. 0: the fixed warm-up only.
#   bench/profile.sh [--seconds 6] [--warmup 4] [--jit-settle 30] [--out DIR] [--event cpu|alloc] [bulk1 http close]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
seconds=6; warmup=4; settle=30; event=cpu; out="$here/results/profile-$(date +%Y%m%d-%H%M%S)"; rows=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    --jit-settle) settle="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --event) event="$2"; shift 2 ;;
    bulk1|http|close) rows+=("$1"); shift ;;
    *) echo "profile: unknown argument $1 (expected: --seconds N, --warmup N, --jit-settle N, --out DIR, --event cpu|alloc, bulk1, http, close)" >&2; exit 2 ;;
  esac
done
[ ${#rows[@]} -gt 0 ] || rows=(bulk1 http close)
[[ $settle =~ ^[0-9]+$ ]] || { echo "profile: --jit-settle takes whole seconds, 0 or more, not $settle" >&2; exit 2; }
case "$event" in
  cpu) evopt="event=itimer,interval=997us"; what=CPU; suffix= ;;
  alloc) evopt="event=alloc"; what=allocations; suffix=-alloc ;;
  *) echo "profile: --event cpu or alloc, not $event" >&2; exit 2 ;;
esac
ver=4.1
jar="$HOME/.m2/repository/tools/profiler/async-profiler/$ver/async-profiler-$ver.jar"
[ -f "$jar" ] || mvn -B -q dependency:get -Dartifact=tools.profiler:async-profiler:$ver -Dtransitive=false >&2
mkdir -p "$out/lib"
(cd "$out/lib" && unzip -o -q "$jar" 'linux-x64/*')
lib="$out/lib/linux-x64/libasyncProfiler.so"
pids=()
cleanup() { for p in "${pids[@]:-}"; do [ -n "$p" ] && kill -TERM -- "-$p" 2>/dev/null || true; done; }
trap cleanup EXIT
start() { setsid "$@" & pids+=($!); }
# CPU clock ticks (utime+stime) of a JVM's threads: all of them with "all", its C1/C2 compiler threads with "jit"
ticks() {
  local t sum=0 comm f which=$2 v
  for t in /proc/"$1"/task/*; do
    comm=$(cat "$t/comm" 2>/dev/null) || continue
    [ "$which" = jit ] && [[ $comm != *CompilerThre* ]] && continue
    f=$(cat "$t/stat" 2>/dev/null) || continue
    read -r -a v <<< "${f##*) }"; sum=$((sum + v[11] + v[12]))   # fields 14, 15 of stat: utime, stime
  done
  echo $sum
}

cat > "$out/nginx.conf" <<NGINX
worker_processes 1; daemon off; pid $out/nginx.pid; error_log $out/nginx.error.log warn;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000;
  client_body_temp_path $out/t1; proxy_temp_path $out/t2; fastcgi_temp_path $out/t3; uwsgi_temp_path $out/t4;
  scgi_temp_path $out/t5;
  server { listen 127.0.0.42:8080 backlog=4096; location / { default_type text/plain;
    return 200 "$(printf 'x%.0s' $(seq 1 99))\n"; } } }
NGINX
for row in "${rows[@]}"; do
  port=8080; [ "$row" = bulk1 ] && port=5201
  cat > "$out/svcproxy-$row.yaml" <<YAML
proxy: {admin: off}
services:
  - name: profile
    clusterIP: 127.0.10.42
    scheduler: rr
    ports: [{port: $port}]
    endpoints:
      - {ip: 127.0.0.42, port: $port}
YAML
  if [ "$row" = bulk1 ]; then
    start iperf3 -s -B 127.0.0.42 -p 5201; backend=${pids[-1]}
    load=(iperf3 -c 127.0.10.42 -p 5201 -P 1 -t)
  else
    start nginx -e "$out/nginx.error.log" -p "$out" -c "$out/nginx.conf"; backend=${pids[-1]}
    load=(wrk -t2 -c64 --latency http://127.0.10.42:8080/ -d)
    [ "$row" = close ] && load=(wrk -t2 -c64 -H 'Connection: close' --latency http://127.0.10.42:8080/ -d)
  fi
  sleep 0.5
  start env -u JAVA_OPTS "$root/svcproxy" run --config "$out/svcproxy-$row.yaml" > "$out/svcproxy-$row.log" 2>&1
  svc=${pids[-1]}
  for _ in $(seq 1 600); do grep -q 'Serving' "$out/svcproxy-$row.log" && break; sleep 0.1; done
  jvm=$(pgrep -g "$svc" -x java | head -1 || true); extra=0
  [ -n "$jvm" ] || jvm=$svc
  c0=$(ticks "$jvm" all); j0=$(ticks "$jvm" jit)
  timeout $((warmup + 20)) "${load[@]}" "$warmup" > /dev/null 2>&1 || true
  # as bench.py's warm_up: 2 s more while the compilers took over 5% of the JVM's CPU in the last stretch
  while c=$(( $(ticks "$jvm" all) - c0 )); j=$(( $(ticks "$jvm" jit) - j0 ))
        [ $((j * 20)) -gt "$c" ] && [ $((extra + 2)) -le "$settle" ]; do
    c0=$(ticks "$jvm" all); j0=$(ticks "$jvm" jit)
    timeout 22 "${load[@]}" 2 > /dev/null 2>&1 || true; extra=$((extra + 2))
  done
  echo "profile: $row warm-up ${warmup} s + ${extra} s until the JIT settled (--jit-settle $settle)"
  jcmd "$svc" JVMTI.agent_load "$lib" "\"start,$evopt\"" > /dev/null
  timeout $((seconds + 20)) "${load[@]}" "$seconds" > "$out/load-$row.txt" 2>&1 || true
  jcmd "$svc" JVMTI.agent_load "$lib" "\"stop,file=$out/$row$suffix.collapsed,collapsed\"" > /dev/null
  kill -TERM -- "-$svc" 2>/dev/null || true; kill -TERM -- "-$backend" 2>/dev/null || true
  wait "$svc" 2>/dev/null || true; wait "$backend" 2>/dev/null || true
  /usr/bin/python3 "$here/flamegraph.py" "$out/$row$suffix.collapsed" "$out/flame-$row$suffix.png" \
      --title "svcproxy $what, $row ($(date -u +%Y-%m-%d), launcher defaults, ${seconds} s after ${warmup}+${extra} s warm-up, JIT settled)"
  grep -E 'receiver|Requests/sec' "$out/load-$row.txt" || true
done
echo "profiles: $out"
