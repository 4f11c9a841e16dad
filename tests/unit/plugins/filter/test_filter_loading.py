"""ansible-core loads every filter file of the collection in each worker process (one per host
and task) to find one filter by name. Loading them must stay cheap: no filter file imports the
collection's controller logic until its filter is called (a top-level import cost every task
using any of our filters about 40 ms of CPU per host)."""

import json
import os
import pathlib
import subprocess
import sys

FILTERS = pathlib.Path(__file__).resolve().parents[4] / "plugins" / "filter"

LOADER = r"""
import importlib, json, sys
names = json.loads(sys.argv[1])
for name in names:
    module = importlib.import_module("ansible_collections.fleetsec.divest.plugins.filter." + name)
    assert module.FilterModule().filters(), name
print(json.dumps(sorted(m for m in sys.modules if m.startswith("ansible_collections.fleetsec.divest.plugins.") and ("_utils." in m))))
"""


def test_loading_every_filter_file_imports_no_controller_logic():
    names = sorted(p.stem for p in FILTERS.glob("*.py") if p.stem != "__init__")
    assert "role_var" in names and "vendor_findings" in names
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    out = subprocess.run([sys.executable, "-c", LOADER, json.dumps(names)], env=env, capture_output=True, text=True,
                         check=True).stdout
    assert json.loads(out) == []


def test_a_filter_still_works_once_called():
    from ansible_collections.fleetsec.divest.plugins.filter.role_var import role_var

    assert role_var("json, csv", "identify", "divest_report_formats") == ["json", "csv"]
