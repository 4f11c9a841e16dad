# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every operator-facing variable takes what an AWX survey gives (filter fleetsec.divest.role_var)."""

from __future__ import annotations

import pathlib
import re
from unittest.mock import MagicMock

import pytest
import yaml

from ansible.errors import AnsibleActionFail, AnsibleFilterError

from ansible_collections.fleetsec.divest.plugins.action.vendor_facts import ActionModule
from ansible_collections.fleetsec.divest.plugins.filter.role_var import role_options, role_var

ROOT = pathlib.Path(__file__).resolve().parents[4]
ROLES = sorted(p.name for p in (ROOT / "roles").iterdir() if (p / "meta" / "argument_specs.yml").is_file())
STRUCTURED = ("list", "dict")


def options(role):
    specs = yaml.safe_load((ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    return [(entry, name, spec) for entry, body in specs.items() for name, spec in (body.get("options") or {}).items()]


@pytest.mark.parametrize("role", ROLES)
def test_every_documented_default_passes_unchanged(role):
    for entry, name, spec in options(role):
        if "default" in spec:
            assert role_var(spec["default"], role, name) == spec["default"], (role, entry, name)


CONDITIONS = ("when", "that", "until", "changed_when", "failed_when")
#: Module options that type survey text themselves (the action's SURVEY_TEXT): a variable handed
#: to one of them as it is needs no filter (none templated for each host of a fleet).
SURVEY_TYPED = {("fleetsec.divest.vendor_facts", "catalogs"): "divest_catalogs",
                ("fleetsec.divest.linux_step", "catalogs"): "divest_catalogs"}


def expressions(path):
    """The Jinja expressions of a role file: every {{ }} and {% %} span, and in YAML files the
    bare expressions of conditions (when, that, until ...); prose around them is left out."""
    text = path.read_text(encoding="utf-8")
    found = re.findall(r"\{\{.*?\}\}|\{%.*?%\}", text, re.S)
    if path.suffix in (".yml", ".yaml"):
        def walk(node):
            if isinstance(node, dict):
                for key, value in node.items():
                    for (module, option), name in SURVEY_TYPED.items():
                        if key == module and isinstance(value, dict) and value.get(option) == "{{ %s }}" % name:
                            found.remove("{{ %s }}" % name)
                    if key in CONDITIONS:
                        found.extend(v for v in (value if isinstance(value, list) else [value]) if isinstance(v, str))
                    walk(value)
            elif isinstance(node, list):
                for item in node:
                    walk(item)
        walk(yaml.safe_load(text))
    return found


@pytest.mark.parametrize("role", ROLES)
def test_every_list_and_mapping_variable_is_read_through_role_var(role):
    """A list or mapping variable used as it is would be text when a survey gives it (a loop over
    its characters): every use in the role's tasks, vars and templates goes through role_var."""
    structured = {name for dummy, name, spec in options(role) if spec.get("type") in STRUCTURED}
    if not structured:
        pytest.skip("role %s has no list or mapping variable" % role)
    files = [p for d in ("tasks", "vars", "templates", "handlers") for p in sorted((ROOT / "roles" / role / d).rglob("*"))
             if p.is_file()]
    bare, used = [], set()
    for path in files:
        for expression in expressions(path):
            for name in structured:
                for found in re.finditer(r"(?<!')\b%s\b" % re.escape(name), expression):
                    used.add(name)
                    after = expression[found.end():]
                    if not re.match(r"\s*\|\s*fleetsec\.divest\.role_var\('%s', '%s'\)" % (role, name), after):
                        bare.append("%s: %s" % (path.relative_to(ROOT), expression[found.start():found.end() + 40]))
    assert not bare, "read without fleetsec.divest.role_var:\n" + "\n".join(bare)
    assert used, "the check found no use of a list or mapping variable of role %s: it checks nothing" % role


@pytest.mark.parametrize("role, name, value, expected", [
    ("clamav", "divest_clamav_private_mirrors", "m1.example.org, https://m2.example.org",
     ["m1.example.org", "https://m2.example.org"]),
    ("clamav", "divest_clamav_bundle_patterns", "*.cvd\n*.cld", ["*.cvd", "*.cld"]),
    ("clamav", "divest_clamav_start_timeout", "120", 120),
    ("clamav", "divest_clamav_signatures", "private_mirror", "private_mirror"),
    ("plan", "divest_waves", '{"canary": 2, "size": 50}', {"canary": 2, "size": 50}),
    ("plan", "divest_waves", "canary=2, percent=10", {"canary": "2", "percent": "10"}),
    ("plan", "divest_exceptions", "db1 | 2026-12-31 | change freeze",
     [{"host": "db1", "expires": "2026-12-31", "reason": "change freeze"}]),
    ("plan", "divest_replacement", "linux=clamav,windows=none", {"linux": "clamav", "windows": "none"}),
    ("plan", "divest_plan_formats", ["json", "html"], ["json", "html"]),
    ("execute", "divest_wave_max_fail_percentage", '{"wave-2": 25}', {"wave-2": 25}),
    ("execute", "divest_plan_waves", "canary\nwave-1\nmanagement", ["canary", "wave-1", "management"]),
    ("execute", "divest_max_fail_percentage", 15, 15),
    ("identify", "divest_catalogs", '["kaspersky", "catalog/acme.yml"]', ["kaspersky", "catalog/acme.yml"]),
    ("identify", "divest_become", "no", False),
])
def test_survey_answers_take_the_variables_type(role, name, value, expected):
    assert role_var(value, role, name) == expected


@pytest.mark.parametrize("role, name, value, message", [
    ("clamav", "divest_clamav_private_mirrors", 3, "divest_clamav_private_mirrors must be a list"),
    ("clamav", "divest_clamav_signatures", "mirror",
     "divest_clamav_signatures must be one of official, private_mirror, offline, got 'mirror'"),
    ("plan", "divest_exceptions", "db1, 2026-12-31", "divest_exceptions: each line must give host | expires | reason"),
    ("plan", "divest_plan_formats", "json,pdf", "divest_plan_formats[1] must be one of"),
    ("execute", "divest_kill_timeout", "soon", "divest_kill_timeout must be an integer, got 'soon'"),
    ("execute", "divest_uninstall_passwords", "kaspersky", "divest_uninstall_passwords must be a mapping"),
])
def test_wrong_types_fail_naming_the_variable(role, name, value, message):
    with pytest.raises(AnsibleFilterError) as err:
        role_var(value, role, name)
    assert message in str(err.value)


def test_a_password_is_never_shown():
    with pytest.raises(AnsibleFilterError) as err:
        role_var("kaspersky:hunter2", "execute", "divest_uninstall_passwords")
    assert "hunter2" not in str(err.value)


@pytest.mark.parametrize("role, name, message", [
    ("nope", "x", "no role 'nope'"),
    ("../plan", "x", "unknown role"),
    ("plan", "divest_nope", "role plan documents no variable 'divest_nope'"),
])
def test_unknown_roles_and_variables_are_errors(role, name, message):
    with pytest.raises(AnsibleFilterError) as err:
        role_var("", role, name)
    assert message in str(err.value)


def test_entry_points_other_than_main_are_read():
    assert "divest_plan_digest" in role_options("execute")      # gate entry point
    assert "divest_execute_report" in role_options("execute")   # report entry point


@pytest.mark.parametrize("text, expected", [
    ('["kaspersky", "other"]', ["kaspersky", "other"]),
    ("kaspersky, other", ["kaspersky", "other"]),
    ("kaspersky\nother", ["kaspersky", "other"]),
    (["kaspersky"], ["kaspersky"]),
])
def test_vendor_facts_types_survey_text_of_its_catalogs_itself(text, expected):
    """The roles hand divest_catalogs to vendor_facts as it is (SURVEY_TYPED): the action types
    the text a survey gives, as role_var would."""
    task = MagicMock(args={"catalogs": text})
    action = ActionModule(task, MagicMock(), MagicMock(), loader=None, templar=None, shared_loader_obj=None)
    assert action.arguments()["catalogs"] == expected == role_var(text, "identify", "divest_catalogs")


def test_vendor_facts_refuses_a_wrong_catalogs_answer_naming_it():
    task = MagicMock(args={"catalogs": '[["kaspersky"]]'})
    action = ActionModule(task, MagicMock(), MagicMock(), loader=None, templar=None, shared_loader_obj=None)
    with pytest.raises(AnsibleActionFail, match=r"catalogs\[0\] must be text"):
        action.arguments()
