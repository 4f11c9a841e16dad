# -*- coding: utf-8 -*-
# TEST DOUBLE of fleetsec.divest.win_inventory_info (tests/windows): never shipped. The real
# module is plugins/modules/win_inventory_info.ps1; tests/windows/winflow.py copies this file
# over the documentation-only .py of a TEST COPY of the collection, so a local connection runs
# it. It returns what the .ps1 returns, built from the host's JSON state.
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: win_inventory_info
short_description: TEST DOUBLE of fleetsec.divest.win_inventory_info
description:
  - Test double, never shipped. Answers from the host's JSON state with the options of the real
    module (a pre-filter; patterns as in the real one).
options:
  display_names: {type: list, elements: str, default: [], description: DisplayName patterns.}
  publishers: {type: list, elements: str, default: [], description: Publisher patterns (searched).}
  services: {type: list, elements: str, default: [], description: Service patterns.}
  drivers: {type: list, elements: str, default: [], description: Driver patterns.}
  processes: {type: list, elements: str, default: [], description: Process name patterns.}
  security_center: {type: list, elements: str, default: [], description: Security Center displayName patterns.}
  registry_keys: {type: list, elements: str, default: [], description: Registry keys to test.}
  paths: {type: list, elements: str, default: [], description: Paths to test.}
  certificates: {type: list, elements: str, default: [], description: Certificate subject/issuer patterns (searched).}
author: [fleetsec.divest developers (test double)]
"""

RETURN = r"""
inventory: {description: The raw inventory (docs/raw-inventory.md, Windows sections)., returned: always, type: dict}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.ansible.windows.plugins.module_utils import _windouble as wd

OPTIONS = ("display_names", "publishers", "services", "drivers", "processes", "security_center",
           "registry_keys", "paths", "certificates")


def handler(state, module):
    return {"changed": False, "inventory": wd.inventory(state, module.params)}


def main():
    module = AnsibleModule(
        argument_spec={name: dict(type="list", elements="str", default=[]) for name in OPTIONS},
        supports_check_mode=True,
    )
    wd.run_module(module, "fleetsec.divest.win_inventory_info", handler)


if __name__ == "__main__":
    main()
