# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The machine-readable files are pinned: for the same input, the identify and execute reports'
JSON and CSV and the plan's JSON, YAML and Markdown are byte for byte the files in ``formats/``
(gzip-compressed: the CSV files end their lines with CRLF, which the repository's text files may not).

Those files were written by the renderers before the pages moved to templates (issue 11), from
the inputs below: fleets with every status and alert, and hostile host text of every kind (the
identify and execute documents are built again from their inputs; the plans are read from their
pinned JSON, so that only the renderers are pinned, not the planner). A change to one of these
formats is a change of a contract: make it on purpose, write the files again (``python -m`` this
module, with the collection on ``sys.path``) and say so in the changelog.
"""

from __future__ import annotations

import gzip
import json
import os
import sys

import pytest

from ansible_collections.fleetsec.divest.plugins.plugin_utils import _execute_report as rep
from ansible_collections.fleetsec.divest.plugins.plugin_utils import _plan_report as pr
from ansible_collections.fleetsec.divest.plugins.plugin_utils import _report as r
from ansible_collections.fleetsec.divest.tests.unit.plugins.plugin_utils import test_execute_report as execute_cases
from ansible_collections.fleetsec.divest.tests.unit.plugins.plugin_utils import test_plan_report as plan_cases
from ansible_collections.fleetsec.divest.tests.unit.plugins.plugin_utils import test_report as identify_cases

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "formats")
NOW = "2026-12-31T12:00:00Z"
#: Hostile values of the plan cases (test_plan_report.HOSTILE ids).
PLAN_VALUES = ("html", "bidi", "controls", "backticks")


def identify():
    hosts = identify_cases.alert_fleet()
    for dummy, value in identify_cases.HOSTILE:
        hosts.update(identify_cases.hostile_hosts(value))
    return r.build_identify_report(hosts, NOW)


def execute():
    return rep.build_execute_report(execute_cases.HOSTS, NOW, execute_cases.GATE)


def plans():
    values = dict(plan_cases.HOSTILE)
    out = {"plan": plan_cases.plan_of(plan_cases.fleet())}
    out.update(("plan-%s" % key, plan_cases.hostile_plan(values[key])) for key in PLAN_VALUES)
    return out


def cases(plan_documents):
    """``{file name: bytes}``: every pinned file, rendered now; ``plan_documents``: ``{name: plan}``."""
    out = {}
    for name, document, renderers in (("identify", identify(), r.RENDERERS), ("execute", execute(), rep.RENDERERS)):
        for fmt in ("json", "csv"):
            out["%s.%s" % (name, fmt)] = renderers[fmt](document)
    for name, document in plan_documents.items():
        for fmt, data in pr.render(document, ("json", "yml", "md")).items():
            out["%s.%s" % (name, fmt)] = data
    return out


def read(name):
    """The pinned file ``name``."""
    with open(os.path.join(HERE, name + ".gz"), "rb") as handle:
        return gzip.decompress(handle.read())


def pinned_plans():
    """The plans as the pinned JSON files hold them."""
    out = {}
    for name in ["plan"] + ["plan-%s" % v for v in PLAN_VALUES]:
        out[name] = json.loads(read(name + ".json").decode("utf-8"))
    return out


@pytest.fixture(scope="module")
def rendered():
    return cases(pinned_plans())


@pytest.mark.parametrize("name", sorted(
    ["%s.%s" % (n, f) for n in ("identify", "execute") for f in ("json", "csv")]
    + ["%s.%s" % (n, f) for n in ["plan"] + ["plan-%s" % v for v in PLAN_VALUES] for f in ("json", "yml", "md")]))
def test_file_is_byte_identical(rendered, name):
    assert rendered[name] == read(name), name


def write():
    """Write the pinned files from the renderers of the collection on ``sys.path``."""
    os.makedirs(HERE, exist_ok=True)
    for name, data in cases(plans()).items():
        with open(os.path.join(HERE, name + ".gz"), "wb") as handle:
            handle.write(gzip.compress(data, mtime=0))
        sys.stdout.write("%s %d bytes\n" % (name, len(data)))


if __name__ == "__main__":
    write()
