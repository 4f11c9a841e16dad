"""Planner: findings of many hosts + policy -> the day-60 plan document (table-driven)."""

import copy
import datetime
import json
import math

import pytest

from ansible_collections.fleetsec.divest.plugins.plugin_utils._catalog import load_catalogs
from ansible_collections.fleetsec.divest.plugins.plugin_utils._matcher import match
from ansible_collections.fleetsec.divest.plugins.plugin_utils._planner import (
    BLOCKER_KINDS,
    Planner,
    PolicyError,
    build_plan,
    build_plan_parts,
    compact_summary,
    digest,
    host_part,
    host_parts,
    iter_part_texts,
    verify_part,
    normalize_policy,
    parse_duration,
    scan_state,
    stale_hosts,
    verify,
)

CATALOGS = load_catalogs(["kaspersky"])
MAINT = "AO Kaspersky Lab <support@kaspersky.com>"
NOW = "2026-11-28T12:00:00Z"
SCANNED = "2026-11-28T10:00:00Z"


# ------------------------------------------------------------------------------- fixtures


def pkg(name, version, status="installed"):
    return {"name": name, "version": version, "arch": "amd64", "manager": "dpkg", "status": status,
            "maintainer": MAINT}


def linux_facts(*packages, scanned_at=SCANNED, **sections):
    """Real findings: a raw Linux inventory through the matcher and the shipped catalog."""
    inv = {"schema": 1, "platform": {"system": "Linux", "distribution": "debian", "version": "12"},
           "root": "/", "live": True, "packages": list(packages)}
    inv.update(sections)
    return match(inv, CATALOGS, scanned_at=scanned_at)


KESL = pkg("kesl", "12.1.0-1508")
KESL_GUI = pkg("kesl-gui", "12.1.0-1508")
AGENT = pkg("klnagent64", "15.4.0-8873")
KSC = pkg("ksc64", "15.4.0-8873")
WEB_CONSOLE = pkg("ksc-web-console", "15.4.1021")
REPO = {"path": "/etc/apt/sources.list.d/kaspersky.list", "line": "deb https://repo.example/kaspersky stable main"}


def windows_finding(product="kes", role="protection", password="optional", method="msi", order=10, version="12.3.0.493",
                    state="installed", **removal):
    rem = {"method": method, "order": order, "properties": {"REBOOT": "ReallySuppress"}, "password": password,
           "password_properties": {"login": "KLLOGIN", "password": "KLPASSWD"}, "success_codes": [0, 1641, 3010],
           "absent_codes": [1605], "reboot": True}
    if method == "msi":
        rem["product_codes"] = ["{7EC66A95-AC2D-4127-940B-0445A526AB2F}"]
    rem.update(removal)
    finding = {"vendor": "kaspersky", "product": product, "name": "Kaspersky %s" % product, "version": version,
               "state": state, "evidence": [{"kind": "uninstall_entry", "name": "Kaspersky %s" % product}],
               "removal": rem}
    if role is not None:
        finding["role"] = role
    return finding


def windows_facts(*findings, scanned_at=SCANNED, status=None):
    findings = list(findings)
    if status is None:
        status = "affected" if any(f["state"] == "installed" for f in findings) else ("residual" if findings else "clean")
    return {"schema": 1, "scanned_at": scanned_at, "status": status,
            "platform": {"system": "Windows", "distribution": "Microsoft Windows Server 2022", "version": "10.0.20348"},
            "findings": findings, "scan": {"live": True, "skipped": [], "errors": []}}


def host(facts, *groups, error=None):
    return {"divest": facts, "groups": list(groups), "error": error}


def fleet(count, facts=None, prefix="web"):
    facts = facts or linux_facts(KESL)
    return {"%s%d" % (prefix, i): host(facts, "all", prefix) for i in range(1, count + 1)}


def plan_of(hosts, now=NOW, **policy):
    return build_plan(hosts, policy, now=now)


def product_order(entry):
    return [(a["action"], a.get("product")) for a in entry["actions"]]


def kinds(entry):
    return sorted({b["kind"] for b in entry["blockers"]})


def every_host_once(plan, hosts):
    """Each input host is in exactly one place: one wave, clean, not selected or not scanned."""
    places = {}
    for wave in plan["waves"]:
        for name in wave["hosts"]:
            places.setdefault(name, []).append(("wave", wave["name"]))
    for name in plan["clean"]:
        places.setdefault(name, []).append("clean")
    for name in plan["not_selected"]:
        places.setdefault(name, []).append("not_selected")
    for item in plan["not_scanned"]:
        places.setdefault(item["host"], []).append("not_scanned")
    assert sorted(places) == sorted(hosts)
    assert all(len(where) == 1 for where in places.values()), {h: w for h, w in places.items() if len(w) > 1}
    assert sorted(plan["hosts"]) == sorted(n for n, w in places.items() if w[0][0] == "wave")
    for wave in plan["waves"]:
        assert wave["hosts"], "empty wave %s" % wave["name"]
        for name in wave["hosts"]:
            assert plan["hosts"][name]["wave"] == wave["name"]


# ------------------------------------------------------------------- ordering within a host

ORDER_CASES = [
    ("gui and protection first, then the agent",
     linux_facts(AGENT, KESL_GUI, KESL),
     [("install_replacement", None), ("remove", "kesl"), ("remove", "klnagent"), ("block_reinstall", None),
      ("verify", None)]),
    ("management last, web console before the administration server",
     linux_facts(KSC, AGENT, WEB_CONSOLE, KESL),
     [("install_replacement", None), ("remove", "kesl"), ("remove", "klnagent"), ("remove", "ksc-web-console"),
      ("remove", "ksc64"), ("block_reinstall", None), ("verify", None)]),
    ("leftovers are cleanup after every removal",
     linux_facts(AGENT, KESL, repos=[REPO]),
     [("install_replacement", None), ("remove", "kesl"), ("remove", "klnagent"), ("cleanup", "leftovers"),
      ("block_reinstall", None), ("verify", None)]),
    ("a tool goes between agents and management",
     windows_facts(windows_finding("ksc", role="management", order=90),
                   windows_finding("kuma", role="tool", order=70, method="manual"),
                   windows_finding("klnagent", role="agent", order=50), windows_finding("kes")),
     [("install_replacement", None), ("remove", "kes"), ("remove", "klnagent"), ("remove", "kuma"), ("remove", "ksc"),
      ("block_reinstall", None), ("verify", None)]),
    ("removal.order breaks ties within a role",
     windows_facts(windows_finding("b-late", order=30), windows_finding("a-early", order=20), windows_finding("c", order=10)),
     [("install_replacement", None), ("remove", "c"), ("remove", "a-early"), ("remove", "b-late"),
      ("block_reinstall", None), ("verify", None)]),
    ("residual host: only cleanup",
     linux_facts(paths=[{"path": "/opt/kaspersky", "type": "directory", "pattern": "/opt/kaspersky"}]),
     [("install_replacement", None), ("cleanup", "leftovers"), ("block_reinstall", None), ("verify", None)]),
]


