#!/usr/bin/env bash
# Build the local test image and this checkout's Debian mirror: no registry is ever pulled.
#
#   tests/harness/image.sh            build what is missing
#   tests/harness/image.sh --force    build both again (replaces the tag; removes nothing)
#
# localhost/fleetsec-debian:12   debootstrap minbase bookworm + systemd, python3, python3-apt, procps
#                                shared by every checkout on the machine
# .cache/repos/debian            the ClamAV packages a fresh rootfs of the same suite needs, so the
#                                replacement antivirus installs offline from a repository we
#                                control (the "private mirror" of the execute scenarios), and
#                                Debian's rpm, dnf and zypper for the RPM-managed hosts (their
#                                prepare installs them); per checkout
#
# The two are independent: a checkout without its mirror builds the mirror alone and leaves an
# existing image untouched. Both come from one debootstrap scratch rootfs when both are missing.
#
# Never removed, never pruned: other checkouts' containers (molecule scenarios, a demo fleet) may
# be using the image. A rebuild imports under the same tag: podman moves the tag to the new image,
# the old one stays untagged ("<none>" in `podman images`) with its containers still running
# (verified with podman 4.3.1; tests/harness/README.md). Pruning unused images is the machine
# owner's call, never the harness's.
#
# Two checkouts building at once: the build holds an exclusive flock on a machine-wide lock file,
# /run/lock/fleetsec-divest-image.<uid>.lock (/tmp when /run/lock is not writable; DIVEST_LOCK_DIR
# overrides, and must then be the same for every checkout). Podman's image store is per user, so
# the lock is too. Whoever gets the lock second checks again and finds the image already built.
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
# What makes a container an RPM-managed host (molecule/execute_rpm): rpm, dnf, zypper.
RPM_HOST_PKGS=(rpm dnf python3-dnf zypper)
MIRROR_PKGS=("${CLAMAV_PKGS[@]}" "${RPM_HOST_PKGS[@]}")

# A mirror is complete when its index lists every package asked for (a mirror made before a
# package was added to the lists is built again).
mirror_complete() {
    local p
    [ -s "$MIRROR/Packages" ] || return 1
    for p in "${MIRROR_PKGS[@]}"; do
        grep -qx "Package: $p" "$MIRROR/Packages" || return 1
    done
}

force=0
[ "${1:-}" = "--force" ] && force=1

need_image=0 need_mirror=0
what_is_missing() {
    need_image=0 need_mirror=0
    if [ $force = 1 ] || ! podman image exists "$IMAGE"; then need_image=1; fi
    if [ $force = 1 ] || ! mirror_complete; then need_mirror=1; fi
}

what_is_missing
if [ $need_image = 0 ] && [ $need_mirror = 0 ]; then
    echo "image $IMAGE and mirror present"
    exit 0
fi

lock_dir=${DIVEST_LOCK_DIR:-/run/lock}
if [ -z "${DIVEST_LOCK_DIR:-}" ] && { [ ! -d "$lock_dir" ] || [ ! -w "$lock_dir" ]; }; then
    lock_dir=/tmp
fi
LOCK="$lock_dir/fleetsec-divest-image.$(id -u).lock"
if [ -L "$LOCK" ]; then
    echo "refusing to use $LOCK: it is a symbolic link (remove it if you made it)" >&2
    exit 1
fi
exec 9>>"$LOCK"
if ! flock --nonblock 9; then
    echo "waiting for $LOCK: another checkout is building the image or its mirror"
    flock 9
fi
# The other holder may have built the image meanwhile (a mirror is per checkout, the image is not).
[ $force = 1 ] || what_is_missing
if [ $need_image = 0 ] && [ $need_mirror = 0 ]; then
    echo "image $IMAGE and mirror present"
    exit 0
fi

work=$(mktemp -d "$DIVEST_CACHE/rootfs.XXXXXX")
trap 'rm -rf "$work"' EXIT
for_what=()
[ $need_image = 1 ] && for_what+=("image $IMAGE")
[ $need_mirror = 1 ] && for_what+=("mirror $MIRROR")
echo "debootstrap $SUITE into a scratch rootfs (about 80 s) for: ${for_what[*]}"
debootstrap --variant=minbase --include="$INCLUDE" "$SUITE" "$work/rootfs" >"$work/debootstrap.log" 2>&1 || {
    tail -20 "$work/debootstrap.log" >&2
    echo "debootstrap failed; full log above" >&2
    exit 1
}
chroot "$work/rootfs" apt-get -qq clean   # drop the base system debs debootstrap left

if [ $need_mirror = 1 ]; then
    echo "collecting ClamAV, rpm, dnf and zypper packages for the local mirror"
    cp /etc/resolv.conf "$work/rootfs/etc/resolv.conf"
    chroot "$work/rootfs" apt-get -qq update
    # Download only: the image itself stays without ClamAV (the replacement role installs it)
    # and without rpm (only the RPM hosts get it, in their prepare).
    chroot "$work/rootfs" env DEBIAN_FRONTEND=noninteractive \
        apt-get -qq install --download-only -y "${MIRROR_PKGS[@]}" >/dev/null
    mkdir "$work/mirror"
    cp "$work"/rootfs/var/cache/apt/archives/*.deb "$work/mirror/"
    chroot "$work/rootfs" apt-get -qq clean
    (cd "$work/mirror" && apt-ftparchive packages . >Packages && gzip -9kf Packages)
    # Swap in whole (same file system: renames), so nothing ever sees half a mirror.
    mkdir -p "$(dirname "$MIRROR")"
    rm -rf "$MIRROR.old"
    if [ -e "$MIRROR" ]; then mv "$MIRROR" "$MIRROR.old"; fi
    mv "$work/mirror" "$MIRROR"
    rm -rf "$MIRROR.old"
    echo "mirror $MIRROR: $(find "$MIRROR" -name "*.deb" | wc -l) packages"
fi

if [ $need_image = 1 ]; then
    rm -rf "$work"/rootfs/var/lib/apt/lists/*
    : >"$work/rootfs/etc/resolv.conf"
    # Hermetic: containers only see the local repositories the harness mounts (.cache/repos).
    : >"$work/rootfs/etc/apt/sources.list"
    echo "importing $IMAGE"
    # Same tag: podman moves it to the new image; the old one keeps its running containers.
    tar -C "$work/rootfs" -c . | podman import \
        --change 'CMD ["/sbin/init"]' --change 'STOPSIGNAL SIGRTMIN+3' - "$IMAGE" >/dev/null
    podman image exists "$IMAGE"
    echo "built $IMAGE"
fi
