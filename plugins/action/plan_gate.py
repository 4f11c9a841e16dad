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

from ansible_collections.fleetsec.divest.plugins.plugin_utils import _execute
from ansible_collections.fleetsec.divest.plugins.plugin_utils._catalog import CatalogError, load_catalogs
from ansible_collections.fleetsec.divest.plugins.plugin_utils._report import natural_key

ARGUMENT_SPEC = {
    "digest": {"type": "raw"},
    "source": {"type": "str", "default": "auto", "choices": ["auto", "file", "facts"]},
    "path": {"type": "path", "default": "divest-reports/divest-plan.json"},
    "pattern": {"type": "str", "default": "all"},
    "waves": {"type": "list", "elements": "str", "default": []},
    "catalogs": {"type": "list", "elements": "str", "default": ["kaspersky"]},
}
FACT = "divest_plan"


def _candidates(task_vars, pattern):
    """Inventory hosts matching ``pattern``, ``--limit`` applied, in inventory order."""
    hostvars = task_vars.get("hostvars")
    inventory = getattr(hostvars, "_inventory", None)
    if inventory is not None and hasattr(inventory, "get_hosts"):
        # ignore_restrictions: the play on localhost restricts the inventory to itself.
        return [h.name for h in inventory.get_hosts(pattern, ignore_restrictions=True)]
    groups = task_vars.get("groups") or {}
    if pattern in groups:
        return list(groups[pattern])
    names = [n.strip() for n in pattern.replace(";", ",").split(",") if n.strip()]
    known = set(groups.get("all", []))
    return [n for n in names if n in known]


def _fact_reader(task_vars):
    hostvars = task_vars.get("hostvars") or {}
    manager = getattr(hostvars, "_variable_manager", None)
    cache = getattr(manager, "_fact_cache", None)
    volatile = getattr(manager, "_nonpersistent_fact_cache", None)

    def read(name):
        if cache is not None and hasattr(cache, "get"):
            try:
                facts = cache.get(name)
            except KeyError:
                facts = None
            except Exception:  # pylint: disable=broad-except  # a corrupt cache entry: no part
                facts = None
            if isinstance(facts, Mapping) and FACT in facts:
                return facts[FACT]
            extra = volatile.get(name) if isinstance(volatile, Mapping) else None
            if isinstance(extra, Mapping) and FACT in extra:
                return extra[FACT]
            return None
        try:
            data = hostvars.raw_get(name) if hasattr(hostvars, "raw_get") else hostvars.get(name)
        except Exception:  # pylint: disable=broad-except
            return None
        if not isinstance(data, Mapping):
            return None
        facts = data.get("ansible_facts") or {}
        return facts.get(FACT) if isinstance(facts, Mapping) and FACT in facts else data.get(FACT)

    return read


def repo_patterns(catalogs):
    """``{vendor: [patterns]}`` of the catalogs' Linux leftover repository signatures."""
    out = {}
    for catalog in load_catalogs(catalogs):
        block = catalog.leftovers.platforms.get("linux")
        if block:
            sig, dummy = block
            out[catalog.vendor] = list(sig.texts.get("repos") or [])
    return out


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

        try:
            patterns = repo_patterns(args["catalogs"])
        except CatalogError as exc:
            raise AnsibleActionFail("catalog error: %s" % exc)
        candidates = _candidates(task_vars, args["pattern"])

        try:
            if source == "file":
                document = _execute.load_plan_file(path)
                digest = _execute.check_plan(document, approved, where="the plan %s" % path)
                parts = _execute.parts_from_plan(document)
                gate = _execute.gate(parts, candidates, waves=document.get("waves") or [],
                                     reasons=_execute.reasons_from_plan(document), source="file")
                info = {"generated_at": document.get("generated_at"), "directive": document.get("directive"),
                        "path": path}
            else:
                approved = _execute.check_digest(approved)
                parts, others = _execute.parts_from_facts(candidates, _fact_reader(task_vars), approved)
                if not parts:
                    raise _execute.GateError(
                        "no host of %r carries a plan part with the approved digest %s in its divest_plan fact. "
                        "Nothing was done. Was the plan stored in a persistent fact cache (divest_plan_store_host_facts, "
                        "AWX fact storage), and is this the digest of that plan?%s" % (
                            args["pattern"], approved,
                            " (%d host(s) carry a part of another plan)" % len(others) if others else ""))
                order = _execute.wave_order(parts, args["waves"])
                waves = [{"name": w, "kind": w if w in ("canary", "management") else "wave",
                          "hosts": sorted((h for h in parts if parts[h]["wave"] == w), key=natural_key)}
                         for w in order]
                gate = _execute.gate(parts, candidates, waves=waves, reasons=others, source="facts")
                digest = approved
                info = {"generated_at": None, "directive": None, "path": None}
        except _execute.GateError as exc:
            raise AnsibleActionFail(str(exc))

        gate.update(info)
        gate.update(digest=digest, run_id=uuid.uuid4().hex[:12], repo_patterns=patterns,
                    check_mode=bool(self._task.check_mode))
        counts = gate["counts"]
        msg = ("plan %s approved: %d host(s) to work on in %d wave(s) (%s)%s" % (
            digest, counts["targeted"], len(gate["waves"]),
            ", ".join("%s: %d" % (w["name"], w["size"]) for w in gate["waves"]) or "none",
            "; %d blocked" % counts["blocked"] if counts["blocked"] else ""))
        if gate["not_in_plan"]:
            msg += "; %d targeted host(s) not in the plan are left alone" % len(gate["not_in_plan"])
        result.update(gate)
        result.update(changed=False, msg=msg)
        return result
