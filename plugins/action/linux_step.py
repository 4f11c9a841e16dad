# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action behind ``fleetsec.divest.linux_step`` (documentation: plugins/modules/linux_step.py).

One step of execute on a Linux host in one task: the step's modules run on the host (the
journal, the collector, linux_remove, linux_cleanup, linux_reinstall_block, the ClamAV probe),
then the step is recorded as ``fleetsec.divest.execute_outcome`` records it (the same
``plugin_utils._outcome`` functions, the same fact). AWX stores every task's events for every
host: a step with its record in one task costs a start and an end event, not one pair for the
work and one for the bookkeeping (issue 13, item 7).

Whether the step runs in the host's mode, the never-unprotected guard and every text of the
outcome are ``_outcome``'s; this file only calls the modules in order. A failing module stops
the step: the task fails with the module's message and returns the state with the step named,
so that the role's rescue records the failure at it (a host that stopped answering is told
from a failure there, with a ping).
"""

from __future__ import annotations

from collections.abc import Mapping

from ansible.errors import AnsibleActionFail

from ansible_collections.fleetsec.divest.plugins.action.execute_outcome import FACT, hand_to_awx, working_state, utc_now
from ansible_collections.fleetsec.divest.plugins.plugin_utils import _outcome
from ansible_collections.fleetsec.divest.plugins.plugin_utils._action import ActionModuleBase
from ansible_collections.fleetsec.divest.plugins.plugin_utils._catalog import CatalogError, load_catalogs
from ansible_collections.fleetsec.divest.plugins.plugin_utils._hostfacts import FactStore, HostFacts
from ansible_collections.fleetsec.divest.plugins.plugin_utils._matcher import InventoryError, build_query, match, now_utc
from ansible_collections.fleetsec.divest.plugins.plugin_utils._text import to_jsonable

COLLECTOR = "fleetsec.divest.linux_inventory_info"
JOURNAL = "fleetsec.divest.linux_journal"
REMOVE = "fleetsec.divest.linux_remove"
CLEANUP = "fleetsec.divest.linux_cleanup"
BLOCK = "fleetsec.divest.linux_reinstall_block"
PROBE = "fleetsec.divest.linux_clamav_health"
#: What the step returns of each module's result (the job event stays small).
KEPT = ("changed", "msg", "counts", "removed_packages", "holds_released", "refused_paths", "steps", "health")

ARGUMENT_SPEC = {
    "step": {"type": "str", "required": True, "choices": list(_outcome.LINUX_STEPS)},
    "state": {"type": "dict", "required": True},
    "catalogs": {"type": "list", "elements": "str", "default": ["kaspersky"]},
    "allow_drift": {"type": "bool", "default": False},
    "action": {"type": "dict"},
    "actions": {"type": "list", "elements": "dict"},
    "vendor_dirs": {"type": "list", "elements": "str", "default": []},
    "password": {"type": "str", "no_log": True},
    "passwords": {"type": "dict", "no_log": True, "default": {}},
    "backup": {"type": "bool", "default": True},
    "kill_timeout": {"type": "int", "default": 10},
    "lock_timeout": {"type": "int", "default": 120},
    "remove_accounts": {"type": "bool", "default": True},
    "cleanups": {"type": "list", "elements": "dict", "default": []},
    "cleanup_repos": {"type": "bool", "default": True},
    "guard": {"type": "bool", "default": False},
    "block": {"type": "dict", "default": {}},
    "enabled": {"type": "bool", "default": True},
    "absent": {"type": "list", "elements": "dict", "default": []},
    "probe": {"type": "raw"},
    "ping_timeout": {"type": "int", "default": 300},
    "replacement": {"type": "dict"},
}


class StepFailed(Exception):
    """A module of the step failed (``msg``), or the host could not be reached for it."""

    def __init__(self, msg):
        super(StepFailed, self).__init__(msg)
        self.msg = msg


def removals(args):
    """The products the remove step removes, in plan order (``actions``, or the one ``action``)."""
    if args.get("actions") is not None:
        return [a for a in args["actions"] if isinstance(a, Mapping)]
    return [args["action"]] if args.get("action") else []


def vendor_dirs(args, action):
    """The vendor's own directories for a product's removal: ``vendor_dirs``, else those of the
    vendor's cleanup item (``cleanups``)."""
    if args["vendor_dirs"]:
        return args["vendor_dirs"]
    for item in args["cleanups"]:
        if isinstance(item, Mapping) and item.get("vendor") == action.get("vendor"):
            return list(item.get("vendor_dirs") or [])
    return []


def password_for(args, action):
    """The uninstall password for a product's removal: ``password`` when given; else, when its
    recipe needs one (``password`` not ``none``), ``passwords["<vendor>/<product>"]``, else
    ``passwords["<vendor>"]``; ``None`` when none is given (linux_remove then says what is missing)."""
    if args.get("password"):
        return args["password"]
    if ((action.get("removal") or {}).get("password") or "none") == "none":
        return None
    passwords = args.get("passwords") or {}
    vendor = action.get("vendor")
    value = passwords.get("%s/%s" % (vendor, action.get("product"))) or passwords.get(vendor)
    return value or None


