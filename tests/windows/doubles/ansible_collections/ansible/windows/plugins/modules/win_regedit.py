# -*- coding: utf-8 -*-
# TEST DOUBLE of ansible.windows.win_regedit (fleetsec.divest tests/windows): never shipped.
# It changes the host's JSON state (module_utils/_windouble.py), registry section.
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: win_regedit
short_description: TEST DOUBLE of ansible.windows.win_regedit
description:
  - Test double, never shipped. Creates and deletes keys and values in the registry of the
    host's JSON state; the Defender policy values live there too. O(hive) is not modelled.
options:
  path: {type: str, required: true, aliases: [key], description: Registry key path.}
  name: {type: str, aliases: [entry, value], description: Value name.}
  data: {type: raw, description: Value data.}
  type: {type: str, default: string, aliases: [datatype], choices: [none, binary, dword, expandstring, multistring, string, qword], description: Value type.}
  state: {type: str, default: present, choices: [absent, present], description: State.}
  delete_key: {type: bool, default: true, description: Delete the whole key when state=absent and no name.}
  hive: {type: path, description: Hive file to load (not modelled).}
author: [fleetsec.divest developers (test double)]
"""

RETURN = r"""
data_changed: {description: Whether the data changed., returned: success, type: bool}
data_type_changed: {description: Whether the type changed., returned: success, type: bool}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.ansible.windows.plugins.module_utils import _windouble as wd


def convert(kind, data):
    if data is None:
        return 0 if kind in ("dword", "qword") else ([] if kind == "multistring" else ("" if kind != "none" else None))
    if kind in ("dword", "qword"):
        value = int(data, 0) if isinstance(data, str) else int(data)
        limit = 0xffffffff if kind == "dword" else 0xffffffffffffffff
        if value > limit:
            raise wd.ModuleFail("data cannot be larger than 0x%x when type is %s" % (limit, kind))
        return value
    if kind == "multistring":
        return list(data) if isinstance(data, list) else [str(data)]
    if kind == "binary":
        return data
    return str(data)


def handler(state, module):
    params = module.params
    registry = state.setdefault("registry", {})
    path = wd.reg_key(params["path"])
    if path is None:
        raise wd.ModuleFail("path: %s is not a valid powershell path, see module documentation for examples." % params["path"])
    stored = wd.find_key(registry, path)
    exists = wd.key_exists(registry, path)
    result = {"changed": False, "data_changed": False, "data_type_changed": False}
    name = params["name"]
    if params["state"] == "absent":
        if not exists:
            return result
        if name is None:
            if params["delete_key"]:
                result["changed"] = True
                if not module.check_mode:
                    for key in list(registry):
                        if wd.fold(key) == wd.fold(path) or wd.fold(key).startswith(wd.fold(path) + "\\"):
                            del registry[key]
            elif stored and "" in registry[stored]:
                result["changed"] = True
                if not module.check_mode:
                    del registry[stored][""]
            return result
        values = registry.get(stored, {}) if stored else {}
        actual = next((key for key in values if key.lower() == name.lower()), None)
        if actual is not None:
            result["changed"] = True
            if not module.check_mode:
                del values[actual]
        return result
    if stored is None:
        result["changed"] = True
        if module.check_mode:
            return result
        registry[path] = {}
        stored = path
    if name is None:
        return result
    values = registry[stored]
    data = convert(params["type"], params["data"])
    actual = next((key for key in values if key.lower() == name.lower()), None)
    if actual is None:
        result.update(changed=True, data_changed=True, data_type_changed=True)
    else:
        if values[actual].get("data") != data:
            result.update(changed=True, data_changed=True)
        if values[actual].get("type") != params["type"]:
            result.update(changed=True, data_type_changed=True)
        if result["changed"] and not module.check_mode:
            del values[actual]
    if result["changed"] and not module.check_mode:
        values[name] = {"type": params["type"], "data": data}
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="str", required=True, aliases=["key"]),
            name=dict(type="str", aliases=["entry", "value"]),
            data=dict(type="raw"),
            type=dict(type="str", default="string", aliases=["datatype"],
                      choices=["none", "binary", "dword", "expandstring", "multistring", "string", "qword"]),
            state=dict(type="str", default="present", choices=["absent", "present"]),
            delete_key=dict(type="bool", default=True),
            hive=dict(type="path"),
        ),
        supports_check_mode=True,
    )
    wd.run_module(module, "ansible.windows.win_regedit", handler)


if __name__ == "__main__":
    main()
