# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The execute report: statuses, not-started reasons, counts toward the directive, hostile values."""

import csv
import io
import json

from ansible_collections.fleetsec.divest.plugins.plugin_utils import _execute_report as rep

DIGEST = "sha256:" + "1" * 64
RUN = "run1"
EXPECT = [{"vendor": "kaspersky", "product": "kesl", "version": "12.1.0.1508", "state": "installed"}]


def part(wave, blockers=()):
    return {"wave": wave, "expect": EXPECT, "blockers": list(blockers), "recipe": 0}


GATE = {
    "digest": DIGEST, "run_id": RUN, "source": "file", "path": "/x/divest-plan.json", "generated_at": "2026-11-28T12:00:00Z",
    "directive": {"name": "DHS BOD 17-01", "start": "2026-10-01", "remove_from": "2026-12-30"},
    "order": ["c1", "w1", "w2", "w3", "w4", "w5", "m1"],
    "waves": [{"name": "canary", "hosts": ["c1"]}, {"name": "wave-1", "hosts": ["w1", "w2", "w3", "w4", "w5"]},
              {"name": "management", "hosts": ["m1"]}],
    "parts": {"c1": part("canary"), "w1": part("wave-1"), "w2": part("wave-1"), "w3": part("wave-1"),
              "w4": part("wave-1", [{"kind": "exception", "message": "exception until 2027-01-01: audit"}]),
              "w5": part("wave-1"), "m1": part("management")},
    "not_in_plan": [{"host": "db1", "reason": "clean when the plan was made"}],
    "not_targeted": [],
}


def outcome(status, reason=None, run=RUN, removed=(), digest=DIGEST, step="done"):
    return {"divest_outcome": {"status": status, "reason": reason, "digest": digest, "run_id": run, "wave": None,
                               "step": step, "started_at": "2026-12-30T10:00:00Z",
                               "finished_at": "2026-12-30T10:05:00Z", "removed": list(removed), "remaining": [],
                               "replacement": {"product": "clamav", "healthy": True, "checked": True,
                                               "version": "1.4.3"}},
            "divest": {"status": "clean", "findings": []}}


REMOVED = [{"vendor": "kaspersky", "product": "kesl", "version": "12.1.0.1508", "packages": ["kesl"]}]
HOSTS = {
    "c1": outcome("removed", "removed kesl; clean", removed=REMOVED),
    "w1": outcome("failed", "remove: kesl: dpkg --purge kesl failed <script>alert(1)</script>"),
    "w2": outcome("drifted", "new since the plan: kaspersky/kess"),
    "w3": outcome("running", step="remove"),                            # contact lost mid-way
    "w4": outcome("blocked", "exception until 2027-01-01: audit"),
    "w5": outcome("already_clean", run="run0"),                         # an earlier run of this plan
    "m1": outcome("removed", digest="sha256:" + "2" * 64),              # another plan's outcome: ignored
}


def test_statuses_and_reasons():
    doc = rep.build_execute_report(HOSTS, "2026-12-30T11:00:00Z", GATE)
    by = {h["name"]: h for h in doc["hosts"]}
    assert {n: h["status"] for n, h in by.items()} == {
        "c1": "removed", "w1": "failed", "w2": "drifted", "w3": "unreachable", "w4": "blocked",
        "w5": "already_clean", "m1": "not_started"}
    assert "contact with the host was lost" in by["w3"]["reason"] and "step remove" in by["w3"]["reason"]
    assert by["w5"]["run"] == "earlier" and "outcome of an earlier run" in by["w5"]["reason"]
    assert by["m1"]["reason"] == "the run stopped after wave wave-1 (too many failures there)"
    s = doc["summary"]
    assert s["stopped_after"] == "wave-1" and s["vendor_free"] == 2 and s["still_affected"] == 5
    assert s["by_status"]["not_started"] == 1 and s["not_in_plan"] == 1
    assert doc["report"] == "execute" and rep.compact_summary(doc)["status"]["removed"] == 1


def test_check_mode_report_has_its_own_name():
    doc = rep.build_execute_report({"c1": outcome("would_remove")}, "t", dict(GATE, order=["c1"]), check_mode=True)
    assert doc["report"] == "execute-check" and doc["check_mode"] is True
    assert b"Check mode: nothing was changed." in rep.render_html(doc)


def test_renderers_escape_hostile_values():
    doc = rep.build_execute_report(HOSTS, "2026-12-30T11:00:00Z", GATE)
    page = rep.render_html(doc).decode("utf-8")
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.count("<script>") == 1                                   # the page's own, hashed in the CSP
    rows = list(csv.DictReader(io.StringIO(rep.render_csv(doc).decode("utf-8"))))
    assert [r["host"] for r in rows] == GATE["order"] + ["db1"]
    assert rows[-1]["status"] == "not_in_plan"
    assert json.loads(rep.render_json(doc))["hosts"][0]["name"] == "c1"


def test_nothing_ran():
    doc = rep.build_execute_report({}, "t", dict(GATE, order=[], parts={}, waves=[]))
    assert doc["summary"]["hosts"] == 0 and b"No host of the plan" in rep.render_html(doc)


