# -*- coding: utf-8 -*-
# TEST DOUBLE of ansible.windows.win_reboot (fleetsec.divest tests/windows): never shipped.
# The task runs the action plugin action/win_reboot.py, which calls this module to apply what
# a restart changes to the host's JSON state (module_utils/_windouble.py).
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: win_reboot
short_description: TEST DOUBLE of ansible.windows.win_reboot
description:
  - Test double, never shipped. A restart of the host's state - pending reboot cleared, drivers
    of removed products unloaded, pending features completed, Defender takes over on a client
    whose third-party antivirus is gone (unless the fault C(defender_stays_disabled), a
    C(DisableAntiSpyware) policy or a disabled WinDefend service says otherwise).
  - With the fault C(lost_on_reboot) the restart happens but the task fails with the real
    plugin's timeout message.
options:
  pre_reboot_delay: {type: float, default: 2, aliases: [pre_reboot_delay_sec], description: Seconds before the restart.}
  post_reboot_delay: {type: float, default: 0, aliases: [post_reboot_delay_sec], description: Seconds to wait after it (not slept).}
  reboot_timeout: {type: float, default: 600, aliases: [reboot_timeout_sec], description: Seconds to wait for the host.}
  connect_timeout: {type: float, default: 5, aliases: [connect_timeout_sec], description: Connection timeout.}
  test_command: {type: str, description: Command that proves the host is ready.}
  msg: {type: str, default: Reboot initiated by Ansible, description: Message shown to users.}
  boot_time_command:
    type: str
    description: Boot time command.
    default: '(Get-CimInstance -ClassName Win32_OperatingSystem -Property LastBootUpTime).LastBootUpTime.ToFileTime()'
author: [fleetsec.divest developers (test double)]
"""

RETURN = r"""
rebooted: {description: Whether the host was rebooted., returned: always, type: bool}
elapsed: {description: Seconds the reboot took., returned: always, type: float}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.ansible.windows.plugins.module_utils import _windouble as wd


def handler(state, module):
    wd.reboot(state)
    lost = "lost_on_reboot" in state.get("faults", {})
    return {"changed": True, "rebooted": True, "elapsed": 0, "double_lost": lost, "boot_count": state["boot_count"]}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            pre_reboot_delay=dict(type="float", default=2, aliases=["pre_reboot_delay_sec"]),
            post_reboot_delay=dict(type="float", default=0, aliases=["post_reboot_delay_sec"]),
            reboot_timeout=dict(type="float", default=600, aliases=["reboot_timeout_sec"]),
            connect_timeout=dict(type="float", default=5, aliases=["connect_timeout_sec"]),
            test_command=dict(type="str"),
            msg=dict(type="str", default="Reboot initiated by Ansible"),
            boot_time_command=dict(
                type="str",
                default="(Get-CimInstance -ClassName Win32_OperatingSystem -Property LastBootUpTime).LastBootUpTime.ToFileTime()"),
            shutdown_timeout=dict(type="float", aliases=["shutdown_timeout_sec"]),
        ),
        supports_check_mode=False,
    )
    wd.run_module(module, "ansible.windows.win_reboot", handler)


if __name__ == "__main__":
    main()
