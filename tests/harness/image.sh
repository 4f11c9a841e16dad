#!/usr/bin/env bash
# Build the local test image(s) the harness fleet runs on: no registry is ever pulled.
#
#   tests/harness/image.sh            build what is missing
#   tests/harness/image.sh --force    rebuild
#
# localhost/fleetsec-debian:12   debootstrap minbase bookworm + systemd, python3, python3-apt, procps
#
# The same debootstrap also fills a small local Debian mirror (.cache/repos/debian) with the
# ClamAV packages this exact rootfs needs, so the replacement antivirus installs offline from a
# repository we control (the "private mirror" of the execute scenarios).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tests/harness/env.sh
. "$ROOT/tests/harness/env.sh"

IMAGE=${DIVEST_TEST_IMAGE:-localhost/fleetsec-debian:12}
MIRROR="$DIVEST_CACHE/repos/debian"
SUITE=bookworm
INCLUDE=python3,python3-apt,systemd,systemd-sysv,procps,ca-certificates
# What the replacement role installs; kept in the local mirror with every dependency.
CLAMAV_PKGS=(clamav clamav-daemon clamav-freshclam clamdscan)

force=0
[ "${1:-}" = "--force" ] && force=1

if [ $force = 0 ] && podman image exists "$IMAGE" && [ -s "$MIRROR/Packages" ]; then
    echo "image $IMAGE and mirror present"
    exit 0
fi

work=$(mktemp -d "$DIVEST_CACHE/rootfs.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "debootstrap $SUITE into a scratch rootfs (about 80 s)"
debootstrap --variant=minbase --include="$INCLUDE" "$SUITE" "$work/rootfs" >"$work/debootstrap.log" 2>&1 || {
    tail -20 "$work/debootstrap.log" >&2
    echo "debootstrap failed; full log above" >&2
    exit 1
}

echo "collecting ClamAV packages for the local mirror"
rm -rf "$MIRROR"; mkdir -p "$MIRROR"
cp /etc/resolv.conf "$work/rootfs/etc/resolv.conf"
chroot "$work/rootfs" apt-get -qq clean   # drop the base system debs debootstrap left
chroot "$work/rootfs" apt-get -qq update
# Download only: the image itself stays without ClamAV (the replacement role installs it).
chroot "$work/rootfs" env DEBIAN_FRONTEND=noninteractive \
    apt-get -qq install --download-only -y "${CLAMAV_PKGS[@]}" >/dev/null
cp "$work"/rootfs/var/cache/apt/archives/*.deb "$MIRROR/"
chroot "$work/rootfs" apt-get -qq clean
rm -rf "$work"/rootfs/var/lib/apt/lists/*
: >"$work/rootfs/etc/resolv.conf"
# Hermetic: containers only see the local repositories the harness mounts (.cache/repos).
: >"$work/rootfs/etc/apt/sources.list"
(cd "$MIRROR" && apt-ftparchive packages . >Packages && gzip -9kf Packages)

echo "importing $IMAGE"
podman image rm -f "$IMAGE" >/dev/null 2>&1 || true
tar -C "$work/rootfs" -c . | podman import \
    --change 'CMD ["/sbin/init"]' --change 'STOPSIGNAL SIGRTMIN+3' - "$IMAGE" >/dev/null
podman image exists "$IMAGE"
echo "built $IMAGE; mirror $(find "$MIRROR" -name "*.deb" | wc -l) packages"
