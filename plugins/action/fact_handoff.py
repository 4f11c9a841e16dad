# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for fleetsec.divest.fact_handoff: carry findings, plan parts and outcomes
between AWX jobs on every ansible-core, sliced or not (plugin_utils._hostfacts: AwxFactFiles,
FindingsStore; docs/awx.md)."""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.utils.display import Display

from ansible_collections.fleetsec.divest.plugins.plugin_utils import _awx
from ansible_collections.fleetsec.divest.plugins.plugin_utils._action import ActionModuleBase
from ansible_collections.fleetsec.divest.plugins.plugin_utils._hostfacts import (
    AwxFactFiles,
    FindingsStore,
    HostFacts,
)

display = Display()


def sliced_without_store(found):
    return ("This identify job is one slice of the sliced AWX job template %r (workflow job %s), and AWX stores "
            "no facts for sliced jobs (ansible/awx#13863): the findings of this slice would reach neither the "
            "report nor the plan, which would scan these hosts again. Set divest_findings_store to a directory on "
            "a persistent path (docs/awx.md, 'The fact cache'), or set Job Slicing to 1. This slice's own report "
            "was written." % (found["template"], found.get("workflow_job_id") or "?"))


class ActionModule(ActionModuleBase):

    ARGUMENT_SPEC = dict(
        step=dict(type="str", required=True, choices=["start", "finish"]),
        phase=dict(type="str", required=True, choices=["identify", "plan", "execute", "report"]),
        pattern=dict(type="str", default="all"),
        store=dict(type="str", default=""),
    )
    HOST_LISTS = ("hosts",)
    RUN_ONCE = "fleetsec.divest.fact_handoff works for every host in one task: run it with run_once: true"

    def run_action(self, args, task_vars, result):
        facts = HostFacts(task_vars, loader=self._loader)
        names = args["hosts"] if args["hosts"] is not None else facts.names(args["pattern"])
        names = list(dict.fromkeys(names))
        cache = getattr(facts.variable_manager, "_fact_cache", None)
        files = AwxFactFiles(cache) if facts.fast else AwxFactFiles(None)
        store = FindingsStore(args["store"]) if args["store"] else None
        sliced = _awx.job_slice(task_vars)
        result.update(changed=False, hosts=len(names), naming=files.naming, loaded=0, saved=0,
                      store_loaded=0, store_saved=0, sliced=sliced is not None)
        try:
            if args["step"] == "start":
                self._start(names, facts, files, store, result)
            else:
                if args["phase"] == "identify" and sliced is not None and store is None:
                    raise AnsibleActionFail(sliced_without_store(sliced))
                self._finish(names, facts, files, store, _awx.in_job(task_vars), result)
        except OSError as exc:
            raise AnsibleActionFail("cannot hand the facts over between jobs: %s" % exc)
        result["msg"] = ("%s: %d host(s); fact cache naming %s: %d loaded from AWX's files, %d handed back; "
                         "findings store %s: %d loaded, %d written" % (
                             args["step"], len(names), files.naming, result["loaded"], result["saved"],
                             args["store"] or "off", result["store_loaded"], result["store_saved"]))

    @staticmethod
    def _start(names, facts, files, store, result):
        unreadable = {"awx": [], "store": []}
        try:
            ActionModule._take_in(names, facts, files, store, result, unreadable)
        finally:
            result["unreadable"] = [{"host": name, "source": source, "reason": reason}
                                    for source in ("awx", "store") for name, reason in unreadable[source]]
            if result["unreadable"]:
                where = {"awx": "AWX's fact file", "store": "findings store"}
                shown = ", ".join("%s (%s: %s)" % (item["host"], where[item["source"]], item["reason"])
                                  for item in result["unreadable"][:5])
                more = len(result["unreadable"]) - 5
                display.warning(
                    "fleetsec.divest.fact_handoff: %d file(s) with facts of this job's hosts cannot be read and were left "
                    "as they are: %s%s. No facts were taken from them: a host without findings from elsewhere counts as "
                    "never scanned (the plan scans it again, execute refuses it)."
                    % (len(result["unreadable"]), shown, " and %d more" % more if more > 0 else ""))

    @staticmethod
    def _take_in(names, facts, files, store, result, unreadable):
        result["loaded"] = files.load(names, unreadable["awx"])
        if store is None:
            return
        pending = []
        for name in names:
            stored = store.read(name, unreadable["store"])
            if stored is not None and FindingsStore.newer(stored, facts.value(name, FindingsStore.FACT)):
                pending.append((name, {FindingsStore.FACT: stored}, None))
        writer = facts.store()
        if pending and not writer.persistent:
            raise AnsibleActionFail("the findings store %s holds findings for %d host(s), but the fact cache is the "
                                    "non-persistent '%s' plugin: configure fact_caching = jsonfile (AWX: Enable Fact "
                                    "Storage) to use them" % (store.directory, len(pending), writer.name))
        writer.merge_many(pending)
        result["store_loaded"] = len(pending)

    @staticmethod
    def _finish(names, facts, files, store, awx, result):
        if store is not None:
            items = [(name, facts.value(name, FindingsStore.FACT)) for name in names]
            result["store_saved"] = store.write([(n, f) for n, f in items if f is not None])
        if awx:
            result["saved"] = files.save(names)