def test_an_unprotected_host_is_its_own_outcome_and_the_page_is_never_green():
    bad = outcome("unprotected", "no working antivirus: the vendor's protection is gone and ClamAV NOT healthy: "
                                 "clamd is masked", removed=REMOVED)
    bad["divest_outcome"]["replacement"] = {"product": "clamav", "healthy": False, "checked": True,
                                            "reason": "clamd is masked"}
    bad["divest_outcome"]["protection"] = "none"
    hosts = {"c1": outcome("removed", "removed kesl", removed=REMOVED), "w1": bad}
    gate = dict(GATE, order=["c1", "w1"], waves=GATE["waves"][:2])
    doc = rep.build_execute_report(hosts, "t", gate)
    s = doc["summary"]
    assert s["by_status"]["unprotected"] == 1 and s["unprotected"] == 1 and s["done"] == 1
    assert rep.compact_summary(doc)["unprotected"] == 1
    page = rep.render_html(doc).decode("utf-8")
    assert 'banner tone-unprotected' in page and "1 host UNPROTECTED" in page
    assert "tone-clean" not in page.split('class="banner')[1].split(">")[0]
    assert "NOT healthy" in page and "protected by: NOTHING" in page
    row = [r for r in csv.DictReader(io.StringIO(rep.render_csv(doc).decode("utf-8"))) if r["host"] == "w1"][0]
    assert row["status"] == "unprotected" and row["replacement_healthy"] == "no" and row["protection"] == "none"


def test_a_failed_host_says_what_still_protects_it():
    failed = outcome("failed", "replacement: repository unreachable; nothing was removed")
    failed["divest_outcome"]["replacement"] = {"product": "clamav", "healthy": False, "checked": True}
    failed["divest_outcome"]["protection"] = "vendor"
    doc = rep.build_execute_report({"c1": failed}, "t", dict(GATE, order=["c1"], waves=GATE["waves"][:1]))
    page = rep.render_html(doc).decode("utf-8")
    assert "protected by: the vendor&#x27;s product (still installed)" in page or \
        "protected by: the vendor's product (still installed)" in page


def test_history_of_a_killed_and_finished_host_is_kept_in_every_format():
    removed = [{"vendor": "kaspersky", "product": "klnagent", "packages": ["klnagent64"], "run_id": "run0",
                "at": "2026-12-30T09:01:00Z"},
               {"vendor": "kaspersky", "product": "ksc64", "packages": ["ksc64"], "run_id": RUN,
                "at": "2026-12-30T10:03:00Z"}]
    host = outcome("removed", "removed ksc64; removed by an earlier run of this plan: klnagent", removed=removed)
    host["divest_outcome"]["history"] = [
        {"run_id": "run0", "started_at": "2026-12-30T09:00:00Z", "finished_at": None, "status": "running",
         "step": "remove", "removed": ["klnagent"]},
        {"run_id": RUN, "started_at": "2026-12-30T10:00:00Z", "finished_at": "2026-12-30T10:05:00Z",
         "status": "removed", "step": "done", "removed": ["ksc64"]}]
    doc = rep.build_execute_report({"c1": host}, "t", dict(GATE, order=["c1"], waves=GATE["waves"][:1]))
    entry = doc["hosts"][0]
    assert [r["run_id"] for r in entry["removed"]] == ["run0", RUN] and len(entry["history"]) == 2
    assert doc["summary"]["by_status"]["removed"] == 1
    assert "2 removed" not in rep.render_html(doc).decode("utf-8")      # hosts, not products
    assert "1 removed by this plan" in rep.render_html(doc).decode("utf-8")
    row = next(csv.DictReader(io.StringIO(rep.render_csv(doc).decode("utf-8"))))
    assert row["removed_by_runs"].startswith("klnagent@run0 2026-12-30T09:01:00Z; ksc64@run1") and row["runs"] == "2"
    page = rep.render_html(doc).decode("utf-8")
    assert "run run0" in page and "run run1" in page


def test_hosts_this_run_did_not_target_stay_still_to_do():
    gate = dict(GATE, order=["w1"], waves=[{"name": "wave-1", "hosts": ["w1"]}],
                not_targeted=["c1", "w2"], not_targeted_parts={"c1": part("canary"), "w2": part("wave-1")})
    hosts = {"w1": outcome("removed", removed=REMOVED), "c1": outcome("removed", run="run0", removed=REMOVED)}
    doc = rep.build_execute_report(hosts, "t", gate)
    by = {h["name"]: h for h in doc["hosts"]}
    assert by["c1"]["status"] == "removed" and by["c1"]["run"] == "earlier"
    assert by["w2"]["status"] == "not_targeted" and "still to do" in by["w2"]["reason"]
    s = doc["summary"]
    assert s["hosts"] == 3 and s["still_affected"] == 1 and s["not_targeted"] == 2
    assert [w["name"] for w in s["by_wave"]] == ["wave-1", "canary"]
    assert "1 not in this run" in rep.render_html(doc).decode("utf-8")


def test_products_of_hosts_that_ended_clean_are_not_still_there():
    expect = EXPECT + [{"vendor": "kaspersky", "product": "leftovers", "version": None, "state": "residual"}]
    gate = dict(GATE, order=["c1", "w1"], waves=GATE["waves"][:2],
                parts={"c1": dict(part("canary"), expect=expect), "w1": dict(part("wave-1"), expect=expect)})
    hosts = {"c1": outcome("removed", removed=REMOVED), "w1": outcome("already_clean")}
    products = {p["product"]: p for p in rep.build_execute_report(hosts, "t", gate)["summary"]["by_product"]}
    assert products["leftovers"]["remaining"] == 0 and products["leftovers"]["removed"] == 1
    assert products["kesl"] == {"vendor": "kaspersky", "product": "kesl", "hosts": 2, "removed": 1,
                                "already_clean": 1, "remaining": 0}


def test_a_dry_run_outcome_is_not_a_real_one():
    dry = outcome("would_remove")
    dry["divest_outcome"]["check_mode"] = True
    doc = rep.build_execute_report({"c1": dry}, "t", dict(GATE, order=["c1"], waves=GATE["waves"][:1]))
    assert doc["hosts"][0]["status"] == "not_started"
