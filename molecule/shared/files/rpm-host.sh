#!/bin/sh
# Make a harness container an RPM-managed host, then install the fake vendor rpms the way an
# administrator would: through the host's front end (dnf or zypper) from a repository made with
# createrepo_c (.cache/repos/<repo>, mounted at /srv/divest-repos). Idempotent: prints "changed:
# <what>" for each change, nothing when there was none. Run by molecule/shared/prepare_rpm.yml.
#
#   rpm-host.sh FRONTEND REPO CONFIGURE AFTER PACKAGE...
#     FRONTEND   dnf | zypper
#     REPO       kaspersky-rpm | kaspersky-rpm-faults
#     CONFIGURE  yes: change each product's /etc/opt/kaspersky/<product>.conf as the vendor's
#                setup script would (so rpm saves it as .rpmsave on erase); no: leave it
#     AFTER      none | erase (rpm -e the packages again: a residual host)
#     PACKAGE    name or name=version (kesl=12.1.0-1508)
#
# How this differs from a RHEL or SUSE host (tests/harness/README.md, RPM-managed hosts):
# the base system stays Debian's (dpkg-managed, Debian's os-release, no SELinux), so rpm is
# told where its database lives (/var/lib/rpm, as on RHEL) and a stand-in package tells it what
# the base system provides (/bin/sh for the scriptlets, the release version dnf asks for).
set -eu
frontend=$1 repo=$2 configure=$3 after=$4
shift 4

# --- rpm's database at the standard place, and the base system it cannot see -----------------
if [ ! -e /etc/rpm/macros.dbpath ]; then
    mkdir -p /etc/rpm
    # Debian's rpm keeps its database in ~/.rpmdb; RHEL (and this host) in /var/lib/rpm
    printf '%%_dbpath /var/lib/rpm\n' >/etc/rpm/macros.dbpath
    echo "changed: rpm database path"
fi
if [ ! -e /var/lib/rpm/rpmdb.sqlite ]; then
    rpm --initdb
    echo "changed: rpm database"
fi
if ! rpm -q divest-harness-base >/dev/null 2>&1; then
    work=$(mktemp -d)
    cat >"$work/base.spec" <<'SPEC'
Name:           divest-harness-base
Version:        12
Release:        1
Summary:        What the dpkg-managed base system provides (TEST HARNESS stand-in)
License:        GPL-3.0-or-later
BuildArch:      noarch
Provides:       /bin/sh
Provides:       /usr/bin/sh
Provides:       system-release(releasever) = 12

%description
The harness's RPM-managed hosts are Debian containers: their shell and systemd come from dpkg,
which rpm cannot see. This empty package provides what the fake vendor packages' scriptlets
need (/bin/sh), as a real host's bash and *-release packages do.

%files
SPEC
    rpmbuild --quiet -bb --define "_topdir $work" "$work/base.spec"
    rpm -i "$work"/RPMS/noarch/divest-harness-base-12-1.noarch.rpm 2>/dev/null
    rm -rf "$work"
    echo "changed: base package"
fi

# --- the vendor's packages, through the front end --------------------------------------------
todo=
for spec in "$@"; do
    name=${spec%%=*}
    if [ "$name" = "$spec" ]; then
        query=$name
    else
        query="$name-${spec#*=}"
    fi
    # installed (or, on a residual host, installed once and erased: its state stays behind)
    if rpm -q "$query" >/dev/null 2>&1; then continue; fi
    if [ "$after" = erase ] && [ -e "/var/lib/divest-harness/installed-$name" ]; then continue; fi
    todo="$todo $spec"
done
[ -n "$todo" ] || exit 0

case $frontend in
dnf)
    mkdir -p /etc/yum.repos.d
    printf '[divest-harness]\nname=fleetsec.divest harness (TEST DOUBLES)\nbaseurl=file:///srv/divest-repos/%s\ngpgcheck=0\n' \
        "$repo" >/etc/yum.repos.d/divest-harness.repo
    set --
    for spec in $todo; do
        case $spec in *=*) set -- "$@" "${spec%%=*}-${spec#*=}" ;; *) set -- "$@" "$spec" ;; esac
    done
    dnf --assumeyes --quiet --disablerepo='*' --enablerepo=divest-harness install -- "$@" >/dev/null
    rm -f /etc/yum.repos.d/divest-harness.repo
    ;;
zypper)
    zypper --quiet --non-interactive addrepo --no-gpgcheck "file:///srv/divest-repos/$repo" divest-harness >/dev/null
    # shellcheck disable=SC2086  # one word per package spec
    zypper --quiet --non-interactive install --no-recommends $todo >/dev/null
    zypper --quiet --non-interactive removerepo divest-harness >/dev/null
    ;;
*)
    echo "unknown front end $frontend" >&2
    exit 2
    ;;
esac
echo "changed: installed$todo with $frontend"

names=
for spec in $todo; do names="$names ${spec%%=*}"; done
if [ "$configure" = yes ]; then
    for name in $names; do
        conf=/etc/opt/kaspersky/$name.conf
        # what the vendor's setup script does after the install (kesl-setup.pl --autoinstall)
        [ -f "$conf" ] && printf '# set up by %s-setup (harness)\nEULA_AGREED=yes\n' "$name" >>"$conf"
    done
fi
if [ "$after" = erase ]; then
    mkdir -p /var/lib/divest-harness
    for name in $names; do : >"/var/lib/divest-harness/installed-$name"; done
    # shellcheck disable=SC2086  # one word per package name
    rpm -e $names 2>&1 | grep -v -e 'should not be used directly' -e 'assuming you know' || true
    echo "changed: erased$names with rpm -e"
fi
