# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for fleetsec.divest.report: write the fleet report on the controller.

Runs entirely on the controller: it never opens a connection to a managed host. It reads
each host's facts from ``hostvars`` in Python (no Jinja loop over hostvars), builds the
report document with ``plugin_utils._report`` and writes the requested formats.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Mapping

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.fleetsec.divest.plugins.plugin_utils import _execute_report, _report

display = Display()
OUTCOME = "divest_outcome"


def _identify(hosts, generated_at, fact, scan_result, gate=None, check_mode=False):
    return _report.build_identify_report(hosts, generated_at, fact=fact, scan_result=scan_result)


def _execute(hosts, generated_at, fact, scan_result, gate=None, check_mode=False):
    return _execute_report.build_execute_report(hosts, generated_at, gate, check_mode=check_mode)


# One entry per report. ``build(hosts, generated_at, fact, scan_result, gate, check_mode) ->
# document`` where ``hosts`` is {name: host variables or None}; ``renderers`` maps a format to
# a ``document -> bytes`` function; ``summary`` makes the set_stats artifact; ``keys`` (execute)
# are the host variables the builder reads (through the fact caches, nothing templated).
# Adding a phase: a builder and renderers in plugin_utils, an entry here and the choice in
# plugins/modules/report.py.
PHASES = {
    "identify": {"build": _identify, "renderers": _report.RENDERERS, "summary": _report.compact_summary},
    "execute": {"build": _execute, "renderers": _execute_report.RENDERERS,
                "summary": _execute_report.compact_summary, "keys": ("divest_outcome", "divest"), "gate": True},
}

ARGUMENT_SPEC = dict(
    phase=dict(type="str", default="identify", choices=sorted(PHASES)),
    dest=dict(type="path", required=True),
    hosts=dict(type="list", elements="str"),
    formats=dict(type="list", elements="str", default=list(_report.FORMATS),
                 choices=list(_report.FORMATS)),
    fact=dict(type="str", default="divest"),
    scan_result=dict(type="str", default="divest_scan"),
    stats=dict(type="str"),
    gate=dict(type="str", default="divest_gate"),
)


def _utc_now():
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    return now.strftime("%Y-%m-%dT%H:%M:%SZ")


def _read_error(scan_result, exc):
    return {scan_result: {"kind": "failed", "message": "cannot read the host's facts on the controller: %s" % exc}}


def _public_reader(hostvars, fact, scan_result):
    """Read hosts through ``HostVars.raw_get`` (or a plain mapping in tests).

    ``raw_get`` gives the host's variables without templating them: facts are data, and a
    host-controlled string must never be rendered as a template. Returns ``None`` for a host
    the inventory does not know.
    """
    raw_get = getattr(hostvars, "raw_get", None)

    def read(name):
        try:
            if name not in hostvars:  # ansible-core 2.19+ raw_get raises for an unknown host
                return None
            data = raw_get(name) if raw_get is not None else hostvars.get(name)
        except Exception as exc:  # pylint: disable=broad-exception-caught
            return _read_error(scan_result, exc)
        return data if isinstance(data, Mapping) else None

    return read


def _fact_cache_reader(hostvars, fact, scan_result):
    """Read only the two values the report needs, straight from the play's fact caches.

    ``hostvars[host]`` (``raw_get``) builds the complete variable set of a host: it deep-copies
    and re-tags every fact and asks the vars plugins, about half a millisecond per host, most
    of the report's time on a 10,000-host play. The facts ``vendor_facts`` returns live in
    the variable manager's fact cache and ``set_fact`` values (the identify role's
    ``divest_scan``) in its non-persistent cache, the two sources ``get_vars`` merges them
    from. Returns ``None`` when this ansible-core does not have those attributes, so the
    caller falls back to :func:`_public_reader`.
    """
    manager = getattr(hostvars, "_variable_manager", None)
    inventory = getattr(hostvars, "_inventory", None)
    cache = getattr(manager, "_fact_cache", None)
    volatile = getattr(manager, "_nonpersistent_fact_cache", None)
    if cache is None or not hasattr(cache, "get") or not isinstance(volatile, Mapping) \
            or not hasattr(inventory, "get_host"):
        return None

    def read(name):
        try:
            if inventory.get_host(name) is None:
                return None
            try:
                facts = cache.get(name)  # ansible-core 2.17+: KeyError; 2.16: None when missing
            except KeyError:
                facts = None
            facts = facts if isinstance(facts, Mapping) else {}
            data = {"ansible_facts": {fact: facts.get(fact, facts.get("ansible_" + fact))}}
            extra = volatile.get(name) or {}
            # the last execute outcome: identify shows unprotected hosts and reappearances
            outcome = extra.get(OUTCOME, facts.get(OUTCOME))
            if outcome is not None:
                data[OUTCOME] = outcome
            for key in (fact, scan_result):
                if key in extra:
                    data[key] = extra[key]
                elif key == scan_result and key in facts:  # set_fact cacheable: true
                    data[key] = facts[key]
            return data
        except Exception as exc:  # pylint: disable=broad-exception-caught
            return _read_error(scan_result, exc)

    return read


