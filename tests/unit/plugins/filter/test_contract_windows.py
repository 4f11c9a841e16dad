# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Contract: every property the matcher reads from a Windows raw inventory is one the PowerShell
collector emits.

The matcher and the collector are written in two languages and never meet in a test run (there
is no PowerShell here), so a renamed property (``DisplayVersion`` -> ``Version``) would make
every Windows host look clean without a single failing test. This test closes the gap from
both ends:

* what the collector emits is read from its source (``win_inventory_contract.collector_contract``);
* what the matcher reads is RECORDED: every recorded Windows inventory (and a few synthetic
  items for branches the recordings do not reach) goes through ``_matcher.match`` with each
  dict wrapped in a ``dict`` subclass that logs ``get``, ``[]``, ``in`` and iteration, per
  section. Nothing is listed by hand, so a new read in the matcher is covered automatically;
* statically, every field ``_catalog.SIGNATURES`` names for a Windows section must be emitted.

A read of a property the collector does not emit is a violation unless it is a *derived*
platform alternative (a ``SIGNATURES`` field that belongs to the Linux section of the same
signature, e.g. ``name`` of Linux units next to ``Name`` of Windows services) or is in
OPTIONAL_READS with its reason; an OPTIONAL_READS entry that is no longer needed fails too.
"""

from __future__ import annotations

import copy
import json
import pathlib

import pytest

pytest.importorskip("tree_sitter", reason="tree-sitter is in tests/requirements.txt")
pytest.importorskip("tree_sitter_powershell", reason="tree-sitter-powershell is in tests/requirements.txt")

from ansible_collections.fleetsec.divest.plugins.plugin_utils._catalog import SIGNATURES, load_catalogs  # noqa: E402
from ansible_collections.fleetsec.divest.plugins.plugin_utils._matcher import match  # noqa: E402
from ansible_collections.fleetsec.divest.tests.unit.plugins.modules import win_inventory_contract as contract  # noqa: E402

FIXTURES = sorted((pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "windows").glob("*.json"))
TOP, PLATFORM = "<top level>", "<platform>"
ALL_KEYS = "<every key: the matcher iterated the dict>"

#: Reads of properties the collector does not emit, each with the reason it is harmless.
OPTIONAL_READS = {
    (TOP, "collected_at"): "optional recording time (vendor_findings documents it); absent means 'now'",
    ("registry_keys", "pattern"): "registry_keys and paths share the path matcher; registry items carry literal "
                                  "key paths and are matched by glob when `pattern` is absent",
}


# --------------------------------------------------------------------------- recording

class Recording(dict):
    """A dict that logs which keys are read, under the name of its section."""

    def __init__(self, data, where, log):
        super().__init__(data)
        self._where = where
        self._log = log

    def _read(self, key):
        self._log.add((self._where, key))

    def get(self, key, default=None):
        self._read(key)
        return super().get(key, default)

    def __getitem__(self, key):
        self._read(key)
        return super().__getitem__(key)

    def __contains__(self, key):
        self._read(key)
        return super().__contains__(key)

    def __iter__(self):
        self._read(ALL_KEYS)
        return super().__iter__()

    def keys(self):
        self._read(ALL_KEYS)
        return super().keys()

    def items(self):
        self._read(ALL_KEYS)
        return super().items()

    def values(self):
        self._read(ALL_KEYS)
        return super().values()


def wrap(inventory, log):
    """The inventory with every dict a Recording: top level, platform, items of each section."""
    top = {}
    for key, value in inventory.items():
        if key == "platform" and isinstance(value, dict):
            value = Recording(value, PLATFORM, log)
        elif isinstance(value, list):
            value = [Recording(item, key, log) if isinstance(item, dict) else item for item in value]
        top[key] = value
    return Recording(top, TOP, log)


def _link_and_stray_items():
    """Branches the recordings do not reach: a linked folder, an item of every section alone."""
    inventory = json.loads(FIXTURES[0].read_text(encoding="utf-8"))
    inventory["paths"].append({"path": "C:\\ProgramData\\KasperskyLab", "type": "link",
                               "target": "D:\\KasperskyLab", "pattern": "%ProgramData%\\KasperskyLab"})
    alone = {"schema": 1, "platform": inventory["platform"], "live": True, "skipped": [], "errors": []}
    variants = [inventory]
    for section in ("services", "drivers", "processes", "paths", "registry_keys", "certificates", "security_center"):
        variant = copy.deepcopy(alone)
        variant[section] = copy.deepcopy(inventory.get(section) or [])
        if section == "certificates":
            variant[section] = json.loads(FIXTURES[6].read_text(encoding="utf-8"))["certificates"]
        variants.append(variant)
    return variants


def recorded_reads(inventories, catalogs=None):
    catalogs = catalogs or load_catalogs(["kaspersky"])
    log = set()
    for inventory in inventories:
        match(wrap(inventory, log), catalogs)  # no scanned_at: the fallback reads are recorded too
    return log


def all_inventories():
    inventories = [json.loads(path.read_text(encoding="utf-8")) for path in FIXTURES]
    return inventories + _link_and_stray_items()


# --------------------------------------------------------------------------- the rule

def windows_sections():
    return {spec["section"]["windows"] for spec in SIGNATURES.values() if "windows" in spec["section"]}


def linux_documented():
    """Item keys of each Linux section, as docs/raw-inventory.md states them."""
    markdown = contract.RAW_INVENTORY_DOC.read_text(encoding="utf-8")
    return {contract._names(row[0])[0]: set(contract._names(row[1]))
            for row in contract._table(markdown, "## Linux sections")}


def platform_alternatives(emitted, linux=None):
    """``(section, key)`` reads that are the Linux field of a two-platform signature.

    ``SIGNATURES['services']`` reads ``name`` (Linux ``units``) and ``Name`` (Windows
    ``services``): on a Windows item the matcher also asks for ``name`` and gets None. Such a
    read is harmless only when the key is a documented Linux field of the signature's Linux
    section and another field of the same signature is emitted on Windows.
    """
    linux = linux_documented() if linux is None else linux
    exempt = {}
    for key, spec in SIGNATURES.items():
        section = spec["section"].get("windows")
        other = spec["section"].get("linux")
        if section is None or other is None or other == section:
            continue
        have = emitted.get(section, frozenset())
        for field in spec["fields"]:
            if field not in have and field in linux.get(other, ()) and any(f in have for f in spec["fields"]):
                exempt[(section, field)] = "Linux field of signature %r (%s.%s)" % (key, other, field)
    return exempt


def violations(reads, emitted_contract, optional=None, alternatives=None):
    """Reads the collector does not back, as sorted ``section.key`` strings."""
    optional = OPTIONAL_READS if optional is None else optional
    if alternatives is None:
        alternatives = platform_alternatives(emitted_contract.sections)
    bad = []
    for where, key in sorted(reads, key=lambda r: (r[0], str(r[1]))):
        if key == ALL_KEYS:
            bad.append("%s: iterated (cannot tell which keys it relies on)" % where)
            continue
        if where == TOP:
            allowed = emitted_contract.top_level
        elif where == PLATFORM:
            allowed = emitted_contract.platform
        else:
            allowed = emitted_contract.sections.get(where, frozenset())
        if key in allowed or (where, key) in optional or (where, key) in alternatives:
            continue
        bad.append("%s.%s" % (where, key))
    return bad


# --------------------------------------------------------------------------- tests

@pytest.fixture(scope="module")
def emitted():
    return contract.collector_contract()


@pytest.fixture(scope="module")
def reads():
    return recorded_reads(all_inventories())


def test_there_are_recorded_windows_inventories():
    assert len(FIXTURES) >= 9


def test_every_property_the_matcher_reads_is_emitted_by_the_collector(reads, emitted):
    assert violations(reads, emitted) == []


def test_every_windows_signature_field_is_emitted(emitted):
    alternatives = platform_alternatives(emitted.sections)
    missing = []
    for key, spec in SIGNATURES.items():
        section = spec["section"].get("windows")
        if section is None:
            continue
        for field in spec["fields"]:
            if field not in emitted.sections.get(section, ()) and (section, field) not in alternatives:
                missing.append("%s: %s.%s" % (key, section, field))
    assert missing == []


def test_the_recording_reached_every_windows_section(reads):
    """Not vacuous: each section a signature reads was read, and so were the fields behind
    evidence and removal (version, product code, MSI flag, service state)."""
    sections = {where for where, _key in reads}
    assert windows_sections() | {TOP, PLATFORM, "errors"} <= sections
    for needed in [("uninstall", "DisplayVersion"), ("uninstall", "key"), ("uninstall", "WindowsInstaller"),
                   ("uninstall", "Publisher"), ("uninstall", "hive"), ("uninstall", "view"),
                   ("services", "State"), ("drivers", "State"), ("security_center", "productState"),
                   ("certificates", "thumbprint"), ("paths", "target"), ("errors", "limit")]:
        assert needed in reads, needed


def test_optional_reads_are_still_needed(reads, emitted):
    stale = [read for read in OPTIONAL_READS if read not in reads or read[1] in (
        emitted.top_level if read[0] == TOP else emitted.sections.get(read[0], ()))]
    assert stale == [], "remove these OPTIONAL_READS entries: %s" % stale


def test_the_derived_alternatives_are_exactly_the_linux_unit_name(emitted):
    assert set(platform_alternatives(emitted.sections)) == {("services", "name")}


# ---------------------------------------------------------- the test can fail

def _without(emitted, section, key):
    sections = dict(emitted.sections)
    sections[section] = frozenset(sections[section] - {key})
    return contract.Contract(top_level=emitted.top_level, platform=emitted.platform, sections=sections)


@pytest.mark.parametrize("section, key", [
    ("uninstall", "DisplayVersion"), ("uninstall", "WindowsInstaller"), ("uninstall", "key"),
    ("uninstall", "Publisher"), ("services", "Name"), ("drivers", "State"), ("security_center", "displayName"),
    ("certificates", "issuer"), ("paths", "pattern"), ("errors", "limit"),
])
def test_a_collector_that_stops_emitting_a_key_is_caught(reads, emitted, section, key):
    fake = _without(emitted, section, key)
    assert "%s.%s" % (section, key) in violations(reads, fake)


def test_a_missing_top_level_or_platform_key_is_caught(reads, emitted):
    fake = contract.Contract(top_level=emitted.top_level - {"errors"}, platform=emitted.platform - {"system"},
                             sections=emitted.sections)
    found = violations(reads, fake)
    assert "%s.errors" % TOP in found and "%s.system" % PLATFORM in found


def test_removing_the_derived_alternative_is_caught(reads, emitted):
    assert "services.name" in violations(reads, emitted, alternatives={})
    # ... and the alternative is not derived once Windows services stop emitting `Name`.
    fake = _without(emitted, "services", "Name")
    assert ("services", "name") not in platform_alternatives(fake.sections)


def test_the_recorder_sees_every_kind_of_access():
    log = set()
    item = Recording({"a": 1, "b": 2, "c": 3}, "s", log)
    item.get("a")
    item["b"]  # noqa: B018 - the access is the point
    assert "c" in item
    assert ("s", "a") in log and ("s", "b") in log and ("s", "c") in log
    list(item)
    assert ("s", ALL_KEYS) in log
    assert violations({("s", ALL_KEYS)}, contract.Contract(frozenset(), frozenset(), {"s": frozenset("abc")}))


def test_a_matcher_reading_a_new_key_is_caught(emitted, monkeypatch):
    """Simulate a matcher change that reads a property the collector never writes."""
    from ansible_collections.fleetsec.divest.plugins.plugin_utils import _matcher

    original = _matcher.evidence_of

    def evidence_of(kind, item):
        if kind == "uninstall_entry":
            item.get("EstimatedSize")
        return original(kind, item)

    monkeypatch.setattr(_matcher, "evidence_of", evidence_of)
    found = violations(recorded_reads(all_inventories()), emitted)
    assert found == ["uninstall.EstimatedSize"]
