# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file holds the documentation; the work is done by the action plugin of the same name.

DOCUMENTATION = r"""
module: vendor_facts
short_description: Find a banned vendor's security products on a host
version_added: 0.1.0
author:
  - fleetsec.divest developers (@fleetsec)
description:
  - Looks for the products of the vendors in the given catalogs (Kaspersky by default) on a
    Linux or Windows host and returns them as C(ansible_facts.divest), with a status and one
    finding per product, with the evidence that matched and what removal needs.
  - One module round trip per host. The catalog is turned into a small query, the platform's
    collector (M(fleetsec.divest.linux_inventory_info) on Linux, M(fleetsec.divest.win_inventory_info) on Windows,
    chosen by the connection's shell) gathers what matches it, and the matching is done on
    the controller.
  - Never changes the host. Returns real findings in check mode.
  - C(become) is never forced; on Linux, reading other users' processes and some vendor
    directories needs root, so run it with C(become=true) there. On Windows, run it as an
    administrator.
options:
  catalogs:
    description:
      - Catalogs to look for, by shipped name (V(kaspersky)) or path to a catalog file of the
        format documented in C(docs/catalog.md).
      - Text is taken too, as an AWX survey or C(-e) gives it - JSON text of a list, one name per
        line, or names separated by commas.
    type: list
    elements: str
    default: [kaspersky]
  root:
    description:
      - Scan the filesystem mounted at this path (VM image, container rootfs, chroot, restored
        backup) instead of the running system. Linux only.
      - Symlinks inside the tree are resolved inside the tree. Live-only signals (processes,
        kernel modules, service states) are skipped and C(divest.scan.skipped) says so.
    type: path
  return_inventory:
    description:
      - Also return the collector's raw inventory as C(inventory), for recording and offline
        analysis with the P(fleetsec.divest.vendor_findings#filter) filter. It is not stored
        as a fact.
    type: bool
    default: false
  platform:
    description:
      - Which collector to run. V(auto) decides by the connection's shell (PowerShell - the
        Windows collector, any other - the Linux one). The execute role passes the platform the
        approved plan recorded for the host, so that a host is re-identified the way it was planned.
    type: str
    choices: [auto, linux, windows]
    default: auto
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.facts
attributes:
  action:
    support: full
    description: Runs as an action plugin on the controller, which calls the collector module on the host.
  async:
    support: none
    description: One short module round trip; not supported.
  check_mode:
    support: full
    details: Gathers only; returns the same findings as a normal run.
  diff_mode:
    support: N/A
    details: Changes nothing.
  facts:
    support: full
  platform:
    support: full
    platforms: [posix, windows]
seealso:
  - module: fleetsec.divest.linux_inventory_info
  - module: fleetsec.divest.win_inventory_info
  - plugin: fleetsec.divest.vendor_findings
    plugin_type: filter
notes:
  - The facts follow the contract in C(DESIGN.md) and C(docs/facts.md); the catalog format is in
    C(docs/catalog.md).
"""

EXAMPLES = r"""
- name: Look for Kaspersky products
  fleetsec.divest.vendor_facts:
  become: true

- name: Report affected hosts
  ansible.builtin.debug:
    msg: "{{ inventory_hostname }}: {{ ansible_facts.divest.findings | map(attribute='name') | join(', ') }}"
  when: ansible_facts.divest.status == 'affected'

- name: Scan a mounted VM disk image instead of the live system
  fleetsec.divest.vendor_facts:
    root: /mnt/vm-disk
  become: true

- name: Add a catalog of your own for another vendor
  fleetsec.divest.vendor_facts:
    catalogs:
      - kaspersky
      - "{{ playbook_dir }}/catalogs/acme-av.yml"
"""

RETURN = r"""
ansible_facts:
  description: Facts added to the host.
  returned: success
  type: dict
  contains:
    divest:
      description: What was found on the host.
      returned: success
      type: dict
      contains:
        schema:
          description: Facts schema version.
          type: int
          sample: 1
        scanned_at:
          description: When the scan ran (controller time, UTC, ISO 8601).
          type: str
          sample: "2026-11-27T10:00:00Z"
        platform:
          description: C(system), C(distribution) and C(version) of the host.
          type: dict
          sample: {system: Linux, distribution: debian, version: "12"}
        status:
          description:
            - V(clean) nothing found; V(affected) at least one product installed;
              V(residual) only leftovers; V(unknown) a source needed to call the host clean
              (Linux - package database, vendor paths, repository files; Windows - Uninstall
              keys, vendor paths) could not be read or was read only in part, or a vendor process
              may run on the host or in a container (its PID namespace could not be read), see
              C(scan.errors).
            - Vendor software running in containers on the host never makes it V(affected) or
              V(residual), see C(containers).
          type: str
          sample: affected
        findings:
          description: One entry per product found.
          type: list
          elements: dict
          sample:
            - vendor: kaspersky
              product: kesl
              name: Kaspersky Endpoint Security for Linux
              version: "12.1.0.1508"
              state: installed
              role: protection
              evidence:
                - {kind: package, name: kesl, version: "12.1.0-1508", manager: dpkg, status: installed,
                   hold: apt-mark}
                - {kind: service, name: kesl, state: running, enabled: enabled, init: systemd}
              removal: {method: package, order: 10, packages: [kesl], services: [kesl], purge: true}
        scan:
          description: How the scan went; C(root) and C(live) tell what was scanned, C(skipped)
            and C(errors) what could not be (the failures that make a host V(unknown) first).
          type: dict
        containers:
          description:
            - Vendor software running in containers on this host (Linux), listed apart - it is the
              container images', not the host's; it is never a finding, never part of C(status),
              and execute never signals, stops or deletes it. Follow up on the container image.
            - One entry per container and product - C(vendor), C(product), C(name) as in
              C(findings); C(scope) V(container) (another PID namespace, a container's cgroup or
              container storage) or V(unknown) (the process's PID namespace could not be read;
              C(reason) says why, and the host is not called clean); C(runtime) and C(id) (the
              container id, or the LXC name) when the cgroup names them, else V(null);
              C(evidence) (process items with C(kind), C(name), C(pid); path items with C(kind),
              C(name), C(storage)).
            - Present only when there is some, at most 100 entries (C(containers_truncated)
              counts the rest).
          type: list
          elements: dict
          returned: when vendor software was seen in containers
          sample:
            - vendor: kaspersky
              product: kesl
              name: Kaspersky Endpoint Security for Linux
              scope: container
              runtime: podman
              id: 1a3bb1070ecf6ebf618ce905632ee7a25587f855bf436908cb8028d565cd7701
              evidence: [{kind: process, name: kesl, pid: 4242}]
inventory:
  description: The collector's raw inventory (C(docs/raw-inventory.md)).
  returned: when O(return_inventory=true)
  type: dict
"""