@pytest.mark.parametrize("name, facts, expected", ORDER_CASES, ids=[c[0] for c in ORDER_CASES])
def test_actions_follow_the_recipe_order(name, facts, expected):
    plan = plan_of({"h1": host(facts)})
    entry = plan["hosts"]["h1"]
    assert product_order(entry) == expected
    assert [a["step"] for a in entry["actions"]] == list(range(1, len(expected) + 1))


def test_remove_actions_carry_what_execute_needs():
    facts = linux_facts(KESL, KESL_GUI, repos=[REPO])
    entry = plan_of({"h1": host(facts)})["hosts"]["h1"]
    install, remove, cleanup, block, check = entry["actions"]
    assert install == {"step": 1, "action": "install_replacement", "platform": "linux", "replacement": "clamav"}
    kesl = [f for f in facts["findings"] if f["product"] == "kesl"][0]
    assert remove["removal"] == kesl["removal"]          # the finding's recipe, unchanged
    assert (remove["vendor"], remove["product"], remove["version"], remove["state"], remove["method"]) == \
        ("kaspersky", "kesl", "12.1.0.1508", "installed", "package")
    assert remove["removal"]["packages"] == ["kesl-gui", "kesl"]
    assert cleanup["removal"]["repo_files"] == ["/etc/apt/sources.list.d/kaspersky.list"]
    assert block["packages"] == ["kesl", "kesl-gui"] and block["vendors"] == ["kaspersky"]
    assert check["absent"] == [{"vendor": "kaspersky", "product": "kesl"}, {"vendor": "kaspersky", "product": "leftovers"}]
    assert entry["expect"] == [
        {"vendor": "kaspersky", "product": "kesl", "version": "12.1.0.1508", "state": "installed"},
        {"vendor": "kaspersky", "product": "leftovers", "version": None, "state": "residual"},
    ]
    assert entry["replacement"] == "clamav" and entry["blockers"] == [] and entry["reboot"] is False


def test_windows_host_gets_defender_and_product_codes_and_reboot():
    entry = plan_of({"w1": host(windows_facts(windows_finding("kes")))},
                    passwords={"kaspersky": True})["hosts"]["w1"]
    assert entry["actions"][0]["replacement"] == "defender"
    assert entry["actions"][1]["password_configured"] is True
    assert entry["actions"][2]["product_codes"] == ["{7EC66A95-AC2D-4127-940B-0445A526AB2F}"]
    assert entry["reboot"] is True and entry["actions"][-1]["reboot"] is True


# -------------------------------------------------------------------------------------- waves

WAVE_CASES = [
    ("one wave without a wave policy", 5, {}, [("wave-1", 5)]),
    ("canary then size", 7, {"canary": 1, "size": 2},
     [("canary", 1), ("wave-1", 2), ("wave-2", 2), ("wave-3", 2)]),
    ("size larger than the fleet", 3, {"size": 10}, [("wave-1", 3)]),
    ("percent of the remaining hosts, rounded up", 11, {"canary": 1, "percent": 25},
     [("canary", 1), ("wave-1", 3), ("wave-2", 3), ("wave-3", 3), ("wave-4", 1)]),
    ("percent 100", 4, {"percent": 100}, [("wave-1", 4)]),
    ("tiny percent still moves one host per wave", 3, {"percent": 1}, [("wave-1", 1), ("wave-2", 1), ("wave-3", 1)]),
    ("canary larger than the fleet", 2, {"canary": 5, "size": 1}, [("canary", 2)]),
    ("canary only", 4, {"canary": 2}, [("canary", 2), ("wave-1", 2)]),
]


@pytest.mark.parametrize("name, count, waves, expected", WAVE_CASES, ids=[c[0] for c in WAVE_CASES])
def test_waves(name, count, waves, expected):
    hosts = fleet(count)
    plan = plan_of(hosts, waves=waves)
    assert [(w["name"], len(w["hosts"])) for w in plan["waves"]] == expected
    every_host_once(plan, hosts)
    assert plan["summary"]["by_wave"] == [
        {"name": n, "kind": w["kind"], "hosts": c, "ready": c, "blocked": 0}
        for (n, c), w in zip(expected, plan["waves"])]


def test_hosts_are_in_natural_order_and_waves_are_deterministic():
    hosts = fleet(12)
    plan = plan_of(hosts, waves={"canary": 1, "size": 5})
    assert plan["waves"][0]["hosts"] == ["web1"]
    assert plan["waves"][1]["hosts"] == ["web2", "web3", "web4", "web5", "web6"]
    assert plan["waves"][2]["hosts"] == ["web7", "web8", "web9", "web10", "web11"]
    assert list(plan["hosts"]) == ["web%d" % i for i in range(1, 13)]


def test_by_group_waves_in_the_given_order_then_the_rest():
    hosts = {
        "app1": host(linux_facts(KESL), "app", "prod"),
        "app2": host(linux_facts(KESL), "app"),
        "db1": host(linux_facts(KESL), "db", "prod"),
        "lab1": host(linux_facts(KESL), "lab"),
        "misc": host(linux_facts(KESL)),
    }
    plan = plan_of(hosts, waves={"canary": 1, "by_group": ["lab", "db", "nosuchgroup", "app"]})
    assert [(w["name"], w["hosts"]) for w in plan["waves"]] == [
        ("canary", ["app1"]), ("group-lab", ["lab1"]), ("group-db", ["db1"]), ("group-app", ["app2"]),
        ("remaining", ["misc"])]
    assert plan["waves"][1]["group"] == "lab"
    assert "waves.by_group: no planned host in group nosuchgroup" in plan["notes"]
    every_host_once(plan, hosts)


def test_host_in_two_groups_goes_to_the_first_listed():
    hosts = {"both": host(linux_facts(KESL), "db", "app")}
    plan = plan_of(hosts, waves={"by_group": ["app", "db"]})
    assert [(w["name"], w["hosts"]) for w in plan["waves"]] == [("group-app", ["both"])]


def test_canary_takes_ready_hosts_from_each_platform_in_turn():
    hosts = fleet(3)
    hosts.update({"win%d" % i: host(windows_facts(windows_finding("kes", password="none"))) for i in (1, 2)})
    hosts["aaa-blocked"] = host(linux_facts(KESL), error=None)
    policy = {"waves": {"canary": 2, "size": 10}, "exceptions": [{"host": "aaa-blocked", "reason": "r", "expires": "2030-01-01"}]}
    plan = build_plan(hosts, policy, now=NOW)
    assert plan["waves"][0] == {"name": "canary", "kind": "canary", "hosts": ["web1", "win1"]}
    assert plan["hosts"]["aaa-blocked"]["wave"] == "wave-1"   # blocked hosts never canaries
    every_host_once(plan, hosts)


