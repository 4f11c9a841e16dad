#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: linux_remove
short_description: Remove one vendor product from a Linux host, as its removal recipe says
version_added: 0.1.0
description:
  - Removes B(one) product, following the removal recipe a plan's C(remove) action carries
    (C(docs/catalog.md) and C(docs/plan.md) in the collection), in this order
    - stop and disable its services;
    - remove its packages, in recipe order, one at a time, with the host's package manager,
      releasing a hold on a package right before it goes (see B(Holds));
    - kill its processes still running after the removal (SIGTERM, wait, SIGKILL);
    - delete its residue paths (globs allowed) inside the vendor's directories (O(vendor_dirs)) and its
      residue files (C(residue_files) of O(removal)), with safety guards;
    - remove the configuration lines it left in other software's files (C(config_edits) of O(removal));
    - remove the accounts it created (C(accounts) of O(removal)), when O(remove_accounts) is true.
  - B(Debian family) - C(dpkg --purge) (or C(--remove) when C(purge) of O(removal) is false) removes the
    packages. dpkg never takes another package along - when a package outside the recipe depends
    on one being removed, dpkg refuses, and so does this module, naming it (C(apt-get remove)
    would remove that package too). dpkg's odd states are handled - C(config-files) is purged,
    C(half-installed) and the C(reinst-required) flag get C(--force-remove-reinstreq). A busy
    dpkg lock is waited for (O(lock_timeout)).
  - B(rpm family) - C(rpm --erase --test) first checks that no other package needs the one being
    removed, then the host's front end removes exactly that package by its full name - C(dnf) or
    C(yum) (C(--disablerepo=*), C(clean_requirements_on_remove) off), C(zypper) (C(--no-refresh)),
    else C(rpm --erase). rpm has no purge - what a package leaves behind goes with the residue.
  - Every command is an argument list run without a shell, with C(LC_ALL=C) and
    C(DEBIAN_FRONTEND=noninteractive), and C(--) between the options and the names that come
    from data (C(systemctl), C(dpkg), C(dpkg-query), C(rpm), C(dnf), C(yum), C(zypper),
    C(userdel), C(groupdel)); C(service), which has no C(--), is never given a name starting
    with C(-). Values from the recipe are never interpreted by a shell.
  - B(Holds) - a package about to be removed that is held is released first, for that package
    alone, and the release is a step (C(holds), action C(release)) and an entry of
    RV(holds_released) - a dpkg selection C(hold) (C(apt-mark hold); dpkg would purge the
    package anyway, silently) with C(dpkg --set-selections) (C(<package> install), what
    C(apt-mark unhold) runs; it honours O(root)); an entry of dnf's or yum's versionlock list
    (C(/etc/dnf/plugins/versionlock.list), C(/etc/yum/pluginconf.d/versionlock.list)) and a
    zypper lock on exactly that name (C(/etc/zypp/locks)) are taken out of their file (a
    backup with O(backup)). A zypper lock whose pattern covers the package and possibly others
    (C(kes*)) is not released - with zypper as the front end the removal fails, naming it.
  - B(Residue guards) - a residue path must be absolute, without C(.) or C(..), at least two
    components deep, neither C(/), a top-level directory nor a protected system directory
    (C(/etc), C(/usr), C(/var/lib), C(/var/log), C(/opt), C(/usr/bin) and about 100 more), and
    at or below one of O(vendor_dirs) (without them, every residue path is refused). A glob
    component needs three literal characters, and directly inside a protected directory it
    must start with them. A file of the vendor outside its directories is named in
    C(residue_files) of O(removal) (absolute, no glob) - deleted when it is a file or a link,
    refused when it is a directory or a protected system file (C(/etc/passwd), C(/etc/shadow),
    C(/etc/sudoers), C(/etc/fstab), C(/etc/hosts), C(/etc/resolv.conf), C(/etc/os-release)
    and about 50 more). A refused path is reported (RV(refused_paths), a warning), never deleted.
  - B(Links and mount points) - deletion walks the tree by file descriptor and never follows a
    symbolic link - a link that is the residue path, or inside a deleted directory, is removed
    as a link; a path reached through a link on the way (C(/opt/kaspersky -> /data/kaspersky)
    for C(/opt/kaspersky/kesl)) is refused; a link swapped in during the deletion is not
    followed either. A mount point (another filesystem, or a bind mount of the same one, from
    the mount table) is never descended into nor deleted - it is refused and reported, the rest
    around it is still deleted, and the step says C(partial). Directories left empty by the
    deletion are removed up to the first protected, non-empty or mount point directory, and
    never outside O(vendor_dirs) (O(prune_empty_parents)).
  - B(Failures) - a failing maintainer script, scriptlet or command stops the removal of the
    product at that point, with a message naming the package and the package manager's own
    message; nothing further of that product is done and nothing is forced. The failure result
    still lists the steps done before it (RV(steps)).
  - Idempotent - a product already gone changes nothing. In check mode the module predicts every
    step (dpkg C(--no-act) / C(rpm --erase --test) tell whether the package removal would go
    through; a refusal fails the check run too, with the reason).
