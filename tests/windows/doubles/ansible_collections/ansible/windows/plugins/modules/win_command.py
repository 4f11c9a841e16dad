# -*- coding: utf-8 -*-
# TEST DOUBLE of ansible.windows.win_command (fleetsec.divest tests/windows): never shipped.
# It knows a few commands only and answers from the host's JSON state (module_utils/_windouble.py).
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: win_command
short_description: TEST DOUBLE of ansible.windows.win_command
description:
  - Test double, never shipped. Understands C(MpCmdRun.exe -SignatureUpdate) (with C(-UNC),
    C(-MMPC), C(-Path)), C(MpCmdRun.exe -wdenable) and the offline definition package
    (C(mpam-fe.exe), C(mpam-feX64.exe)); any other command fails with C(double - unknown command).
options:
  _raw_params: {type: str, description: The free-form command.}
  cmd: {type: str, description: The command line.}
  argv: {type: list, elements: str, description: The command as a list.}
  creates: {type: path, description: Skip when this path exists.}
  removes: {type: path, description: Skip when this path does not exist.}
  chdir: {type: path, description: Working directory.}
  stdin: {type: str, description: Data for stdin.}
  output_encoding_override: {type: str, description: Output encoding.}
author: [fleetsec.divest developers (test double)]
"""

RETURN = r"""
rc: {description: Return code., returned: changed, type: int}
stdout: {description: Standard output., returned: changed, type: str}
stderr: {description: Standard error., returned: changed, type: str}
cmd: {description: The command line., returned: changed, type: str}
"""

import datetime

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.ansible.windows.plugins.module_utils import _windouble as wd


def split(command):
    """A Windows command line as argv (double quotes group, backslashes literal)."""
    args, current, quoted, started = [], "", False, False
    for char in command:
        if char == '"':
            quoted = not quoted
            started = True
        elif char in " \t" and not quoted:
            if started:
                args.append(current)
            current, started = "", False
        else:
            current += char
            started = True
    if started:
        args.append(current)
    return args


def basename(path):
    return path.replace("/", "\\").rsplit("\\", 1)[-1].lower()


def run(state, argv):
    """(rc, stdout, stderr) of the known commands."""
    exe = basename(argv[0]) if argv else ""
    flags = [arg.lower() for arg in argv[1:]]
    faults = state.get("faults", {})
    service = wd.defender_service(state)
    running = bool(service) and service.get("State") == "Running"
    if exe == "mpcmdrun.exe" and "-signatureupdate" in flags:
        source = "-UNC" if "-unc" in flags else ("-MMPC" if "-mmpc" in flags else "default")
        if "-path" in flags:
            index = flags.index("-path")
            if index + 1 >= len(flags):
                return 2, "", "CmdTool: Invalid command line argument\r\n"
        if not running:
            return 2, "Signature update started . . .\r\n", "ERROR: Signature Update failed with hr: 0x800106ba\r\n"
        if "signature_update_fails" in faults:
            return 2, "Signature update started . . .\r\n", "ERROR: Signature Update failed with hr: 0x80070652\r\n"
        wd.signature_update(state)
        state.setdefault("signature_updates", []).append(source)
        return 0, "Signature update started . . .\r\nSignature update finished.\r\n", ""
    if exe == "mpcmdrun.exe" and "-wdenable" in flags:
        if not service:
            return 2, "", "ERROR: Microsoft Defender Antivirus is not installed\r\n"
        service["StartMode"] = "Auto"
        service["State"] = "Running"
        return 0, "", ""
    if exe in ("mpam-fe.exe", "mpam-fex64.exe", "mpam-fex86.exe"):
        if not running or "signature_update_fails" in faults:
            return -2147023838 if not running else 2, "", ""
        wd.signature_update(state)
        state.setdefault("signature_updates", []).append("offline")
        return 0, "", ""
    raise wd.DoubleError("double: unknown command: %s" % " ".join(argv))


def handler(state, module):
    params = module.params
    if params["argv"]:
        argv = list(params["argv"])
        command = " ".join('"%s"' % arg if " " in arg else arg for arg in argv)
    else:
        command = params["cmd"] or params["_raw_params"]
        argv = split(command)
    if params["creates"] and wd.path_exists(state, params["creates"]):
        return {"changed": False, "rc": 0, "msg": "skipped, since %s exists" % params["creates"], "cmd": command}
    if params["removes"] and not wd.path_exists(state, params["removes"]):
        return {"changed": False, "rc": 0, "msg": "skipped, since %s does not exist" % params["removes"], "cmd": command}
    start = datetime.datetime.now()
    if module.check_mode:
        return {"changed": True, "cmd": command, "msg": "skipped, running in check mode"}
    rc, stdout, stderr = run(state, argv)
    end = datetime.datetime.now()
    result = {
        "changed": True, "cmd": command, "rc": rc, "stdout": stdout, "stderr": stderr,
        "stdout_lines": stdout.splitlines(), "stderr_lines": stderr.splitlines(),
        "start": start.strftime("%Y-%m-%d %H:%M:%S.%f"), "end": end.strftime("%Y-%m-%d %H:%M:%S.%f"),
        "delta": str(end - start),
    }
    if rc != 0:
        raise wd.ModuleFail("non-zero return code", **result)
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            _raw_params=dict(type="str"),
            cmd=dict(type="str"),
            argv=dict(type="list", elements="str"),
            creates=dict(type="path"),
            removes=dict(type="path"),
            chdir=dict(type="path"),
            stdin=dict(type="str"),
            output_encoding_override=dict(type="str"),
        ),
        required_one_of=[("_raw_params", "cmd", "argv")],
        mutually_exclusive=[("_raw_params", "cmd", "argv")],
        supports_check_mode=True,
    )
    wd.run_module(module, "ansible.windows.win_command", handler)


if __name__ == "__main__":
    main()
