# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file only documents the module: the work is done by the action plugin
# plugins/action/linux_clamav.py, which runs ansible-core's modules and actions on the host.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: linux_clamav
short_description: Configure and start an installed ClamAV and check that it protects the host, in one task
version_added: 0.1.0
author:
  - fleetsec.divest developers (@fleetsec)
description:
  - Used by the C(fleetsec.divest.clamav) role once the ClamAV packages are installed. In order - freshclam's
    configuration from the role's template (M(ansible.builtin.template)); the signature bundle's files into
    the database directory (M(ansible.builtin.copy)); when the host has no signature file at all, freshclam's
    first download in the foreground (its daemon paused meanwhile and started again whatever happens) and a
    failure when there is still none; the unit drop-in that lets Debian's clamd start without the official
    databases, added exactly when they are missing and removed once they are there; freshclam's service
    (stopped and disabled offline, started and enabled otherwise); the restarts the changes call for, in this
    order - systemd's units reloaded (a drop-in changed), clamd restarted (O(clamd_changed)), clamd's signatures
    reloaded (new bundle files), freshclam restarted (its configuration changed, not offline); clamd enabled and
    started; and the read-only health check of M(fleetsec.divest.linux_clamav_health) (clamd answers and detects
    the module's own EICAR test string).
  - One task instead of ten to sixteen (with loops, handlers and their flush) - AWX stores every task's events
    for every host.
  - Fails when a part fails (the message names the part) or when the health check finds the host unprotected;
    RV(health) then says why, for the role's rescue to record.
options:
  health:
    description: The host's ClamAV health record so far (the fact C(divest_replacement_health), "not protected"); RV(health) starts from it.
    type: dict
    required: true
  signatures:
    description: Where the signatures come from.
    type: str
    required: true
    choices: [official, private_mirror, offline]
  source:
    description: Where freshclam downloads from, in words (the message of a failed first download).
    type: str
    default: database.clamav.net
  freshclam_conf:
    description: freshclam's configuration file, rendered from the role's template O(freshclam_conf.src).
    type: dict
    required: true
    suboptions:
      src:
        description: The template, found as M(ansible.builtin.template) finds it (the role's C(templates)).
        type: str
        default: freshclam.conf.j2
      dest:
        description: The file on the host.
        type: str
        required: true
      owner:
        description: Its owner.
        type: str
      group:
        description: Its group.
        type: str
      mode:
        description: Its mode.
        type: raw
  freshclam_service:
    description: freshclam's systemd unit.
    type: str
    required: true
  bundle:
    description: Signature files on the controller copied into O(database_dir) (the offline bundle, or a seed).
    type: list
    elements: path
    default: []
  database_dir:
    description: clamd's database directory.
    type: str
    required: true
  database_owner:
    description: Owner of the copied signature files.
    type: str
  database_group:
    description: Group of the copied signature files.
    type: str
  database_count:
    description: How many signature files the probe before found (the bundle's files counted as present); V(0) - the first download.
    type: int
    required: true
  database:
    description: The database the probe before listed (the C(database) of RV(health) when the health check is off).
    type: list
    elements: str
    default: []
  official:
    description: Whether the official C(main) and C(daily) databases are there (the probe before); without them the drop-in is needed.
    type: bool
    required: true
  download_timeout:
    description: Seconds freshclam's first download may take.
    type: int
    default: 600
  dropin:
    description: The drop-in's file name, found as M(ansible.builtin.copy) finds it (the role's C(files)).
    type: str
    required: true
  dropin_units:
    description: The units that get the drop-in (Debian's C(clamav-daemon.service) and C(.socket)); none on EL.
    type: list
    elements: str
    default: []
  clamd_service:
    description: clamd's systemd unit.
    type: str
    required: true
  clamd_changed:
    description: clamd's configuration was changed before this task (EL's C(scan.conf)) - clamd is restarted.
    type: bool
    default: false
  signature_reload:
    description: How clamd takes new signature files - V(reloaded) (Debian's ExecReload) or V(restarted).
    type: str
    default: reloaded
    choices: [reloaded, restarted]
  health_check:
    description: Check that clamd protects the host. Off - RV(health) says it is not known to protect it.
    type: bool
    default: true
  ping_timeout:
    description: Seconds the health check waits for clamd to answer.
    type: int
    default: 300
  probe:
    description: The options of M(fleetsec.divest.linux_clamav_health) that reach this ClamAV (the role's C(divest_clamav_probe)).
    type: dict
    required: true
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Each part predicts its change; no download is made (RV(health) says what check mode cannot know); a
      health check that fails while changes are pending says so instead of failing.
  diff_mode:
    support: full
    details: The differences of the configuration, signature and drop-in files.
  platform:
    support: full
    platforms: posix
notes:
  - The modules run with the task's privilege escalation (C(become)).
  - The role C(fleetsec.divest.clamav) runs it (C(roles/clamav/tasks/main.yml)); its documentation is C(docs/replacement.md).
seealso:
  - module: fleetsec.divest.linux_clamav_health
"""

EXAMPLES = r"""
# As the clamav role runs it (roles/clamav/tasks/main.yml), on a Debian host with the offline bundle
- name: Configure and start ClamAV, check that clamd protects the host
  fleetsec.divest.linux_clamav:
    health: "{{ divest_replacement_health }}"
    signatures: offline
    freshclam_conf:
      dest: /etc/clamav/freshclam.conf
      owner: clamav
      group: adm
      mode: "0444"
    freshclam_service: clamav-freshclam
    bundle: [/srv/clamav-bundle/site.ndb]
    database_dir: /var/lib/clamav
    database_owner: clamav
    database_group: clamav
    database_count: 1
    official: false
    dropin: fleetsec-divest-signatures.conf
    dropin_units: [clamav-daemon.service, clamav-daemon.socket]
    clamd_service: clamav-daemon
    probe:
      service: clamav-daemon
      database_dir: /var/lib/clamav
      clamdscan: [clamdscan, --config-file=/etc/clamav/clamd.conf]
  become: true
  register: setup
"""

RETURN = r"""
health:
  description: The host's ClamAV health record - O(health) updated by the health check (C(healthy), C(checked),
    C(reason), C(version), C(database)), or why the host is not protected.
  returned: always
  type: dict
changes:
  description: The parts that changed the host, in order (V(freshclam configuration), V(signature files), V(first download),
    V(unit drop-in), V(freshclam service), V(clamd service)).
  returned: always
  type: list
  elements: str
"""
