# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Execute's pure functions: the plan gate, waves, drift and verification."""

import copy
import json

import pytest

from ansible_collections.fleetsec.divest.plugins.plugin_utils import _execute, _planner

NOW = "2026-11-28T12:00:00Z"


def facts(status, findings=(), scanned_at="2026-11-28T10:00:00Z"):
    return {"schema": 1, "scanned_at": scanned_at, "status": status,
            "platform": {"system": "Linux", "distribution": "debian", "version": "12"},
            "scan": {"live": True, "skipped": [], "errors": []}, "findings": list(findings)}


def finding(product, version, state="installed", role="protection", packages=None):
    return {"vendor": "kaspersky", "product": product, "name": product, "version": version, "state": state,
            "role": role, "evidence": [{"kind": "package", "name": product}],
            "removal": {"method": "package", "order": 10 if role == "protection" else 50,
                        "packages": packages or [product], "purge": True, "residue": ["/opt/kaspersky/%s" % product],
                        "reboot": False, "password": "none"}}


KESL = finding("kesl", "12.1.0.1508", packages=["kesl-gui", "kesl"])
AGENT = finding("klnagent", "15.4.0.8873", role="agent", packages=["klnagent64"])


def plan(**hosts):
    entries = {name: {"divest": f, "groups": ["linux"], "error": None} for name, f in hosts.items()}
    return _planner.build_plan(entries, {"waves": {"canary": 1, "size": 2}}, now=NOW)


@pytest.fixture
def doc():
    return plan(web1=facts("affected", [KESL, AGENT]), web2=facts("affected", [KESL]), web3=facts("affected", [KESL]),
                web4=facts("affected", [AGENT]), db1=facts("clean"))


# ------------------------------------------------------------------------------ check_plan

def test_the_approved_plan_passes(doc):
    assert _execute.check_plan(doc, doc["digest"]) == doc["digest"]
    assert _execute.check_plan(doc, "  %s\n" % doc["digest"]) == doc["digest"]


@pytest.mark.parametrize("approved, fragment", [
    ("", "no approved plan digest"),
    (None, "no approved plan digest"),
    ("   ", "no approved plan digest"),
    ("sha256:1234", "is not a plan digest"),
    ("md5:" + "0" * 64, "is not a plan digest"),
])
def test_a_missing_or_malformed_digest_is_refused(doc, approved, fragment):
    with pytest.raises(_execute.GateError) as info:
        _execute.check_plan(doc, approved)
    assert fragment in str(info.value) and "Nothing was done" in str(info.value)


def test_another_plans_digest_is_refused(doc):
    other = "sha256:" + "a" * 64
    with pytest.raises(_execute.GateError) as info:
        _execute.check_plan(doc, other, where="the plan /x/divest-plan.json")
    assert str(info.value).startswith("the plan /x/divest-plan.json has digest %s, but the approved digest is %s"
                                      % (doc["digest"], other))


@pytest.mark.parametrize("edit", [
    lambda d: d["hosts"]["web2"]["actions"][1]["removal"]["residue"].append("/etc"),
    lambda d: d["hosts"]["web2"].update(blockers=[]) or d["hosts"]["web2"]["expect"].clear(),
    lambda d: d["waves"][0]["hosts"].append("db1"),
    lambda d: d["policy"].update(selector="host == 'web1'"),
    lambda d: d.pop("not_scanned"),
])
def test_a_plan_edited_after_approval_is_refused_even_with_its_old_digest(doc, edit):
    edited = copy.deepcopy(doc)
    edit(edited)
    with pytest.raises(_execute.GateError) as info:
        _execute.check_plan(edited, doc["digest"])
    assert "was changed after it was made" in str(info.value) and doc["digest"] in str(info.value)


def test_generated_at_is_not_part_of_the_contract(doc):
    moved = dict(doc, generated_at="2030-01-01T00:00:00Z")
    assert _execute.check_plan(moved, doc["digest"])


@pytest.mark.parametrize("document, fragment", [
    ({}, "is not a fleetsec.divest plan"),
    ({"kind": "x", "schema": 2}, "is not a fleetsec.divest plan"),
    ({"kind": _planner.KIND, "schema": 1}, "made by another version of fleetsec.divest (plan schema 1"),
])
def test_not_a_plan(document, fragment):
    with pytest.raises(_execute.GateError) as info:
        _execute.check_plan(document, "sha256:" + "0" * 64)
    assert fragment in str(info.value) and "Nothing was done" in str(info.value)


def test_load_plan_file_json_yaml_and_errors(tmp_path, doc):
    (tmp_path / "divest-plan.json").write_text(json.dumps(doc))
    assert _execute.load_plan_file(str(tmp_path / "divest-plan.json")) == doc
    import yaml
    (tmp_path / "divest-plan.yml").write_text(yaml.safe_dump(doc))
    assert _execute.check_plan(_execute.load_plan_file(str(tmp_path / "divest-plan.yml")), doc["digest"])
    with pytest.raises(_execute.GateError, match="cannot read the plan"):
        _execute.load_plan_file(str(tmp_path / "missing.json"))
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(_execute.GateError, match="not readable JSON"):
        _execute.load_plan_file(str(tmp_path / "bad.json"))
    (tmp_path / "list.json").write_text("[1]")
    with pytest.raises(_execute.GateError, match="not a plan document"):
        _execute.load_plan_file(str(tmp_path / "list.json"))


