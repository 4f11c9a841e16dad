# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The code that runs on managed nodes (modules, module_utils) stays valid on Python 3.6.

No Python 3.6 interpreter exists here, so two checks stand in for byte-compiling on it: the
grammar of Python 3.6 (``ast.parse(feature_version=(3, 6))`` rejects the walrus operator,
positional-only parameters, ``match`` ...) and a list of newer standard library calls that
the grammar cannot see. Controller-side plugins (action, filter, plugin_utils) run under
ansible-core's own Python and are not held to this.
"""

import ast
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[4]
# Every Python file of modules and module_utils, subpackages included (module_utils/_linux/...).
NODE_FILES = sorted((ROOT / "plugins" / "modules").glob("*.py")) + sorted((ROOT / "plugins" / "module_utils").rglob("*.py"))


def _shown(path):
    return path.relative_to(ROOT / "plugins").as_posix()


NEWER_CALLS = {  # text -> the Python version that brought it
    r"from __future__ import annotations": "3.7",
    r"\.isascii\(": "3.7",
    r"\bcapture_output=": "3.7",
    r"\bfromisoformat\(": "3.7",
    r"\bnullcontext\b": "3.7",
    r"\bdataclasses?\b": "3.7",
    r"\bcached_property\b": "3.8",
    r"\bshlex\.join\(": "3.8",
    r"\bremove(prefix|suffix)\(": "3.9",
    r"\bzoneinfo\b": "3.9",
    r"\bimportlib\.(metadata|resources)\b": "3.8/3.9",
}


def test_there_is_node_code_to_check():
    names = {_shown(path) for path in NODE_FILES}
    assert {"modules/linux_inventory_info.py", "modules/linux_remove.py", "module_utils/_patterns.py",
            "module_utils/_linux/layout.py", "module_utils/_linux/module.py",
            "module_utils/_linux/inventory/dpkg.py", "module_utils/_linux/removal/product.py"} <= names


@pytest.mark.parametrize("path", NODE_FILES, ids=_shown)
def test_node_code_parses_with_the_python_3_6_grammar(path):
    ast.parse(path.read_text(encoding="utf-8"), filename=str(path), feature_version=(3, 6))


@pytest.mark.parametrize("path", NODE_FILES, ids=_shown)
def test_node_code_calls_nothing_newer_than_python_3_6(path):
    source = path.read_text(encoding="utf-8")
    found = ["%s (Python %s)" % (pattern, version) for pattern, version in NEWER_CALLS.items() if re.search(pattern, source)]
    assert not found, "%s uses %s" % (path.name, ", ".join(found))


@pytest.mark.parametrize("snippet", ["if (n := 1):\n    pass\n", "def f(a, /):\n    pass\n"])
def test_the_grammar_check_catches_newer_syntax(snippet):
    with pytest.raises(SyntaxError):
        ast.parse(snippet, feature_version=(3, 6))
