#!/usr/bin/env bash
# Builds a small Java 17 base image with no container registry: a jlink runtime from the local JDK 17 at
# /opt/java/openjdk (where eclipse-temurin keeps it, so one Dockerfile serves both), the shared libraries it
# needs, a static busybox for /bin/sh, wget and ip, and a minimal /etc. The root filesystem is written to a tar
# file and given to `docker import`, which needs no registry.
#
#   docker/build-base-image.sh [IMAGE]        default IMAGE: svcproxy-base:17-offline
#
# Needs docker, and the JDK 17 jmods (Debian: openjdk-17-jdk-headless, installed here when missing and root)
# and the busybox-static package (fetched with `apt-get download`, which needs Debian's package mirror).
set -euo pipefail

IMAGE=${1:-svcproxy-base:17-offline}
JDK=${JDK17_HOME:-/usr/lib/jvm/java-17-openjdk-amd64}
# Enough for Netty, the admin server and the Kubernetes client (HTTP, TLS, DNS); jdk.jcmd and jdk.jfr for
# diagnosing a running proxy.
MODULES=java.base,java.logging,java.management,java.naming,java.net.http,java.xml,java.sql,jdk.unsupported,\
jdk.crypto.ec,jdk.crypto.cryptoki,jdk.naming.dns,jdk.zipfs,jdk.management,jdk.jfr,jdk.jcmd
PATH_IN_IMAGE=/opt/java/openjdk/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

say() { echo "build-base-image: $*" >&2; }
die() { say "$*"; exit 1; }

command -v docker >/dev/null || die "docker is not installed"
if [[ ! -d $JDK/jmods ]]; then
    [[ $(id -u) == 0 ]] || die "$JDK/jmods is missing: install openjdk-17-jdk-headless (as root)"
    say "installing openjdk-17-jdk-headless for its jmods"
    apt-get install -y --no-install-recommends openjdk-17-jdk-headless >/dev/null 2>&1 \
        || { apt-get update -q >/dev/null && apt-get install -y --no-install-recommends openjdk-17-jdk-headless >/dev/null; } \
        || die "cannot install openjdk-17-jdk-headless"
fi
[[ -d $JDK/jmods ]] || die "$JDK/jmods is still missing"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/rootfs
mkdir -p "$root"/{bin,etc,tmp,root,opt/java}
chmod 1777 "$root/tmp"

say "jlink $MODULES"
"$JDK/bin/jlink" --module-path "$JDK/jmods" --add-modules "$MODULES" --strip-debug --no-header-files \
    --no-man-pages --compress=2 --output "$root/opt/java/openjdk"
# Debian's JDK links its trust store to /etc/ssl: keep the certificates themselves, or leave none.
cacerts=$root/opt/java/openjdk/lib/security/cacerts
if [[ -L $cacerts ]]; then
    target=$(readlink -f "$cacerts" || true)
    rm -f "$cacerts"
    if [[ -n $target && -f $target ]]; then cp "$target" "$cacerts"; fi
fi

say "copying the shared libraries the runtime links"
# libdl, libpthread and librt: for native libraries loaded at run time (Netty's epoll library links them).
libs=(/lib/x86_64-linux-gnu/libdl.so.2 /lib/x86_64-linux-gnu/libpthread.so.0 /lib/x86_64-linux-gnu/librt.so.1)
while IFS= read -r lib; do libs+=("$lib"); done < <(
    find "$root/opt/java/openjdk" -type f \( -name '*.so' -o -path '*/bin/*' \) -print0 \
        | xargs -0 ldd 2>/dev/null \
        | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// && $2 ~ /^\(/ {print $1}' \
        | grep -v "^$root" | sort -u)
for lib in "${libs[@]}"; do
    [[ -e $lib ]] && cp -L --parents "$lib" "$root"
done
# The loader is also asked for through /lib64 on x86_64.
if [[ -e /lib64/ld-linux-x86-64.so.2 && ! -e $root/lib64/ld-linux-x86-64.so.2 ]]; then
    cp -L --parents /lib64/ld-linux-x86-64.so.2 "$root"
fi

say "adding a static busybox"
(
    cd "$work"
    apt-get download busybox-static >/dev/null 2>&1 \
        || { apt-get update -q >/dev/null 2>&1 && apt-get download busybox-static >/dev/null; } \
        || die "cannot download busybox-static (apt-get download busybox-static)"
    dpkg-deb -x busybox-static_*.deb busybox
)
cp "$work/busybox/bin/busybox" "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list); do
    [[ -e $root/bin/$applet ]] || ln -s busybox "$root/bin/$applet"
done

cat > "$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
svcproxy:x:10001:10001:svcproxy:/nonexistent:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat > "$root/etc/group" <<'GROUP'
root:x:0:
svcproxy:x:10001:
nogroup:x:65534:
GROUP
cat > "$root/etc/nsswitch.conf" <<'NSS'
passwd: files
group: files
hosts: files dns
NSS
: > "$root/etc/hosts"
: > "$root/etc/resolv.conf"

say "docker import as $IMAGE"
# A tar file first: `tar | docker import -` would tag an empty image when tar fails.
tar -C "$root" --numeric-owner --owner=0 --group=0 -cf "$work/rootfs.tar" .
docker import \
    --change "ENV PATH=$PATH_IN_IMAGE" \
    --change 'ENV JAVA_HOME=/opt/java/openjdk' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["/bin/sh"]' \
    "$work/rootfs.tar" "$IMAGE" >/dev/null
docker run --rm --pull=never "$IMAGE" java -version >/dev/null 2>&1 || die "$IMAGE was built but cannot run java"
say "built $IMAGE ($(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1000000}'))"
