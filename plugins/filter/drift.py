# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: drift
short_description: Compare a host's fresh findings with what its plan expected
version_added: 0.1.0
author:
  - fleetsec.divest developers (@fleetsec)
description:
  - Execute re-identifies every host before touching it and compares the result with the
    C(expect) list of the host's plan part (C(docs/plan.md)). A new product, another version,
    another state or a product gone since the plan is drift - execute refuses the host.
  - A product an earlier run of the SAME plan removed (its outcome's C(removed) list) may be gone
    or residual without counting as drift, so a rerun finishes an interrupted removal.
positional: facts, previous
options:
  _input:
    description: The plan part's C(expect) list, C([{vendor, product, version, state}]).
    type: list
    elements: dict
    required: true
  facts:
    description: The host's fresh C(divest) facts (from M(fleetsec.divest.vendor_facts)).
    type: dict
    required: true
  previous:
    description: The host's earlier C(divest_outcome) for the same plan digest, or nothing.
    type: dict
"""

EXAMPLES = r"""
- name: Compare
  ansible.builtin.set_fact:
    drift: "{{ part.expect | fleetsec.divest.drift(scan.ansible_facts.divest) }}"
"""

RETURN = r"""
_value:
  description: The comparison.
  type: dict
  contains:
    state:
      description: V(match) (as planned), V(clean) (nothing of the vendor left), V(incomplete) (the scan could not read a source it needs) or V(drifted).
      type: str
    message:
      description: What differs, in one line.
      type: str
    added:
      description: Products found that the plan does not have.
      type: list
    gone:
      description: Products of the plan no longer found.
      type: list
    changed:
      description: Products whose version or state changed, C({from, to}).
      type: list
"""

from ansible.errors import AnsibleFilterError

# ansible-core loads every filter file of the collection in each worker process (one per host
# and task) to find one filter by name: the logic is imported when this filter is called.


def drift(expect, facts, previous=None):
    from ansible_collections.fleetsec.divest.plugins.plugin_utils import _execute

    if expect is not None and not isinstance(expect, list):
        raise AnsibleFilterError("drift: the input must be a plan part's expect list")
    return _execute.drift(expect or [], facts, previous if isinstance(previous, dict) else None)


class FilterModule(object):
    def filters(self):
        return {"drift": drift}
