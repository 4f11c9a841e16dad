# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: verify
short_description: Say whether a host scans clean after its removal
version_added: 0.1.0
author:
  - fleetsec.divest developers (@fleetsec)
description:
  - The last step of execute re-identifies the host; this filter turns that scan into a verdict.
  - The host must scan clean. With O(allow_drift), only the products of the plan (the verify
    action's C(absent) list) must be gone; products that appeared since the plan may stay.
positional: absent, allow_drift
options:
  _input:
    description: The host's C(divest) facts after the removal.
    type: dict
    required: true
  absent:
    description: The plan's products, C([{vendor, product}]) (the verify action's C(absent)).
    type: list
    elements: dict
    default: []
  allow_drift:
    description: Only require the plan's products to be gone.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Check
  ansible.builtin.assert:
    that: (scan.ansible_facts.divest | fleetsec.divest.verify).ok
"""

RETURN = r"""
_value:
  description: The verdict.
  type: dict
  contains:
    ok:
      description: Whether the host is clean (of the plan's products).
      type: bool
    message:
      description: Why not, naming what is still there and its evidence.
      type: str
    remaining:
      description: What is still there, C([{vendor, product, state, evidence}]).
      type: list
"""

from ansible.errors import AnsibleFilterError

# ansible-core loads every filter file of the collection in each worker process (one per host
# and task) to find one filter by name: the logic is imported when this filter is called.


def verify(facts, absent=None, allow_drift=False):
    from ansible_collections.fleetsec.divest.plugins.plugin_utils import _execute

    if not isinstance(facts, dict):
        raise AnsibleFilterError("verify: the input must be a host's divest facts")
    return _execute.verify(facts, absent or [], bool(allow_drift))


class FilterModule(object):
    def filters(self):
        return {"verify": verify}
