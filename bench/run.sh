#!/usr/bin/env bash
# svcproxy vs HAProxy vs nginx (stream) vs direct, on loopback. See bench/README.md.
#   bench/run.sh                      # full run: 3 repetitions, every target and workload (~50 min)
#   bench/run.sh --quick              # smoke test: 1 repetition, shorter runs (~9 min)
#   bench/run.sh --only svcproxy,haproxy --workloads bulk1,http --reps 5 --out /tmp/b
# Installs its tools from Debian when missing (as root), builds the svcproxy jar when missing, raises the
# fd limit to the hard limit, and stops everything it started on exit (also on Ctrl-C and SIGTERM).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"

case " $* " in *" -h "*|*" --help "*) exec /usr/bin/python3 "$here/bench.py" --help ;; esac

# ---- tools from Debian
need=()
command -v haproxy >/dev/null || need+=(haproxy)
command -v nginx >/dev/null || need+=(nginx)
[ -e /usr/lib/nginx/modules/ngx_stream_module.so ] || [ -e /usr/share/nginx/modules/ngx_stream_module.so ] \
  || need+=(libnginx-mod-stream)
command -v iperf3 >/dev/null || need+=(iperf3)
command -v wrk >/dev/null || need+=(wrk)
command -v gnuplot >/dev/null || need+=(gnuplot-nox)
command -v dnsperf >/dev/null || need+=(dnsperf)            # the UDP rows' load (bench/udp.py)
command -v dnsmasq >/dev/null || [ -x /usr/sbin/dnsmasq ] || need+=(dnsmasq-base)   # the UDP rows' DNS endpoints
command -v h2load >/dev/null || need+=(nghttp2-client)      # the Ingress's h2 rows (bench/ingress.py)
[ -x /usr/bin/python3 ] || need+=(python3)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "bench: missing ${need[*]}: run as root, or: sudo apt-get install -y --no-install-recommends ${need[*]}" >&2
    exit 1
  fi
  echo "bench: installing ${need[*]} from Debian..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -qq >&2
  apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${need[@]}" >&2
  # the packages' own services are not part of the benchmark (no-ops where there is no init system)
  for s in nginx haproxy iperf3; do
    if command -v systemctl >/dev/null && systemctl is-active --quiet "$s" 2>/dev/null; then systemctl stop "$s" || true
    elif command -v service >/dev/null; then service "$s" stop >/dev/null 2>&1 || true; fi
  done
fi

# ---- the svcproxy jar (only when a svcproxy target is wanted)
jar="${SVCPROXY_JAR:-$root/proxy-server/target/svcproxy.jar}"
only="svcproxy"
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[$i]}" in
    --only) only="${args[$((i + 1))]:-}" ;;
    --only=*) only="${args[$i]#--only=}" ;;
    --svcproxy-variant|--svcproxy-variant=*) only="$only,svcproxy" ;;
  esac
done
if [[ "$only" == *svcproxy* ]] && [ ! -f "$jar" ]; then
  command -v mvn >/dev/null || { echo "bench: no $jar and no mvn to build it" >&2; exit 1; }
  echo "bench: building $jar (mvn -q -DskipTests package)..." >&2
  (cd "$root" && { mvn -q -o -DskipTests package 2>/dev/null || mvn -q -DskipTests package; }) >&2
fi
export SVCPROXY_JAR="$jar"
command -v java >/dev/null || { echo "bench: java (17+) is needed for svcproxy" >&2; exit 1; }

# ---- limits and kernel settings
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
echo "bench: fd limit $(ulimit -n); net.ipv4.tcp_tw_reuse = $(cat /proc/sys/net/ipv4/tcp_tw_reuse 2>/dev/null || echo '?')" >&2

# ---- run, and stop everything on the way out
pid=""
cleanup() {
  trap - EXIT INT TERM
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  # the process groups bench.py started (it stops them itself; this is the backstop)
  for f in "${pgidfiles[@]:-}"; do
    [ -f "$f" ] || continue
    while read -r g; do [ -n "$g" ] && kill -KILL -- "-$g" 2>/dev/null || true; done < "$f"
  done
}
pgidfiles=()
out=""
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[$i]}" in
    --out) out="${args[$((i + 1))]:-}" ;;
    --out=*) out="${args[$i]#--out=}" ;;
  esac
done
if [ -z "$out" ] && [[ " $* " != *" --report-only "* ]]; then
  out="$here/results/$(date +%Y%m%d-%H%M%S)"
  args+=(--out "$out")
fi
[ -n "$out" ] && pgidfiles+=("$out/run/pgids")
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM
/usr/bin/python3 "$here/bench.py" "${args[@]}" &
pid=$!
rc=0
wait "$pid" || rc=$?
pid=""
exit "$rc"
