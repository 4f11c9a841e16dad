# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The actions' shared base (plugin_utils._action) and argument specs (plugin_utils._argspec):
every action validates its arguments with its spec, the spec says what the module documents,
and a wrong argument fails the task with a message naming the option by its path."""

from __future__ import annotations

import ast
import gc
import importlib
import pathlib
from unittest.mock import patch

import pytest
import yaml

from ansible.errors import AnsibleActionFail

from ansible_collections.fleetsec.divest.plugins.plugin_utils import _action, _argspec

ROOT = pathlib.Path(__file__).resolve().parents[4]
ACTIONS = sorted(p.stem for p in (ROOT / "plugins" / "action").glob("*.py") if p.stem != "__init__")


def action_module(name):
    return importlib.import_module("ansible_collections.fleetsec.divest.plugins.action.%s" % name)


def documented_options(name):
    tree = ast.parse((ROOT / "plugins" / "modules" / ("%s.py" % name)).read_text(encoding="utf-8"))
    text = next(node.value.value for node in tree.body if isinstance(node, ast.Assign)
                and [t.id for t in node.targets if isinstance(t, ast.Name)] == ["DOCUMENTATION"])
    return yaml.safe_load(text).get("options") or {}


def compare(spec, docs, path=""):
    """Differences between an argument spec and the documented options."""
    problems = []
    if set(spec) != set(docs):
        problems.append("%s: spec %s, documented %s" % (path or "options", sorted(spec), sorted(docs)))
    for key in sorted(set(spec) & set(docs)):
        option, doc, where = spec[key], docs[key], path + key
        wanted = option.get("type", "str")
        if isinstance(wanted, str) and wanted != "raw" and wanted != doc.get("type", "str"):
            problems.append("%s: type %s, documented %s" % (where, wanted, doc.get("type", "str")))
        if callable(wanted) and doc.get("type", "str") != "str":
            problems.append("%s: a text converted by %s, documented %s" % (where, wanted.__name__, doc.get("type")))
        if wanted != "raw" and option.get("elements") != doc.get("elements"):
            problems.append("%s: elements %s, documented %s" % (where, option.get("elements"), doc.get("elements")))
        if list(option.get("choices") or []) != list(doc.get("choices") or []):
            problems.append("%s: choices %s, documented %s" % (where, option.get("choices"), doc.get("choices")))
        if "default" in option and option["default"] != doc.get("default"):
            problems.append("%s: default %r, documented %r" % (where, option["default"], doc.get("default")))
        if "default" not in option and doc.get("default") not in (None, [], {}):
            problems.append("%s: no default, documented %r" % (where, doc.get("default")))
        if option.get("options") or doc.get("suboptions"):
            problems += compare(option.get("options") or {}, doc.get("suboptions") or {}, where + ".")
    return problems


@pytest.mark.parametrize("name", ACTIONS)
def test_every_action_validates_the_options_its_module_documents(name):
    plugin = action_module(name).ActionModule
    assert issubclass(plugin, _action.ActionModuleBase)
    spec = dict(plugin.ARGUMENT_SPEC, **{h: {"type": "list", "elements": "str"} for h in plugin.HOST_LISTS})
    assert compare(spec, documented_options(name)) == []


def test_the_plan_policy_is_part_of_the_plan_arguments():
    from ansible_collections.fleetsec.divest.plugins.plugin_utils import _planner
    assert action_module("removal_plan").ARGUMENT_SPEC["policy"]["options"] is _planner.POLICY_SPEC
    assert _planner.POLICY_SPEC["waves"]["mutually_exclusive"] == [["size", "percent", "by_group"]]


SPEC = {
    "name": {"type": "str", "required": True},
    "count": {"type": "int", "default": 1},
    "mode": {"type": "str", "choices": ["a", "b"], "default": "a"},
    "tags": {"type": "list", "elements": "str", "choices": ["x", "y"], "default": []},
    "limits": {"type": "dict", "apply_defaults": True, "mutually_exclusive": [["low", "high"]], "options": {
        "low": {"type": "int"}, "high": {"type": "int"}, "flag": {"type": "bool", "default": False}}},
    "items": {"type": "list", "elements": "dict", "options": {"id": {"type": "int"}}},
}


@pytest.mark.parametrize("params, messages", [
    ({}, ["name is required"]),
    ({"name": "n", "count": "many"}, ["count must be an integer, got 'many'"]),
    ({"name": "n", "mode": "c"}, ["mode must be one of a, b, got 'c'"]),
    ({"name": "n", "tags": ["z"]}, ["tags must be one of x, y, got ['z']"]),
    ({"name": "n", "limits": {"low": 1, "high": 2}}, ["limits: use only one of low or high (got low, high)"]),
    ({"name": "n", "limits": {"flag": "perhaps"}}, ["limits.flag must be true or false, got 'perhaps'"]),
    ({"name": "n", "limits": {"lo": 1}}, ["limits: unknown key 'lo' (expected low, high, flag)"]),
    ({"name": "n", "colour": 1, "size": 2}, ["unknown options 'colour', 'size' (expected name, count, mode, tags, "
                                             "limits, items)"]),
    ({"name": "n", "items": [{"id": "x"}]}, ["items.id must be an integer"]),
    ({"name": "n", "items": ["x"]}, ["items must be a list of mappings, got ['x']"]),
    ({"name": "n", "count": [1], "mode": "c"}, ["count must be an integer, got [1]", "mode must be one of a, b, got 'c'"]),
])
def test_argument_errors_name_the_option_by_its_path(params, messages):
    with pytest.raises(_argspec.ArgumentError) as info:
        _argspec.validate(SPEC, params)
    assert sorted(info.value.messages) == sorted(messages)


def test_valid_arguments_are_converted_and_completed_without_changing_the_input():
    params = {"name": "n", "count": "3", "limits": {"low": "2"}}
    assert _argspec.validate(SPEC, params) == {"name": "n", "count": 3, "mode": "a", "tags": [], "items": None,
                                               "limits": {"low": 2, "high": None, "flag": False}}
    assert params == {"name": "n", "count": "3", "limits": {"low": "2"}}
    # a default mapping is never shared between two validations (apply_defaults, not default: {})
    assert _argspec.validate(SPEC, {"name": "n", "limits": {"high": 1}})["limits"]["high"] == 1
    assert _argspec.validate(SPEC, {"name": "n"})["limits"] == {"low": None, "high": None, "flag": False}


def test_nouns_and_rules_between_options():
    with pytest.raises(_argspec.ArgumentError, match="unknown platform 'mac'"):
        _argspec.validate({"r": {"type": "dict", "options": {"linux": {}}}}, {"r": {"mac": 1}}, nouns={("r",): "platform"})
    with pytest.raises(_argspec.ArgumentError, match="^give one of a or b$"):
        _argspec.validate({"a": {}, "b": {}}, {}, required_one_of=[["a", "b"]])
    with pytest.raises(_argspec.ArgumentError, match="^give a and b together$"):
        _argspec.validate({"a": {}, "b": {}}, {"a": 1}, required_together=[["a", "b"]])
    # a message the validator words in another way is kept as it is
    with pytest.raises(_argspec.ArgumentError, match="state is on but all of the following are missing: b"):
        _argspec.validate({"state": {}, "b": {}}, {"state": "on"}, required_if=[["state", "on", ["b"]]])


def test_host_lists_are_checked_without_the_generic_validator():
    assert _action.host_names(None) is None
    assert _action.host_names("web1, web2,") == ["web1", "web2"]
    assert _action.host_names(("web1",)) == ["web1"]
    for wrong in ([1, 2], {"web1": None}, 3):
        with pytest.raises(AnsibleActionFail, match="hosts must be a list of inventory host names"):
            _action.host_names(wrong)


def test_the_base_fails_before_the_work_and_warns_a_fleet_task_run_for_every_host(make_action):
    report = action_module("report")
    with pytest.raises(AnsibleActionFail, match="^invalid arguments: dest is required; unknown option 'colour'"):
        make_action(report, {"colour": "red"}).run(task_vars={})
    outcome = action_module("execute_outcome")
    with patch.object(_action.display, "warning") as warning, patch.object(report.ActionModule, "run_action") as work, \
            patch.object(outcome.ActionModule, "run_action"):
        make_action(report, {"dest": "x"}, run_once=False).run(task_vars={})
        make_action(outcome, {"event": "finish"}, run_once=False).run(task_vars={})     # a per-host action
    assert [call[0][0] for call in warning.call_args_list] == [report.ActionModule.RUN_ONCE]
    assert work.call_count == 1 and work.call_args[0][0]["formats"] == ["json", "csv", "html"]


@pytest.mark.parametrize("name, args, paused", [
    ("report", {"dest": "x"}, True),               # reads the whole fleet's facts
    ("removal_plan", {"pattern": "all"}, True),
    ("execute_outcome", {"event": "finish"}, False),  # one host's: the collector stays on
])
def test_fleet_actions_pause_the_garbage_collector_while_they_work_and_only_then(make_action, name, args, paused):
    module = action_module(name)
    seen = []
    with patch.object(module.ActionModule, "run_action", side_effect=lambda *a: seen.append(gc.isenabled())):
        make_action(module, args).run(task_vars={})
    assert seen == [not paused]
    assert gc.isenabled()
    with patch.object(module.ActionModule, "run_action", side_effect=RuntimeError("boom")):
        with pytest.raises(RuntimeError):
            make_action(module, args).run(task_vars={})
    assert gc.isenabled()                          # back on after a failure too