def test_no_canary_when_every_host_is_blocked():
    hosts = {"w1": host(windows_facts(windows_finding("kes", password="required")))}
    plan = plan_of(hosts, waves={"canary": 1})
    assert [w["name"] for w in plan["waves"]] == ["wave-1"]
    assert "no canary wave: no host without blockers to take it" in plan["notes"]


@pytest.mark.parametrize("waves", [
    {"canary": 1, "size": 3}, {"canary": 2, "percent": 30}, {"by_group": ["g1", "g3"]}, {"canary": 3},
    {"canary": 1, "by_group": ["mgmt", "g2"]},
])
def test_management_servers_are_in_the_last_wave_after_the_hosts_they_manage(waves):
    hosts = {}
    for i in range(1, 16):
        hosts["node%02d" % i] = host(linux_facts(KESL, AGENT), "g%d" % (i % 4))
    hosts["aa-ksc"] = host(linux_facts(KSC, KESL), "mgmt", "g1")
    hosts["zz-console"] = host(linux_facts(WEB_CONSOLE), "mgmt")
    plan = plan_of(hosts, waves=waves)
    every_host_once(plan, hosts)
    assert plan["waves"][-1] == {"name": "management", "kind": "management", "hosts": ["aa-ksc", "zz-console"]}
    assert all(plan["hosts"][n]["management"] is False for w in plan["waves"][:-1] for n in w["hosts"])


@pytest.mark.parametrize("count", [0, 1, 2, 9, 10, 11, 101])
@pytest.mark.parametrize("waves", [{}, {"canary": 1, "size": 3}, {"canary": 2, "percent": 7.5},
                                   {"canary": 1, "by_group": ["odd"]}, {"canary": 50, "size": 1}])
def test_every_planned_host_is_in_exactly_one_wave(count, waves):
    hosts = {}
    for i in range(count):
        kind = i % 5
        if kind == 0:
            facts = linux_facts()                                                    # clean
        elif kind == 1:
            facts = windows_facts(windows_finding("kes", password="none"))           # affected
        elif kind == 2:
            facts = linux_facts(paths=[{"path": "/opt/kaspersky", "type": "directory"}])  # residual
        elif kind == 3:
            facts = linux_facts(KSC) if i % 10 == 3 else linux_facts(KESL, AGENT)
        else:
            facts = None                                                             # not scanned
        hosts["h%d" % i] = host(facts, "odd" if i % 2 else "even")
    plan = plan_of(hosts, waves=waves)
    every_host_once(plan, hosts)
    summary = plan["summary"]["hosts"]
    assert summary["total"] == count
    assert summary["planned"] + summary["clean"] + summary["not_selected"] + summary["not_scanned"] == count


# ----------------------------------------------------------------------------------- blockers

BLOCKER_CASES = [
    ("ready host", host(linux_facts(KESL)), {}, []),
    ("unknown vendor package", host(linux_facts(pkg("kaspersky-update-utility", "4.2.0-1432"))), {},
     ["unknown_removal"]),
    ("manual removal", host(linux_facts(paths=[{"path": "/opt/kaspersky/kuma", "type": "directory"}])), {},
     ["manual_step"]),
    ("windows leftovers are manual",
     host(windows_facts(windows_finding("leftovers", role=None, method="manual", state="residual", password="none"))),
     {}, ["manual_step"]),
    ("password required, none configured", host(windows_facts(windows_finding("kes", password="required"))), {},
     ["password_required"]),
    ("password required, configured for the vendor", host(windows_facts(windows_finding("kes", password="required"))),
     {"passwords": {"kaspersky": True}}, []),
    ("password required, configured for the product", host(windows_facts(windows_finding("kes", password="required"))),
     {"passwords": ["kaspersky/kes"]}, []),
    ("product key false wins over vendor key", host(windows_facts(windows_finding("kes", password="required"))),
     {"passwords": {"kaspersky": True, "kaspersky/kes": False}}, ["password_required"]),
    ("password optional never blocks", host(windows_facts(windows_finding("kes", password="optional"))), {}, []),
    ("replacement none without waiver", host(linux_facts(KESL)), {"replacement": {"linux": "none"}},
     ["no_replacement"]),
    ("replacement none with waiver", host(linux_facts(KESL)),
     {"replacement": {"linux": "none"}, "replacement_waiver": "appliance with built-in protection"}, []),
    ("waiver for the other platform only", host(linux_facts(KESL)),
     {"replacement": {"linux": "none"}, "replacement_waiver": {"windows": "vdi"}}, ["no_replacement"]),
    ("exception in force", host(linux_facts(KESL)),
     {"exceptions": [{"host": "h1", "reason": "lab", "expires": "2026-11-28"}]}, ["exception"]),
    ("expired exception is ignored", host(linux_facts(KESL)),
     {"exceptions": [{"host": "h1", "reason": "lab", "expires": "2026-11-27"}]}, []),
    ("incomplete scan", host(dict(linux_facts(KESL), status="unknown",
                                  scan={"errors": [{"section": "packages", "message": "rpm failed"}]})), {},
     ["incomplete_scan"]),
    ("unsupported platform", host(dict(linux_facts(KESL), platform={"system": "Darwin"})), {},
     ["unsupported_platform"]),
    ("several at once", host(windows_facts(windows_finding("kes", password="required"),
                                           windows_finding("unknown", role=None, method="unknown", candidates=["Kx"]))),
     {"exceptions": [{"host": "h1", "reason": "lab", "expires": "2027-01-01"}], "replacement": {"windows": "none"}},
     ["exception", "no_replacement", "password_required", "unknown_removal"]),
]


@pytest.mark.parametrize("name, entry, policy, expected", BLOCKER_CASES, ids=[c[0] for c in BLOCKER_CASES])
def test_blockers(name, entry, policy, expected):
    plan = build_plan({"h1": entry}, policy, now=NOW)
    got = plan["hosts"]["h1"]
    assert kinds(got) == expected
    for kind in expected:
        assert plan["summary"]["blockers"][kind] == 1
    assert plan["summary"]["hosts"]["blocked"] == (1 if expected else 0)
    assert set(plan["summary"]["blockers"]) == set(BLOCKER_KINDS)


def test_blocker_messages_say_what_to_do():
    facts = windows_facts(windows_finding("unknown", role=None, method="unknown", candidates=["Kaspersky Thing"]),
                          windows_finding("kuma", role="tool", method="manual", note="use the KUMA uninstall playbook"))
    blockers = plan_of({"h1": host(facts)})["hosts"]["h1"]["blockers"]
    text = {b["kind"]: b["message"] for b in blockers}
    assert "Kaspersky Thing" in text["unknown_removal"]
    assert "use the KUMA uninstall playbook" in text["manual_step"]
    assert all(b["product"] for b in blockers)


