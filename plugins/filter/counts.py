# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: counts
short_description: Add up the change counts of removal module results
version_added: 0.1.0
author:
  - fleetsec.divest developers (@fleetsec)
description:
  - M(fleetsec.divest.linux_remove), M(fleetsec.divest.linux_cleanup) and
    M(fleetsec.divest.linux_reinstall_block) return C(counts), the number of changes per step (made,
    or predicted in check mode). This filter adds the counts of some results to a running total;
    the execute role keeps one per host (its outcome's C(changes)).
positional: results
options:
  _input:
    description: The running total, C({step - count}).
    type: dict
    required: true
  results:
    description: Module results (or the C(results) of a loop); results without C(counts) are ignored.
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: Add up
  ansible.builtin.set_fact:
    changes: "{{ changes | default({}) | fleetsec.divest.counts([removal]) }}"
"""

RETURN = r"""
_value:
  description: The new total.
  type: dict
"""

from collections.abc import Mapping


def counts(total, results):
    out = {str(k): int(v) for k, v in (total or {}).items() if isinstance(v, int)}
    for result in results or []:
        counts = result.get("counts") if isinstance(result, Mapping) else None
        if isinstance(counts, Mapping):
            for step, count in counts.items():
                if isinstance(count, int) and not isinstance(count, bool):
                    out[str(step)] = out.get(str(step), 0) + count
    return out


class FilterModule(object):
    def filters(self):
        return {"counts": counts}
