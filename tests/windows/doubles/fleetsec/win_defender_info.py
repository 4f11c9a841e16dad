# -*- coding: utf-8 -*-
# TEST DOUBLE of fleetsec.divest.win_defender_info (tests/windows): never shipped. The real
# module is plugins/modules/win_defender_info.ps1; tests/windows/winflow.py copies this file
# over the documentation-only .py of a TEST COPY of the collection, so a local connection runs
# it. It returns the Defender view of the host's JSON state.
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: win_defender_info
short_description: TEST DOUBLE of fleetsec.divest.win_defender_info
description:
  - Test double, never shipped. Returns C(os), C(feature), C(service), C(status), C(policy),
    C(security_center), C(reboot_pending) and C(errors) from the host's JSON state.
  - Options the real module documents are accepted and ignored (it only reads).
options: {}
author: [fleetsec.divest developers (test double)]
"""

RETURN = r"""
os: {description: server, build, product_type, multi_session., returned: always, type: dict}
feature: {description: The Defender feature (servers)., returned: always, type: dict}
service: {description: The WinDefend service., returned: always, type: dict}
status: {description: Get-MpComputerStatus fields, or null., returned: always, type: dict}
policy: {description: Defender policy values., returned: always, type: dict}
security_center: {description: Antivirus products (null on servers)., returned: always, type: list}
reboot_pending: {description: pending and sources., returned: always, type: dict}
errors: {description: Sections that could not be read., returned: always, type: list}
"""

from ansible.module_utils.basic import AnsibleModule, _load_params
from ansible_collections.ansible.windows.plugins.module_utils import _windouble as wd


def handler(state, module):
    return dict(wd.defender_info(state), changed=False)


def main():
    # The real module's options are still being written: accept whatever is passed, ignore it.
    spec = {name: dict(type="raw") for name in _load_params() if not name.startswith("_ansible")}
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    wd.run_module(module, "fleetsec.divest.win_defender_info", handler)


if __name__ == "__main__":
    main()
