# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action behind ``fleetsec.divest.vendor_facts`` (documentation: plugins/modules/vendor_facts.py).

One module round trip per host: the catalog becomes a small query, the platform's collector
gathers what matches it, and the matcher turns the answer into ``ansible_facts.divest`` here
on the controller.
"""

from __future__ import annotations

from ansible.errors import AnsibleActionFail

from ansible_collections.fleetsec.divest.plugins.plugin_utils._action import ActionModuleBase
from ansible_collections.fleetsec.divest.plugins.plugin_utils._catalog import (
    CatalogError,
    load_catalogs,
)
from ansible_collections.fleetsec.divest.plugins.plugin_utils._matcher import (
    InventoryError,
    build_query,
    match,
    now_utc,
)

COLLECTORS = {"linux": "fleetsec.divest.linux_inventory_info", "windows": "fleetsec.divest.win_inventory_info"}


class ActionModule(ActionModuleBase):
    # Check mode changes nothing here: the collector only reads, so identify returns real
    # findings under --check.
    _requires_connection = True

    ARGUMENT_SPEC = {
        "catalogs": {"type": "list", "elements": "str", "default": ["kaspersky"]},
        "root": {"type": "path"},
        "return_inventory": {"type": "bool", "default": False},
        "platform": {"type": "str", "default": "auto", "choices": ["auto", "linux", "windows"]},
    }
    SURVEY_TEXT = ("catalogs",)

    def _platform(self, args):
        if args["platform"] != "auto":
            return args["platform"]
        shell = getattr(self._connection, "_shell", None)
        return "windows" if getattr(shell, "SHELL_FAMILY", None) == "powershell" else "linux"

    def run_action(self, args, task_vars, result):
        try:
            catalogs = load_catalogs(args["catalogs"])
        except CatalogError as exc:
            raise AnsibleActionFail("catalog error: %s" % exc)

        platform = self._platform(args)
        query = build_query(catalogs, platform)
        if args.get("root"):
            if platform == "windows":
                raise AnsibleActionFail("root is supported on Linux hosts only")
            query["root"] = args["root"]

        scanned_at = now_utc()
        collected = self._execute_module(module_name=COLLECTORS[platform], module_args=query,
                                         task_vars=task_vars)
        if collected.get("failed") or "inventory" not in collected:
            result.update(collected)
            result["failed"] = True
            result.setdefault("msg", "the %s collector returned no inventory" % platform)
            return

        try:
            facts = match(collected["inventory"], catalogs, scanned_at=scanned_at)
        except InventoryError as exc:
            raise AnsibleActionFail("the %s collector returned an unusable inventory: %s" % (platform, exc))

        result["changed"] = False
        result["ansible_facts"] = {"divest": facts}
        if args["return_inventory"]:
            result["inventory"] = collected["inventory"]