def test_waived_replacement_is_recorded_on_the_action():
    entry = plan_of({"h1": host(linux_facts(KESL))}, replacement={"linux": "none"},
                    replacement_waiver={"linux": "air-gapped appliance"})["hosts"]["h1"]
    assert entry["actions"][0] == {"step": 1, "action": "install_replacement", "platform": "linux",
                                   "replacement": "none", "waiver": "air-gapped appliance"}


# --------------------------------------------------------------------------------- exceptions

@pytest.mark.parametrize("expires, state, blocked", [
    ("2026-11-28", "in_force", True),        # until the end of the expiry day (UTC)
    ("2026-12-31", "in_force", True),
    ("2026-11-27", "expired", False),
    (datetime.date(2026, 11, 29), "in_force", True),   # YAML dates arrive as date objects
    ("2026-11-27T23:59:59Z", "expired", False),
])
def test_exceptions_in_force_and_expired(expires, state, blocked):
    policy = {"exceptions": [{"host": "h1", "reason": "business critical until the freeze ends", "expires": expires}]}
    plan = build_plan({"h1": host(linux_facts(KESL))}, policy, now=NOW)
    entry = plan["hosts"]["h1"]
    assert ("exception" in kinds(entry)) is blocked
    assert plan["exceptions"][0]["state"] == state and plan["exceptions"][0]["host_state"] == "planned"
    assert plan["summary"]["exceptions"] == {"in_force": int(blocked), "expired": int(not blocked)}
    if not blocked:
        assert entry["notes"] == ["exception expired on 2026-11-27 and is ignored: business critical until the "
                                  "freeze ends"]


def test_exception_for_a_host_outside_the_plan_is_noted():
    policy = {"exceptions": [{"host": "ghost", "reason": "decommissioned", "expires": "2027-01-01"},
                             {"host": "c1", "reason": "x", "expires": "2027-01-01"}]}
    plan = build_plan({"c1": host(linux_facts())}, policy, now=NOW)
    assert [(e["host"], e["host_state"]) for e in plan["exceptions"]] == [("c1", "clean"), ("ghost", "not_in_run")]
    assert "exception for ghost has no effect: the host is not in run" in plan["notes"]


# ----------------------------------------------------------------------------------- selector

SELECTOR_CASES = [
    ("no selector selects everything", None, ["lin1", "lin2", "win1"]),
    ("by group", "contains(groups, 'prod')", ["lin1", "win1"]),
    ("by host name", "starts_with(host, 'lin')", ["lin1", "lin2"]),
    ("by platform", "platform.system == 'Windows'", ["win1"]),
    ("by product", "length(findings[?product == 'klnagent']) > `0`", ["lin2"]),
    ("by status", "status == 'affected' && !contains(groups, 'lab')", ["lin1", "win1"]),
    ("scanned_at is there", "scanned_at != null", ["lin1", "lin2", "win1"]),
    ("nothing", "host == 'none'", []),
]


@pytest.mark.parametrize("name, selector, expected", SELECTOR_CASES, ids=[c[0] for c in SELECTOR_CASES])
def test_selector(name, selector, expected):
    hosts = {
        "lin1": host(linux_facts(KESL), "prod"),
        "lin2": host(linux_facts(AGENT), "lab"),
        "win1": host(windows_facts(windows_finding("kes", password="none")), "prod", "win"),
        "clean1": host(linux_facts(), "prod"),
        "gone": host(None, "prod"),
    }
    plan = plan_of(hosts, selector=selector)
    assert sorted(plan["hosts"]) == expected
    assert plan["not_selected"] == sorted(set(["lin1", "lin2", "win1"]) - set(expected))
    assert plan["clean"] == ["clean1"] and [e["host"] for e in plan["not_scanned"]] == ["gone"]
    assert plan["policy"]["selector"] == selector
    every_host_once(plan, hosts)


@pytest.mark.parametrize("selector, message", [
    ("contains(groups, 'prod'", "not a valid JMESPath expression"),
    ("groups[?", "not a valid JMESPath expression"),
    (42, "must be a JMESPath expression"),
])
def test_invalid_selector_is_a_clear_error(selector, message):
    with pytest.raises(PolicyError, match=message):
        plan_of({"h1": host(linux_facts(KESL))}, selector=selector)
    with pytest.raises(PolicyError, match=message):
        normalize_policy({"selector": selector})


def test_selector_failing_on_a_host_names_the_host():
    with pytest.raises(PolicyError, match=r"failed on host h1: .*abs"):
        plan_of({"h1": host(linux_facts(KESL))}, selector="abs(host)")


# ------------------------------------------------------------------------ clean, not scanned

def test_clean_and_not_scanned_hosts():
    hosts = {
        "clean1": host(linux_facts()),
        "never": host(None),
        "old": host(linux_facts(KESL, scanned_at="2026-11-01T00:00:00Z")),
        "old-failed": host(linux_facts(KESL, scanned_at="2026-11-01T00:00:00Z"),
                           error={"kind": "unreachable", "message": "ssh: timed out"}),
        "failed": host(None, error={"kind": "failed", "message": "collector crashed"}),
        "garbled": host("not a mapping"),
        "no-time": host(dict(linux_facts(KESL), scanned_at=None)),
        "fresh-but-failed-now": host(linux_facts(KESL), error={"kind": "unreachable", "message": "x"}),
        "unknown-name": None,
    }
    plan = plan_of(hosts, max_age="7d")
    assert plan["clean"] == ["clean1"]
    assert list(plan["hosts"]) == ["fresh-but-failed-now"]
    reasons = {e["host"]: e["reason"] for e in plan["not_scanned"]}
    assert reasons == {
        "failed": "scan failed (failed: collector crashed)",
        "garbled": "the divest fact is not a mapping",
        "never": "no scan result",
        "no-time": "scan time unknown",
        "old": "last scan 2026-11-01T00:00:00Z is older than max_age",
        "old-failed": "last scan 2026-11-01T00:00:00Z is older than max_age; the new scan failed "
                      "(unreachable: ssh: timed out)",
        "unknown-name": "host not found in the inventory",
    }
    assert [e["host"] for e in plan["not_scanned"]] == sorted(reasons)
    assert plan["summary"]["blockers"]["not_scanned"] == 7
    every_host_once(plan, hosts)


def test_without_max_age_any_scan_counts():
    hosts = {"old": host(linux_facts(KESL, scanned_at="2020-01-01T00:00:00Z"))}
    assert list(plan_of(hosts, max_age=0)["hosts"]) == ["old"]
    assert plan_of(hosts, max_age="30d")["not_scanned"][0]["host"] == "old"


