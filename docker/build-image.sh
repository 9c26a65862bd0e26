#!/usr/bin/env bash
# Builds the svcproxy image from docker/Dockerfile: the jar first if it is missing (mvn package), then the
# image, on eclipse-temurin:17-jre when a registry answers, else on the offline base of build-base-image.sh
# (built here when it is missing). Only the jar is sent as the build context.
#
#   docker/build-image.sh [--offline] [--base IMAGE] [--tag IMAGE]      default tag: svcproxy:latest
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

tag=svcproxy:latest
base=
offline=false
while [[ $# -gt 0 ]]; do
    case $1 in
        --offline) offline=true ;;
        --base) base=$2; shift ;;
        --tag) tag=$2; shift ;;
        -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
        *) echo "build-image: unknown argument: $1 (expected: --offline, --base IMAGE, --tag IMAGE)" >&2; exit 2 ;;
    esac
    shift
done
OFFLINE_BASE=${SVCPROXY_BASE_IMAGE:-svcproxy-base:17-offline}

jar=proxy-server/target/svcproxy.jar
if [[ ! -f $jar ]]; then
    echo "build-image: $jar is missing: mvn -B -ntp -DskipTests package" >&2
    mvn -B -ntp -q -DskipTests package
fi

if [[ -z $base ]]; then
    if ! $offline && docker image inspect eclipse-temurin:17-jre >/dev/null 2>&1; then
        base=eclipse-temurin:17-jre
    elif ! $offline && timeout 60 docker pull -q eclipse-temurin:17-jre >/dev/null 2>&1; then
        base=eclipse-temurin:17-jre
    else
        $offline || echo "build-image: no registry answers: using the offline base $OFFLINE_BASE" >&2
        base=$OFFLINE_BASE
        docker image inspect "$base" >/dev/null 2>&1 || docker/build-base-image.sh "$base"
    fi
fi

context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
mkdir -p "$context/proxy-server/target"
cp docker/Dockerfile "$context/Dockerfile"
cp "$jar" "$context/$jar"
docker build -q --build-arg "BASE_IMAGE=$base" -t "$tag" "$context" >/dev/null
echo "build-image: built $tag on $base ($(docker image inspect -f '{{.Size}}' "$tag" | awk '{printf "%.0f MB", $1/1000000}'))" >&2
