# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file only documents the module: the work is done by the action plugin
# plugins/action/linux_step.py, which runs the step's modules on the host.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: linux_step
short_description: Run one execute step on a Linux host and record it (the fact divest_outcome), in one task
version_added: 0.1.0
author:
  - fleetsec.divest developers (@fleetsec)
description:
  - Used by the execute role for the steps of a Linux host that run modules on it - V(identify),
    V(remove) (one product), V(cleanup), V(block) and V(verify). The step's modules run in order,
    then the step is recorded exactly as M(fleetsec.divest.execute_outcome) records it (the same
    decisions, C(plugin_utils/_outcome.py)) - one task per step, so a host costs AWX two job events
    per step, not two for the work and two more for its record.
  - Whether the step does anything depends on the host's mode (RV(mode) of the previous record) - re-identify
    unless the host is done; remove in V(act) only; cleanup and the reinstall block (O(enabled)) in V(act)
    and V(converge); verify there too, in real runs only. A step that does not run changes and records
    nothing (RV(ran)).
  - V(identify) - reads the host's journal of this plan (M(fleetsec.divest.linux_journal)), scans the host as
    M(fleetsec.divest.vendor_facts) does (the collector M(fleetsec.divest.linux_inventory_info) and the
    matcher; the findings become the host fact C(divest)) and compares it with the plan - the record chooses
    the mode.
  - V(remove) - each product of O(actions) in order, the first failure stopping the rest - B(never
    unprotected) - refuses when the replacement was not proven healthy (and is not waived; check mode may not
    know yet); then notes in the host's journal that this plan is removing the product, removes it with
    M(fleetsec.divest.linux_remove), notes that it is removed, and records it. After each product but the
    last the outcome is written into the fact cache (and, in an AWX job on ansible-core 2.19+, AWX's fact
    file) at once - a run killed during the next product leaves the controller what was removed; a rerun of
    the same plan finishes it (the host's journal). Nothing to remove - nothing runs (RV(ran) false).
  - V(cleanup) - M(fleetsec.divest.linux_cleanup) once per vendor of O(cleanups). V(block) -
    M(fleetsec.divest.linux_reinstall_block) once per vendor of O(block).
  - V(verify) - scans the host again and records the scan first; then, with O(enabled) and ClamAV as the
    replacement, checks ClamAV read-only (M(fleetsec.divest.linux_clamav_health) with O(probe), the
    settings the clamav role published as the fact C(divest_clamav_probe), and the module's own EICAR test
    string). When that check does not prove ClamAV healthy (or no O(probe) is known) RV(repair) is true and
    the role runs again in the next task. Something of the vendor still there fails the step.
  - A module that fails, or a host that cannot be reached for it, fails the task with the module's message;
    RV(state) then names the step, so that the role's rescue records the failure at it.
options:
  step:
    description: The step.
    type: str
    required: true
    choices: [identify, remove, cleanup, block, verify]
  state:
    description: The RV(state) the previous record returned (M(fleetsec.divest.execute_outcome) or this module).
    type: dict
    required: true
  catalogs:
    description: Catalogs to re-identify the host with (V(identify), V(verify)); also takes survey text.
    type: list
    elements: str
    default: [kaspersky]
  allow_drift:
    description: Act on a host whose products changed since the plan (the plan's products only).
    type: bool
    default: false
  actions:
    description: The plan's C(remove) actions of the host, in plan order (V(remove); this or O(action) is required there).
    type: list
    elements: dict
  action:
    description: One product's C(remove) action (V(remove)), as O(actions) with one item.
    type: dict
  vendor_dirs:
    description:
      - The vendor's own directories (V(remove); M(fleetsec.divest.linux_remove)'s
        O(fleetsec.divest.linux_remove#module:vendor_dirs)). Empty - those of the vendor's item of O(cleanups).
    type: list
    elements: str
    default: []
  password:
    description: The uninstall password for every product removed (V(remove)); no Linux recipe takes one.
    type: str
  passwords:
    description:
      - Uninstall passwords by C(<vendor>/<product>) or C(<vendor>) (the variable C(divest_uninstall_passwords));
        a product whose recipe needs one (its C(password) is not V(none)) gets its own, else its vendor's. Give them
        only then, with C(no_log) on the task.
    type: dict
    default: {}
  backup:
    description: Keep a timestamped copy of every configuration or repository file before editing it.
    type: bool
    default: true
  kill_timeout:
    description: Seconds between SIGTERM and SIGKILL for vendor processes left after the removal (V(remove)).
    type: int
    default: 10
  lock_timeout:
    description: Seconds to wait for a busy package manager lock (V(remove)).
    type: int
    default: 120
  remove_accounts:
    description: Remove the vendor's accounts (V(remove)).
    type: bool
    default: true
  cleanups:
    description: The plan's C(cleanup) actions, one per vendor (V(cleanup)).
    type: list
    elements: dict
    default: []
  cleanup_repos:
    description: Delete the vendor's repository entries too (V(cleanup)).
    type: bool
    default: true
  guard:
    description:
      - Check the never-unprotected guard first, in mode V(act) (V(cleanup) of a plan without products to
        remove, whose remove step did not check it) - a replacement not proven healthy fails the task at the
        remove step, as it would before a removal.
    type: bool
    default: false
  block:
    description: The plan's C(block_reinstall) action, C({vendors, packages}) (V(block)).
    type: dict
    default: {}
  enabled:
    description: V(block) - write the reinstall block at all; V(verify) - check the replacement again.
    type: bool
    default: true
  absent:
    description: The plan's products that must be gone (V(verify); the verify action's C(absent)).
    type: list
    elements: dict
    default: []
  probe:
    description:
      - The options of M(fleetsec.divest.linux_clamav_health) that reach the host's ClamAV (V(verify)), the
        fact C(divest_clamav_probe) of the clamav role. Not a mapping - ClamAV is not checked here and
        RV(repair) is true.
    type: raw
  ping_timeout:
    description: Seconds the read-only check of ClamAV waits for clamd to answer (V(verify)).
    type: int
    default: 300
  replacement:
    description:
      - C({health}) - the health the replacement's role left (the fact C(divest_replacement_health), or V(null)).
        When the replacement's health is not recorded yet in this run, it is recorded first, as
        M(fleetsec.divest.execute_outcome)'s V(replacement) event records it (the role ran in the task before
        this one) - before the step's own work, so the never-unprotected guard judges on it.
    type: dict
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.facts
attributes:
  check_mode:
    support: full
    details: The modules predict what they would change (the journal and the collector only read); the
      records decide the same way on the predictions; the fact C(divest_outcome) is not returned. V(verify)
      does not run.
  diff_mode:
    support: none
  facts:
    support: full
  platform:
    support: full
    platforms: posix
notes:
  - The modules run with the task's privilege escalation (C(become)).
seealso:
  - module: fleetsec.divest.execute_outcome
  - module: fleetsec.divest.linux_remove
  - module: fleetsec.divest.linux_journal
"""

EXAMPLES = r"""
- name: Re-identify the host and compare it with the plan
  fleetsec.divest.linux_step:
    step: identify
    state: "{{ outcome.state }}"
    catalogs: [kaspersky]
  become: true
  register: outcome

- name: Remove one product of the plan
  fleetsec.divest.linux_step:
    step: remove
    state: "{{ outcome.state }}"
    actions: "{{ remove_actions }}"
    vendor_dirs: [/opt/kaspersky, /var/opt/kaspersky]
  become: true
  register: outcome
"""

RETURN = r"""
state:
  description: The working state to pass to the next record; on a failure it names the step that failed.
  returned: always
  type: dict
outcome:
  description: The outcome as it stands (as M(fleetsec.divest.execute_outcome) returns it).
  returned: always
  type: dict
status:
  description: The outcome's status (V(running) until the run is finished).
  returned: always
  type: str
mode:
  description: What the steps do on this host - V(act), V(converge), V(check) or V(stop).
  returned: always
  type: str
ran:
  description: Whether the step did its work on the host in this mode.
  returned: always
  type: bool
repair:
  description: V(verify) - ClamAV was not proven healthy by the read-only check; the clamav role must run again.
  returned: always
  type: bool
results:
  description: What each module of the step answered, in order (C(module), C(changed), C(msg), C(counts) ...).
  returned: always
  type: list
  elements: dict
ansible_facts:
  description: The facts set.
  returned: when the step ran and did not fail (C(divest) also after a scan of a step that failed)
  type: dict
  contains:
    divest_outcome:
      description: The outcome (as RV(outcome)), outside check mode.
      type: dict
    divest:
      description: The findings of the scan (V(identify), V(verify)), as M(fleetsec.divest.vendor_facts) returns them.
      type: dict
"""
