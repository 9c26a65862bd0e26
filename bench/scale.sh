#!/usr/bin/env bash
# How svcproxy's control plane scales (issue 15): N Services x 10 endpoints from a config file and from the
# fabric8 mock API server, each size in a fresh ./svcproxy process (the launcher: the JVM settings users get).
#   bench/scale.sh                                   # sizes 1000,2500,5000,10000; both sources
#   bench/scale.sh --sizes 500,1000 --sources kubernetes --changes 10
# Writes bench/results/scale-<time>/: scale-file.jsonl, scale-kubernetes.jsonl (one JSON object per size, see
# io.svcproxy.benchmarks.scale.ScaleBench), scale.png (the curves) and each run's svcproxy log under /tmp.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
sizes=1000,2500,5000,10000
sources=file,kubernetes
changes=20
rate=1000
seconds=5
out="$root/bench/results/scale-$(date +%Y%m%d-%H%M%S)"
while [ $# -gt 0 ]; do
  case "$1" in
    --sizes) sizes="$2"; shift 2 ;;
    --sources) sources="$2"; shift 2 ;;
    --changes) changes="$2"; shift 2 ;;
    --rate) rate="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    *) echo "scale: unknown option $1 (--sizes, --sources, --changes, --rate, --seconds, --out)" >&2; exit 2 ;;
  esac
done
if ! command -v gnuplot >/dev/null; then
  [ "$(id -u)" = 0 ] || { echo "scale: gnuplot is missing: apt-get install gnuplot-nox" >&2; exit 1; }
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends gnuplot-nox >&2
fi
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true   # 10,000 listeners and the harness's sockets
cd "$root"
echo "scale: building svcproxy and the harness (mvn -Pbench package)..." >&2
mvn -B -q -o -Pbench -DskipTests package 2>/dev/null || mvn -B -q -Pbench -DskipTests package
mkdir -p "$out"
for source in ${sources//,/ }; do
  java -cp benchmarks/target/benchmarks.jar io.svcproxy.benchmarks.scale.ScaleBench --source "$source" \
    --sizes "$sizes" --changes "$changes" --rate "$rate" --seconds "$seconds" --launcher ./svcproxy --out "$out" \
    2> "$out/harness-$source.log"
done
python3 - "$out" <<'PY'
import json, pathlib, sys
out = pathlib.Path(sys.argv[1])
for f in sorted(out.glob("scale-*.jsonl")):
    rows = [json.loads(l) for l in f.read_text().splitlines() if l.strip()]
    with open(f.with_suffix(".dat"), "w") as d:
        d.write("# services readySeconds rssMiB cpuMillisPerChange changeMillisMedian\n")
        for r in rows:
            d.write(f'{r["services"]} {r["readyMillis"] / 1000:.3f} {r["rssMiB"]:.1f} '
                    f'{r["cpuMillisPerChange"]:.1f} {r["changeMillisMedian"]:.1f}\n')
PY
plots() {  # $1: column, $2: title
  local sep="" p=""
  for dat in "$out"/scale-*.dat; do
    [ -e "$dat" ] || continue
    local name; name="$(basename "$dat" .dat)"; name="${name#scale-}"
    p+="$sep'$dat' using 1:$1 with linespoints title '$name'"; sep=", "
  done
  echo "set title '$2'; plot $p"
}
gnuplot <<GP
set terminal pngcairo size 1200,800 font ',10'
set output '$out/scale.png'
set multiplot layout 2,2 title 'svcproxy control plane vs cluster size (Services x 10 endpoints)'
set xlabel 'Services'
set key top left
set grid
set ylabel 's'
$(plots 2 'time from start to ready')
set ylabel 'MiB'
$(plots 3 'RSS when ready')
set ylabel 'ms CPU'
$(plots 4 'CPU per endpoint change')
set ylabel 'ms'
$(plots 5 'one endpoint change in effect (median)')
unset multiplot
GP
echo "scale: $out/scale.png" >&2
cat "$out"/scale-*.jsonl
