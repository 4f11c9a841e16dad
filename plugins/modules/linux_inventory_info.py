#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: linux_inventory_info
short_description: Gather the raw inventory of a Linux host for vendor detection
version_added: 0.1.0
description:
  - Collects the signals the C(fleetsec.divest) matcher turns into findings (packages, service
    units, processes, kernel modules, paths and repository lines) from a Linux host, or from a
    Linux filesystem mounted elsewhere (O(root)).
  - The module only B(gathers); it takes no decisions and never changes the host. What to look for
    is the query (the options below), usually derived from the catalog by the
    C(fleetsec.divest.vendor_facts) action; the matcher decides what a signal means.
  - The result follows the raw inventory schema of C(docs/raw-inventory.md) in the collection.
    A section that could not be collected is listed in RV(inventory.skipped) (normal, for example
    processes when scanning an offline root) or in RV(inventory.errors); the module does not fail
    because one section failed.
  - dpkg packages are read from C(var/lib/dpkg/status) (and its C(updates/) journal) directly; rpm
    packages with one C(rpm --query --all) call when an rpm database exists under O(root). Unit
    states come from one C(systemctl show) call on a live system where systemd runs. Commands run
    without a shell; scripts of the scanned software are never executed.
  - Everything read from the host is treated as data. Strings are valid UTF-8 with control
    characters escaped (as C(\xNN)) and are cut at 512 characters (the cut is marked with
    C(...[truncated])); a section returns at most 1000 items. Both caps are reported in
    RV(inventory.errors).
  - What is read is bounded whatever the host holds, each source within a byte budget for all its
    files together (dpkg C(status) and C(updates/) 64 MiB, repository files 8 MiB, package lock
    files 4 MiB, C(os-release) 64 KiB, C(/proc/modules) 4 MiB), at most 10,000 entries per
    directory listing and 100,000 processes. A source cut short is an error naming the file and the
    budget.
  - A source that cannot be read (permission denied, a symbolic link loop, a bound hit; anything
    but "does not exist") is an RV(inventory.errors) entry of its section naming the path and the
    reason. The matcher does not call a host clean when the package database, the vendor's paths
    or the repository files have such an entry.
  - What runs or lies in a container is not the host's own software. A matching process in
    another PID namespace than the module's own, or in a cgroup that names a container the module
    does not itself run in (podman C(libpod-<id>), Docker C(docker-<id>.scope) or C(/docker/<id>),
    containerd C(cri-containerd-<id>.scope), CRI-O C(crio-<id>), the kubelet's C(/kubepods/.../<id>),
    LXC C(lxc.payload.<name>) or C(/lxc/<name>)), and a matching path in container storage
    (C(/var/lib/containers), C(/var/lib/docker), C(/var/lib/containerd), C(/var/lib/lxc),
    C(~/.local/share/containers) ...) or a link leading there, are returned in
    RV(inventory.containers), never in RV(inventory.processes) or RV(inventory.paths). Scanned from
    inside a container (C(podman exec)), that container's processes are the host's.
  - Held vendor packages carry C(hold) (V(apt-mark), V(versionlock) or V(zypper-lock)) from dpkg's
    C(hold) selection, dnf/yum versionlock entries (C(/etc/dnf/plugins/versionlock.list),
    C(/etc/yum/pluginconf.d/versionlock.list), C(/etc/dnf/versionlock.toml)) and zypper locks
    (C(/etc/zypp/locks)). Lock files are read only when rpm packages matched.
author:
  - fleetsec.divest developers (@fleetsec)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: The module only reads; it behaves the same with and without check mode.
  diff_mode:
    support: N/A
    details: The module does not change anything.
  platform:
    support: full
    platforms: posix
    details: Linux targets. O(root) can point at the mounted filesystem of another Linux system.
