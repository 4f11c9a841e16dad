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

from ansible.errors import AnsibleActionFail
from ansible.utils.display import Display

from ansible_collections.fleetsec.divest.plugins.plugin_utils import _awx, _execute
from ansible_collections.fleetsec.divest.plugins.plugin_utils._action import ActionModuleBase
from ansible_collections.fleetsec.divest.plugins.plugin_utils._hostfacts import HostFacts
from ansible_collections.fleetsec.divest.plugins.plugin_utils._text import natural_key

display = Display()

ARGUMENT_SPEC = {
    "digest": {"type": "raw"},
    "source": {"type": "str", "default": "auto", "choices": ["auto", "file", "facts"]},
    "path": {"type": "path", "default": "divest-reports/divest-plan.json"},
    "pattern": {"type": "str", "default": "all"},
    "waves": {"type": "list", "elements": "str", "default": []},
    # apply_defaults, not default: {}: the validator fills a default mapping in place
    "limits": {"type": "dict", "apply_defaults": True, "options": {
        "canary": {"type": "int", "default": 0},
        "default": {"type": "int", "default": 10},
        "waves": {"type": "dict", "default": {}},
    }},
    "allow_wave_skip": {"type": "bool", "default": False},
}
FACT = "divest_plan"
OUTCOME = "divest_outcome"


class ActionModule(ActionModuleBase):

    ARGUMENT_SPEC = ARGUMENT_SPEC

    def run_action(self, args, task_vars, result):
        facts = HostFacts(task_vars, loader=self._loader)
        approved = args["digest"]
        approved = "" if approved is None else str(approved).strip()
        source = args["source"]
        path = os.path.abspath(os.path.expanduser(args["path"]))
        if source == "auto":
            source = "file" if os.path.exists(path) else "facts"

        targets = facts.names(args["pattern"], limits=True)
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
                everyone = facts.names("all")
                parts, reasons = _execute.parts_from_facts(everyone, lambda name: facts.value(name, FACT), approved)
                if not any(name in parts for name in targets):
                    raise _execute.GateError(
                        "no host of %r carries a plan part with the approved digest %s in its divest_plan fact. "
                        "Nothing was done. Was the plan stored in a persistent fact cache (divest_plan_store_host_facts, "
                        "AWX fact storage), and is this the digest of that plan?%s%s" % (
                            args["pattern"], approved,
                            " (%d host(s) carry a part of another plan)" % len(reasons) if reasons else "",
                            " In AWX, facts older than the Per-Host Ansible Fact Cache Timeout (Settings - Jobs) are not "
                            "given to a job, and AWX clears them: set it to 0, or longer than the time from plan to the "
                            "last execute run, and make the plan again (docs/awx.md, 'The fact cache, and its timeout')."
                            if _awx.in_job(task_vars) and not reasons else ""))
                order = _execute.wave_order(parts, args["waves"])
                waves = [{"name": w, "kind": w if w in ("canary", "management") else "wave",
                          "hosts": sorted((h for h in parts if parts[h]["wave"] == w), key=natural_key)}
                         for w in order]
                digest = approved
                info = {"generated_at": None, "directive": None, "path": None}
            self._check_wave_order(waves, parts, targets, digest, args, facts)
            gate = _execute.gate(parts, targets, waves=waves, reasons=reasons, source=source)
        except _execute.GateError as exc:
            raise AnsibleActionFail(str(exc))

        gate.update(info)
        gate.update(digest=digest, run_id=uuid.uuid4().hex[:12], check_mode=self.check_mode)
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

    def _check_wave_order(self, waves, parts, targets, digest, args, facts):
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
        outcomes = {name: facts.value(name, OUTCOME) for name in earlier}
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
