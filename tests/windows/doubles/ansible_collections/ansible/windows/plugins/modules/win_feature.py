# -*- coding: utf-8 -*-
# TEST DOUBLE of ansible.windows.win_feature (fleetsec.divest tests/windows): never shipped.
# It changes the host's JSON state (module_utils/_windouble.py), features section.
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: win_feature
short_description: TEST DOUBLE of ansible.windows.win_feature
description:
  - Test double, never shipped. Windows Server only (a client has no ServerManager cmdlets and
    fails as the real module does). Installing or removing a feature marks it pending until
    the next M(ansible.windows.win_reboot) and returns C(reboot_required=true).
options:
  name: {type: list, elements: str, required: true, description: Feature names.}
  state: {type: str, default: present, choices: [absent, present], description: State.}
  include_sub_features: {type: bool, default: false, description: Include sub-features.}
  include_management_tools: {type: bool, default: false, description: Include management tools.}
  source: {type: str, description: Source of the feature files.}
author: [fleetsec.divest developers (test double)]
"""

RETURN = r"""
exitcode: {description: The cmdlet's exit code., returned: always, type: str}
feature_result: {description: One entry per feature changed., returned: always, type: list}
reboot_required: {description: Whether a reboot completes the change., returned: always, type: bool}
success: {description: Whether the cmdlet succeeded., returned: always, type: bool}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.ansible.windows.plugins.module_utils import _windouble as wd

CLIENT_ERROR = ("Unhandled exception while executing module: The term '%s' is not recognized as the name of a cmdlet, "
                "function, script file, or operable program. Check the spelling of the name, or if a path was included, "
                "verify that the path is correct and try again.")
DISPLAY = {"windows-defender": "Microsoft Defender Antivirus", "windows-defender-features": "Windows Defender Features",
           "windows-defender-gui": "GUI for Windows Defender"}


def handler(state, module):
    params = module.params
    present = params["state"] == "present"
    if not wd.is_server(state):
        raise wd.ModuleFail(CLIENT_ERROR % ("Install-WindowsFeature" if present else "Uninstall-WindowsFeature"))
    if params["source"] and not wd.path_exists(state, params["source"]):
        raise wd.ModuleFail("Failed to find source path %s for feature install" % params["source"])
    features = state.setdefault("features", {})
    result = {"changed": False, "exitcode": "NoChangeNeeded", "feature_result": [], "reboot_required": False, "success": True}
    names = list(params["name"])
    if int(state["os"].get("build", 0)) == 14393:
        # Server 2016: Windows-Defender is a sub-feature of Windows-Defender-Features; the
        # double installs and removes them together.
        pair = {"windows-defender": "Windows-Defender-Features", "windows-defender-features": "Windows-Defender"}
        names += [pair[name.lower()] for name in names if name.lower() in pair]
    for name in names:
        stored = next((key for key in features if key.lower() == name.lower()), None)
        if stored is None:
            raise wd.ModuleFail("ArgumentNotValid: The role, role service, or feature name is not valid: '%s'. "
                                "The name was not found." % name, exitcode="InvalidArgs", success=False,
                                feature_result=[], reboot_required=False)
        current = features[stored]
        if present and current in ("installed", "install_pending"):
            continue
        if not present and current in ("available", "removal_pending"):
            continue
        result["feature_result"].append({
            "id": 0, "display_name": DISPLAY.get(stored.lower(), stored), "message": [],
            "reboot_required": True, "skip_reason": "NotSkipped", "success": True})
        result.update(changed=True, exitcode="SuccessRestartRequired", reboot_required=True)
        if not module.check_mode:
            if current in ("install_pending", "removal_pending"):
                features[stored] = "available" if present is False and current == "install_pending" else "installed"
            else:
                features[stored] = "install_pending" if present else "removal_pending"
            wd.note_reboot(state, "component_based_servicing")
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="list", elements="str", required=True),
            state=dict(type="str", default="present", choices=["absent", "present"]),
            include_sub_features=dict(type="bool", default=False),
            include_management_tools=dict(type="bool", default=False),
            source=dict(type="str"),
        ),
        supports_check_mode=True,
    )
    wd.run_module(module, "ansible.windows.win_feature", handler)


if __name__ == "__main__":
    main()
