# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action behind ``fleetsec.divest.plan_gate`` (documentation: plugins/modules/plan_gate.py).

Runs on the controller only, before any host is touched: loads the approved plan (file or
the hosts' ``divest_plan`` facts), refuses it with one clear message when the approved digest
is missing or does not match or the plan was edited, and returns the hosts in wave order, the
wave sizes for ``serial`` and each host's part.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.fleetsec.divest.plugins.plugin_utils import _execute
from ansible_collections.fleetsec.divest.plugins.plugin_utils._report import natural_key

display = Display()

ARGUMENT_SPEC = {
    "digest": {"type": "raw"},
    "source": {"type": "str", "default": "auto", "choices": ["auto", "file", "facts"]},
    "path": {"type": "path", "default": "divest-reports/divest-plan.json"},
    "pattern": {"type": "str", "default": "all"},
    "waves": {"type": "list", "elements": "str", "default": []},
    "limits": {"type": "dict", "default": {}, "options": {
        "canary": {"type": "int", "default": 0},
        "default": {"type": "int", "default": 10},
        "waves": {"type": "dict", "default": {}},
    }},
    "allow_wave_skip": {"type": "bool", "default": False},
}
FACT = "divest_plan"
OUTCOME = "divest_outcome"


def _candidates(task_vars, pattern, ignore_limits=False):
    """Inventory hosts matching ``pattern``, ``--limit`` applied (unless ``ignore_limits``), in
    inventory order."""
    hostvars = task_vars.get("hostvars")
    inventory = getattr(hostvars, "_inventory", None)
    if inventory is not None and hasattr(inventory, "get_hosts"):
        # ignore_restrictions: the play on localhost restricts the inventory to itself.
        return [h.name for h in inventory.get_hosts(pattern, ignore_restrictions=True, ignore_limits=ignore_limits)]
    groups = task_vars.get("groups") or {}
    if pattern in groups:
        return list(groups[pattern])
    names = [n.strip() for n in pattern.replace(";", ",").split(",") if n.strip()]
    known = set(groups.get("all", []))
    return [n for n in names if n in known]


def _fact_reader(task_vars, fact=FACT):
    """``read(name)``: host ``name``'s cached fact ``fact`` (the plan part, the outcome), or None."""
    hostvars = task_vars.get("hostvars") or {}
    manager = getattr(hostvars, "_variable_manager", None)
    cache = getattr(manager, "_fact_cache", None)
    volatile = getattr(manager, "_nonpersistent_fact_cache", None)

    def read(name):
        if cache is not None and hasattr(cache, "get"):
            extra = volatile.get(name) if isinstance(volatile, Mapping) else None
            if isinstance(extra, Mapping) and fact in extra:
                return extra[fact]
            try:
                facts = cache.get(name)
            except KeyError:
                facts = None
            except Exception:  # pylint: disable=broad-except  # a corrupt cache entry: nothing
                facts = None
            if isinstance(facts, Mapping) and fact in facts:
                return facts[fact]
            return None
        try:
            data = hostvars.raw_get(name) if hasattr(hostvars, "raw_get") else hostvars.get(name)
        except Exception:  # pylint: disable=broad-except
            return None
        if not isinstance(data, Mapping):
            return None
        facts = data.get("ansible_facts") or {}
        return facts.get(fact) if isinstance(facts, Mapping) and fact in facts else data.get(fact)

    return read


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        dummy, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        approved = args["digest"]
        approved = "" if approved is None else str(approved).strip()
        source = args["source"]
        path = os.path.abspath(os.path.expanduser(args["path"]))
        if source == "auto":
            source = "file" if os.path.exists(path) else "facts"

        targets = _candidates(task_vars, args["pattern"])
        try:
            if source == "file":
                document = _execute.load_plan_file(path)
                digest = _execute.check_plan(document, approved, where="the plan %s" % path)
                parts = _execute.parts_from_plan(document)
                waves = document.get("waves") or []
                reasons = _execute.reasons_from_plan(document)
                info = {"generated_at": document.get("generated_at"), "directive": document.get("directive"),
                        "path": path}
            else:
                approved = _execute.check_digest(approved)
                # every host's part, not only the targeted ones': the earlier waves must be known
                everyone = _candidates(task_vars, "all", ignore_limits=True)
                parts, reasons = _execute.parts_from_facts(everyone, _fact_reader(task_vars), approved)
                if not any(name in parts for name in targets):
                    raise _execute.GateError(
                        "no host of %r carries a plan part with the approved digest %s in its divest_plan fact. "
                        "Nothing was done. Was the plan stored in a persistent fact cache (divest_plan_store_host_facts, "
                        "AWX fact storage), and is this the digest of that plan?%s" % (
                            args["pattern"], approved,
                            " (%d host(s) carry a part of another plan)" % len(reasons) if reasons else ""))
                order = _execute.wave_order(parts, args["waves"])
                waves = [{"name": w, "kind": w if w in ("canary", "management") else "wave",
                          "hosts": sorted((h for h in parts if parts[h]["wave"] == w), key=natural_key)}
                         for w in order]
                digest = approved
                info = {"generated_at": None, "directive": None, "path": None}
            self._check_wave_order(waves, parts, targets, digest, args, task_vars)
            gate = _execute.gate(parts, targets, waves=waves, reasons=reasons, source=source)
        except _execute.GateError as exc:
            raise AnsibleActionFail(str(exc))

        gate.update(info)
        gate.update(digest=digest, run_id=uuid.uuid4().hex[:12], check_mode=bool(self._task.check_mode))
        counts = gate["counts"]
        msg = ("plan %s approved: %d host(s) to work on in %d wave(s) (%s)%s" % (
            digest, counts["targeted"], len(gate["waves"]),
            ", ".join("%s: %d" % (w["name"], w["size"]) for w in gate["waves"]) or "none",
            "; %d blocked" % counts["blocked"] if counts["blocked"] else ""))
        if gate["not_in_plan"]:
            msg += "; %d targeted host(s) not in the plan are left alone" % len(gate["not_in_plan"])
        if gate["not_targeted"]:
            msg += "; %d host(s) of the plan are not targeted by this run" % len(gate["not_targeted"])
        result.update(gate)
        result.update(changed=False, msg=msg)
        return result

    def _check_wave_order(self, waves, parts, targets, digest, args, task_vars):
        """Refuse a run whose targets (``--limit``, ``divest_hosts``) would work on a wave before an
        earlier one is finished, unless ``allow_wave_skip``."""
        targeted = [h for h in targets if h in parts]
        members = set(targeted)
        last = max((i for i, w in enumerate(waves) if members.intersection(w.get("hosts") or ())), default=-1)
        earlier = set()
        for wave in waves[:max(last, 0)]:
            earlier.update(h for h in wave.get("hosts") or () if h not in members)
        if not earlier:
            return
        read = _fact_reader(task_vars, OUTCOME)
        outcomes = {name: read(name) for name in earlier}
        problems = _execute.earlier_waves(waves, targeted, outcomes, digest, args["limits"])
        if not problems:
            return
        text = "; ".join(problems)
        if args["allow_wave_skip"]:
            display.warning("fleetsec.divest.plan_gate: running later waves before earlier ones are finished, as "
                            "allowed by divest_allow_wave_skip: %s" % text)
            return
        raise _execute.GateError(
            "this run targets hosts of a later wave while an earlier wave is not done: %s. Nothing was done. Run "
            "execute for the earlier waves first (without --limit, or with a limit that includes them), or set "
            "divest_allow_wave_skip=true to go ahead anyway." % text)
