# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file only documents the module: the work is done on the controller by the action plugin
# plugins/action/plan_gate.py.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: plan_gate
short_description: Check the approved removal plan before execute touches any host
version_added: 0.1.0
author:
  - fleetsec.divest developers (@fleetsec)
description:
  - The gate of the execute phase (BOD 17-01 day 90). Loads the approved plan, checks it, and
    tells the execute play which hosts to work on, in which order and in which batches.
  - B(From a file) (O(source=file), or V(auto) when O(path) exists) - reads C(divest-plan.json) (or
    C(divest-plan.yml)), recomputes its digest the way the planner does and refuses the plan when its
    content no longer matches its own digest (edited after it was made) or when its digest is
    not the approved one (O(digest)).
  - B(From the fact cache) (O(source=facts), or V(auto) when O(path) does not exist; AWX) -
    uses the C(divest_plan) fact the plan job stored for every planned host. A part labelled
    with another digest belongs to another plan - the host is left alone and reported. A part
    labelled with the approved digest is checked against it with the hash-tree proof it carries
    (C(docs/plan.md), section Digest) - its content (actions, recipes, expectation, blockers, wave)
    must be exactly what the approved plan committed to, for exactly this host. One part that
    fails the check stops the run, as an edited plan file does - the fact cache was changed.
  - B(Wave order) - the hosts of this run (O(pattern) and C(--limit)) may not jump the plan's
    waves. Every wave before the last wave the run targets must be done, except for the hosts
    the run targets itself (they run first, in order) - each of its other hosts has an outcome
    of the approved plan (C(divest_outcome) in the fact cache) that is settled (removed,
    already clean, blocked, drifted) or a failure (failed, unreachable, unprotected) within the
    wave's failure limit (O(limits)). Otherwise the task fails, naming the wave and its hosts,
    unless O(allow_wave_skip).
  - A missing or malformed approved digest, a changed plan, a digest mismatch, or no host with
    a part of the approved plan FAILS the task with one message saying what to do. Nothing has
    been done to any host at that point.
  - Runs on the controller only and never contacts a managed host. Use it once, in a play on
    C(localhost), before the play that works on the hosts.
options:
  digest:
    description:
      - The approved plan digest, C(sha256:<64 hex digits>), as the plan playbook printed it
        (also in C(divest-plan.html) and C(divest-plan.md)). Required; an empty value fails the task.
    type: raw
  source:
    description: Where the plan comes from.
    type: str
    choices: [auto, file, facts]
    default: auto
  path:
    description:
      - The plan file (C(divest-plan.json), or C(divest-plan.yml)). Relative paths are relative to the
        working directory of C(ansible-playbook).
    type: path
    default: divest-reports/divest-plan.json
  pattern:
    description:
      - Inventory pattern of the hosts this run may work on. Hosts of the plan outside it are
        not touched (RV(not_targeted)); hosts inside it but not in the plan are listed in
        RV(not_in_plan). C(--limit) applies too.
    type: str
    default: all
  waves:
    description:
      - Order of the plan's waves, for O(source=facts) (the parts know their wave but not the
        order). Under AWX, pass the names of the plan job's C(divest_plan) artifact,
        C(divest_plan.waves.keys()). Without it - canary, the other waves in natural order,
        C(remaining), C(management).
    type: list
    elements: str
    default: []
  limits:
    description:
      - The waves' failure limits, in percent of a wave's hosts, used to judge whether an earlier
        wave is done (the execute role passes its own limits).
    type: dict
    default: {}
    suboptions:
      canary:
        description: Limit of the C(canary) wave.
        type: int
        default: 0
      default:
        description: Limit of the other waves.
        type: int
        default: 10
      waves:
        description: Limits by wave name; they win over the two above.
        type: dict
        default: {}
  allow_wave_skip:
    description:
      - Run the targeted hosts even when an earlier wave of the plan is not done (a warning
        names it). For an operator who knows why, for example a host that must go first.
    type: bool
    default: false
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
attributes:
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
    details: Use it in a play on C(localhost) (or with C(run_once)).
  check_mode:
    support: full
    details: Changes nothing in either mode; in check mode the plan is checked just the same.
  diff_mode:
    support: none
  platform:
    support: full
    platforms: all
notes:
  - The result holds every planned host's part, with identical action lists stored once
    (RV(recipes)), so that the execute play reads a host's part from the gate's result instead
    of the plan being read once per host.
seealso:
  - module: fleetsec.divest.removal_plan
  - module: fleetsec.divest.linux_remove
"""

EXAMPLES = r"""
- name: Check the approved plan
  fleetsec.divest.plan_gate:
    digest: "{{ divest_plan_digest | default('') }}"
    path: "{{ divest_report_dir }}/divest-plan.json"
  register: divest_gate

- name: Under AWX, from the fact cache, in the order the plan job published
  fleetsec.divest.plan_gate:
    digest: "{{ divest_plan_digest }}"
    source: facts
    waves: "{{ divest_plan.waves.keys() | list if divest_plan is mapping else [] }}"
  register: divest_gate
"""

RETURN = r"""
digest:
  description: The approved digest of the plan.
  returned: success
  type: str
  sample: "sha256:5f0c..."
source:
  description: Where the plan was read from, V(file) or V(facts).
  returned: success
  type: str
order:
  description: The hosts to work on, in wave order (use it as the execute play's C(hosts)).
  returned: success
  type: list
  elements: str
  sample: [web3, web1, web2, ksc1]
serial:
  description: The number of hosts of each wave, in order (use it as the play's C(serial)).
  returned: success
  type: list
  elements: int
  sample: [1, 2, 1]
waves:
  description: The waves of this run, C({name, kind, hosts, size}), in order.
  returned: success
  type: list
  elements: dict
parts:
  description:
    - Each host's part - C(wave), C(status), C(platform), C(replacement), C(expect), C(blockers)
      and C(recipe), the index of its action list in RV(recipes). (The digest is RV(digest).)
  returned: success
  type: dict
recipes:
  description: The distinct action lists of the plan (each host's C(actions)).
  returned: success
  type: list
  elements: list
not_in_plan:
  description: Targeted hosts that are not in the plan, C({host, reason}); they are not touched.
  returned: success
  type: list
  elements: dict
not_targeted:
  description: Hosts of the plan outside O(pattern) or C(--limit); not touched, and still to do in the report unless done earlier.
  returned: success
  type: list
  elements: str
run_id:
  description: A random id of this run, recorded in each host's outcome.
  returned: success
  type: str
generated_at:
  description: When the plan was generated (file source only).
  returned: success
  type: str
directive:
  description: The directive dates of the plan (file source only).
  returned: success
  type: dict
counts:
  description: Numbers of planned, targeted, blocked, not-in-plan and not-targeted hosts.
  returned: success
  type: dict
msg:
  description: One line saying what was approved and what will be worked on.
  returned: always
  type: str
"""