def _keys_reader(hostvars, keys):
    """Read the host variables ``keys`` (execute: the outcome and the last scan), from the
    play's fact caches when reachable (a ``set_fact`` value first, then the cached fact), else
    through ``hostvars``. Returns ``{key: value}``, ``None`` for a host the inventory does not know."""
    manager = getattr(hostvars, "_variable_manager", None)
    inventory = getattr(hostvars, "_inventory", None)
    cache = getattr(manager, "_fact_cache", None)
    volatile = getattr(manager, "_nonpersistent_fact_cache", None)
    fast = cache is not None and hasattr(cache, "get") and isinstance(volatile, Mapping) and hasattr(inventory, "get_host")

    def read(name):
        try:
            if fast:
                if inventory.get_host(name) is None:
                    return None
                try:
                    facts = cache.get(name)
                except KeyError:
                    facts = None
                facts = facts if isinstance(facts, Mapping) else {}
                extra = volatile.get(name) or {}
                return {key: extra[key] if key in extra else facts.get(key) for key in keys}
            if name not in hostvars:
                return None
            data = hostvars.raw_get(name) if hasattr(hostvars, "raw_get") else hostvars.get(name)
            if not isinstance(data, Mapping):
                return None
            facts = data.get("ansible_facts") or {}
            return {key: data[key] if key in data else (facts.get(key) if isinstance(facts, Mapping) else None)
                    for key in keys}
        except Exception:  # pylint: disable=broad-exception-caught  # an unreadable host reads as empty
            return {}

    return read


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)

    def run(self, tmp=None, task_vars=None):
        if task_vars is None:
            task_vars = {}
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp

        dummy, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        formats = list(dict.fromkeys(args["formats"]))
        if not formats:
            raise AnsibleActionFail("formats must name at least one of: %s" % ", ".join(_report.FORMATS))

        phase = PHASES[args["phase"]]
        gate = None
        if phase.get("gate"):
            gate = task_vars.get(args["gate"])
            if not isinstance(gate, Mapping) or "order" not in gate:
                raise AnsibleActionFail("the %s report needs the result of fleetsec.divest.plan_gate in the variable "
                                        "%r (register it in the gate play)" % (args["phase"], args["gate"]))
        hosts = args["hosts"]
        if hosts is None and gate is not None:
            extra = [i.get("host") for i in gate.get("not_in_plan") or [] if isinstance(i, Mapping)]
            # the plan's hosts this run did not target stay in the report (their earlier outcome, or still to do)
            hosts = list(gate.get("order") or []) + list(gate.get("not_targeted") or []) + extra
        if hosts is None:
            hosts = task_vars.get("ansible_play_hosts_all")
            if hosts is None:
                raise AnsibleActionFail("hosts was not given and ansible_play_hosts_all is not "
                                        "available (is the task running inside a play?)")
        hosts = [str(h) for h in dict.fromkeys(hosts)]

        if not getattr(self._task, "run_once", True):
            display.warning("fleetsec.divest.report writes one report for all hosts: run it "
                            "with 'run_once: true', otherwise every host rewrites the same files.")

        hostvars = task_vars.get("hostvars") or {}
        if phase.get("keys"):
            read = _keys_reader(hostvars, phase["keys"])
        else:
            read = _fact_cache_reader(hostvars, args["fact"], args["scan_result"]) \
                or _public_reader(hostvars, args["fact"], args["scan_result"])
        data = {name: read(name) for name in hosts}

        dest = os.path.abspath(os.path.expanduser(args["dest"]))
        document = phase["build"](data, _utc_now(), args["fact"], args["scan_result"], gate=gate,
                                  check_mode=bool(self._task.check_mode))
        try:
            files, changed, document = _report.write_reports(dest, document, formats, phase["renderers"])
        except _report.ReportWriteError as exc:
            raise AnsibleActionFail("cannot write the %s report to %s: %s" % (args["phase"], dest, exc))

        main = files.get("html") or next(iter(files.values()))
        display.display("fleetsec.divest %s report: %s" % (args["phase"], main))
        summary = phase["summary"](document)
        result.update(changed=changed, files=files, summary=summary)
        if args["stats"]:
            # The same artifact set_stats would publish, without a task of its own.
            result["ansible_stats"] = {"data": {args["stats"]: summary}, "per_host": False, "aggregate": False}
        return result