def kept(answer):
    """The part of a module's answer the step returns."""
    return {k: answer[k] for k in KEPT if k in answer}


class ActionModule(ActionModuleBase):

    _requires_connection = True
    ARGUMENT_SPEC = ARGUMENT_SPEC
    SURVEY_TEXT = ("catalogs",)

    def run_action(self, args, task_vars, result):
        step = args["step"]
        if step == "remove" and args.get("actions") is None and not args.get("action"):
            raise AnsibleActionFail("step remove needs the plan's actions")
        state = working_state(args["state"], "step %s" % step)
        if args.get("replacement") is not None and _outcome.replacement_pending(state):
            # the replacement's role ran in the task before: its health is recorded here first, as
            # execute_outcome's replacement event would (a task and its two events less per host)
            state = _outcome.replacement(state, args["replacement"].get("health"))
        self._vars, self._answers, self._warnings = task_vars, [], []
        result["repair"] = False
        runs = _outcome.runs(state, step, check_mode=self.check_mode, enabled=args["enabled"])
        if step == "remove" and not removals(args):
            runs = False      # nothing to remove: the cleanup step checks the guard (its option guard)
        failed = None
        if runs:
            try:
                if args["guard"] and state["run"].get("mode") == "act":
                    # a plan without products to remove: the remove step did not check it
                    self._guard(state)
                _outcome.begin(state, step)
                state = getattr(self, "_" + step)(args, state, result)
            except StepFailed as exc:
                failed = exc.msg
        elif step == "block":
            # switched off (divest_block_reinstall): the step is passed, as a record of nothing
            state = _outcome.changed(state, "block_reinstall", [])
        outcome = _outcome.running(state)
        result.update(changed=any(a.get("changed") for a in self._answers), state=state, outcome=outcome,
                      status=outcome["status"], mode=state["run"].get("mode"), ran=runs, results=self._answers)
        if self._warnings:
            result["warnings"] = self._warnings
        if failed is not None:
            # the state names the step: the role's rescue records the failure at it (and a scan
            # that was made stays the host's divest fact, as identify's would)
            result.update(failed=True, msg=failed)
        elif not self.check_mode:
            result.setdefault("ansible_facts", {})[FACT] = outcome
            hand_to_awx(self, task_vars, result)

    # ------------------------------------------------------------------------------- modules

    def _module(self, name, module_args, what):
        """Runs one module on the host; its answer, or StepFailed when it failed or the host
        could not be reached."""
        answer = self._execute_module(module_name=name, module_args=module_args, task_vars=self._vars)
        self._warnings.extend(w for w in answer.get("warnings") or [] if isinstance(w, str))
        if answer.get("unreachable"):
            raise StepFailed("lost contact with the host during %s: %s" % (what, answer.get("msg") or "unreachable"))
        self._answers.append(dict(kept(answer), module=name.rsplit(".", 1)[-1]))
        if answer.get("failed"):
            raise StepFailed(answer.get("msg") or "%s failed" % what)
        return answer

    def _scan(self, args, result, what):
        """The host's ``divest`` facts, fresh (what fleetsec.divest.vendor_facts does, in this
        task); also returned as the fact, as identify stores it."""
        try:
            catalogs = load_catalogs(args["catalogs"])
        except CatalogError as exc:
            raise StepFailed("catalog error: %s" % exc)
        scanned_at = now_utc()
        collected = self._execute_module(module_name=COLLECTOR, module_args=build_query(catalogs, "linux"),
                                         task_vars=self._vars)
        if collected.get("unreachable"):
            raise StepFailed("lost contact with the host during %s: %s" % (what, collected.get("msg") or "unreachable"))
        if collected.get("failed") or "inventory" not in collected:
            raise StepFailed(collected.get("msg") or "the linux collector returned no inventory")
        try:
            facts = match(collected["inventory"], catalogs, scanned_at=scanned_at)
        except InventoryError as exc:
            raise StepFailed("the linux collector returned an unusable inventory: %s" % exc)
        result.setdefault("ansible_facts", {})["divest"] = facts
        return facts

    # --------------------------------------------------------------------------------- steps

    def _identify(self, args, state, result):
        outcome = state["outcome"]
        journal = self._module(JOURNAL, {"digest": outcome["digest"]}, "reading the host's journal")
        facts = self._scan(args, result, "re-identify")
        return _outcome.scanned(state, to_jsonable(facts), to_jsonable(journal.get("journal")), args["allow_drift"])

    def _guard(self, state):
        """Never unprotected: nothing is removed while the replacement is not known to protect
        the host (StepFailed at the remove step)."""
        refused = _outcome.guard(state, self.check_mode)
        if refused is not None:
            _outcome.begin(state, "remove")
            raise StepFailed(refused)

    def _remove(self, args, state, result):
        """Each product in plan order, the first failure stopping the host. After each product
        but the last, the outcome so far goes into the fact cache at once (and AWX's file): a run
        killed during the next one leaves the controller, as the host's journal, what was
        removed (the last is stored with the task's result)."""
        actions = removals(args)
        for number, action in enumerate(actions, 1):
            state = self._remove_one(args, action, state)
            if number < len(actions) and not self.check_mode:
                self._store_now(_outcome.running(state), result)
        return state

    def _remove_one(self, args, action, state):
        self._guard(state)
        outcome = state["outcome"]
        product = action.get("product")
        note = {"digest": outcome["digest"], "run_id": outcome["run_id"], "vendor": action.get("vendor"),
                "product": product, "from_state": action.get("state")}
        if action.get("version"):
            note["version"] = action["version"]
        # the host's journal says before and after that this plan removes the product: a run
        # killed in the middle is finished by a rerun of the same plan
        self._module(JOURNAL, dict(note, event="begin"), "noting the removal of %s" % product)
        remove = {"vendor": action.get("vendor"), "product": product, "removal": action.get("removal") or {},
                  "vendor_dirs": vendor_dirs(args, action), "backup": args["backup"], "kill_timeout": args["kill_timeout"],
                  "lock_timeout": args["lock_timeout"], "remove_accounts": args["remove_accounts"]}
        password = password_for(args, action)
        if password:
            remove["password"] = password
        answer = self._module(REMOVE, remove, "the removal of %s" % product)
        self._module(JOURNAL, dict(note, event="done", packages=answer.get("removed_packages") or []),
                     "noting the removal of %s" % product)
        return _outcome.removed(state, to_jsonable(action), to_jsonable(answer), utc_now())

    def _store_now(self, outcome, result):
        """The outcome into the fact cache (and, in an AWX job on 2.19+, AWX's file) now, before the
        task ends; one that cannot be stored is a warning (the task's result stores it)."""
        facts = {FACT: outcome}
        name = self._vars.get("inventory_hostname")
        try:
            view = HostFacts(self._vars, loader=self._loader)
            store = FactStore(view.variable_manager)
            if store.persistent:
                store.merge(name, facts)
        except Exception as exc:  # pylint: disable=broad-exception-caught
            self._warnings.append("the outcome of %s was not stored before the end of the step: %s" % (name, exc))
        handed = {"ansible_facts": facts}
        hand_to_awx(self, self._vars, handed)
        self._warnings.extend(handed.get("warnings") or [])   # AWX's file not written now: said, not lost

    def _cleanup(self, args, state, result):
        answers = []
        for item in args["cleanups"]:
            removal = item.get("removal") or {}
            answers.append(self._module(CLEANUP, {
                "vendor": item.get("vendor"), "residue": removal.get("residue") or [],
                "residue_files": removal.get("residue_files") or [], "vendor_dirs": item.get("vendor_dirs") or [],
                "repo_patterns": (item.get("repo_patterns") or []) if args["cleanup_repos"] else [],
                "repo_files": removal.get("repo_files") or [], "config_edits": removal.get("config_edits") or [],
                "backup": args["backup"]}, "the cleanup of %s" % item.get("vendor")))
        return _outcome.changed(state, "cleanup", to_jsonable(answers))

    def _block(self, args, state, result):
        answers = [self._module(BLOCK, {"vendor": vendor, "packages": args["block"].get("packages") or [],
                                        "backup": args["backup"]}, "the reinstall block")
                   for vendor in args["block"].get("vendors") or []]
        return _outcome.changed(state, "block_reinstall", to_jsonable(answers))

    def _verify(self, args, state, result):
        # the scan after the work is recorded before ClamAV is checked: a replacement that fails
        # its check now is judged on the host as it is after the removal (unprotected)
        facts = self._scan(args, result, "the scan after the removal")
        state = _outcome.verified(state, to_jsonable(facts), None, to_jsonable(args["absent"]), args["allow_drift"])
        if args["enabled"] and state["run"].get("replacement") == "clamav":
            health = None
            if isinstance(args.get("probe"), Mapping):
                # read only; the EICAR string is the module's own (never in a task argument)
                probe = dict(args["probe"], probes=["database", "health"], ping_timeout=args["ping_timeout"])
                health = self._module(PROBE, probe, "the check of ClamAV").get("health")
            if _outcome.needs_repair(state, health):
                # not proven healthy: the role runs again (the next task) and its health is recorded
                result["repair"] = True
                return state
            state = _outcome.verified(state, None, to_jsonable(health))
        refused = _outcome.verdict_failure(state)
        if refused is not None:
            raise StepFailed(refused)
        return state
