# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action behind ``fleetsec.divest.win_cleanup`` (documentation: plugins/modules/win_cleanup.py).

Deletes what the removed products left behind on a Windows host - services, registry keys,
folders and files - as the post-removal scan shows them. ``plugin_utils._winremove.residue``
decides what may go; ``ansible.windows.win_service`` / ``win_regedit`` / ``win_file`` delete
it, one call per item, services first. In check mode the same modules run in check mode and
only tell what they would delete.
"""

from __future__ import annotations

from ansible_collections.fleetsec.divest.plugins.plugin_utils import _winremove as wr
from ansible_collections.fleetsec.divest.plugins.plugin_utils._action import ActionModuleBase
from ansible_collections.fleetsec.divest.plugins.plugin_utils._text import clean_text, text


class ActionModule(ActionModuleBase):
    _requires_connection = True

    ARGUMENT_SPEC = {
        "facts": {"type": "dict", "required": True},
        "removed": {"type": "list", "elements": "dict", "required": True},
        "leftovers": {"type": "bool", "default": False},
    }

    def run_action(self, args, task_vars, result):
        facts = args["facts"]
        if "findings" not in facts:  # a registered vendor_facts result, or {divest: ...}
            facts = (facts.get("ansible_facts") or {}).get("divest") or facts.get("divest") or facts
        removed = list(args["removed"])
        if args["leftovers"]:
            # the vendor-wide traces (the catalog's leftovers: its root keys and folders), which
            # the scan shows only once no product of the vendor is left
            vendors = sorted({text(r.get("vendor")) for r in removed if isinstance(r, dict) and r.get("vendor")})
            removed += [{"vendor": vendor, "product": "leftovers"} for vendor in vendors]
        decided = wr.residue(facts, removed)
        deleted, failures, unreachable = [], [], False
        for item in decided["delete"]:
            module, builder = wr.CLEANUP_MODULES[item["kind"]]
            if unreachable:
                failures.append(dict(item, error="not attempted: the host could not be reached"))
                continue
            answer = self._execute_module(module_name=module, module_args=builder(item["name"]), task_vars=task_vars)
            answer.pop("invocation", None)
            if answer.get("unreachable"):
                unreachable = True
            if answer.get("failed") or answer.get("unreachable"):
                failures.append(dict(item, error=clean_text(text(answer.get("msg") or "no message"), 300)))
            elif answer.get("changed"):
                deleted.append(dict(item))
        result["changed"] = bool(deleted)
        result["deleted"] = deleted
        result["refused"] = decided["refused"]
        result["needs_reboot"] = decided["needs_reboot"]
        result["counts"] = {"residue": len(deleted)}
        if failures:
            result["failures"] = failures
            result["failed"] = True
            if unreachable:
                result["unreachable"] = True
            result["msg"] = "could not delete %d item(s): %s" % (len(failures), "; ".join(
                "%s %s (%s)" % (f["kind"], clean_text(f["name"], 200), f["error"]) for f in failures[:10]))
            if len(failures) > 10:
                result["msg"] += "; and %d more" % (len(failures) - 10)
            return
        verb = "would delete" if self.check_mode else "deleted"
        parts = ["%s %d item(s)" % (verb, len(deleted))]
        if decided["refused"]:
            parts.append("refused %d" % len(decided["refused"]))
        if decided["needs_reboot"]:
            parts.append("%d driver(s) stay loaded until a restart" % len(decided["needs_reboot"]))
        result["msg"] = ", ".join(parts)