# ------------------------------------------------------------------------------------ gate

def test_gate_orders_hosts_by_wave_and_sizes_serial(doc):
    parts = _execute.parts_from_plan(doc)
    result = _execute.gate(parts, ["db1", "web4", "web3", "web2", "web1", "other"], waves=doc["waves"],
                           reasons=_execute.reasons_from_plan(doc))
    waves = [(w["name"], w["hosts"]) for w in doc["waves"]]
    assert waves == [("canary", ["web1"]), ("wave-1", ["web2", "web3"]), ("wave-2", ["web4"])]
    assert result["order"] == ["web1", "web2", "web3", "web4"] and result["serial"] == [1, 2, 1]
    assert result["not_in_plan"] == [{"host": "db1", "reason": "clean when the plan was made"},
                                     {"host": "other", "reason": "not in the plan"}]
    # identical action lists are stored once: web2 and web3 share theirs
    assert len(result["recipes"]) == 3 and result["parts"]["web2"]["recipe"] == result["parts"]["web3"]["recipe"]
    part = result["parts"]["web1"]
    assert (part["platform"], part["replacement"], "digest" in part) == ("linux", "clamav", False)
    assert [a["action"] for a in result["recipes"][part["recipe"]]] == [
        "install_replacement", "remove", "remove", "block_reinstall", "verify"]


def test_gate_with_a_narrower_target_drops_empty_waves(doc):
    result = _execute.gate(_execute.parts_from_plan(doc), ["web3", "web4"], waves=doc["waves"])
    assert result["order"] == ["web3", "web4"] and result["serial"] == [1, 1]
    assert [w["name"] for w in result["waves"]] == ["wave-1", "wave-2"]
    assert result["not_targeted"] == ["web1", "web2"]


def test_parts_from_facts_keep_only_the_approved_plan(doc):
    stored = {name: _planner.host_part(doc, name) for name in doc["hosts"]}
    stored["web4"] = dict(stored["web4"], digest="sha256:" + "b" * 64)
    parts, others = _execute.parts_from_facts(["web1", "web2", "web3", "web4", "db1"], stored.get, doc["digest"])
    assert sorted(parts) == ["web1", "web2", "web3"]
    assert others == {"web4": "its stored plan part is from another plan (sha256:%s)" % ("b" * 64)}
    assert _execute.wave_order(parts) == ["canary", "wave-1"]


def test_a_part_edited_in_the_fact_cache_stops_the_run(doc):
    stored = {name: _planner.host_part(doc, name) for name in doc["hosts"]}
    edited = copy.deepcopy(stored["web2"])
    remove = next(a for a in edited["actions"] if a["action"] == "remove")
    remove["removal"]["residue"].append("/etc/passwd")          # the digest label still says approved
    stored["web2"] = edited
    with pytest.raises(_execute.GateError) as info:
        _execute.parts_from_facts(["web1", "web2", "web3"], stored.get, doc["digest"])
    text = str(info.value)
    assert "web2 (its content does not match the approved digest" in text and "Nothing was done" in text
    # the same part on its own host, unedited, passes; copied to another host it does not
    stored["web2"] = _planner.host_part(doc, "web2")
    assert sorted(_execute.parts_from_facts(["web2"], stored.get, doc["digest"])[0]) == ["web2"]
    stored["web3"] = dict(stored["web2"])
    with pytest.raises(_execute.GateError, match="web3"):
        _execute.parts_from_facts(["web3"], stored.get, doc["digest"])


def _outcome(status, digest, check_mode=False):
    return {"status": status, "digest": digest, "check_mode": check_mode}


LIMITS = {"canary": 0, "default": 50, "waves": {}}


