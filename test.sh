#!/usr/bin/env bash
# The test command of the README, and what CI (.ci/run) runs: every module's tests, then the jar.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

# The container tests (docker/, *IT) need a Docker engine and a Java 17 base image. Prepare both unless they
# are skipped with -DskipContainerTests; where Docker cannot be had they fail with a clear message.
prepare_docker() {
    if ! command -v dockerd >/dev/null 2>&1; then
        if [[ $(id -u) != 0 ]]; then
            echo "test.sh: Docker is not installed and only root can install it (apt-get install docker.io);" \
                 "or run ./test.sh -DskipContainerTests" >&2
            return 0
        fi
        echo "test.sh: installing docker.io" >&2
        apt-get update -q >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends docker.io >/dev/null
    fi
    if ! docker info >/dev/null 2>&1; then
        if pgrep -x dockerd >/dev/null; then
            echo "test.sh: dockerd runs but does not answer yet: waiting (never a second dockerd)" >&2
        elif [[ $(id -u) == 0 ]]; then
            echo "test.sh: starting dockerd (log: /tmp/dockerd.log)" >&2
            # without the descriptors test.sh inherited: a daemon that kept them would hold, for its whole life,
            # whatever its caller had open (a `flock` on the bench's lock, a pipe a CI step waits to see closed)
            ( for fd in /proc/self/fd/*; do fd=${fd##*/}; [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done 2>/dev/null
              exec setsid dockerd >/tmp/dockerd.log 2>&1 </dev/null ) &
        else
            echo "test.sh: dockerd is not running and only root can start it" >&2
            return 0
        fi
        for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
        docker info >/dev/null 2>&1 || { echo "test.sh: dockerd did not answer within 60 s" >&2; return 0; }
    fi
    # The base image: eclipse-temurin:17-jre when it is here or a registry gives it, else the offline one.
    if [[ -z ${SVCPROXY_BASE_IMAGE:-} ]]; then
        if docker image inspect eclipse-temurin:17-jre >/dev/null 2>&1 \
                || timeout 60 docker pull -q eclipse-temurin:17-jre >/dev/null 2>&1; then
            export SVCPROXY_BASE_IMAGE=eclipse-temurin:17-jre
        else
            export SVCPROXY_BASE_IMAGE=svcproxy-base:17-offline
            docker image inspect "$SVCPROXY_BASE_IMAGE" >/dev/null 2>&1 \
                || docker/build-base-image.sh "$SVCPROXY_BASE_IMAGE"
        fi
    fi
    echo "test.sh: container tests on $SVCPROXY_BASE_IMAGE" >&2
}

if [[ " $* " != *" -DskipContainerTests "* && " $* " != *" -DskipContainerTests=true "* ]]; then
    prepare_docker
fi
# Testcontainers reads these from the environment only. Ryuk and its start-up checks would pull images from
# a registry; and this machine looks like a container (/.dockerenv), so without the host override
# Testcontainers would pull an image to find its gateway. Published ports are on localhost here.
export TESTCONTAINERS_RYUK_DISABLED=${TESTCONTAINERS_RYUK_DISABLED:-true}
export TESTCONTAINERS_CHECKS_DISABLE=${TESTCONTAINERS_CHECKS_DISABLE:-true}
export TESTCONTAINERS_HOST_OVERRIDE=${TESTCONTAINERS_HOST_OVERRIDE:-localhost}

# The stats page's browser test (proxy-server, StatusPageBrowserTest) drives Debian's chromium through its
# chromedriver, and fails saying so when they are missing. Install them when root can; nothing else downloads a
# browser.
if [[ ! -x /usr/bin/chromium || ! -x /usr/bin/chromedriver ]]; then
    if [[ $(id -u) == 0 ]]; then
        echo "test.sh: installing chromium and chromium-driver" >&2
        apt-get update -q >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium chromium-driver \
            >/dev/null || echo "test.sh: installing chromium failed: the browser test will fail" >&2
    else
        echo "test.sh: chromium and chromium-driver are missing and only root can install them" \
             "(apt-get install chromium chromium-driver): the browser test will fail" >&2
    fi
fi

# The UDP tests (proxy-server, DnsmasqDigTest) use Debian's dnsmasq as DNS endpoints and dig as the client, the
# PROXY protocol test Debian's nginx as a real peer; they fail saying so when these are missing. Install them when
# root can.
if [[ ! -x /usr/sbin/dnsmasq || ! -x /usr/bin/dig || ! -x /usr/sbin/nginx ]]; then
    if [[ $(id -u) == 0 ]]; then
        echo "test.sh: installing dnsmasq-base, bind9-dnsutils and nginx" >&2
        apt-get update -q >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends dnsmasq-base bind9-dnsutils \
            nginx >/dev/null || echo "test.sh: installing dnsmasq-base, bind9-dnsutils and nginx failed" >&2
    else
        echo "test.sh: dnsmasq, dig or nginx is missing and only root can install them" \
             "(apt-get install dnsmasq-base bind9-dnsutils nginx): their tests will fail" >&2
    fi
fi

# The Ingress tests drive Debian's curl (HTTP/2, the README's own command) and nghttp2's clients (nghttp, h2load: HTTP/2
# streams of one connection, load during a certificate reload); the Ingress container test makes its certificate with
# openssl. They fail saying so when these are missing. Install them when root can.
if [[ ! -x /usr/bin/curl || ! -x /usr/bin/openssl || ! -x /usr/bin/nghttp || ! -x /usr/bin/h2load ]]; then
    if [[ $(id -u) == 0 ]]; then
        echo "test.sh: installing curl, openssl and nghttp2-client" >&2
        apt-get update -q >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends curl openssl nghttp2-client \
            >/dev/null || echo "test.sh: installing curl, openssl and nghttp2-client failed: their tests will fail" >&2
    else
        echo "test.sh: curl, openssl, nghttp or h2load is missing and only root can install them" \
             "(apt-get install curl openssl nghttp2-client): their tests will fail" >&2
    fi
fi

# IoUringFallbackProcessTest (proxy-server) runs svcproxy under a seccomp filter that refuses io_uring, installed by
# a python3 script (as Docker's default profile does); it fails saying so when python3 is missing.
if ! command -v python3 >/dev/null 2>&1; then
    if [[ $(id -u) == 0 ]]; then
        echo "test.sh: installing python3" >&2
        apt-get update -q >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3 >/dev/null \
            || echo "test.sh: installing python3 failed: IoUringFallbackProcessTest will fail" >&2
    else
        echo "test.sh: python3 is missing and only root can install it (apt-get install python3):" \
             "IoUringFallbackProcessTest will fail" >&2
    fi
fi

# the bench tools' own arithmetic (ratios to the peer paired by repetition; the scheduler trace's counts): plain
# python3, under a second
python3 -B -m unittest discover -s bench -p 'test_*.py'

# -Pbench: the JMH benchmarks (benchmarks/) compile against the code they measure; then the Ingress's HTTP/2
# harness checks itself (every request answered once, the same frames each time), a few seconds
mvn -B -ntp -Pbench verify "$@"
if [[ $# -eq 0 ]]; then
    java -cp benchmarks/target/benchmarks.jar io.svcproxy.ingress.proxy.Http2RequestPathBenchmark 20000
fi
