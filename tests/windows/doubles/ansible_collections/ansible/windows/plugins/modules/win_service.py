# -*- coding: utf-8 -*-
# TEST DOUBLE of ansible.windows.win_service (fleetsec.divest tests/windows): never shipped.
# It answers from the host's JSON state (module_utils/_windouble.py).
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: win_service
short_description: TEST DOUBLE of ansible.windows.win_service
description:
  - Test double, never shipped. Starts, stops, removes and reconfigures services of the host's
    JSON state. A service whose record has C(protected=true) (self-defence, PPL) refuses to stop,
    change or go, as the real Service Control Manager does. Options are the real module's; only
    O(name), O(state), O(start_mode) and O(path) have an effect.
options:
  dependencies: {type: list, elements: str, description: Dependencies.}
  dependency_action: {type: str, default: set, choices: [add, remove, set], description: How to apply dependencies.}
  desktop_interact: {type: bool, default: false, description: Interact with the desktop.}
  description: {type: str, description: Description.}
  display_name: {type: str, description: Display name.}
  error_control: {type: str, choices: [critical, ignore, normal, severe], description: Error control.}
  failure_actions: {type: list, elements: dict, description: Failure actions.}
  failure_actions_on_non_crash_failure: {type: bool, description: Failure actions on non-crash failures.}
  failure_command: {type: str, description: Failure command.}
  failure_reboot_msg: {type: str, description: Failure reboot message.}
  failure_reset_period_sec: {type: raw, aliases: [failure_reset_period], description: Failure reset period.}
  force_dependent_services: {type: bool, default: false, description: Also act on dependent services.}
  load_order_group: {type: str, description: Load order group.}
  name: {type: str, required: true, description: Service name.}
  path: {type: str, description: Binary path.}
  password: {type: str, description: Password of the account.}
  pre_shutdown_timeout_ms: {type: raw, aliases: [pre_shutdown_timeout], description: Pre-shutdown timeout.}
  required_privileges: {type: list, elements: str, description: Required privileges.}
  service_type: {type: str, choices: [user_own_process, user_share_process, win32_own_process, win32_share_process], description: Type.}
  sid_info: {type: str, choices: [none, restricted, unrestricted], description: SID info.}
  start_mode: {type: str, choices: [auto, delayed, disabled, manual], description: Start mode.}
  state: {type: str, choices: [absent, paused, started, stopped, restarted], description: State.}
  update_password: {type: str, choices: [always, on_create], description: When to update the password.}
  username: {type: str, description: Account.}
author: [fleetsec.divest developers (test double)]
"""

RETURN = r"""
exists: {description: Whether the service exists., returned: always, type: bool}
name: {description: Service name., returned: success and service exists, type: str}
state: {description: Current state., returned: success and service exists, type: str}
start_mode: {description: Start mode., returned: success and service exists, type: str}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.ansible.windows.plugins.module_utils import _windouble as wd

START_MODES = {"auto": "Auto", "delayed": "Auto", "manual": "Manual", "disabled": "Disabled"}


def view(name, service):
    mode = wd.start_mode_word(service) or "auto"
    if mode == "auto" and service.get("DelayedAutoStart"):
        mode = "delayed"
    return {
        "exists": True, "name": name, "display_name": service.get("DisplayName"),
        "state": (service.get("State") or "stopped").lower(), "start_mode": mode,
        "path": service.get("PathName"), "can_pause_and_continue": False, "description": service.get("Description", ""),
        "username": service.get("username", "LocalSystem"), "desktop_interact": False,
        "dependencies": [], "depended_by": [],
    }


def handler(state, module):
    params = module.params
    services = state.setdefault("services", {})
    name = next((key for key in services if key.lower() == params["name"].lower()), None)
    if name is None:
        if params["state"] == "absent":
            return {"changed": False, "exists": False}
        if not params["path"]:
            raise wd.ModuleFail("Service '%s' is not installed, need to set 'path' to create a new service" % params["name"],
                                exists=False)
        if module.check_mode:
            return {"changed": True, "exists": True}
        name = params["name"]
        services[name] = {"DisplayName": params["display_name"] or name, "PathName": params["path"],
                          "State": "Stopped", "StartMode": "Auto", "product": None}
    service = services[name]
    changed = False

    def guard(action):
        if service.get("protected"):
            raise wd.ModuleFail("Failed to %s service %s: Access is denied" % (action, name), **view(name, service))

    if params["state"] == "absent":
        guard("remove")
        if not module.check_mode:
            del services[name]
        return {"changed": True, "exists": False}
    if params["start_mode"]:
        wanted = START_MODES[params["start_mode"]]
        delayed = params["start_mode"] == "delayed"
        if service.get("StartMode") != wanted or bool(service.get("DelayedAutoStart")) != delayed:
            guard("change the start mode of")
            changed = True
            if not module.check_mode:
                service["StartMode"] = wanted
                service["DelayedAutoStart"] = delayed
    if params["state"] in ("started", "restarted") or (params["state"] == "paused" and service.get("State") != "Running"):
        if service.get("StartMode") == "Disabled" and not module.check_mode:
            raise wd.ModuleFail("Failed to start service %s: Cannot start service %s on computer '.'." % (name, name),
                                **view(name, service))
        if service.get("State") != "Running" or params["state"] == "restarted":
            if params["state"] == "restarted":
                guard("restart")
            changed = True
            if not module.check_mode:
                service["State"] = "Running"
    elif params["state"] == "stopped" and service.get("State") != "Stopped":
        guard("stop")
        changed = True
        if not module.check_mode:
            service["State"] = "Stopped"
    if params["display_name"] and params["display_name"] != service.get("DisplayName"):
        changed = True
        if not module.check_mode:
            service["DisplayName"] = params["display_name"]
    return dict(view(name, service), changed=changed)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            dependencies=dict(type="list", elements="str"),
            dependency_action=dict(type="str", default="set", choices=["add", "remove", "set"]),
            desktop_interact=dict(type="bool", default=False),
            description=dict(type="str"),
            display_name=dict(type="str"),
            error_control=dict(type="str", choices=["critical", "ignore", "normal", "severe"]),
            failure_actions=dict(type="list", elements="dict"),
            failure_actions_on_non_crash_failure=dict(type="bool"),
            failure_command=dict(type="str"),
            failure_reboot_msg=dict(type="str"),
            failure_reset_period_sec=dict(type="raw", aliases=["failure_reset_period"]),
            force_dependent_services=dict(type="bool", default=False),
            load_order_group=dict(type="str"),
            name=dict(type="str", required=True),
            path=dict(type="str"),
            password=dict(type="str", no_log=True),
            pre_shutdown_timeout_ms=dict(type="raw", aliases=["pre_shutdown_timeout"]),
            required_privileges=dict(type="list", elements="str"),
            service_type=dict(type="str", choices=["user_own_process", "user_share_process", "win32_own_process", "win32_share_process"]),
            sid_info=dict(type="str", choices=["none", "restricted", "unrestricted"]),
            start_mode=dict(type="str", choices=["auto", "delayed", "disabled", "manual"]),
            state=dict(type="str", choices=["absent", "paused", "started", "stopped", "restarted"]),
            update_password=dict(type="str", choices=["always", "on_create"]),
            username=dict(type="str"),
        ),
        supports_check_mode=True,
    )
    wd.run_module(module, "ansible.windows.win_service", handler)


if __name__ == "__main__":
    main()
