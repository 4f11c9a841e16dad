#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: linux_reinstall_block
short_description: Keep a vendor's removed packages from being installed again
version_added: 0.1.0
description:
  - Tells the host's package manager never to install the given package names again.
  - B(apt) - writes C(/etc/apt/preferences.d/divest-<vendor>.pref) pinning every name (and
    C(name:any), which covers foreign architectures such as i386) to a C(Pin-Priority) of C(-1).
    C(apt-get install kesl) then finds no installation candidate. The file belongs to this
    module alone.
  - B(dnf) / B(yum) - adds the names to C(excludepkgs=) (dnf, C(/etc/dnf/dnf.conf)) or
    C(exclude=) (yum, C(/etc/yum.conf)) in C([main]); the values already there are kept, and an
    existing C(exclude=) line in dnf.conf is extended rather than doubled.
  - B(zypper) - adds one package lock per name to C(/etc/zypp/locks); other locks stay.
  - With O(state=present) the block only grows (names blocked earlier stay); O(state=absent)
    takes the given names out again (on apt, without names, the whole file goes).
  - Every write stays inside O(root) - the file is resolved there (symbolic links followed and
    re-rooted inside it, so C(/etc/yum.conf -> dnf/dnf.conf) edits C(dnf.conf), and an absolute
    C(<root>/etc/dnf -> /elsewhere) means C(<root>/elsewhere)), missing directories are created
    there, and the directory of the file, the temporary file and the backup is checked to be
    inside O(root) before anything is written. Deleting the apt file removes a link as a link.
  - Holds that M(fleetsec.divest.linux_remove) released (dpkg C(hold), versionlock, zypper
    lock) are gone before the block is written, so a user's zypper lock on a removed package is
    not mistaken for the block; the block writes its own.
  - Idempotent, with full check mode and C(--diff) support.
author:
  - fleetsec.divest developers (@fleetsec)
options:
  vendor:
    description: The vendor's catalog id; names the apt preferences file and the comments.
    type: str
    required: true
  packages:
    description: Package names to block (the plan's C(block_reinstall) action's C(packages)).
    type: list
    elements: str
    default: []
  state:
    description: Whether the block is there (V(present)) or not (V(absent)).
    type: str
    choices: [present, absent]
    default: present
  manager:
    description:
      - Which package manager to configure. V(auto) configures every one the host has, judged by
        what is on the host and never by the distribution's name - apt when a dpkg database
        exists; dnf by C(/etc/dnf/dnf.conf) (or an rpm database and the C(dnf) command), else yum
        by C(/etc/yum.conf); zypper by C(/etc/zypp) (or an rpm database and the C(zypper)
        command). A Debian host that also carries an rpm database and dnf gets both blocks.
    type: str
    choices: [auto, apt, dnf, yum, zypper]
    default: auto
  backup:
    description: Keep a timestamped copy of a configuration file before changing it.
    type: bool
    default: false
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - fleetsec.divest.linux_root
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    support: full
    platforms: posix
notes:
  - A block stops the package manager, not a determined administrator - on apt, an explicit
    version request (C(apt-get install kesl=12.1.0-1508)) and C(dpkg -i) of a local file bypass
    a negative pin, and C(rpm -i) bypasses dnf's and yum's excludes.
  - The dnf exclude and the zypper locks were exercised on live hosts whose packages are managed
    by rpm with Debian's dnf 4.14 and zypper 1.14 (C(molecule test -s execute_rpm)), where a
    later C(dnf install) or C(zypper install) of a blocked name fails; NOT on a real RHEL or SUSE
    host (dnf 5, yum on EL 7 and SELinux were not run).
seealso:
  - module: fleetsec.divest.linux_remove
"""

EXAMPLES = r"""
- name: Block Kaspersky packages from coming back
  fleetsec.divest.linux_reinstall_block:
    vendor: kaspersky
    packages: [kesl, kesl-gui, klnagent64]
  become: true

- name: Lift the block again
  fleetsec.divest.linux_reinstall_block:
    vendor: kaspersky
    packages: [kesl, kesl-gui, klnagent64]
    state: absent
  become: true
"""

RETURN = r"""
counts:
  description: The number of changes (made, or predicted in check mode) per step.
  returned: always
  type: dict
  sample: {block: 1}
manager:
  description: The package managers configured, comma-separated (C(apt, dnf) on a host that has both).
  returned: always
  type: str
  sample: apt
blocks:
  description: One entry per package manager configured - C(manager), C(path), C(before), C(after).
  returned: always
  type: list
  elements: dict
  sample: [{manager: dnf, path: /etc/dnf/dnf.conf, before: [], after: [kesl, klnagent64]}]
path:
  description: The file written (or that would be written) for the first package manager.
  returned: always
  type: str
  sample: /etc/apt/preferences.d/divest-kaspersky.pref
before:
  description: Names blocked before (first package manager).
  returned: always
  type: list
  elements: str
  sample: []
after:
  description: Names blocked after (first package manager; for dnf/yum, the whole exclude list).
  returned: always
  type: list
  elements: str
  sample: [kesl, kesl-gui, klnagent64]
steps:
  description: What was done (would be done, in check mode).
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.fleetsec.divest.plugins.module_utils._linux.module import run_module
from ansible_collections.fleetsec.divest.plugins.module_utils._linux.removal.block import block


def argument_spec():
    return dict(
        vendor=dict(type="str", required=True),
        packages=dict(type="list", elements="str", default=[]),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        manager=dict(type="str", default="auto", choices=["auto", "apt", "dnf", "yum", "zypper"]),
        backup=dict(type="bool", default=False),
    )


def main():
    run_module(argument_spec(), lambda host, params: block(
        host, params["vendor"], params["packages"], state=params["state"],
        manager=params["manager"], backup=params["backup"]))


if __name__ == "__main__":
    main()
