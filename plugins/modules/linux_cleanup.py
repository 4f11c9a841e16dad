#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: linux_cleanup
short_description: Remove a vendor's leftovers and repository entries from a Linux host
version_added: 0.1.0
description:
  - Cleans up what a vendor leaves when no product of it is installed any more - the plan's
    C(cleanup) action (the C(leftovers) finding) - and takes the vendor's package repositories
    out of the host's repository files, so that nothing reinstalls from them.
  - B(Residue) - the O(residue) paths (globs allowed) and O(residue_files) are deleted by the
    same guarded walker as in M(fleetsec.divest.linux_remove) - absolute, no C(..), never C(/),
    a top-level or a protected system directory; O(residue) only at or below O(vendor_dirs),
    O(residue_files) only files or links and never a protected system file. No symbolic link is
    followed (a link on the way refuses the path below it; a link that is the residue goes as a
    link) and no mount point is crossed (refused and reported; the rest is still deleted).
    Directories left empty are removed up to the first protected one, never outside
    O(vendor_dirs). Whatever is refused is in RV(refused_paths), with a warning.
  - B(Repositories) - in the apt (C(/etc/apt/sources.list), C(sources.list.d/*.list) and deb822
    C(*.sources)), yum/dnf (C(/etc/yum.repos.d/*.repo)) and zypper (C(/etc/zypp/repos.d/*.repo))
    files, only the vendor's entries are removed - a line of a one-line apt file, a stanza of a
    deb822 file, a C([section]) of a C(.repo) file - when one of its lines matches
    O(repo_patterns). Comments and every other entry stay byte for byte. A file is deleted only
    when no entry is left in it, and C(/etc/apt/sources.list) never is.
  - A repository file that is a B(symbolic link) is never edited through the link - when every
    entry in it is the vendor's, the link itself is removed (its target stays as it is); when it
    mixes the vendor's entries with others, it is refused (a warning and an entry of
    RV(refused_paths)) and nothing is edited.
  - B(Configuration) - O(config_edits) remove matching lines from other software's files, as in
    M(fleetsec.divest.linux_remove).
  - Idempotent, with full check mode and C(--diff) support.
author:
  - fleetsec.divest developers (@fleetsec)
options:
  vendor:
    description: The vendor's catalog id, used in messages and the result.
    type: str
  residue:
    description:
      - Absolute paths to delete (shell globs allowed), for example the C(leftovers) recipe's
        C(residue). Each must lie at or below one of O(vendor_dirs); with none, each is refused.
    type: list
    elements: str
    default: []
  residue_files:
    description:
      - The vendor's own files outside O(vendor_dirs) (absolute paths, no globs), for example the
        recipe's C(residue_files). A directory or a protected system file is refused; a link is
        removed as a link.
    type: list
    elements: str
    default: []
  vendor_dirs:
    description:
      - The vendor's own directories (absolute, no glob, each passing the residue guards); for
        Kaspersky the catalog's C(leftovers.linux.paths). The execute role passes them from the plan.
    type: list
    elements: str
    default: []
  repo_patterns:
    description:
      - Patterns that mark a repository entry as the vendor's (the catalog's C(leftovers.linux.repos)).
      - A plain string is a case-insensitive substring; C(re:) introduces a regular expression
        searched in the line, ignoring case (the collector's rule, C(docs/raw-inventory.md)).
      - Empty leaves the repository files alone.
    type: list
    elements: str
    default: []
  repo_files:
    description:
      - Only look at these repository files (the C(repo_files) of the C(leftovers) recipe).
        Files outside the standard locations are not edited. Empty looks at every repository file
        in the standard locations.
    type: list
    elements: path
    default: []
  config_edits:
    description: Lines to remove from files, C({path, regexp}) each (C(re.search) on every line).
    type: list
    elements: dict
    default: []
  backup:
    description: Keep a timestamped copy of each file before editing or deleting it.
    type: bool
    default: false
  prune_empty_parents:
    description:
      - Remove directories left empty by the residue deletion, up to a protected one, never
        outside O(vendor_dirs).
    type: bool
    default: true
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - fleetsec.divest.linux_root
attributes:
  check_mode:
    support: full
    details: Reports every deletion and edit it would make, changes nothing.
  diff_mode:
    support: full
    details: Shows each repository and configuration file before and after, and deleted paths.
  platform:
    support: full
    platforms: posix
notes:
  - Why a module of its own and not an option of M(fleetsec.divest.linux_remove) - the plan keeps
    the vendor's leftovers apart from its products (the C(cleanup) action), leftovers have no
    packages, services or processes, and repository entries belong to the vendor, not to one
    product. Both modules share the same guarded deletion and file editing code.
seealso:
  - module: fleetsec.divest.linux_remove
  - module: fleetsec.divest.linux_reinstall_block
"""

EXAMPLES = r"""
- name: Clean up Kaspersky leftovers and its repositories
  fleetsec.divest.linux_cleanup:
    vendor: kaspersky
    residue: [/opt/kaspersky, /var/opt/kaspersky, /etc/opt/kaspersky, /var/log/kaspersky]
    vendor_dirs: [/opt/kaspersky, /var/opt/kaspersky, /etc/opt/kaspersky, /var/log/kaspersky]
    repo_patterns: ["re:kaspersky"]
    backup: true
  become: true

- name: Only the repository files the scan found
  fleetsec.divest.linux_cleanup:
    vendor: kaspersky
    repo_patterns: ["re:kaspersky"]
    repo_files: [/etc/apt/sources.list.d/kaspersky.list]
"""

RETURN = r"""
counts:
  description: The number of changes (made, or predicted in check mode) per step.
  returned: always
  type: dict
  sample: {residue: 4, repos: 1, config_edits: 1}
steps:
  description:
    - What was done (would be done, in check mode) - C({step, action, target, changed}).
    - A V(residue) step carries C(kind), C(entries) for a directory, and C(partial) when something
      inside it had to stay; a V(repos) step removing a symbolic link carries C(kind=link) and
      C(link_target).
  returned: always
  type: list
  elements: dict
  sample:
    - {step: repos, action: delete, target: /etc/apt/sources.list.d/kaspersky.list, changed: true}
    - {step: residue, action: delete, target: /var/opt/kaspersky, kind: directory, changed: true}
repos:
  description:
    - Repository files changed, with the entries removed and whether the file was deleted
      (C(link) is true when the file was a symbolic link, removed as a link).
  returned: always
  type: list
  elements: dict
  sample: [{path: /etc/apt/sources.list, format: list, removed: ["deb https://repo.example/kaspersky stable main"], deleted: false}]
config_edits:
  description: Files edited, with the lines removed.
  returned: always
  type: list
  elements: dict
refused_paths:
  description:
    - Residue patterns and paths the guards refused, and symbolic links to repository files
      that mix the vendor's entries with others - C(pattern) and/or C(path), and a C(message)
      naming the path and the reason. Each is also a warning. Nothing refused is changed.
  returned: always
  type: list
  elements: dict
  sample:
    - {pattern: /etc/passwd, message: "residue path /etc/passwd is not inside the vendor's directories (vendor_dirs): ..."}
remaining:
  description: Paths that could not be deleted.
  returned: always
  type: dict
  sample: {paths: []}
"""

from ansible_collections.fleetsec.divest.plugins.module_utils._linux.module import run_module
from ansible_collections.fleetsec.divest.plugins.module_utils._linux.removal.product import cleanup


def argument_spec():
    return dict(
        vendor=dict(type="str"),
        residue=dict(type="list", elements="str", default=[]),
        residue_files=dict(type="list", elements="str", default=[]),
        vendor_dirs=dict(type="list", elements="str", default=[]),
        repo_patterns=dict(type="list", elements="str", default=[]),
        repo_files=dict(type="list", elements="path", default=[]),
        config_edits=dict(type="list", elements="dict", default=[]),
        backup=dict(type="bool", default=False),
        prune_empty_parents=dict(type="bool", default=True),
    )


def main():
    run_module(argument_spec(), lambda host, params: cleanup(
        host, residue=params["residue"], repo_patterns=params["repo_patterns"],
        repo_files_list=params["repo_files"], config_edits=params["config_edits"],
        backup=params["backup"], prune=params["prune_empty_parents"], vendor=params["vendor"],
        residue_files=params["residue_files"], vendor_dirs=params["vendor_dirs"]))


if __name__ == "__main__":
    main()
