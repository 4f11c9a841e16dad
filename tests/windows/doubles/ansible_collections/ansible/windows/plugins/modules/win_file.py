# -*- coding: utf-8 -*-
# TEST DOUBLE of ansible.windows.win_file (fleetsec.divest tests/windows): never shipped.
# It changes the host's JSON state (module_utils/_windouble.py), paths and links sections.
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: win_file
short_description: TEST DOUBLE of ansible.windows.win_file
description:
  - Test double, never shipped. C(state=absent) drops the path and everything below it from the
    state; a link (junction or symbolic link, the state's C(links)) inside it is removed as a
    link, as the real module does. Deleting a link's target, or anything inside or above it,
    is refused loudly (the task fails with C(DOUBLE VIOLATION) and the state records it in
    C(violations)); the flow must never reach data outside the vendor's footprint.
options:
  path: {type: path, required: true, aliases: [dest, name], description: Path.}
  state: {type: str, choices: [absent, directory, file, touch], description: State.}
  modification_time: {type: str, description: Modification time.}
  modification_time_format: {type: str, default: 'yyyy-MM-dd HH:mm:ss', description: Its format.}
  access_time: {type: str, description: Access time.}
  access_time_format: {type: str, default: 'yyyy-MM-dd HH:mm:ss', description: Its format.}
author: [fleetsec.divest developers (test double)]
"""

RETURN = r"""
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.ansible.windows.plugins.module_utils import _windouble as wd


def handler(state, module):
    params = module.params
    path = wd.norm_path(params["path"])
    paths = state.setdefault("paths", {})
    links = state.setdefault("links", {})
    exists = wd.path_exists(state, path)
    wanted = params["state"]
    if wanted == "absent":
        if not exists:
            return {"changed": False}
        for link, target in links.items():
            if wd.under(target, path) or wd.under(path, target):
                violation = {"path": path, "link": link, "target": target}
                state.setdefault("violations", []).append(violation)
                raise wd.ModuleFail("DOUBLE VIOLATION: deleting %s reaches %s, the target of link %s: "
                                    "data outside the vendor's footprint would be lost" % (path, target, link))
        if not module.check_mode:
            wd.remove_path(state, path)
        return {"changed": True}
    stored = next((key for key in paths if wd.path_key(key) == wd.path_key(path)), None)
    if exists:
        kind = paths[stored].get("type", "directory") if stored else "directory"
        if wd.path_key(path) in {wd.path_key(link) for link in links}:
            kind = "directory"
        if wanted == "directory" and kind == "file":
            raise wd.ModuleFail("path %s is not a directory" % path)
        if wanted == "file" and kind == "directory":
            raise wd.ModuleFail("path %s is not a file" % path)
        return {"changed": wanted == "touch"}
    if wanted == "file":
        raise wd.ModuleFail("path %s will not be created" % path)
    if wanted is None:
        wanted = "directory" if path.endswith("\\") else "file"
        if wanted == "file":
            raise wd.ModuleFail("path %s will not be created" % path)
    if not module.check_mode:
        paths[path] = {"type": "file" if wanted == "touch" else "directory"}
    return {"changed": True}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True, aliases=["dest", "name"]),
            state=dict(type="str", choices=["absent", "directory", "file", "touch"]),
            modification_time=dict(type="str"),
            modification_time_format=dict(type="str", default="yyyy-MM-dd HH:mm:ss"),
            access_time=dict(type="str"),
            access_time_format=dict(type="str", default="yyyy-MM-dd HH:mm:ss"),
        ),
        supports_check_mode=True,
    )
    wd.run_module(module, "ansible.windows.win_file", handler)


if __name__ == "__main__":
    main()
