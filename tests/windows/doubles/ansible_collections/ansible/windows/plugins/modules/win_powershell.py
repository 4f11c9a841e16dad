# -*- coding: utf-8 -*-
# TEST DOUBLE of ansible.windows.win_powershell (fleetsec.divest tests/windows): never shipped.
# It runs no PowerShell: it recognises named scripts and answers from the host's JSON state.
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: win_powershell
short_description: TEST DOUBLE of ansible.windows.win_powershell
description:
  - 'Test double, never shipped. A script is recognised by its first line,
    C(# fleetsec.divest: <name>); unknown scripts fail.'
  - C(enable_realtime) turns Defender real-time protection on (C(Set-MpPreference
    -DisableRealtimeMonitoring $false)); with Tamper Protection (fault C(tamper_protected)), a
    policy C(DisableRealtimeMonitoring), or Defender not running, the cmdlet's error is returned
    in RV(error) and nothing changes (the task fails only with O(error_action=stop)).
  - 'C(eicar) writes the EICAR test file: C(result.detected) / C(output[0].detected) is true when
    Defender is active with real-time protection on.'
options:
  arguments: {type: list, elements: str, description: Arguments of the executable.}
  chdir: {type: str, description: Working directory.}
  creates: {type: str, description: Skip when this path exists.}
  depth: {type: int, default: 2, description: Serialisation depth.}
  error_action: {type: str, default: continue, choices: [silently_continue, continue, stop], description: ErrorActionPreference.}
  executable: {type: str, description: PowerShell executable.}
  parameters: {type: dict, description: Script parameters.}
  path: {type: str, description: Script path.}
  remote_src: {type: bool, default: false, description: Script path is on the host.}
  removes: {type: str, description: Skip when this path does not exist.}
  script: {type: str, description: Script text.}
  sensitive_parameters: {type: list, elements: dict, description: Secret parameters.}
author: [fleetsec.divest developers (test double)]
"""

RETURN = r"""
result: {description: $Ansible.Result., returned: always, type: raw}
host_out: {description: Host output., returned: always, type: str}
host_err: {description: Host error output., returned: always, type: str}
output: {description: Output objects., returned: always, type: list}
error: {description: Error records., returned: always, type: list}
warning: {description: Warnings., returned: always, type: list}
verbose: {description: Verbose messages., returned: always, type: list}
debug: {description: Debug messages., returned: always, type: list}
information: {description: Information records., returned: always, type: list}
"""

import re

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.ansible.windows.plugins.module_utils import _windouble as wd

MARKER = re.compile(r"\A\s*#\s*fleetsec\.divest:\s*(\S+)")
EICAR_THREAT = "Virus:DOS/EICAR_Test_File"


def error_record(message, target, category="NotSpecified", hresult="0x800106ba"):
    text = "Set-MpPreference : %s\r\nAt line:2 char:1\r\n" % message
    return {
        "output": text, "error_details": None,
        "exception": {"message": message, "type": "Microsoft.Management.Infrastructure.CimException",
                      "help_link": None, "source": "Microsoft.Management.Infrastructure", "hresult": -2146233088,
                      "inner_exception": None},
        "target_object": target,
        "category_info": {"category": category, "category_id": 0, "activity": "Set-MpPreference",
                          "reason": "CimException", "target_name": target, "target_type": "MSFT_MpPreference"},
        "fully_qualified_error_id": "HRESULT %s,Set-MpPreference" % hresult,
        "script_stack_trace": "at <ScriptBlock>, <No file>: line 2", "pipeline_iteration_info": [0, 1],
    }


def realtime(state):
    status = wd.defender_status(state)
    if status is None or status["AMRunningMode"] == "Not running":
        return [error_record("Operation failed with the following error: 0x800106ba. Operation: Set-MpPreference. "
                             "Target: DisableRealtimeMonitoring.", "DisableRealtimeMonitoring")]
    if status["IsTamperProtected"]:
        return [error_record("Operation failed with the following error: 0x%1!x!. Operation: Set-MpPreference. "
                             "Target: DisableRealtimeMonitoring.", "DisableRealtimeMonitoring", hresult="0x800106ba")]
    if wd.policy(state)["DisableRealtimeMonitoring"] == 1:
        return [error_record("Operation failed with the following error: 0x80070005. The setting DisableRealtimeMonitoring "
                             "is managed by Group Policy. Operation: Set-MpPreference.", "DisableRealtimeMonitoring",
                             category="PermissionDenied", hresult="0x80070005")]
    state.setdefault("defender", {})["realtime_disabled_locally"] = False
    return []


def handler(state, module):
    params = module.params
    if params["path"]:
        raise wd.DoubleError("double: win_powershell path= is not modelled; pass the script text")
    match = MARKER.match(params["script"] or "")
    name = match.group(1) if match else None
    result = {"changed": True, "result": {}, "host_out": "", "host_err": "", "output": [], "error": [],
              "warning": [], "verbose": [], "debug": [], "information": []}
    if name not in ("enable_realtime", "eicar"):
        raise wd.DoubleError("double: unknown script (first line must be '# fleetsec.divest: enable_realtime|eicar'): %r"
                             % (params["script"] or "").splitlines()[:1])
    if module.check_mode:
        result["msg"] = "skipped, running in check mode"
        return result
    if name == "enable_realtime":
        result["error"] = realtime(state)
        status = wd.defender_status(state)
        result["result"] = {"RealTimeProtectionEnabled": bool(status and status["RealTimeProtectionEnabled"])}
        result["output"] = [result["result"]["RealTimeProtectionEnabled"]]
    else:
        status = wd.defender_status(state)
        detected = bool(status and status["AntivirusEnabled"] and status["RealTimeProtectionEnabled"])
        answer = {"detected": detected, "threat": EICAR_THREAT if detected else None}
        state.setdefault("eicar_tests", []).append(answer)
        result["result"] = answer
        result["output"] = [answer]
        result["changed"] = False
    if result["error"] and params["error_action"] == "stop":
        raise wd.ModuleFail(result["error"][0]["exception"]["message"], **result)
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            arguments=dict(type="list", elements="str"),
            chdir=dict(type="str"),
            creates=dict(type="str"),
            depth=dict(type="int", default=2),
            error_action=dict(type="str", default="continue", choices=["silently_continue", "continue", "stop"]),
            executable=dict(type="str"),
            parameters=dict(type="dict"),
            path=dict(type="str"),
            remote_src=dict(type="bool", default=False),
            removes=dict(type="str"),
            script=dict(type="str"),
            sensitive_parameters=dict(type="list", elements="dict", no_log=False, options=dict(
                name=dict(type="str", required=True),
                username=dict(type="str"),
                password=dict(type="str", no_log=True),
                value=dict(type="str", no_log=True),
            )),
        ),
        required_one_of=[("path", "script")],
        mutually_exclusive=[("path", "script")],
        supports_check_mode=True,
    )
    wd.run_module(module, "ansible.windows.win_powershell", handler)


if __name__ == "__main__":
    main()
