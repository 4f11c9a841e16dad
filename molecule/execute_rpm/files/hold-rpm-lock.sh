#!/bin/sh
# Another rpm process holding rpm's transaction lock (run on the host by converge.yml): a site
# tool installs its own package, whose %pre waits until /run/site-agent.release exists (at most
# 5 minutes). rpm holds the lock for the whole transaction. Prints the rpm's pid.
set -eu
work=$(mktemp -d)
cat >"$work/site-agent.spec" <<'SPEC'
Name:           site-agent
Version:        1.0
Release:        1
Summary:        A site tool whose install waits (TEST HARNESS: holds the rpm lock)
License:        GPL-3.0-or-later
BuildArch:      noarch

%description
Installed while execute runs, so that rpm's transaction lock is held by another process.

%pre
i=0
while [ ! -e /run/site-agent.release ] && [ $i -lt 300 ]; do sleep 1; i=$((i + 1)); done

%files
SPEC
rpmbuild --quiet -bb --define "_topdir $work" "$work/site-agent.spec"
rm -f /run/site-agent.release
setsid rpm -i "$work/RPMS/noarch/site-agent-1.0-1.noarch.rpm" </dev/null >/dev/null 2>&1 &
# wait until rpm holds its transaction lock (the %pre runs inside the transaction)
locked() {
    ! python3 -c 'import fcntl, os; fcntl.lockf(os.open("/var/lib/rpm/.rpm.lock", os.O_RDWR), fcntl.LOCK_EX | fcntl.LOCK_NB)' 2>/dev/null
}
i=0
until locked || [ $i -ge 30 ]; do sleep 1; i=$((i + 1)); done
locked
pgrep -x rpm