def test_stale_hosts_uses_the_same_rule():
    hosts = {
        "fresh": host(linux_facts(KESL)), "clean": host(linux_facts()),
        "old": host(linux_facts(KESL, scanned_at="2026-11-26T11:59:59Z")),
        "edge": host(linux_facts(KESL, scanned_at="2026-11-27T12:00:00Z")),
        "never": host(None), "unknown-name": None,
    }
    assert stale_hosts(hosts, {"max_age": "24h"}, NOW) == ["never", "old", "unknown-name"]
    plan = plan_of(hosts, max_age="24h")
    assert [e["host"] for e in plan["not_scanned"]] == ["never", "old", "unknown-name"]
    assert scan_state(hosts["edge"], 86400, NOW)[0] is not None


# ------------------------------------------------------------------------------------- digest

def sample_hosts():
    return {
        "web1": host(linux_facts(KESL, AGENT), "web"),
        "web2": host(linux_facts(KESL), "web"),
        "ksc": host(linux_facts(KSC), "mgmt"),
        "win1": host(windows_facts(windows_finding("kes", password="required")), "win"),
        "clean": host(linux_facts()),
        "never": host(None),
    }


SAMPLE_POLICY = {"waves": {"canary": 1, "size": 2}, "max_age": "7d", "directive_start": "2026-10-01",
                 "exceptions": [{"host": "web2", "reason": "freeze", "expires": "2026-12-15"}]}


def test_same_input_gives_the_same_digest():
    one = build_plan(sample_hosts(), SAMPLE_POLICY, now=NOW)
    two = build_plan(sample_hosts(), copy.deepcopy(SAMPLE_POLICY), now=NOW)
    assert one == two and one["digest"] == two["digest"]
    assert one["digest"].startswith("sha256:") and len(one["digest"]) == 7 + 64
    assert verify(one)


def test_input_order_does_not_change_the_digest():
    hosts = sample_hosts()
    reordered = dict(reversed(list(hosts.items())))
    for entry in reordered.values():
        entry["groups"] = list(reversed(entry["groups"]))
    policy = dict(reversed(list(SAMPLE_POLICY.items())))
    assert build_plan(reordered, policy, now=NOW)["digest"] == build_plan(hosts, SAMPLE_POLICY, now=NOW)["digest"]


def test_generation_time_is_not_part_of_the_digest():
    one = build_plan(sample_hosts(), SAMPLE_POLICY, now=NOW)
    later = build_plan(sample_hosts(), SAMPLE_POLICY, now="2026-11-28T13:00:00Z")
    assert later["generated_at"] != one["generated_at"] and later["digest"] == one["digest"]


def _change_version(hosts):
    hosts["web2"]["divest"]["findings"][0]["version"] = "12.1.0.1509"


def _change_state(hosts):
    hosts["web2"]["divest"]["findings"][0]["state"] = "residual"


def _add_finding(hosts):
    hosts["web2"]["divest"]["findings"].append(copy.deepcopy(hosts["web1"]["divest"]["findings"][1]))


def _change_removal(hosts):
    hosts["web1"]["divest"]["findings"][0]["removal"]["packages"].append("kesl-astra")


def _host_becomes_clean(hosts):
    hosts["web2"]["divest"] = linux_facts()


def _new_host(hosts):
    hosts["web3"] = host(linux_facts(KESL), "web")


def _change_group(hosts):
    hosts["web1"]["groups"] = ["db"]


@pytest.mark.parametrize("change", [_change_version, _change_state, _add_finding, _change_removal,
                                    _host_becomes_clean, _new_host])
def test_any_change_to_findings_changes_the_digest(change):
    before = build_plan(sample_hosts(), SAMPLE_POLICY, now=NOW)
    hosts = sample_hosts()
    change(hosts)
    after = build_plan(hosts, SAMPLE_POLICY, now=NOW)
    assert after["digest"] != before["digest"]


def test_group_change_matters_only_when_the_policy_uses_groups():
    hosts = sample_hosts()
    _change_group(hosts)
    policy = dict(SAMPLE_POLICY, waves={"by_group": ["web"]})
    assert build_plan(hosts, policy, now=NOW)["digest"] != build_plan(sample_hosts(), policy, now=NOW)["digest"]


@pytest.mark.parametrize("key, value", [
    ("waves", {"canary": 2, "size": 2}),
    ("waves", {"canary": 1, "size": 3}),
    ("max_age", "8d"),
    ("directive_start", "2026-10-02"),
    ("exceptions", []),
    ("exceptions", [{"host": "web2", "reason": "freeze", "expires": "2026-12-16"}]),
    ("selector", "host != 'nothing'"),
    ("passwords", {"kaspersky": True}),
    ("replacement", {"linux": "none"}),
    ("replacement_waiver", "reason"),
    ("scan", False),
])
def test_any_policy_change_changes_the_digest(key, value):
    before = build_plan(sample_hosts(), SAMPLE_POLICY, now=NOW)
    after = build_plan(sample_hosts(), dict(SAMPLE_POLICY, **{key: value}), now=NOW)
    assert after["digest"] != before["digest"]


def test_verify_detects_tampering():
    plan = build_plan(sample_hosts(), SAMPLE_POLICY, now=NOW)
    assert verify(plan) and verify(json.loads(json.dumps(plan)))
    assert verify(dict(plan, generated_at="1999-01-01T00:00:00Z"))
    tampered = copy.deepcopy(plan)
    tampered["hosts"]["web1"]["actions"][1]["removal"]["packages"] = []
    assert not verify(tampered)
    assert not verify(dict(plan, digest="sha256:" + "0" * 64))
    assert not verify(dict(plan, schema=1)) and not verify({}) and not verify(None)
    assert digest(plan) == plan["digest"]


def _documented_digest(plan):
    """docs/plan.md, "Digest", written out independently of the planner."""
    import hashlib

    def dumps(value):
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")

    level = [hashlib.sha256(b"\x00" + dumps(name) + b":" + dumps(plan["hosts"][name])).digest()
             for name in sorted(plan["hosts"])]
    while len(level) > 1:
        pairs = [hashlib.sha256(b"\x01" + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)]
        level = pairs + (level[-1:] if len(level) % 2 else [])
    root = level[0] if level else hashlib.sha256(b"").digest()
    body = hashlib.sha256(dumps({k: v for k, v in plan.items() if k not in ("digest", "generated_at", "hosts")}))
    top = dumps({"body": body.hexdigest(), "hosts": len(plan["hosts"]), "root": root.hex()})
    return "sha256:" + hashlib.sha256(top).hexdigest()


@pytest.mark.parametrize("count", [0, 1, 2, 3, 5, 8, 13])
def test_digest_rule_is_the_documented_one(count):
    plan = plan_of(fleet(count)) if count else build_plan({}, SAMPLE_POLICY, now=NOW)
    assert len(plan["hosts"]) == count
    assert plan["digest"] == _documented_digest(plan)
    sample = build_plan(sample_hosts(), SAMPLE_POLICY, now=NOW)
    assert sample["digest"] == _documented_digest(sample)


# ------------------------------------------------------------------------- document, secrets

