# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Static checks of the PowerShell code under plugins/ (no PowerShell runtime on the controller).

* every .ps1 / .psm1 parses with tree-sitter-powershell without ERROR or MISSING nodes, and a
  deliberately broken snippet proves the same check reports problems;
* every PowerShell module is an Ansible.Basic module whose ``$spec`` options equal the options
  of its Python documentation stub (type, elements, default, ...), both ways;
* win_inventory_info emits exactly the Windows properties docs/raw-inventory.md documents.

The parse is tree-sitter's view of PowerShell, not PowerShell's own parser. The grammar rejects
a few valid constructs (``List`1[String]`` generic names, ``[Outer+Nested]`` types, ``1GB``
suffixes, labelled ``break``, several switch clauses on one line), so the modules here avoid
them; a real parse still happens on the first run against a Windows host (docs/windows.md).
"""

from __future__ import annotations

import ast
import re

import pytest
import yaml

pytest.importorskip("tree_sitter", reason="tree-sitter is in tests/requirements.txt")
pytest.importorskip("tree_sitter_powershell", reason="tree-sitter-powershell is in tests/requirements.txt")

from ansible_collections.fleetsec.divest.tests.unit.plugins.modules import win_inventory_contract as contract  # noqa: E402

REPO = contract.REPO
PLUGINS = REPO / "plugins"
POWERSHELL_FILES = sorted(
    path for pattern in ("*.ps1", "*.psm1") for path in PLUGINS.rglob(pattern)
)
POWERSHELL_MODULES = sorted((PLUGINS / "modules").glob("*.ps1"))


def _ids(paths):
    return [str(path.relative_to(REPO)) for path in paths]


# --------------------------------------------------------------------------- syntax

def test_there_is_powershell_to_check():
    assert REPO / "plugins" / "modules" / "win_inventory_info.ps1" in POWERSHELL_FILES


@pytest.mark.parametrize("path", POWERSHELL_FILES, ids=_ids(POWERSHELL_FILES))
def test_powershell_parses_without_errors(path):
    problems = contract.syntax_problems(path.read_bytes(), str(path.relative_to(REPO)))
    assert not problems, "tree-sitter-powershell found syntax problems:\n" + "\n".join(problems)


BROKEN_SNIPPETS = {
    "unclosed condition": (
        "Function Get-Broken {\n    if ($x -eq 1 {\n        'one'\n    }\n}\n", 2, "if ($x -eq 1 {"),
    "missing closing brace": ("foreach ($item in $list) {\n", 1, "foreach ($item in $list) {"),
    "unterminated string": ("$module.Result.msg = 'oops\n", 1, "$module.Result.msg = 'oops"),
    "unbalanced hashtable": ("$spec = @{\n    options = @{ name = @{ type = 'str' }\n", 1, "$spec = @{"),
}


@pytest.mark.parametrize("snippet, line, text", BROKEN_SNIPPETS.values(), ids=list(BROKEN_SNIPPETS))
def test_syntax_check_reports_broken_code(snippet, line, text):
    problems = contract.syntax_problems(snippet, "broken.ps1")
    assert problems, "the syntax check missed a broken snippet: %r" % snippet
    first = problems[0]
    location, _message = first.split(": ", 1)
    name, row, col = location.rsplit(":", 2)
    assert name == "broken.ps1" and int(col) >= 1
    assert int(row) == line
    assert text in first  # the offending source line is quoted


def test_syntax_check_reports_missing_nodes_by_name():
    problems = contract.syntax_problems("foreach ($item in $list) {\n", "m.ps1")
    assert any("missing '}'" in problem for problem in problems)


def test_syntax_check_catches_a_damaged_copy_of_the_collector():
    source = (PLUGINS / "modules" / "win_inventory_info.ps1").read_text(encoding="utf-8")
    assert not contract.syntax_problems(source)
    damaged = source.replace("    catch {\n", "    catch (\n", 1)
    problems = contract.syntax_problems(damaged, "win_inventory_info.ps1")
    assert problems and problems[0].startswith("win_inventory_info.ps1:")


def test_syntax_check_accepts_valid_code():
    valid = (
        "Function Get-Fine {\n"
        "    param([String]$Name)\n"
        "    $items = [System.Collections.Generic.List[Object]]@()\n"
        "    switch ($Name) {\n"
        "        'a' {\n            1\n        }\n"
        "        default {\n            $null\n        }\n"
        "    }\n"
        "}\n"
    )
    assert contract.syntax_problems(valid) == []


# --------------------------------------------------------------------------- module structure

def _documentation(ps1):
    stub = ps1.with_suffix(".py")
    assert stub.exists(), "%s has no Python documentation stub %s" % (ps1.name, stub.name)
    tree = ast.parse(stub.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(target, ast.Name) and target.id == "DOCUMENTATION" for target in node.targets):
            return yaml.safe_load(ast.literal_eval(node.value))
    raise AssertionError("%s: no DOCUMENTATION" % stub.name)


@pytest.mark.parametrize("path", POWERSHELL_MODULES, ids=_ids(POWERSHELL_MODULES))
def test_module_is_an_ansible_basic_module(path):
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    assert lines[0] == "#!powershell"
    assert "#AnsibleRequires -CSharpUtil Ansible.Basic" in lines
    assert "$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)" in lines
    assert "$module.ExitJson()" in lines


OPTION_FIELDS = ("type", "elements", "default", "required", "choices", "aliases", "no_log")
OPTION_DEFAULTS = {"type": "str", "required": False, "no_log": False}


def _normalise(option):
    return {field: option.get(field, OPTION_DEFAULTS.get(field)) for field in OPTION_FIELDS}


@pytest.mark.parametrize("path", POWERSHELL_MODULES, ids=_ids(POWERSHELL_MODULES))
def test_spec_matches_documentation(path):
    spec = contract.module_spec(path.read_bytes())
    documented = _documentation(path).get("options") or {}
    in_code = spec.get("options") or {}
    assert sorted(in_code) == sorted(documented), "options differ between $spec and DOCUMENTATION"
    for name in in_code:
        assert _normalise(in_code[name]) == _normalise(documented[name]), "option %r differs" % name


@pytest.mark.parametrize("path", POWERSHELL_MODULES, ids=_ids(POWERSHELL_MODULES))
def test_check_mode_support_is_what_the_documentation_says(path):
    spec = contract.module_spec(path.read_bytes())
    attributes = _documentation(path).get("attributes") or {}
    support = attributes.get("check_mode", {}).get("support")
    assert support in ("full", "partial", "none")
    assert bool(spec.get("supports_check_mode")) == (support != "none")


def test_win_inventory_info_is_a_read_only_windows_module():
    path = PLUGINS / "modules" / "win_inventory_info.ps1"
    spec = contract.module_spec(path.read_bytes())
    assert spec["supports_check_mode"] is True
    attributes = _documentation(path)["attributes"]
    assert attributes["check_mode"]["support"] == "full"
    assert attributes["diff_mode"]["support"] == "none"
    assert attributes["platform"]["platforms"] == "windows"
    source = path.read_text(encoding="utf-8").replace("Set-StrictMode -Version 2.0", "")
    for option, expected in spec["options"].items():
        assert expected == {"type": "list", "elements": "str", "default": []}, option
    # Gathers only: nothing that writes, starts or stops anything.
    for verb in ("Set-", "Remove-", "New-Item", "Start-", "Stop-", "Invoke-Expression", "DeleteSubKey",
                 "CreateSubKey", "SetValue", "Restart-"):
        assert verb not in source, "win_inventory_info must not use %s" % verb


def test_spec_reader_handles_the_literals_modules_use():
    spec = contract.module_spec(
        "$spec = @{\n"
        "    options = @{\n"
        "        name = @{ type = 'str'; required = $true; aliases = 'n', \"nm\" }\n"
        "        state = @{ type = 'str'; choices = @('a', 'b'); default = 'a' }\n"
        "        count = @{ type = 'int'; default = 3 }\n"
        "        tags = @{ type = 'list'; elements = 'str'; default = @() }\n"
        "    }\n"
        "    supports_check_mode = $false\n"
        "}\n"
    )
    assert spec == {
        "options": {
            "name": {"type": "str", "required": True, "aliases": ["n", "nm"]},
            "state": {"type": "str", "choices": ["a", "b"], "default": "a"},
            "count": {"type": "int", "default": 3},
            "tags": {"type": "list", "elements": "str", "default": []},
        },
        "supports_check_mode": False,
    }
    with pytest.raises(contract.NotLiteral):
        contract.module_spec("$spec = @{ options = @{ a = @{ default = Get-Date } } }\n")


# --------------------------------------------------------------------------- raw inventory contract

def test_collector_emits_the_documented_windows_contract():
    emitted = contract.collector_contract()
    documented = contract.documented_windows_contract()
    assert emitted.top_level == documented.top_level
    assert emitted.platform == documented.platform
    assert sorted(emitted.sections) == sorted(documented.sections)
    for section, keys in emitted.sections.items():
        assert keys == documented.sections[section], section


def test_contract_reader_refuses_what_it_cannot_read():
    with pytest.raises(contract.ContractError, match="literal"):
        contract.collector_contract(source=b"Add-DivestItem -Section 'paths' -Item $item\n")
    with pytest.raises(contract.ContractError, match="ValidateSet"):
        contract.collector_contract(source=(
            b"Function Get-X {\n    param([String]$Section)\n"
            b"    Add-DivestItem -Section $Section -Item ([Ordered]@{ a = 1 })\n}\n"))
    with pytest.raises(contract.ContractError, match="differ"):
        contract.collector_contract(source=(
            b"Add-DivestItem -Section 'paths' -Item ([Ordered]@{ path = 1 })\n"
            b"Add-DivestItem -Section 'paths' -Item ([Ordered]@{ path = 1; type = 2 })\n"))


def test_contract_reader_follows_validate_set_and_inventory_adds():
    found = contract.collector_contract(source=(
        b"$inventory = [Ordered]@{\n    schema = 1\n    platform = [Ordered]@{ system = 'Windows' }\n}\n"
        b"Function Get-X {\n"
        b"    param([ValidateSet('services', 'drivers')][String]$Section)\n"
        b"    Add-DivestItem -Section $Section -Item ([Ordered]@{\n"
        b"            Name = $a\n            'State' = $b\n        })\n"
        b"    $inventory.errors.Add([Ordered]@{ section = 'x'; message = 'y' })\n"
        b"}\n"))
    assert found.top_level == {"schema", "platform"}
    assert found.platform == {"system"}
    assert found.sections == {"services": {"Name", "State"}, "drivers": {"Name", "State"},
                              "errors": {"section", "message"}}


# --------------------------------------------------------------------------- first-run risks (issue 12)

COLLECTOR_SOURCE = (PLUGINS / "modules" / "win_inventory_info.ps1").read_bytes()


def _commands(source, name):
    tree = contract.parse(source)
    return [node for node in contract.walk(tree.root_node)
            if node.type == "command" and contract.text(contract.named(node)[0]).lower() == name.lower()]


def _functions(source):
    tree = contract.parse(source)
    found = {}
    for node in contract.walk(tree.root_node):
        if node.type == "function_statement":
            name = [child for child in contract.named(node) if child.type == "function_name"]
            found[contract.text(name[0]).lower()] = contract.text(node)
    return found


def cim_calls_without_time_limit(source):
    """Get-CimInstance calls without -OperationTimeoutSec, and any Get-WmiObject (it has none)."""
    bad = []
    for node in _commands(source, "Get-CimInstance"):
        if "-operationtimeoutsec" not in contract._command_arguments(node):
            bad.append(contract.text(node))
    bad.extend(contract.text(node) for node in _commands(source, "Get-WmiObject"))
    bad.extend(contract.text(node) for node in _commands(source, "gwmi"))
    return bad


def test_every_cim_query_has_a_time_limit():
    assert _commands(COLLECTOR_SOURCE, "Get-CimInstance"), "the check must see the collector's CIM calls"
    assert cim_calls_without_time_limit(COLLECTOR_SOURCE) == []
    # Every CIM query of the collector goes through the one function that sets the limit.
    functions = _functions(COLLECTOR_SOURCE)
    outside = [name for name, body in functions.items()
               if "get-ciminstance" in body.lower() and name != "get-divestciminstance"]
    assert outside == []


@pytest.mark.parametrize("snippet", [
    "Get-CimInstance -ClassName Win32_Service -ErrorAction Stop\n",
    "Get-WmiObject -Class Win32_Service\n",
])
def test_time_limit_check_can_fail(snippet):
    assert cim_calls_without_time_limit(snippet)


#: Functions run for every Uninstall entry, service, driver, process or certificate: a static
#: [Regex]:: call or a regex operator there goes through .NET's cache of 15 patterns.
PER_ITEM_FUNCTIONS = ("ConvertTo-DivestString", "Test-DivestPattern", "Get-DivestUninstall", "Get-DivestService",
                      "Get-DivestSecurityCenter", "Get-DivestProcess", "Get-DivestCertificate",
                      "Get-DivestRegistryString", "Get-DivestRegistryFlag")
REGEX_PER_CALL = re.compile(r"\[(System\.Text\.RegularExpressions\.)?Regex\]::(?!Escape)\w+|"
                            r"-[ic]?(not)?match\b|-[ic]?replace\b|-[ic]?split\b|"
                            r"RegularExpressions\.Regex\b(?!Options)|\[regex\]::new", re.IGNORECASE)


def regexes_built_per_item(source):
    functions = _functions(source)
    problems = []
    for name in PER_ITEM_FUNCTIONS:
        body = functions.get(name.lower())
        assert body is not None, "%s is not in the collector any more: update PER_ITEM_FUNCTIONS" % name
        body = "\n".join(line for line in body.splitlines() if not line.strip().startswith("#"))
        body = re.sub(r"<#.*?#>", "", body, flags=re.S)
        problems.extend("%s: %s" % (name, hit.group(0)) for hit in REGEX_PER_CALL.finditer(body))
    return problems


def test_regexes_are_built_once_outside_the_per_entry_loops():
    assert regexes_built_per_item(COLLECTOR_SOURCE) == []
    functions = _functions(COLLECTOR_SOURCE)
    query = functions["get-divestquery"]
    # Built in the form they are used in: anchored for name options, with the match time limit.
    assert "'\\A(?:' + $expr + ')\\z'" in query
    assert "-ArgumentList @($expr, $RegexOptions, $RegexTimeout)" in query
    assert "$entry.Regex.IsMatch($Value)" in functions["test-divestpattern"]
    # The registry glob of a key component is built once per component, not per subkey.
    registry = functions["get-divestregistrykey"]
    assert registry.index("ConvertTo-DivestGlobRegex") < registry.index("foreach ($node in $current)")


def test_regex_check_can_fail():
    damaged = COLLECTOR_SOURCE.decode("utf-8").replace(
        "$hit = $entry.Regex.IsMatch($Value)",
        "$hit = [Regex]::IsMatch($Value, $entry.Text, $RegexOptions, $RegexTimeout)")
    assert regexes_built_per_item(damaged) == ["Test-DivestPattern: [Regex]::IsMatch"]


def test_a_pattern_that_fails_is_a_query_error_not_an_unreadable_entry():
    query = _functions(COLLECTOR_SOURCE)["get-divestquery"]
    assert "Add-DivestError -Section 'query'" in query
    # Wrapped before it is built: a pattern that only fails once wrapped fails here, alone.
    assert query.index("$expr = '\\A(?:'") < query.index("RegularExpressions.Regex -ArgumentList")


def test_strict_mode_is_on():
    assert "\nSet-StrictMode -Version 2.0\n" in COLLECTOR_SOURCE.decode("utf-8")


def test_link_details_are_read_inside_their_own_try():
    paths = _functions(COLLECTOR_SOURCE)["get-divestpath"]
    guarded = paths[paths.index("$problem = $null"):paths.index("Add-DivestItem -Section 'paths'")]
    assert "$item.LinkType" in guarded and "$item.Target" in guarded
    assert guarded.index("try {") < guarded.index("$item.LinkType") < guarded.index("catch {")
    assert "error = ConvertTo-DivestString -Value $problem" in paths


def test_a_denied_key_inside_a_wildcard_level_never_aborts_its_siblings():
    registry = _functions(COLLECTOR_SOURCE)["get-divestregistrykey"]
    loop = registry[registry.index("for ($i = 1;"):registry.index("$current = $next.ToArray()")]
    assert "throw" not in loop
    assert loop.count("continue") >= 2  # a subkey list or a subkey that cannot be read
    assert "GetSubKeyNames()" in loop[loop.index("try {"):]


def test_the_collector_does_not_decide_the_product_type_for_security_center():
    security_center = _functions(COLLECTOR_SOURCE)["get-divestsecuritycenter"]
    assert "product_type" not in security_center
    assert "__NAMESPACE" in security_center
    platform = _functions(COLLECTOR_SOURCE)["get-divestplatform"]
    assert "'EditionID'" in platform and "'CurrentBuildNumber'" in platform and "'CurrentBuild'" in platform
    assert "RegistryView]::Registry64" in platform
