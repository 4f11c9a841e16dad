# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: vendor_findings
short_description: Turn a recorded raw inventory into divest findings
version_added: 0.1.0
author:
  - fleetsec.divest developers (@fleetsec)
description:
  - Runs the same matcher as M(fleetsec.divest.vendor_facts) on a raw inventory that was
    recorded earlier, imported from another tool, or collected from an offline image, and
    returns the same structure as C(ansible_facts.divest).
  - The raw inventory follows the collectors' documented schema (C(docs/raw-inventory.md)),
    which is what M(fleetsec.divest.linux_inventory_info) or M(fleetsec.divest.win_inventory_info) return as C(inventory).
positional: catalogs
options:
  _input:
    description: The raw inventory of one host.
    type: dict
    required: true
  catalogs:
    description:
      - Catalogs to match against, by shipped name (V(kaspersky)) or path to a catalog file
        (C(docs/catalog.md)).
    type: list
    elements: str
    default: [kaspersky]
  scanned_at:
    description:
      - Time to record as C(scanned_at), ISO 8601 UTC.
      - Defaults to the inventory's C(collected_at), else the current time.
    type: str
seealso:
  - module: fleetsec.divest.vendor_facts
  - module: fleetsec.divest.linux_inventory_info
  - module: fleetsec.divest.win_inventory_info
"""

EXAMPLES = r"""
- name: Findings for an inventory recorded with vendor_facts return_inventory=true
  ansible.builtin.set_fact:
    divest: "{{ lookup('ansible.builtin.file', 'recorded/web01.json') | from_json | fleetsec.divest.vendor_findings }}"

- name: Same, with an extra catalog of your own
  ansible.builtin.debug:
    msg: "{{ raw_inventory | fleetsec.divest.vendor_findings(['kaspersky', playbook_dir ~ '/catalogs/acme.yml']) }}"
"""

RETURN = r"""
_value:
  description: The C(divest) facts, as M(fleetsec.divest.vendor_facts) returns them.
  type: dict
  contains:
    schema:
      description: Facts schema version.
      type: int
    status:
      description: C(clean), C(affected), C(residual) or C(unknown).
      type: str
    findings:
      description: One entry per vendor product found, with evidence and removal data.
      type: list
      elements: dict
    containers:
      description:
        - Vendor software running in containers on the host (from the raw inventory's
          C(containers) section), listed apart, never a finding; present only when there is some.
          See M(fleetsec.divest.vendor_facts).
      type: list
      elements: dict
"""

from ansible.errors import AnsibleFilterError

# ansible-core loads every filter file of the collection in each worker process (one per host
# and task) to find one filter by name: the logic is imported when this filter is called.


def vendor_findings(inventory, catalogs=None, scanned_at=None):
    from ansible_collections.fleetsec.divest.plugins.plugin_utils._catalog import CatalogError, load_catalogs
    from ansible_collections.fleetsec.divest.plugins.plugin_utils._matcher import InventoryError, match

    try:
        loaded = load_catalogs(catalogs or ["kaspersky"])
        return match(inventory, loaded, scanned_at=scanned_at)
    except (CatalogError, InventoryError) as exc:
        raise AnsibleFilterError("vendor_findings: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {"vendor_findings": vendor_findings}