@pytest.mark.parametrize("targeted, outcomes, fragment", [
    # the whole plan in this run: nothing to check
    (["web1", "web2", "web3", "web4"], {}, None),
    # the canary in this run with the later waves
    (["web1", "web4"], {"web2": "removed", "web3": "already_clean"}, None),
    # wave-2 alone before anything ran
    (["web4"], {}, "wave canary is not finished: web1 (no outcome of this plan)"),
    # the canary failed (limit 0)
    (["web2", "web3"], {"web1": "failed"}, "wave canary failed above its limit of 0 %: web1 (failed)"),
    # an unprotected canary counts as a failure
    (["web4"], {"web1": "unprotected", "web2": "removed", "web3": "removed"}, "web1 (unprotected)"),
    # a canary still running (the run was killed), a dry run does not count
    (["web2"], {"web1": "running"}, "web1 (running)"),
    (["web2"], {"web1": ("removed", True)}, "web1 (no outcome of this plan)"),
    # wave-1 half done, one failure of two is within 50 %
    (["web4"], {"web1": "removed", "web2": "removed", "web3": "failed"}, None),
    (["web4"], {"web1": "removed", "web2": "blocked", "web3": "drifted"}, None),
    # part of wave-1 targeted: its other host must be done
    (["web3", "web4"], {"web1": "removed"}, "wave wave-1 is not finished: web2 (no outcome of this plan)"),
    # an outcome of another plan does not count
    (["web2", "web3"], {"web1": ("removed", False, "sha256:" + "e" * 64)}, "web1 (no outcome of this plan)"),
])
def test_a_run_may_not_jump_an_unfinished_wave(doc, targeted, outcomes, fragment):
    stored = {}
    for name, value in outcomes.items():
        value = value if isinstance(value, tuple) else (value,)
        status, check, digest = (list(value) + [False, doc["digest"]][len(value) - 1:])[:3]
        stored[name] = _outcome(status, digest, check)
    problems = _execute.earlier_waves(doc["waves"], targeted, stored, doc["digest"], LIMITS)
    if fragment is None:
        assert problems == []
    else:
        assert any(fragment in p for p in problems), problems


@pytest.mark.parametrize("name, limits, expected", [
    ("canary", {}, 0), ("wave-1", {}, 10), ("canary", {"canary": 5}, 5),
    ("management", {"default": 20, "waves": {"management": 0}}, 0),
])
def test_wave_limit(name, limits, expected):
    assert _execute.wave_limit(name, limits) == expected


@pytest.mark.parametrize("names, hint, expected", [
    (["management", "wave-10", "wave-2", "canary", "remaining", "group-web"], [],
     ["canary", "group-web", "wave-2", "wave-10", "remaining", "management"]),
    (["group-db", "group-web", "canary"], ["canary", "group-web", "group-db"], ["canary", "group-web", "group-db"]),
])
def test_wave_order(names, hint, expected):
    parts = {str(i): {"wave": n} for i, n in enumerate(names)}
    assert _execute.wave_order(parts, hint) == expected


# ----------------------------------------------------------------------------------- drift

EXPECT = [{"vendor": "kaspersky", "product": "kesl", "version": "12.1.0.1508", "state": "installed"},
          {"vendor": "kaspersky", "product": "klnagent", "version": "15.4.0.8873", "state": "installed"}]


@pytest.mark.parametrize("found, previous, state, fragment", [
    ([KESL, AGENT], None, "match", "as planned"),
    ([], None, "clean", "no vendor software"),
    ([KESL, AGENT, finding("kess", "3.3.0.1016")], None, "drifted", "new since the plan: kaspersky/kess 3.3.0.1016"),
    ([KESL], None, "drifted", "gone since the plan: kaspersky/klnagent 15.4.0.8873"),
    ([finding("kesl", "12.2.0.2412"), AGENT], None, "drifted", "kaspersky/kesl 12.1.0.1508 is now kaspersky/kesl 12.2.0.2412"),
    ([finding("kesl", "12.1.0.1508", state="residual"), AGENT], None, "drifted", "is now kaspersky/kesl 12.1.0.1508 (residual)"),
    # an earlier run of the same plan removed kesl: gone or residual is progress, not drift
    ([AGENT], {"removed": [{"vendor": "kaspersky", "product": "kesl"}]}, "match", "as planned"),
    ([finding("kesl", "12.1.0.1508", state="residual"), AGENT], {"removed": [{"vendor": "kaspersky", "product": "kesl"}]},
     "match", "as planned"),
])
def test_drift_table(found, previous, state, fragment):
    status = "affected" if any(f["state"] == "installed" for f in found) else ("residual" if found else "clean")
    result = _execute.drift(EXPECT, facts(status, found), previous)
    assert result["state"] == state and fragment in result["message"]


def test_drift_of_an_incomplete_scan():
    broken = facts("unknown")
    broken["scan"]["errors"] = [{"section": "packages", "message": "cannot read /var/lib/dpkg/status"}]
    result = _execute.drift(EXPECT, broken)
    assert result["state"] == "incomplete" and "cannot read /var/lib/dpkg/status" in result["message"]


@pytest.mark.parametrize("found, status, allow, ok, fragment", [
    ([], "clean", False, True, "clean"),
    ([finding("kesl", "12.1.0.1508", state="residual")], "residual", False, False,
     "still found after the removal: kaspersky/kesl (residual: package kesl)"),
    ([finding("kess", "3.3.0.1016")], "affected", True, True, "the plan's products are gone"),
    ([finding("kess", "3.3.0.1016")], "affected", False, False, "kaspersky/kess"),
    ([], "unknown", False, False, "incomplete"),
])
def test_verify_table(found, status, allow, ok, fragment):
    result = _execute.verify(facts(status, found), [{"vendor": "kaspersky", "product": "kesl"}], allow)
    assert result["ok"] is ok and fragment in result["message"]