def test_document_shape():
    plan = build_plan(sample_hosts(), SAMPLE_POLICY, now=NOW)
    assert list(plan) == ["schema", "kind", "digest", "generated_at", "directive", "policy", "summary", "waves",
                          "hosts", "clean", "not_selected", "not_scanned", "exceptions", "notes"]
    assert plan["directive"] == {"name": "DHS BOD 17-01", "start": "2026-10-01", "identify_by": "2026-10-31",
                                 "plan_by": "2026-11-30", "remove_from": "2026-12-30"}
    assert plan["generated_at"] == NOW
    entry = plan["hosts"]["web1"]
    assert set(entry) == {"status", "platform", "wave", "scanned_at", "management", "reboot", "replacement",
                          "expect", "actions", "blockers", "notes"}
    summary = plan["summary"]
    assert summary["hosts"] == {"total": 6, "planned": 4, "ready": 2, "blocked": 2, "clean": 1, "not_selected": 0,
                                "not_scanned": 1}
    assert summary["by_status"] == {"affected": 4, "residual": 0, "unknown": 0}
    assert summary["by_platform"] == {"linux": 3, "windows": 1}
    products = {p["product"]: (p["hosts"], p["blocked"], p["by_wave"]) for p in summary["by_product"]}
    assert products == {"kesl": (2, 1, {"canary": 1, "wave-1": 1}), "klnagent": (1, 0, {"canary": 1}),
                        "ksc64": (1, 0, {"management": 1}), "kes": (1, 1, {"wave-1": 1})}
    assert [p["product"] for p in summary["by_product"]] == ["kes", "kesl", "klnagent", "ksc64"]
    assert summary["reboots"] == 1
    json.dumps(plan, allow_nan=False)
    assert build_plan({}, {}, now=NOW)["summary"]["hosts"]["total"] == 0


def test_no_directive_start_gives_empty_dates():
    plan = build_plan({}, {}, now=NOW)
    assert plan["directive"] == {"name": "DHS BOD 17-01", "start": None, "identify_by": None, "plan_by": None,
                                 "remove_from": None}


def test_no_secret_reaches_the_plan():
    secret = "Sup3r-S3cret-uninstall!"
    policy = dict(SAMPLE_POLICY, passwords={"kaspersky": secret, "kaspersky/kes": {"login": "admin", "password": secret},
                                            "kaspersky/kesl": "", "kaspersky/ksc64": None})
    plan = build_plan(sample_hosts(), policy, now=NOW)
    text = json.dumps(plan)
    assert secret not in text and '"admin"' not in text
    assert plan["policy"]["passwords"] == {"kaspersky": True, "kaspersky/kes": True, "kaspersky/kesl": False,
                                           "kaspersky/ksc64": False}
    assert secret not in json.dumps(compact_summary(plan))
    assert plan["hosts"]["win1"]["blockers"] == []   # configured: not blocked


def test_host_part_and_compact_summary():
    plan = build_plan(sample_hosts(), SAMPLE_POLICY, now=NOW)
    part = host_part(plan, "web1")
    assert set(part) == set(plan["hosts"]["web1"]) | {"digest", "proof"}
    assert {k: v for k, v in part.items() if k not in ("digest", "proof")} == plan["hosts"]["web1"]
    assert part["digest"] == plan["digest"] and part["wave"] == "canary"
    assert host_part(plan, "clean") is None
    small = compact_summary(plan)
    assert small["digest"] == plan["digest"] and small["waves"] == {"canary": 1, "wave-1": 2, "management": 1}
    assert small["blockers"] == {"not_scanned": 1, "password_required": 1, "exception": 1}
    assert len(json.dumps(small)) < 1000


@pytest.mark.parametrize("count", [1, 2, 3, 7, 64, 100])
def test_every_part_verifies_alone_against_the_digest(count):
    plan = plan_of(fleet(count))
    parts = host_parts(plan)
    assert set(parts) == set(plan["hosts"])
    depth = max(len(p["proof"]["path"]) for p in parts.values())
    assert depth == math.ceil(math.log2(count)) if count > 1 else depth == 0
    for name, part in parts.items():
        # through JSON, as the fact cache stores it
        stored = json.loads(json.dumps(part))
        assert verify_part(name, stored, plan["digest"]) is None, name


def _tampered(part, path, value):
    part = copy.deepcopy(part)
    target = part
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return part


def test_an_edited_part_is_refused_whatever_was_edited():
    plan = build_plan(sample_hosts(), SAMPLE_POLICY, now=NOW)
    parts = host_parts(plan)
    web1 = parts["web1"]
    remove = next(i for i, a in enumerate(web1["actions"]) if a["action"] == "remove")
    edits = {
        "a package added to a recipe": (("actions", remove, "removal", "packages"),
                                        web1["actions"][remove]["removal"]["packages"] + ["openssh-server"]),
        "a residue path added": (("actions", remove, "removal", "residue"), ["/etc/passwd"]),
        "a blocker added": (("blockers",), [{"kind": "exception", "message": "hold"}]),
        "another wave": (("wave",), "wave-9"),
        "the expectation changed": (("expect",), []),
        "a proof step flipped": (("proof", "path", 0), "L:" + "0" * 64),
        "another body": (("proof", "body"), "0" * 64),
        "another host count": (("proof", "hosts"), 99),
    }
    for what, (path, value) in edits.items():
        assert verify_part("web1", _tampered(web1, path, value), plan["digest"]), what
    # a new key in the entry, the digest label rewritten to the approved one: still refused
    other = build_plan(sample_hosts(), dict(SAMPLE_POLICY, waves={"canary": 2}), now=NOW)
    foreign = dict(host_parts(other)["web1"], digest=plan["digest"])
    assert "does not match" in verify_part("web1", foreign, plan["digest"])
    assert "does not match" in verify_part("web1", dict(web1, extra=1), plan["digest"])
    # a part copied to another host; a blocked host's blockers removed
    assert verify_part("web2", web1, plan["digest"])
    assert parts["web2"]["blockers"] and verify_part("web2", dict(parts["web2"], blockers=[]), plan["digest"])
    # no proof, a malformed proof, not a mapping
    assert "no proof" in verify_part("web1", {k: v for k, v in web1.items() if k != "proof"}, plan["digest"])
    assert "malformed" in verify_part("web1", _tampered(web1, ("proof", "path"), ["X:zz"]), plan["digest"])
    assert verify_part("web1", None, plan["digest"]) == "no plan part"
    assert verify_part("web1", web1, plan["digest"]) is None


def test_compact_summary_stays_small_with_many_waves():
    plan = plan_of(fleet(300), waves={"size": 1})
    small = compact_summary(plan)
    assert len(small["waves"]) == 50 and small["waves_truncated"] == 250
    assert len(json.dumps(small)) < 2500


def test_planning_does_not_modify_the_input():
    hosts = sample_hosts()
    before = copy.deepcopy(hosts)
    policy = copy.deepcopy(SAMPLE_POLICY)
    build_plan(hosts, policy, now=NOW)
    assert hosts == before and policy == SAMPLE_POLICY


