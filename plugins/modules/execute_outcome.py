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
short_description: Store a host's execute outcome as the fact divest_outcome
version_added: 0.1.0
author:
  - fleetsec.divest developers (@fleetsec)
description:
  - Used by the execute role to record each host's outcome in the fact cache (AWX keeps it per
    host). Returns the fact C(divest_outcome) with only the documented keys, in plain JSON
    types - M(ansible.builtin.set_fact) would store every string with ansible-core's data tags
    (the file and line it came from), several times the size of the value.
  - Runs on the controller only and never contacts the host.
  - The execute role does not call it in check mode (a dry run must not replace the outcome of a
    real one in the fact cache); it uses a non-cacheable M(ansible.builtin.set_fact) there.
options:
  outcome:
    description:
      - The outcome - C(status) (V(running), V(removed), V(already_clean), V(would_remove),
        V(blocked), V(drifted), V(failed), V(unreachable)), C(reason), C(digest), C(run_id),
        C(wave), C(step), C(started_at), C(finished_at), C(removed), C(remaining), C(changes),
        C(replacement), C(check_mode). Other keys are dropped; texts are cut at 2000 characters.
    type: dict
    required: true
  finished:
    description: Set C(finished_at) to the current UTC time.
    type: bool
    default: false
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.facts
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  facts:
    support: full
  platform:
    support: full
    platforms: all
seealso:
  - module: fleetsec.divest.plan_gate
"""

EXAMPLES = r"""
- name: Store the outcome
  fleetsec.divest.execute_outcome:
    outcome:
      status: removed
      reason: removed kesl; clean
      digest: "{{ divest_gate.digest }}"
    finished: true
"""

RETURN = r"""
ansible_facts:
  description: The fact set.
  returned: always
  type: dict
  contains:
    divest_outcome:
      description: The outcome, see C(docs/execute.md).
      type: dict
"""
