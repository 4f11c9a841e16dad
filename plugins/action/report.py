# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for fleetsec.divest.report: write the fleet report on the controller.

Runs entirely on the controller: it never opens a connection to a managed host. It reads
each host's facts in Python (``plugin_utils._hostfacts``; no Jinja loop over hostvars), builds
the report document with ``plugin_utils._report`` and writes the requested formats.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Mapping

from ansible.errors import AnsibleActionFail
from ansible.utils.display import Display

import importlib

from ansible_collections.fleetsec.divest.plugins.plugin_utils import _report
from ansible_collections.fleetsec.divest.plugins.plugin_utils._action import ActionModuleBase
from ansible_collections.fleetsec.divest.plugins.plugin_utils._hostfacts import FactReadError, HostFacts, host_value, map_hosts

display = Display()
OUTCOME = "divest_outcome"


def _identify(hosts, generated_at, fact, scan_result, gate=None, check_mode=False, entries=None):
    return _report.build_identify_report(hosts, generated_at, fact=fact, scan_result=scan_result, entries=entries)


def _identify_entries(read, names, fact, scan_result):
    """The identify report's host entries of ``names``, read and made by up to one process per CPU
    (``_hostfacts.map_hosts``): ``read(chunk)`` gives the ``(name, variables)`` pairs of a chunk.
    Each process sends back only its entries, whose equal parts (findings, platforms, scan notes)
    are shared objects (``_report.host_entries``), so pickled once per process."""
    def work(chunk):
        return _report.host_entries(read(chunk), fact, scan_result, OUTCOME)
    return [entry for chunk in map_hosts(work, names) for entry in chunk]


def _execute_report():
    """The execute report's module, imported when an execute report is written (identify, which
    runs far more often, does not pay for it)."""
    return importlib.import_module("ansible_collections.fleetsec.divest.plugins.plugin_utils._execute_report")


def _execute(hosts, generated_at, fact, scan_result, gate=None, check_mode=False):
    return _execute_report().build_execute_report(hosts, generated_at, gate, check_mode=check_mode)


# One entry per report. ``build(hosts, generated_at, fact, scan_result, gate, check_mode) ->
# document`` where ``hosts`` is {name: host variables or None}; ``renderers()`` maps a format to
# a ``document -> bytes`` function (a call, so that a phase's module is imported when it is used); ``summary`` makes the set_stats artifact; ``keys(args)``
# are the host variables the builder reads (nothing templated); ``flat``: the builder takes
# ``{key: value}`` (the value a play sees), else a hostvars-like mapping; ``stream``: the builder
# also takes an iterable of ``(name, variables)`` pairs, read one at a time (less memory);
# ``entries(read, names, fact, scan_result)``: the builder's host entries, made from ``read(chunk)``
# (``(name, variables)`` pairs) in parallel, handed to the builder instead of the hosts.
# Adding a phase: a builder and renderers in plugin_utils, an entry here and the choice in
# plugins/modules/report.py.
PHASES = {
    "identify": {"build": _identify, "renderers": lambda: _report.RENDERERS, "summary": _report.compact_summary,
                 "keys": lambda args: (args["fact"], args["scan_result"], OUTCOME), "stream": True,
                 "entries": _identify_entries},
    "execute": {"build": _execute, "renderers": lambda: _execute_report().RENDERERS,
                "summary": lambda document: _execute_report().compact_summary(document),
                "keys": lambda args: (OUTCOME, "divest"), "flat": True, "gate": True},
}

ARGUMENT_SPEC = dict(
    phase=dict(type="str", default="identify", choices=list(PHASES)),
    dest=dict(type="path", required=True),
    hosts=dict(type="list", elements="str"),
    pattern=dict(type="str"),
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


def read_host(facts, name, keys, scan_result, flat=False):
    """Host ``name``'s variables for a builder (see :func:`read_hosts`)."""
    try:
        view = facts.read(name, keys)
    except FactReadError as exc:
        return {scan_result: {"kind": "failed", "message": "cannot read the host's facts on the controller: %s" % exc}}
    return {key: host_value(view, key) for key in keys} if flat and view is not None else view


def read_hosts(facts, names, keys, scan_result, flat=False):
    """``{name: variables}`` of each host (``None``: unknown to the inventory) for a builder:
    ``facts.read`` views, or ``{key: value}`` when ``flat``. A host whose facts cannot be read
    carries a failed ``scan_result`` saying why."""
    return dict(iter_hosts(facts, names, keys, scan_result, flat=flat))


def iter_hosts(facts, names, keys, scan_result, flat=False):
    """``(name, variables)`` of each host as :func:`read_hosts` gives them, read one at a time:
    a builder that takes them one by one (``stream`` in ``PHASES``) keeps only what it makes of
    each host, not every host's facts at once."""
    for name in names:
        yield name, read_host(facts, name, keys, scan_result, flat=flat)


class ActionModule(ActionModuleBase):

    ARGUMENT_SPEC = ARGUMENT_SPEC
    MUTUALLY_EXCLUSIVE = [("hosts", "pattern")]
    RUN_ONCE = ("fleetsec.divest.report writes one report for all hosts: run it "
                "with 'run_once: true', otherwise every host rewrites the same files.")
    PAUSE_GC = True

    def run_action(self, args, task_vars, result):
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
        facts = HostFacts(task_vars, loader=self._loader)
        hosts = args["hosts"]
        if hosts is None and args["pattern"] is not None:
            # the report-only playbook: every host of the pattern, as the plan reads them (no --limit)
            hosts = facts.names(args["pattern"])
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

        keys, flat = phase["keys"](args), phase.get("flat", False)
        if phase.get("entries"):
            data = None
            entries = phase["entries"](lambda chunk: iter_hosts(facts, chunk, keys, args["scan_result"], flat=flat),
                                       hosts, args["fact"], args["scan_result"])
        else:
            read = iter_hosts if phase.get("stream") else read_hosts
            data, entries = read(facts, hosts, keys, args["scan_result"], flat=flat), None

        dest = os.path.abspath(os.path.expanduser(args["dest"]))
        now = _utc_now()
        if entries is not None:
            document = phase["build"](data, now, args["fact"], args["scan_result"], gate=gate, check_mode=self.check_mode,
                                      entries=entries)
        else:
            document = phase["build"](data, now, args["fact"], args["scan_result"], gate=gate, check_mode=self.check_mode)
        try:
            files, changed, document = _report.write_reports(dest, document, formats, phase["renderers"]())
        except _report.ReportWriteError as exc:
            raise AnsibleActionFail("cannot write the %s report to %s: %s" % (args["phase"], dest, exc))

        main = files.get("html") or next(iter(files.values()))
        display.display("fleetsec.divest %s report: %s" % (args["phase"], main))
        summary = phase["summary"](document)
        result.update(changed=changed, files=files, summary=summary)
        if args["stats"]:
            # The same artifact set_stats would publish, without a task of its own.
            result["ansible_stats"] = {"data": {args["stats"]: summary}, "per_host": False, "aggregate": False}
