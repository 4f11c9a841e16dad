# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action behind ``fleetsec.divest.execute_outcome`` (documentation: plugins/modules/execute_outcome.py).

Controller only. Returns the host's outcome as the fact ``divest_outcome`` in plain JSON types:
``set_fact`` would store the values with ansible-core's data tags (the playbook line each string
came from) in the fact cache, which AWX keeps per host.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.fleetsec.divest.plugins.plugin_utils._report import to_jsonable

FACT = "divest_outcome"
STATUSES = ("running", "removed", "already_clean", "would_remove", "blocked", "drifted", "failed", "unreachable")
KEYS = ("status", "reason", "digest", "run_id", "wave", "step", "started_at", "finished_at", "removed",
        "remaining", "changes", "replacement", "check_mode")
REPLACEMENT_KEYS = ("product", "healthy", "checked", "reason", "version", "signatures")
MAX_TEXT = 2000


def _clip(value, limit=MAX_TEXT):
    if isinstance(value, str) and len(value) > limit:
        return value[:limit] + "..."
    return value


def build(args, now=None):
    """The outcome fact from the task's ``outcome`` argument (plain types, known keys only)."""
    outcome = args.get("outcome")
    if not isinstance(outcome, Mapping):
        raise AnsibleActionFail("outcome must be a mapping")
    out = {key: to_jsonable(outcome.get(key)) for key in KEYS}
    if out["status"] not in STATUSES:
        raise AnsibleActionFail("outcome.status must be one of %s, got %r" % (", ".join(STATUSES), out["status"]))
    out["reason"] = _clip(out["reason"])
    if args.get("finished"):
        moment = now or datetime.datetime.now(datetime.timezone.utc)
        out["finished_at"] = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    repl = out.get("replacement")
    if isinstance(repl, Mapping):
        out["replacement"] = {k: _clip(repl.get(k), 600) for k in REPLACEMENT_KEYS if k in repl}
    elif repl is not None:
        out["replacement"] = None
    for key in ("removed", "remaining"):
        if not isinstance(out[key], list):
            out[key] = []
    if not isinstance(out["changes"], dict):
        out["changes"] = {}
    out["check_mode"] = bool(out["check_mode"])
    return out


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True
    _VALID_ARGS = frozenset(("outcome", "finished"))

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        outcome = build(self._task.args)
        result.update(changed=False, ansible_facts={FACT: outcome})
        return result
