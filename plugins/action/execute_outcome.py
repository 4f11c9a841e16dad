# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action behind ``fleetsec.divest.execute_outcome`` (documentation: plugins/modules/execute_outcome.py).

Controller only. Each call is one event of a host's execute run (``plugin_utils._outcome``):
it returns the new working state (to register and pass to the next event) and, outside check
mode, the outcome as the fact ``divest_outcome`` in plain JSON types, so that the fact cache
holds what was done after every step. ``set_fact`` would store the values with ansible-core's
data tags (the playbook line each string came from), which AWX keeps per host.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping

from ansible.errors import AnsibleActionFail

from ansible_collections.fleetsec.divest.plugins.plugin_utils import _outcome
from ansible_collections.fleetsec.divest.plugins.plugin_utils._action import ActionModuleBase
from ansible_collections.fleetsec.divest.plugins.plugin_utils._hostfacts import record_for_awx
from ansible_collections.fleetsec.divest.plugins.plugin_utils._text import to_jsonable

FACT = "divest_outcome"
ARGUMENT_SPEC = {
    "event": {"type": "str", "required": True, "choices": list(_outcome.EVENTS)},
    "state": {"type": "dict"},
    "part": {"type": "dict"},
    "previous": {"type": "raw"},
    "gate": {"type": "dict"},
    "facts": {"type": "raw"},
    "journal": {"type": "raw"},
    "allow_drift": {"type": "bool", "default": False},
    "health": {"type": "raw"},
    "action": {"type": "dict"},
    "result": {"type": "raw"},
    "results": {"type": "list", "elements": "raw", "default": []},
    "step": {"type": "str"},
    "message": {"type": "str"},
    "down": {"type": "bool", "default": False},
    "absent": {"type": "list", "elements": "dict", "default": []},
    "policy": {"type": "str", "default": "when_required"},
    "before": {"type": "bool", "default": False},
    "pending": {"type": "bool", "default": True},
}
#: What each event needs besides ``state``.
REQUIRED = {"start": ("part", "gate"), "removing": ("action",), "removed": ("action",), "changed": ("step",),
            "failed": ("step", "message")}


def _reached(value, what):
    """``value`` (a registered task result, or a list of them), or AnsibleActionFail when the
    host could not be reached for it: the role's rescue then tells unreachable from failed."""
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, Mapping) and item.get("unreachable"):
            raise AnsibleActionFail("lost contact with the host during %s: %s" % (what, item.get("msg") or "unreachable"))
    return value


def _facts_of(result, what):
    """The ``divest`` facts of a registered vendor_facts result (or the facts themselves);
    None for a task that was skipped."""
    _reached(result, what)
    if isinstance(result, Mapping) and result.get("skipped"):
        return None
    if isinstance(result, Mapping) and isinstance(result.get("ansible_facts"), Mapping):
        return result["ansible_facts"].get("divest")
    if isinstance(result, Mapping) and result.get("failed"):
        raise AnsibleActionFail("%s failed: %s" % (what, result.get("msg") or "no message"))
    return result


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def working_state(state, what):
    """A copy of the working state an event returned (plain JSON types), or AnsibleActionFail."""
    if not isinstance(state, Mapping) or not isinstance(state.get("outcome"), Mapping) \
            or not isinstance(state.get("run"), Mapping):
        raise AnsibleActionFail("%s needs the state returned by the previous event (state)" % what)
    return to_jsonable(state)


def apply(args, check_mode=False, now=None):
    """The new state for one event (``args`` validated as ARGUMENT_SPEC says)."""
    event = args["event"]
    missing = [k for k in REQUIRED.get(event, ()) if args.get(k) is None]
    if missing:
        raise AnsibleActionFail("event %s needs %s" % (event, ", ".join(missing)))
    now = now or utc_now()
    if event == "start":
        return _outcome.start(to_jsonable(args["part"]), to_jsonable(args.get("previous")), args["gate"], now,
                              check_mode=check_mode)
    state = working_state(args.get("state"), "event %s" % event)
    if event == "scanned":
        journal = _reached(args.get("journal"), "reading the host's journal")
        if isinstance(journal, Mapping) and "journal" in journal:
            journal = journal["journal"]
        facts = _facts_of(args.get("result") if args.get("result") is not None else args.get("facts"), "re-identify")
        return _outcome.scanned(state, to_jsonable(facts), to_jsonable(journal), args["allow_drift"])
    if event == "replacement":
        return _outcome.replacement(state, to_jsonable(args.get("health")))
    if event == "removing":
        return _outcome.removing(state, to_jsonable(args["action"]), now)
    if event == "rebooted":
        result = _reached(args.get("result"), "the reboot")
        return _outcome.rebooted(state, to_jsonable(result), args["policy"], args["before"], args["pending"])
    if event == "removed":
        result = _reached(args.get("result"), "the removal of %s" % args["action"].get("product"))
        return _outcome.removed(state, to_jsonable(args["action"]), to_jsonable(result), now)
    if event == "changed":
        return _outcome.changed(state, args["step"], to_jsonable(_reached(args["results"], args["step"])))
    if event == "verified":
        facts = _facts_of(args.get("result") if args.get("result") is not None else args.get("facts"),
                          "the scan after the removal")
        return _outcome.verified(state, to_jsonable(facts), to_jsonable(args.get("health")),
                                 to_jsonable(args["absent"]), args["allow_drift"])
    if event == "failed":
        return _outcome.failed(state, args["step"], args["message"], args["down"], to_jsonable(args.get("health")))
    return _outcome.finish(state, now)


def hand_to_awx(action, task_vars, result):
    """In an AWX job on ansible-core 2.19+, the facts ``result`` sets go into AWX's ``<host>``
    fact file at once, so that a cancelled or killed job still leaves AWX each host's outcome as
    recorded so far (docs/awx.md, section 5). A file that cannot be written is a warning: the
    job's last task writes it again."""
    facts = result.get("ansible_facts")
    if not facts:
        return
    name = task_vars.get("inventory_hostname")
    try:
        record_for_awx(task_vars, action._loader, name, facts)  # pylint: disable=protected-access
    except (OSError, ValueError) as exc:
        result.setdefault("warnings", []).append(
            "AWX's fact file of %s was not updated now (the job's end hands the facts over): %s" % (name, exc))


class ActionModule(ActionModuleBase):

    ARGUMENT_SPEC = ARGUMENT_SPEC

    def run_action(self, args, task_vars, result):
        check_mode = self.check_mode
        state = apply(args, check_mode=check_mode)
        outcome = _outcome.running(state)
        result.update(changed=False, state=state, outcome=outcome, status=outcome["status"],
                      mode=state["run"].get("mode"))
        # A check run never replaces the outcome of a real one in the fact cache.
        if not check_mode:
            result["ansible_facts"] = {FACT: outcome}
            hand_to_awx(self, task_vars, result)