def test_hostile_values_stay_data():
    evil = "<script>alert(1)</script>\udcff"
    facts = windows_facts(windows_finding(evil, password="none", note=evil))
    plan = plan_of({evil: host(facts, evil)})
    name = "<script>alert(1)</script>\\xff"
    assert plan["hosts"][name]["actions"][1]["product"] == name
    json.dumps(plan, ensure_ascii=False).encode("utf-8")   # lone surrogates made printable
    assert verify(plan)


# ------------------------------------------------------------------------------------- policy

@pytest.mark.parametrize("policy, message", [
    ([], "policy must be a mapping"),
    ({"wave": {}}, "unknown policy key"),
    ({"waves": {"canary": -1}}, "waves.canary must be at least 0"),
    ({"waves": {"size": 0}}, "waves.size must be at least 1"),
    ({"waves": {"size": "ten"}}, "waves.size must be an integer"),
    ({"waves": {"size": 2, "percent": 10}}, "only one of size, percent or by_group"),
    ({"waves": {"percent": 0}}, "waves.percent must be a number above 0"),
    ({"waves": {"percent": 120}}, "waves.percent must be a number above 0"),
    ({"waves": {"percent": "lots"}}, "waves.percent must be a number"),
    ({"waves": {"by_group": "web"}}, "waves.by_group must be a list"),
    ({"waves": {"by_group": ["a", "a"]}}, "lists group 'a' twice"),
    ({"waves": {"batch": 3}}, "waves: unknown key"),
    ({"max_age": "forever"}, "max_age must be a duration"),
    ({"max_age": "7 days"}, "max_age must be a duration"),
    ({"max_age": -5}, "must not be negative"),
    ({"directive_start": "next monday"}, "directive_start must be a date"),
    ({"replacement": {"linux": "sophos"}}, "replacement.linux must be one of clamav, none"),
    ({"replacement": {"mac": "xprotect"}}, "unknown platform 'mac'"),
    ({"replacement_waiver": ["x"]}, "replacement_waiver must be a reason"),
    ({"exceptions": {"host": "a"}}, "exceptions must be a list"),
    ({"exceptions": [{"host": "a", "reason": "r"}]}, r"exceptions\[0\].expires is required"),
    ({"exceptions": [{"host": "a", "reason": "r", "expires": "soon"}]}, r"exceptions\[0\].expires must be a date"),
    ({"exceptions": [{"host": "a", "expires": "2027-01-01"}]}, r"exceptions\[0\].reason must say why"),
    ({"exceptions": [{"host": "", "reason": "r", "expires": "2027-01-01"}]}, r"exceptions\[0\].host must be"),
    ({"exceptions": [{"host": "a", "reason": "r", "expires": "2027-01-01", "until": 1}]}, "unknown key"),
    ({"passwords": "secret"}, "passwords must map vendor"),
    ({"passwords": {"Not A Key": True}}, "passwords: keys are a vendor"),
    ({"scan": "maybe"}, "scan must be true or false"),
])
def test_policy_errors_are_clear(policy, message):
    with pytest.raises(PolicyError, match=message):
        normalize_policy(policy)


def test_policy_is_normalised():
    got = normalize_policy({"max_age": "1d12h", "waves": {"canary": "2", "percent": "12.5%"}, "scan": "no",
                            "replacement": {"windows": "Defender"}, "directive_start": datetime.date(2026, 10, 1),
                            "passwords": ["kaspersky/kes", "kaspersky"], "selector": ""})
    assert got == {
        "max_age": "1d12h", "max_age_seconds": 129600, "scan": False, "directive_start": "2026-10-01",
        "replacement": {"linux": "clamav", "windows": "defender"},
        "replacement_waiver": {"linux": None, "windows": None},
        "waves": {"canary": 2, "percent": 12.5}, "exceptions": [], "selector": None,
        "passwords": {"kaspersky": True, "kaspersky/kes": True},
    }
    assert normalize_policy(got) == got   # idempotent: a plan's policy can be fed back


@pytest.mark.parametrize("value, seconds", [
    ("24h", 86400), ("7d", 604800), ("1w", 604800), ("90m", 5400), ("1d12h", 129600), ("3600", 3600),
    (3600, 3600), ("30s", 30), ("2D", 172800), (None, None), ("", None), (0, None), ("0", None),
])
def test_durations(value, seconds):
    assert parse_duration(value) == seconds


# ------------------------------------------------------------------------- vendor-wide actions

VENDORS = {"kaspersky": {"linux": {"dirs": ["/opt/kaspersky", "/var/opt/kaspersky"], "repos": ["re:kaspersky"],
                                   "packages": ["kesl", "kesl-gui", "klnagent64", "kess", "kav4fs"]}}}


def test_linux_hosts_get_the_vendor_wide_cleanup_and_the_whole_catalog_blocked():
    hosts = {"web1": host(linux_facts(KESL), "web"), "win1": host(windows_facts(windows_finding("kes")), "win")}
    plan = build_plan(hosts, {}, now=NOW, vendors=VENDORS)
    actions = plan["hosts"]["web1"]["actions"]
    cleanup = [a for a in actions if a["action"] == "cleanup"]
    assert len(cleanup) == 1 and cleanup[0]["state"] is None       # no leftovers finding on this host
    assert cleanup[0]["vendor_dirs"] == ["/opt/kaspersky", "/var/opt/kaspersky"]
    assert cleanup[0]["repo_patterns"] == ["re:kaspersky"]
    block = next(a for a in actions if a["action"] == "block_reinstall")
    assert block["packages"] == ["kav4fs", "kesl", "kesl-gui", "kess", "klnagent64"]   # not only kesl
    verify_action = next(a for a in actions if a["action"] == "verify")
    assert verify_action["absent"] == [{"vendor": "kaspersky", "product": "kesl"}]
    # the synthetic cleanup is not a product of the plan
    assert [p["product"] for p in plan["summary"]["by_product"]] == ["kes", "kesl"]
    # Windows hosts are unchanged by the Linux profile
    win = plan["hosts"]["win1"]["actions"]
    assert not any(a.get("vendor_dirs") for a in win)
    # the profile is in the entry, so in the digest
    assert build_plan(hosts, {}, now=NOW)["digest"] != plan["digest"]


def test_a_leftovers_finding_keeps_its_recipe_and_gets_the_profile():
    facts = linux_facts(pkg("kesl", "12.1.0-1508", status="config-files"), repos=[REPO])
    plan = build_plan({"web1": host(facts)}, {}, now=NOW, vendors=VENDORS)
    cleanup = [a for a in plan["hosts"]["web1"]["actions"] if a["action"] == "cleanup"]
    assert len(cleanup) == 1 and cleanup[0]["state"] == "residual"
    assert cleanup[0]["removal"]["residue"] and cleanup[0]["vendor_dirs"] == ["/opt/kaspersky", "/var/opt/kaspersky"]


