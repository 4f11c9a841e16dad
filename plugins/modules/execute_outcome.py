# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file only documents the module: the work is done on the controller by the action plugin
# plugins/action/execute_outcome.py.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: execute_outcome
short_description: Record one step of a host's execute run and decide its outcome (the fact divest_outcome)
version_added: 0.1.0
author:
  - fleetsec.divest developers (@fleetsec)
description:
  - Used by the execute role after every step on a host. Each call is one O(event); it takes the
    working state the previous event returned (O(state)) and the step's result, and returns the
    new state and the host's outcome. Every decision and every text of the outcome is made here,
    in Python (C(plugin_utils/_outcome.py)), not in the role's tasks.
  - Outside check mode the outcome is returned as the fact C(divest_outcome), in plain JSON types,
    so the fact cache holds what was done after EVERY step - a run killed between two removals
    leaves an outcome that lists what this plan removed, and the rerun of the same plan finishes
    the host. (M(ansible.builtin.set_fact) would store every string with ansible-core's data tags,
    several times the size of the value.) In check mode nothing is stored - a dry run never replaces
    the outcome of a real one; the role keeps the prediction with a plain C(set_fact).
  - B(Never unprotected) - when the run ends, a host whose vendor protection product is gone and
    whose replacement is not healthy (and not waived in the plan) is V(unprotected), whatever else
    happened; the replacement shown is the last one checked (after the removal when the check ran
    again), never an earlier one.
  - B(Reruns converge) - an outcome of the same plan from an earlier real run carries its C(removed)
    list and C(history) over; what it removed, or what the host's journal
    (M(fleetsec.divest.linux_journal)) says was being removed, is progress, not drift.
  - A step result that says the host could not be reached fails the task, so that the role's rescue
    tells an unreachable host from a failed step.
  - Runs on the controller only and never contacts the host.
options:
  event:
    description:
      - V(start) (O(part), O(previous), O(gate)) - begin; blocked hosts and hosts of another platform
        end here. V(scanned) (O(result) of M(fleetsec.divest.vendor_facts), O(journal)) - compare
        with the plan and choose the mode (RV(mode)). V(replacement) (O(health)) - the replacement's
        health. V(removing) (O(action)) - the uninstaller of one product is about to run (recorded
        first, so that a rerun of the same plan finishes a run killed meanwhile). V(removed)
        (O(action), O(result) of M(fleetsec.divest.linux_remove) or M(fleetsec.divest.win_remove)) -
        one product removed. V(rebooted) (O(result) of C(ansible.windows.win_reboot), O(policy),
        O(before)) - a reboot of a Windows host, or the decision not to reboot. V(changed) (O(step), O(results)) - a step done (V(remove), V(cleanup),
        V(block_reinstall)). V(verified) (O(result) of the scan after, O(health), O(absent)).
        V(failed) (O(step), O(message), O(down), O(health)). V(finish) - the final status and reason.
    type: str
    required: true
    choices: [start, scanned, replacement, removing, removed, rebooted, changed, verified, failed, finish]
  state:
    description: The RV(state) the previous event returned (all events but V(start)).
    type: dict
  part:
    description: The host's part of the approved plan (the gate's C(parts) entry).
    type: dict
  previous:
    description: The host's C(divest_outcome) before this run, if any.
    type: raw
  gate:
    description: C({digest, run_id}) of the gate.
    type: dict
  facts:
    description: The host's C(divest) facts, when no O(result) is given.
    type: raw
  result:
    description: The registered result of the step (a scan, a removal).
    type: raw
  journal:
    description: The registered result of M(fleetsec.divest.linux_journal), or its C(journal).
    type: raw
  allow_drift:
    description: Act on a host whose products changed since the plan (the plan's products only).
    type: bool
    default: false
  health:
    description: The replacement's health, the fact C(divest_replacement_health) of the clamav or defender role.
    type: raw
  action:
    description: The plan's C(remove) action of the product (V(removed)).
    type: dict
  results:
    description: The step's module results (V(changed)); their C(counts) are added up.
    type: list
    elements: raw
    default: []
  step:
    description: The step (V(changed), V(failed)).
    type: str
  message:
    description: Why the step failed (V(failed)).
    type: str
  down:
    description: The host does not answer (V(failed)); the outcome is then V(unreachable).
    type: bool
    default: false
  absent:
    description: The plan's products that must be gone (the verify action's C(absent)).
    type: list
    elements: dict
    default: []
  policy:
    description:
      - The reboot policy (V(rebooted)), C(divest_windows_reboot) - V(never) makes a host whose removal
        needs a restart C(reboot_pending).
    type: str
    default: when_required
  before:
    description:
      - The reboot (V(rebooted)) is one before any removal - the one that was pending before execute
        started, or the one Defender's feature install needed.
    type: bool
    default: false
  pending:
    description: With O(before), whether a restart was pending at all (nothing is recorded when not).
    type: bool
    default: true
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.facts
attributes:
  check_mode:
    support: full
    details: Decides the same way on the predicted results; the fact is not returned.
  diff_mode:
    support: none
  facts:
    support: full
  platform:
    support: full
    platforms: all
seealso:
  - module: fleetsec.divest.plan_gate
  - module: fleetsec.divest.linux_journal
"""

EXAMPLES = r"""
- name: Start the host's outcome
  fleetsec.divest.execute_outcome:
    event: start
    part: "{{ hostvars['localhost'].divest_gate.parts[inventory_hostname] }}"
    previous: "{{ ansible_facts.divest_outcome | default(none) }}"
    gate:
      digest: "{{ hostvars['localhost'].divest_gate.digest }}"
      run_id: "{{ hostvars['localhost'].divest_gate.run_id }}"
  register: outcome

- name: Record the re-identification
  fleetsec.divest.execute_outcome:
    event: scanned
    state: "{{ outcome.state }}"
    result: "{{ scan }}"
  register: outcome
"""

RETURN = r"""
state:
  description: The working state to pass to the next event (C(outcome) and this run's C(run)).
  returned: always
  type: dict
outcome:
  description:
    - The outcome as it stands (C(docs/execute.md), "Outcomes") - C(status), C(reason), C(digest),
      C(run_id), C(wave), C(step), C(started_at), C(finished_at), C(removed) (what this plan removed,
      with the run and the time), C(remaining), C(changes), C(replacement), C(protection),
      C(holds_released), C(history), C(history_dropped), C(check_mode).
  returned: always
  type: dict
status:
  description: The outcome's status (V(running) until V(finish)).
  returned: always
  type: str
mode:
  description: What the steps do on this host - V(act), V(converge), V(check) or V(stop).
  returned: always
  type: str
ansible_facts:
  description: The fact set, outside check mode.
  returned: when not in check mode
  type: dict
  contains:
    divest_outcome:
      description: The outcome (as RV(outcome)).
      type: dict
"""
