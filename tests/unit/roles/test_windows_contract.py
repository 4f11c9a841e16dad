# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every ``ansible.windows`` call of the collection passes only options that module documents,
with values of its type and choices, read from ``ansible-doc --json`` of the ansible.windows
installed with the collection: the tasks of every role, and the module arguments the action
plugins build (``_winremove.MODULE_BUILDERS``). No Windows host runs here, so a misspelt option
or a value outside a choice must fail here, not on the first real host.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest
import yaml

from ansible_collections.fleetsec.divest.plugins.plugin_utils import _winremove as wr

ROOT = pathlib.Path(__file__).resolve().parents[3]
TASK_KEYWORDS = {"block", "rescue", "always"}


def windows_tasks():
    """``[(file, task name, module, args)]`` of every ansible.windows task under roles/."""
    found = []

    def walk(path, tasks):
        for task in tasks or []:
            if not isinstance(task, dict):
                continue
            for keyword in TASK_KEYWORDS:
                walk(path, task.get(keyword))
            for key, value in task.items():
                if isinstance(key, str) and key.startswith("ansible.windows."):
                    found.append((str(path.relative_to(ROOT)), task.get("name"), key, value or {}))

    for path in sorted((ROOT / "roles").glob("*/tasks/**/*.yml")):
        walk(path, yaml.safe_load(path.read_text(encoding="utf-8")))
    return found


def _ansible_doc():
    here = pathlib.Path(sys.executable).parent / "ansible-doc"
    return str(here) if here.exists() else shutil.which("ansible-doc")


def documentation(modules):
    """``{module: doc}`` from ``ansible-doc --json`` (doc fragments included)."""
    command = _ansible_doc()
    if command is None:
        pytest.skip("ansible-doc is not installed")
    env = dict(os.environ)
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", str(ROOT / ".cache" / "collections"))
    proc = subprocess.run([command, "--json", "-t", "module"] + sorted(modules), env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    if proc.returncode != 0 or not proc.stdout.strip():
        if "not found" in proc.stderr or "not find" in proc.stderr:
            pytest.skip("ansible.windows is not installed: %s" % proc.stderr.strip()[:200])
        raise AssertionError("ansible-doc failed: %s" % proc.stderr[-2000:])
    return {name: entry["doc"] for name, entry in json.loads(proc.stdout).items()}


def _templated(value):
    return isinstance(value, str) and ("{{" in value or "{%" in value)


TYPES = {"str": (str,), "path": (str,), "raw": (object,), "bool": (bool,), "int": (int,), "float": (int, float),
         "list": (list, str), "dict": (dict,)}


def problems(module, args, doc):
    """What is wrong with ``args`` for ``module`` per its documentation ``doc``."""
    options = doc.get("options") or {}
    names = {}
    for name, spec in options.items():
        names[name] = spec
        for alias in spec.get("aliases") or []:
            names[alias] = spec
    out = []
    if isinstance(args, str):  # free-form (win_command)
        return [] if "_raw_params" in names or doc.get("module") in ("win_command", "win_shell") else \
            ["%s takes no free-form arguments" % module]
    for name, value in args.items():
        spec = names.get(name)
        if spec is None:
            out.append("%s has no option %r" % (module, name))
            continue
        if _templated(value):
            continue
        kind = spec.get("type", "str")
        numeric_text = kind in ("int", "float") and isinstance(value, str) and value.isdigit()
        if kind in TYPES and not isinstance(value, TYPES[kind]) and not numeric_text:
            out.append("%s option %s: %r is not of type %s" % (module, name, value, kind))
        choices = spec.get("choices")
        if choices:
            values = value if isinstance(value, list) else [value]
            bad = [v for v in values if not _templated(v) and v not in choices]
            if bad:
                out.append("%s option %s: %r is not one of %s" % (module, name, bad, choices))
    required = [name for name, spec in options.items() if spec.get("required")]
    missing = [name for name in required if name not in args and not any(a in args for a in options[name].get("aliases") or [])]
    if missing:
        out.append("%s: required option(s) %s missing" % (module, ", ".join(missing)))
    return out


BUILT = [("ansible.windows.win_package", wr.package_args("{9A017278-F7F4-4DF9-A482-0B97B70DD7ED}", ["REBOOT=ReallySuppress"],
                                                         "C:\\Windows\\Temp\\x.log",
                                                         {"success_codes": [0, 3010], "absent_codes": [1605]})),
         ("ansible.windows.win_file", wr.file_args("C:\\ProgramData\\Kaspersky Lab\\KES.12.6")),
         ("ansible.windows.win_regedit", wr.regedit_args("HKLM:\\SOFTWARE\\KasperskyLab")),
         ("ansible.windows.win_service", wr.service_args("AVP21.18"))]


@pytest.fixture(scope="module")
def docs():
    modules = {m for dummy, dummy2, m, dummy3 in windows_tasks()} | {m for m, dummy4 in BUILT} | {m for m, dummy5 in wr.MODULE_BUILDERS}
    return documentation(modules)


def test_the_roles_call_ansible_windows():
    modules = {m for dummy, dummy2, m, dummy3 in windows_tasks()}
    # the checks below check something: the Defender role and the Windows execute steps use these
    assert {"ansible.windows.win_reboot", "ansible.windows.win_service", "ansible.windows.win_regedit",
            "ansible.windows.win_feature", "ansible.windows.win_command"} <= modules, modules


@pytest.mark.parametrize("where, name, module, args", windows_tasks(), ids=lambda v: v if isinstance(v, str) else None)
def test_every_role_task_passes_only_documented_options(docs, where, name, module, args):
    assert not problems(module, args, docs[module]), "%s (%s)" % (where, name)


@pytest.mark.parametrize("module, args", BUILT, ids=[m for m, dummy in BUILT])
def test_the_action_plugins_build_only_documented_options(docs, module, args):
    assert not problems(module, args, docs[module])


def test_every_builder_is_covered():
    assert {m for m, dummy in wr.MODULE_BUILDERS} <= {m for m, dummy2 in BUILT}


@pytest.mark.parametrize("module, args, expected", [
    ("ansible.windows.win_service", {"name": "WinDefend", "start_mod": "auto"}, "has no option 'start_mod'"),
    ("ansible.windows.win_service", {"name": "WinDefend", "state": "running"}, "is not one of"),
    ("ansible.windows.win_reboot", {"reboot_timeout": "ten"}, "is not of type"),
    ("ansible.windows.win_regedit", {"name": "x"}, "required option(s) path missing"),
])
def test_the_check_fails_on_a_misspelt_option_or_a_bad_value(docs, module, args, expected):
    all_docs = docs if module in docs else documentation([module])
    found = problems(module, args, all_docs[module])
    assert any(expected in p for p in found), found
