# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The recorded Windows inventories (tests/unit/fixtures/windows) are what win_inventory_info emits.

Keys are checked against the collector's own source (win_inventory_contract), so a fixture cannot
drift from the collector; values against the rules the collector applies (types; text cleaned as
the Linux collector's clean_text does: control characters but tab escaped as \\xNN, at most 512
characters before '...[truncated]'; at most 1000 items; no Security Center on a server).
Expected findings live with the matcher's tests, not here.
"""

from __future__ import annotations

import json
import re

import pytest

pytest.importorskip("tree_sitter", reason="tree-sitter is in tests/requirements.txt")
pytest.importorskip("tree_sitter_powershell", reason="tree-sitter-powershell is in tests/requirements.txt")

from ansible_collections.fleetsec.divest.plugins.plugin_utils._winplatform import windows_platform  # noqa: E402
from ansible_collections.fleetsec.divest.tests.unit.plugins.modules import win_inventory_contract as contract  # noqa: E402

FIXTURES = sorted((contract.REPO / "tests" / "unit" / "fixtures" / "windows").glob("*.json"))
MAX_LENGTH = 512
MAX_ITEMS = 1000
TRUNCATED = "...[truncated]"
CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f]")
ESCAPED = re.compile(r"\\x[0-9a-f]{2}")
PRODUCT_TYPES = {"workstation", "server", "domain_controller"}

# Fields that are not "a string or null", and what they must be.
FIELD_RULES = {
    ("uninstall", "hive"): lambda v: v in ("HKLM", "HKU"),
    ("uninstall", "view"): lambda v: v in ("64", "32"),
    ("uninstall", "key"): lambda v: isinstance(v, str) and v != "",
    ("uninstall", "WindowsInstaller"): lambda v: isinstance(v, bool),
    ("security_center", "productState"): lambda v: v is None or (isinstance(v, int) and not isinstance(v, bool)),
    ("processes", "pid"): lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
    ("processes", "name"): lambda v: isinstance(v, str) and "." in v,
    ("paths", "type"): lambda v: v in ("directory", "file", "link", "other"),
    ("paths", "path"): lambda v: isinstance(v, str) and (v[1:3] == ":\\" or v.startswith("\\\\")),
    ("registry_keys", "path"): lambda v: isinstance(v, str) and v.upper().startswith("HK"),
    ("certificates", "store"): lambda v: v == "LocalMachine\\Root",
    ("errors", "limit"): lambda v: isinstance(v, bool),
    ("services", "Name"): lambda v: isinstance(v, str) and v != "",
    ("drivers", "Name"): lambda v: isinstance(v, str) and v != "",
}


@pytest.fixture(scope="module")
def emitted():
    return contract.collector_contract()


def _load(path):
    return json.loads(path.read_text(encoding="utf-8"))


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def test_there_are_windows_fixtures():
    assert len(FIXTURES) >= 9


@pytest.mark.parametrize("path", FIXTURES, ids=[path.stem for path in FIXTURES])
def test_fixture_is_a_win_inventory_info_inventory(path, emitted):
    inventory = _load(path)
    assert set(inventory) == set(emitted.top_level) | {"_about"}

    about = inventory["_about"]
    assert isinstance(about.get("represents"), str) and about["represents"]
    assert about.get("reference") and all(isinstance(line, str) for line in about["reference"])
    assert set(about) <= {"represents", "reference", "assumptions"}

    assert inventory["schema"] == 1
    assert inventory["live"] is True
    platform = inventory["platform"]
    assert set(platform) == set(emitted.platform)
    assert platform["system"] == "Windows"
    assert platform["product_type"] in PRODUCT_TYPES
    assert platform["build"] is None or platform["build"].isdigit()
    assert platform["edition_id"] is None or isinstance(platform["edition_id"], str)

    for section, keys in emitted.sections.items():
        items = inventory[section]
        assert isinstance(items, list) and len(items) <= MAX_ITEMS, section
        for item in items:
            assert set(item) == set(keys), "%s item keys: %s" % (section, sorted(item))
            for field, value in item.items():
                rule = FIELD_RULES.get((section, field))
                if rule is not None:
                    assert rule(value), "%s.%s = %r" % (section, field, value)
                elif section == "paths" and field == "target":
                    # A link whose target self-defence hid has no target, and says why in `error`.
                    assert (value is None) == (item["type"] != "link" or item["error"] is not None)
                else:
                    assert value is None or isinstance(value, str), "%s.%s = %r" % (section, field, value)

    for text in _strings({key: value for key, value in inventory.items() if key != "_about"}):
        assert not CONTROL.search(text), "the collector escapes control characters: %r" % text[:60]
        text.encode("utf-8")  # no lone surrogates
        body = text[:-len(TRUNCATED)] if text.endswith(TRUNCATED) else text
        assert len(ESCAPED.sub("?", body)) <= MAX_LENGTH, "longer than the collector's cap: %r..." % text[:40]
        if body is not text:
            assert len(ESCAPED.sub("?", body)) == MAX_LENGTH
            assert any("truncated" in entry["message"] for entry in inventory["errors"])


@pytest.mark.parametrize("path", FIXTURES, ids=[path.stem for path in FIXTURES])
def test_security_center_exists_on_workstations_only(path):
    # The collector skips the section where root\SecurityCenter2 does not exist; which hosts
    # those are is the controller's decision (Enterprise multi-session is a client).
    inventory = _load(path)
    skipped = {entry["section"] for entry in inventory["skipped"]}
    if not windows_platform(inventory["platform"])["security_center"]:
        assert inventory["security_center"] == []
        assert "security_center" in skipped
    else:
        assert "security_center" not in skipped
    assert not {entry["section"] for entry in inventory["errors"]} & skipped


def test_russian_consumer_entry_has_no_latin_vendor_name():
    inventory = _load(contract.REPO / "tests/unit/fixtures/windows/03-win10-ru-kes-agent-kav.json")
    entry = next(item for item in inventory["uninstall"] if item["DisplayName"] == "Антивирус Касперского")
    assert not any("kaspersky" in text.lower() for text in _strings(entry))
    assert "Касперского" in entry["Publisher"]


@pytest.mark.parametrize("name", ["08-win11-clean-decoys.json", "09-win10-hostile-vendor-entries.json"])
def test_hostile_fixtures_keep_their_hostile_values(name):
    # Guard against a well-meaning clean-up: later tests (reports, CSV, HTML) rely on these.
    inventory = _load(contract.REPO / "tests/unit/fixtures/windows" / name)
    texts = list(_strings({key: value for key, value in inventory.items() if key != "_about"}))
    assert any("<script>" in text or "<img" in text for text in texts)
    assert any(text.startswith(("=", "+", "-", "@")) for text in texts)
    assert any(text.endswith(TRUNCATED) for text in texts)
    assert any("\\x00" in text and "\\x0d\\x0a" in text for text in texts)  # escaped NUL and CR LF
    assert any("\u202e" in text for text in texts)
    assert any(text.isdigit() for text in texts)  # a DWORD DisplayName converted to text
