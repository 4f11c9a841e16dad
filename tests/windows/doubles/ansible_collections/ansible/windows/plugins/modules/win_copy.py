# -*- coding: utf-8 -*-
# TEST DOUBLE of ansible.windows.win_copy (fleetsec.divest tests/windows): never shipped.
# It records the copy in the host's JSON state (module_utils/_windouble.py); no file moves.
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: win_copy
short_description: TEST DOUBLE of ansible.windows.win_copy
description:
  - Test double, never shipped. Records O(dest) as a file of the host's state (its content in
    C(files) when O(content) is given) and returns what the real module returns.
options:
  content: {type: str, description: Content of dest.}
  decrypt: {type: bool, default: true, description: Decrypt vaulted files.}
  dest: {type: path, required: true, description: Destination.}
  backup: {type: bool, default: false, description: Keep a backup.}
  force: {type: bool, default: true, description: Replace an existing dest.}
  local_follow: {type: bool, default: true, description: Follow local links.}
  remote_src: {type: bool, default: false, description: src is on the host.}
  src: {type: path, description: Source.}
author: [fleetsec.divest developers (test double)]
"""

RETURN = r"""
dest: {description: Destination., returned: changed, type: str}
src: {description: Source., returned: changed, type: str}
checksum: {description: SHA1 of the content., returned: success, type: str}
size: {description: Size in bytes., returned: changed, type: int}
operation: {description: file_copy or directory_copy., returned: success, type: str}
original_basename: {description: Basename of src., returned: changed, type: str}
"""

import hashlib

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.ansible.windows.plugins.module_utils import _windouble as wd


def handler(state, module):
    params = module.params
    if params["content"] is None and not params["src"]:
        raise wd.ModuleFail("src (or content) is required")
    dest = wd.norm_path(params["dest"])
    content = params["content"]
    data = (content or params["src"] or "").encode("utf-8")
    checksum = hashlib.sha1(data).hexdigest()
    src = params["src"]
    basename = (src or "").replace("/", "\\").rstrip("\\").rsplit("\\", 1)[-1] or None
    exists = wd.path_exists(state, dest)
    if params["remote_src"] and src and not wd.path_exists(state, src):
        raise wd.ModuleFail("cannot copy src file as it does not exist")
    changed = not exists or (params["force"] and state.get("files", {}).get(dest) != (content if content is not None else src))
    if changed and not module.check_mode:
        state.setdefault("paths", {})[dest] = {"type": "file"}
        state.setdefault("files", {})[dest] = content if content is not None else src
        state.setdefault("copies", []).append({"src": src, "dest": dest, "remote_src": params["remote_src"],
                                               "content_sha256": wd.sha256_text(content) if content is not None else None})
    return {"changed": changed, "dest": dest, "src": src, "checksum": checksum, "size": len(data),
            "operation": "file_copy", "original_basename": basename}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            content=dict(type="str", no_log=False),
            decrypt=dict(type="bool", default=True),
            dest=dict(type="path", required=True),
            backup=dict(type="bool", default=False),
            force=dict(type="bool", default=True),
            local_follow=dict(type="bool", default=True),
            remote_src=dict(type="bool", default=False),
            src=dict(type="path"),
        ),
        mutually_exclusive=[("content", "src")],
        supports_check_mode=True,
    )
    wd.run_module(module, "ansible.windows.win_copy", handler)


if __name__ == "__main__":
    main()