options:
  root:
    description:
      - Scan the filesystem mounted at this absolute path instead of the running system.
      - With a root other than V(/), symbolic links are resolved inside the root (an absolute link
        target is taken relative to O(root), C(..) stops at O(root)), processes and kernel
        modules are not collected, unit states are V(null), and rpm is run with C(--root) and
        C(--dbpath).
      - Paths in the result are always as seen inside the root.
    type: path
    default: /
  packages:
    description:
      - Package name patterns (dpkg Package, rpm NAME).
      - A plain string is an exact, case-sensitive name; a string starting with C(re:) is a
        regular expression that must match the whole name.
    type: list
    elements: str
    default: []
  package_maintainers:
    description:
      - Patterns searched, ignoring case, in the dpkg Maintainer or rpm Vendor field. A package is
        returned when its name matches O(packages) or its maintainer matches one of these.
      - A plain string is a substring; C(re:) introduces a regular expression that may match part
        of the field.
    type: list
    elements: str
    default: []
  units:
    description:
      - Service base-name patterns (without C(.service)), matched against systemd unit files in
        C(/etc/systemd/system), C(/run/systemd/system) (live only), C(/usr/local/lib/systemd/system),
        C(/lib/systemd/system) and C(/usr/lib/systemd/system) (the first one found wins, as in
        systemd) and against SysV init scripts in C(/etc/init.d) and C(/etc/rc.d/init.d).
      - Same pattern rules as O(packages).
    type: list
    elements: str
    default: []
  processes:
    description:
      - Process name patterns, matched against the basename of each process's executable (or its
        C(comm) when the executable cannot be read). Live system only.
      - Same pattern rules as O(packages).
    type: list
    elements: str
    default: []
  kernel_modules:
    description:
      - Patterns for loaded kernel module names (C(/proc/modules)). Live system only.
      - Same pattern rules as O(packages).
    type: list
    elements: str
    default: []
  paths:
    description:
      - Absolute paths to test; shell globs (C(*), C(?), C([...])) are allowed in any component, for
        example V(/var/opt/kaspersky/kesl/install_*). A glob does not match names that start with a
        dot unless the glob does.
      - Only existing paths are returned. A symbolic link is returned as a link with its raw
        target, not followed.
    type: list
    elements: str
    default: []
  repos:
    description:
      - Patterns searched, ignoring case, in the non-comment lines of apt (C(sources.list),
        C(sources.list.d/*.list), deb822 C(*.sources)), yum/dnf (C(/etc/yum.repos.d/*.repo)) and
        zypper (C(/etc/zypp/repos.d/*.repo)) repository files.
      - Same pattern rules as O(package_maintainers).
    type: list
    elements: str
    default: []
notes:
  - With every query option empty, only the platform is collected.
  - In key=value form, list options are comma-separated (V(packages=kesl,klnagent64)).
  - Run with privileges (C(become)) for complete results; without them some processes show only
    their C(comm) name and unreadable files are listed in RV(inventory.errors).
  - A scan of 2,500 dpkg packages takes a few tens of milliseconds; the payload stays small because
    only matching items are returned.
seealso:
  - name: Raw inventory schema
    description: The contract this module implements (C(docs/raw-inventory.md) in the collection).
    link: https://github.com/fleetsec/divest/blob/main/docs/raw-inventory.md
"""

EXAMPLES = r"""
- name: Look for Kaspersky packages, services, processes, paths and repositories
  fleetsec.divest.linux_inventory_info:
    packages: [kesl, kesl-gui, kesl-astra, klnagent, klnagent64, "re:kav4(fs|ws|proxy)"]
    package_maintainers: ["re:kaspersky"]
    units: [kesl, kesl-supervisor, klnagent64]
    processes: [kesl, klnagent]
    paths:
      - /opt/kaspersky
      - /var/opt/kaspersky/kesl/install_*
    repos: ["re:kaspersky"]
  become: true
  register: raw

- name: Show the packages that were found
  ansible.builtin.debug:
    msg: "{{ raw.inventory.packages | map(attribute='name') | list }}"

- name: Scan a disk image mounted at /mnt/img (an offline root)
  fleetsec.divest.linux_inventory_info:
    root: /mnt/img
    packages: [kesl, klnagent64]
    units: [kesl, klnagent64]
    paths: [/opt/kaspersky/kesl]
  become: true
  register: offline
"""

RETURN = r"""
inventory:
  description:
    - The raw inventory (schema 1 of C(docs/raw-inventory.md)). Every section is a list and may be
      empty.
  returned: always
  type: dict
  contains:
    schema:
      description: Version of the raw inventory format.
      type: int
      returned: always
      sample: 1
    platform:
      description: C(system) (V(Linux)), C(distribution) (os-release C(ID)) and C(version)
        (os-release C(VERSION_ID)) of the scanned root; unknown values are V(null).
      type: dict
      returned: always
      sample: {"system": "Linux", "distribution": "debian", "version": "12"}
    root:
      description: The filesystem root that was scanned.
      type: str
      returned: always
      sample: /
    live:
      description: V(true) when the running system was scanned.
      type: bool
      returned: always
      sample: true
    skipped:
      description:
        - Sections deliberately not collected, each C({section, reason}), for example
          C(processes) and C(kernel_modules) for an offline root, or C(unit_states) when unit
          states cannot be known (offline root, systemd not running).
      type: list
      elements: dict
      returned: always
      sample: [{"section": "processes", "reason": "offline root: only the live system has processes"}]
    errors:
      description:
        - Sections that failed or were partly unreadable, each C({section, message, limit}); also
          notes about truncated values and capped sections (C(limit) V(true) - the section was read,
          only shortened).
        - C(section) is a section name, or V(platform) (os-release), V(holds) (package lock files)
          or V(errors). At most 8 failures are kept per section; one more entry counts the rest.
      type: list
      elements: dict
      returned: always
      sample:
        - {"section": "packages", "message": "rpm exited with 1: error: cannot open Packages index", "limit": false}
        - {"section": "paths", "message": "cannot read /opt/kaspersky: Permission denied", "limit": false}
    packages:
      description:
        - Packages that match the query. C(status) is dpkg's state word (V(installed), V(unpacked),
          V(half-installed), V(half-configured), V(triggers-awaited), V(triggers-pending),
          V(config-files)); rpm packages are always V(installed). C(version) is
          C([epoch:]upstream[-revision]) for dpkg, C([epoch:]version-release) for rpm.
          C(maintainer) is dpkg's Maintainer or rpm's Vendor.
        - C(hold) is present only for a held package - V(apt-mark) (dpkg selection C(hold)),
          V(versionlock) (a dnf/yum versionlock entry) or V(zypper-lock) (a zypper lock).
      type: list
      elements: dict
      returned: always
      sample:
        - {"name": "kesl", "version": "12.1.0-1508", "arch": "amd64", "manager": "dpkg",
           "status": "installed", "maintainer": "AO Kaspersky Lab <support@kaspersky.com>",
           "hold": "apt-mark"}
    units:
      description:
        - Service units and init scripts that match the query. C(kind) is V(systemd) or V(sysv);
          C(active) is systemd's ActiveState and C(enabled) its UnitFileState, both V(null) unless
          systemd runs on a live scan.
      type: list
      elements: dict
      returned: always
      sample:
        - {"name": "kesl", "kind": "systemd", "path": "/lib/systemd/system/kesl.service",
           "active": "active", "enabled": "enabled"}
    processes:
      description:
        - The host's own running processes that match the query (C(name), C(pid), C(exe); C(exe)
          may be V(null)). Processes of containers are in RV(inventory.containers).
      type: list
      elements: dict
      returned: always
      sample: [{"name": "kesl", "pid": 412, "exe": "/opt/kaspersky/kesl/libexec/kesl"}]
    kernel_modules:
      description: Loaded kernel modules that match the query (C(name)).
      type: list
      elements: dict
      returned: always
      sample: []
    paths:
      description:
        - Existing paths, as seen inside the root. C(type) is V(directory), V(file), V(link) or
          V(other); C(target) is the raw link text for links, else V(null); C(pattern) is the query
          entry that produced the path.
      type: list
      elements: dict
      returned: always
      sample:
        - {"path": "/opt/kaspersky/kesl", "type": "link", "pattern": "/opt/kaspersky/kesl",
           "target": "/var/opt/kaspersky/kesl/install_12.2.0.2412/opt/kaspersky/kesl"}
    repos:
      description: Repository file lines that match the query (C(path), C(line)).
      type: list
      elements: dict
      returned: always
      sample: [{"path": "/etc/apt/sources.list.d/kaspersky.list",
                "line": "deb https://repo.example.com/kaspersky stable main"}]
    containers:
      description:
        - What matches the query but belongs to containers on the host, not to the host.
        - C(kind) V(process) (live scans) - C(name), C(pid), C(exe) as in RV(inventory.processes);
          C(scope) V(container) (another PID namespace or a container's cgroup) or V(unknown) (its
          PID namespace or cgroup could not be read and nothing places it in a container);
          C(runtime) (V(podman), V(docker), V(containerd), V(cri-o), V(kubernetes), V(lxc)) and
          C(id) (the container id, or the LXC container's name) when the cgroup names them, else
          V(null); C(reason) says what told (V(cgroup), V(pid namespace)) or what could not be read.
        - C(kind) V(path) - C(path), C(type), C(target), C(pattern) as in RV(inventory.paths), and
          C(storage), the container storage directory the path lies in or leads into.
      type: list
      elements: dict
      returned: always
      sample:
        - {"kind": "process", "name": "kesl", "pid": 4242, "exe": "/opt/kaspersky/kesl/libexec/kesl",
           "scope": "container", "runtime": "podman", "reason": "cgroup",
           "id": "1a3bb1070ecf6ebf618ce905632ee7a25587f855bf436908cb8028d565cd7701"}
        - {"kind": "path", "path": "/var/opt/kaspersky", "type": "link", "pattern": "/var/opt/kaspersky",
           "target": "/var/lib/docker/volumes/kav/_data", "storage": "/var/lib/docker"}
"""

from ansible_collections.fleetsec.divest.plugins.module_utils._linux.inventory.collector import Query, collect
from ansible_collections.fleetsec.divest.plugins.module_utils._linux.module import run_module

_PATTERN_OPTIONS = ("packages", "package_maintainers", "units", "processes", "kernel_modules", "paths", "repos")


def argument_spec():
    spec = dict(root=dict(type="path", default="/"))
    for option in _PATTERN_OPTIONS:
        spec[option] = dict(type="list", elements="str", default=[])
    return spec


def gather(host, params):
    """The module's result: the raw inventory of ``host`` for the query in ``params`` (an
    invalid query fails the task naming the option)."""
    query = Query(**dict((option, params[option]) for option in _PATTERN_OPTIONS))
    return {"changed": False, "inventory": collect(query, host)}


def main():
    run_module(argument_spec(), gather)


if __name__ == "__main__":
    main()