def test_held_packages_are_shown_on_their_remove_action():
    facts = linux_facts(KESL)
    facts["findings"][0]["evidence"][0]["hold"] = "apt-mark"
    plan = build_plan({"web1": host(facts)}, {}, now=NOW)
    remove = next(a for a in plan["hosts"]["web1"]["actions"] if a["action"] == "remove")
    assert remove["holds"] == [{"package": "kesl", "hold": "apt-mark"}]
    plain = build_plan({"web1": host(linux_facts(KESL))}, {}, now=NOW)
    assert "holds" not in next(a for a in plain["hosts"]["web1"]["actions"] if a["action"] == "remove")


def test_a_bad_vendor_profile_is_refused():
    with pytest.raises(PolicyError):
        build_plan({}, {}, now=NOW, vendors={"kaspersky": {"solaris": {}}})


# ------------------------------------------------------------------- one host at a time, parts


def mixed_fleet():
    hosts = fleet(7)
    hosts.update(fleet(3, linux_facts(), prefix="clean"))
    hosts.update(fleet(2, windows_facts(windows_finding()), prefix="win"))
    hosts["old1"] = host(linux_facts(KESL, scanned_at="2026-10-01T00:00:00Z"), "all")
    hosts["none1"] = host(None, error={"kind": "unreachable", "message": "no route"})
    hosts["ghost"] = None
    return hosts


def test_hosts_added_one_at_a_time_in_any_order_give_the_same_plan():
    hosts = mixed_fleet()
    policy = {"max_age": "7d", "waves": {"canary": 1, "size": 3}, "selector": "status != 'clean' && host != 'web3'"}
    expected, expected_parts = build_plan_parts(hosts, policy, now=NOW)
    backwards = build_plan_parts(reversed(list(hosts.items())), policy, now=NOW)
    assert backwards == (expected, expected_parts)
    # split between two planners (two processes of the plan action), then one takes the other's over
    first, second = Planner(policy, now=NOW), Planner(policy, now=NOW)
    for index, (name, entry) in enumerate(sorted(hosts.items())):
        (first if index % 2 else second).add(name, entry)
    first.absorb(json.loads(json.dumps(second.export())))
    assert first.stale() == stale_hosts(hosts, policy, NOW) == ["ghost", "none1", "old1"]
    assert first.finish() == (expected, expected_parts)
    assert expected["not_selected"] == ["web3"] and expected["summary"]["hosts"]["total"] == len(hosts)


def test_a_selector_failing_on_several_hosts_names_the_first_in_natural_order():
    planner = Planner({"selector": "abs(host)"}, now=NOW)
    for name in ("h10", "h9", "h2"):
        planner.add(name, host(linux_facts(KESL)))
    with pytest.raises(PolicyError, match=r"failed on host h2: "):
        planner.finish()


@pytest.mark.parametrize("count", [0, 1, 2, 5, 13])
def test_part_texts_are_the_parts(count):
    plan, parts = build_plan_parts(fleet(count), {"waves": {"canary": 1, "size": 2}}, now=NOW)
    texts = list(iter_part_texts(plan, parts))
    assert [name for name, dummy, dummy2, dummy3 in texts] == sorted(plan["hosts"])
    expected = host_parts(plan)
    for name, entry_json, proof, text in texts:
        assert json.loads(text) == expected[name] and entry_json == parts[name]
        assert proof == expected[name]["proof"] and verify_part(name, json.loads(text), plan["digest"]) is None


def test_hosts_with_the_same_product_share_one_removal_recipe():
    plan = plan_of(fleet(3))
    recipes = [next(a for a in entry["actions"] if a["action"] == "remove")["removal"] for entry in plan["hosts"].values()]
    assert recipes[0] is recipes[1] is recipes[2]


def test_hosts_planned_alike_share_one_template_and_serialise_as_on_their_own():
    """Hosts whose facts are equal but for their scan time are planned once (a template): each has an
    entry of its own (its wave, its scan time) sharing the template's values; the canonical texts,
    the digest and the parts are those of each host planned on its own."""
    from ansible_collections.fleetsec.divest.plugins.plugin_utils import _planner as p
    policy = {"exceptions": [{"host": "web3", "expires": "2099-01-01", "reason": "freeze"}], "waves": {"size": 2}}
    hosts = {}
    for index in range(1, 9):
        facts = copy.deepcopy(linux_facts(KESL, AGENT) if index % 2 else windows_facts(windows_finding()))
        facts["scanned_at"] = "2026-11-28T10:%02d:00Z" % index
        hosts["web%d" % index] = host(facts, "all")
    hosts["odd"] = host(dict(linux_facts(KESL), status="unknown", scan={"errors": [{"section": "x", "message": "y\u00e9\u202e"}]}))
    hosts["odd2"] = host(dict(linux_facts(KESL), status="unknown", scan={"errors": [{"section": "x", "message": "z"}]}))
    plan, parts = build_plan_parts(hosts, policy, now=NOW)
    entries = plan["hosts"]
    assert entries["web1"]["actions"] is entries["web5"]["actions"] and entries["web1"] is not entries["web5"]
    assert entries["web1"]["scanned_at"] == "2026-11-28T10:01:00Z" and entries["web5"]["scanned_at"] == "2026-11-28T10:05:00Z"
    assert entries["web2"]["actions"] is entries["web4"]["actions"] and entries["web1"]["actions"] is not entries["web2"]["actions"]
    assert entries["web3"]["blockers"] is not entries["web1"]["blockers"]     # an exception: its own
    assert entries["odd"]["blockers"] != entries["odd2"]["blockers"]          # other scan errors, other blockers
    # one template, several waves: each entry's wave is its own
    assert len({entries[name]["wave"] for name in ("web1", "web5", "web7")}) > 1
    plain = {name: p._dumps(entry) for name, entry in entries.items()}
    assert parts == plain == p.host_json(copy.deepcopy(entries))
    assert plan["digest"] == digest(copy.deepcopy(plan))
    # the same plan as each host planned apart (no template)
    alone = {}
    for name, entry in hosts.items():
        planner = Planner(policy, now=NOW)
        planner.templates = None
        planner.add(name, entry)
        alone.update(planner.export()["planned"])
    assert {name: p._dumps(dict(entry, wave=None)) for name, entry in alone.items()} == \
        {name: p._dumps(dict(entry, wave=None)) for name, entry in entries.items()}
    texts = p.PartTexts(plan, parts)
    for index, name in enumerate(texts.names):
        assert texts.text(index) == texts.text(index, texts.proof(index))
        assert json.loads(texts.text(index)) == host_part(plan, name)
        # what a fact cache writer puts in its file (json.dumps of the part, in the text's order)
        assert texts.dumped(index) == json.dumps(json.loads(texts.text(index)))