author:
  - fleetsec.divest developers (@fleetsec)
options:
  product:
    description: The product's catalog id (C(kesl)), used in messages and the result.
    type: str
    required: true
  vendor:
    description: The vendor's catalog id (C(kaspersky)), used in messages and the result.
    type: str
  removal:
    description:
      - The product's removal recipe, as the plan's C(remove) action carries it (C(removal)).
      - Keys used - C(method) (V(package) or V(residue)), C(packages) (names, removal order),
        C(services) (names or C(re:) patterns), C(processes) (names or C(re:) patterns),
        C(purge) (bool, default V(true)), C(residue) (absolute paths inside O(vendor_dirs), globs
        allowed), C(residue_files) (absolute paths of the vendor's files outside them, no globs),
        C(config_edits) (list of C({path, regexp}); matching lines are removed),
        C(accounts) (C({users, groups})), C(password) (V(none), V(optional), V(required)).
      - Other keys (C(order), C(reboot), C(note) ...) are accepted and ignored.
    type: dict
    required: true
  password:
    description:
      - Uninstall password for recipes that take one. No Linux package manager takes one, so it
        is never used on Linux (a warning says so); the option exists so that callers pass
        passwords the same way on every platform. Never logged.
    type: str
  manager:
    description:
      - Package manager to use. V(auto) uses dpkg when a dpkg database exists, and the rpm
        family when an rpm database exists (front end dnf, yum, zypper or rpm, the first found).
    type: str
    choices: [auto, dpkg, apt, dnf, yum, zypper, rpm]
    default: auto
  stop_services:
    description: Stop and disable the recipe's services before removing the packages.
    type: bool
    default: true
  kill_timeout:
    description: Seconds between SIGTERM and SIGKILL for processes left after the removal.
    type: int
    default: 10
  lock_timeout:
    description: Seconds to wait for a busy dpkg lock.
    type: int
    default: 120
  backup:
    description: Keep a timestamped copy of each configuration file before editing it.
    type: bool
    default: false
  remove_accounts:
    description: Remove the users and groups listed in C(accounts) of O(removal).
    type: bool
    default: true
  prune_empty_parents:
    description:
      - Remove directories left empty by the residue deletion, up to a protected one, never
        outside O(vendor_dirs).
    type: bool
    default: true
  vendor_dirs:
    description:
      - The vendor's own directories (absolute, no glob, each passing the residue guards); for
        Kaspersky the catalog's C(leftovers.linux.paths) - C(/opt/kaspersky),
        C(/var/opt/kaspersky), C(/etc/opt/kaspersky), C(/var/log/kaspersky). The execute role
        passes them from the plan.
      - Every C(residue) path of O(removal) must lie at or below one of them; with none, every
        residue path is refused (RV(refused_paths)). C(residue_files) are not held to them.
    type: list
    elements: str
    default: []
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - fleetsec.divest.linux_root
attributes:
  check_mode:
    support: full
    details:
      - Predicts every step; asks the package manager whether the removal would go through
        (dpkg C(--no-act), C(rpm --erase --test)) and fails, with its reason, when it would not.
  diff_mode:
    support: full
    details: Shows the edited configuration and hold files.
  platform:
    support: full
    platforms: posix
    details: Linux hosts with dpkg or rpm.
notes:
  - Order between products (protection first, then the agent, then management servers) is the
    caller's job - the execute role runs this module once per C(remove) action of the plan, in
    plan order, and stops at the first failure.
  - The rpm, dnf and zypper paths are unit tested with fake tools, and rpm and dnf are also run for
    real against directory roots. They were NOT run on a real RHEL or SUSE host by this collection.
seealso:
  - module: fleetsec.divest.linux_cleanup
  - module: fleetsec.divest.linux_reinstall_block
  - module: fleetsec.divest.vendor_facts
"""

EXAMPLES = r"""
- name: Remove KESL as the plan says
  fleetsec.divest.linux_remove:
    vendor: kaspersky
    product: kesl
    removal:
      method: package
      packages: [kesl-gui, kesl]
      services: [kesl]
      processes: [kesl]
      purge: true
      residue: [/opt/kaspersky/kesl, /var/opt/kaspersky/kesl, /etc/opt/kaspersky/kesl*]
      residue_files: [/usr/bin/kesl-control]
    vendor_dirs: [/opt/kaspersky, /var/opt/kaspersky, /etc/opt/kaspersky, /var/log/kaspersky]
  become: true

- name: Remove every product of a host's plan part, in order (what the execute role does)
  fleetsec.divest.linux_remove:
    vendor: "{{ item.vendor }}"
    product: "{{ item.product }}"
    removal: "{{ item.removal }}"
    vendor_dirs: "{{ item.vendor_dirs }}"
    backup: true
  loop: "{{ ansible_facts.divest_plan.actions | selectattr('action', 'equalto', 'remove') }}"
  loop_control:
    label: "{{ item.product }}"
  become: true

- name: Purge a product from a mounted image
  fleetsec.divest.linux_remove:
    product: klnagent
    root: /mnt/image
    removal: {packages: [klnagent64], residue: [/var/opt/kaspersky/klnagent]}
    vendor_dirs: [/var/opt/kaspersky]
"""

RETURN = r"""
counts:
  description: The number of changes (made, or predicted in check mode) per step.
  returned: always
  type: dict
  sample: {services: 2, holds: 1, packages: 2, processes: 1, residue: 4, config_edits: 1, accounts: 2}
product:
  description: The product handled.
  returned: always
  type: str
  sample: kesl
manager:
  description: Package manager(s) used (V(dpkg), V(dnf), V(yum), V(zypper), V(rpm)), or V(null).
  returned: always
  type: str
  sample: dpkg
packages_before:
  description: The recipe's packages as the package manager knew them before the removal.
  returned: always
  type: list
  elements: dict
  sample: [{name: kesl, version: 12.1.0-1508, arch: amd64, status: installed, flag: ok, manager: dpkg}]
removed_packages:
  description: Packages removed (would be removed, in check mode), in order.
  returned: always
  type: list
  elements: str
  sample: [kesl-gui, kesl]
steps:
  description:
    - What was done (would be done, in check mode), in order. C(step) is V(services),
      V(holds), V(packages), V(processes), V(residue), V(config_edits) or V(accounts); C(action)
      is V(stop), V(disable), V(release), V(purge), V(remove), V(kill), V(delete), V(edit);
      C(target) names the unit, package, hold file, process, path, file or account.
    - A V(holds) step carries C(package) and C(kind) (V(apt-mark), V(versionlock), V(zypper-lock)).
    - A V(residue) step carries C(kind) (V(file), V(link), V(directory)), for a directory the
      number of C(entries) deleted, and C(partial) when something inside it had to stay (a mount
      point, a file that could not be deleted; see RV(refused_paths), RV(remaining)).
  returned: always
  type: list
  elements: dict
  sample:
    - {step: holds, action: release, target: kesl, package: kesl, kind: apt-mark, changed: true}
    - {step: packages, action: purge, target: kesl, package: kesl, manager: dpkg, changed: true}
    - {step: residue, action: delete, target: /var/opt/kaspersky/kesl, kind: directory, entries: 812, changed: true}
holds_released:
  description:
    - The holds released (would be released, in check mode) on the packages removed - C(package)
      and C(kind) of hold - V(apt-mark) (dpkg selection C(hold)), V(versionlock) (dnf/yum
      versionlock list), V(zypper-lock) (C(/etc/zypp/locks)).
  returned: always
  type: list
  elements: dict
  sample: [{package: kesl, kind: apt-mark}]
remaining:
  description:
    - What is still there - packages still installed, paths that could not be deleted. Empty
      after a complete removal (and in check mode).
  returned: always
  type: dict
  sample: {packages: [], paths: []}
refused_paths:
  description:
    - Residue patterns and paths the safety guards refused (C(pattern) and/or C(path)), with a
      C(message) naming the path and the reason - a guard, outside O(vendor_dirs), a link on
      the way, a mount point, a directory or protected file in C(residue_files). Each is also a
      warning. Nothing refused is deleted.
  returned: always
  type: list
  elements: dict
  sample:
    - {pattern: /usr/*, message: "... needs at least 3 literal characters"}
    - {path: /var/opt/kaspersky/kesl/share, message: "/var/opt/kaspersky/kesl/share is a mount point (in the mount table): not descended into, not deleted"}
config_edits:
  description: Files edited, with the lines removed.
  returned: always
  type: list
  elements: dict
  sample: [{path: /etc/samba/smb.conf, removed_lines: ["vfs object = kes4lwks-smb-vfs28"]}]
failed_step:
  description: On failure, the step that failed or the last one done.
  returned: failure
  type: str
  sample: packages
"""

from ansible_collections.fleetsec.divest.plugins.module_utils._linux.module import run_module
from ansible_collections.fleetsec.divest.plugins.module_utils._linux.removal.product import remove_product


def argument_spec():
    return dict(
        product=dict(type="str", required=True),
        vendor=dict(type="str"),
        removal=dict(type="dict", required=True),
        password=dict(type="str", no_log=True),
        manager=dict(type="str", default="auto", choices=["auto", "dpkg", "apt", "dnf", "yum", "zypper", "rpm"]),
        stop_services=dict(type="bool", default=True),
        kill_timeout=dict(type="int", default=10),
        lock_timeout=dict(type="int", default=120),
        backup=dict(type="bool", default=False),
        remove_accounts=dict(type="bool", default=True),
        prune_empty_parents=dict(type="bool", default=True),
        vendor_dirs=dict(type="list", elements="str", default=[]),
    )


def main():
    run_module(argument_spec(), lambda host, params: remove_product(
        host, params["removal"], product=params["product"], vendor=params["vendor"],
        manager=params["manager"], stop=params["stop_services"], kill_timeout=params["kill_timeout"],
        backup=params["backup"], accounts=params["remove_accounts"], prune=params["prune_empty_parents"],
        lock_timeout=params["lock_timeout"], password=params["password"], vendor_dirs=params["vendor_dirs"]))


if __name__ == "__main__":
    main()
