# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for plugin_utils/_report.py: the identify document, its JSON, CSV and page, and its files."""

from __future__ import annotations

import base64
import copy
import csv
import hashlib
import html
import io
import json
import os
import re

import pytest

from ansible_collections.fleetsec.divest.plugins.plugin_utils import _files as f
from ansible_collections.fleetsec.divest.plugins.plugin_utils import _html as h
from ansible_collections.fleetsec.divest.plugins.plugin_utils import _report as r
from ansible_collections.fleetsec.divest.plugins.plugin_utils import _text as t
from ansible_collections.fleetsec.divest.tests.unit.plugins.plugin_utils.hostile_text import invisible
from ansible_collections.fleetsec.divest.tests.unit.plugins.plugin_utils.pages import page_data, parse, table_rows, table_text

NOW = "2026-11-27T10:05:00Z"
LATER = "2026-11-28T08:00:00Z"

XSS = "<script>alert(1)</script>"
HYPERLINK = '=HYPERLINK("http://x")'
DDE = "+cmd|' /C calc'!A0"
SURROGATE = "caf\udce9 \udcff\ud800"  # non-UTF-8 bytes decoded with surrogateescape + a stray surrogate
HUGE = "K" * 100_000


# --------------------------------------------------------------------------------------------
# Fixtures: hostvars-like data
# --------------------------------------------------------------------------------------------

def kesl(version="12.1.0.1508", state="installed", evidence=None, name="Kaspersky Endpoint Security for Linux"):
    return {
        "vendor": "kaspersky",
        "product": "kesl",
        "name": name,
        "version": version,
        "state": state,
        "evidence": evidence if evidence is not None else [
            {"kind": "package", "name": "kesl", "version": "12.1.0-1508", "manager": "dpkg", "status": "installed"},
            {"kind": "service", "name": "kesl", "state": "running"},
            {"kind": "path", "name": "/opt/kaspersky/kesl"},
        ],
        "removal": {"method": "package", "order": 10, "packages": ["kesl-gui", "kesl"], "reboot": False,
                    "password": "none"},
    }


def kes_win(version="12.6.0.438", display_name="Kaspersky Endpoint Security for Windows"):
    return {
        "vendor": "kaspersky",
        "product": "kes_win",
        "name": "Kaspersky Endpoint Security for Windows",
        "version": version,
        "state": "installed",
        "evidence": [
            {"kind": "uninstall_entry", "name": display_name, "version": version,
             "key": "{9A017278-F7F4-4DF9-A482-0B97B70DD7ED}", "hive": "HKLM", "view": 32},
            {"kind": "service", "name": "AVP", "state": "running"},
        ],
        "removal": {"method": "msi", "order": 10, "reboot": True, "password": "optional"},
    }


def leftovers():
    return {"vendor": "kaspersky", "product": "leftovers", "name": "Kaspersky leftovers", "version": None,
            "state": "residual", "evidence": [{"kind": "path", "name": "/var/opt/kaspersky"}],
            "removal": {"method": "residue"}}


def scanned(status, findings=(), system="Linux", distribution="debian", version="12", errors=(),
            skipped=(), scanned_at="2026-11-27T10:00:00Z"):
    """hostvars of a host that vendor_facts scanned (the fact lives in ansible_facts)."""
    return {
        "inventory_hostname": "ignored",
        "ansible_facts": {
            "divest": {
                "schema": 1,
                "scanned_at": scanned_at,
                "platform": {"system": system, "distribution": distribution, "version": version},
                "status": status,
                "scan": {"live": True, "root": "/", "skipped": list(skipped), "errors": list(errors)},
                "findings": list(findings),
            },
        },
    }


def windows(status, findings=()):
    return scanned(status, findings, system="Windows", distribution="Microsoft Windows Server 2022 Standard",
                   version="10.0.20348")


def failed(kind="unreachable", message="Failed to connect to the host via ssh: No route to host"):
    return {"divest_scan": {"kind": kind, "message": message}}


def fleet():
    """A small fleet with every status."""
    return {
        "web1": scanned("clean"),
        "web2": scanned("affected", [kesl()]),
        "web10": scanned("affected", [kesl("11.2.0.4528")]),
        "db1": scanned("residual", [kesl(None, "residual", [{"kind": "path", "name": "/opt/kaspersky/kesl"}])],
                       distribution="redhat", version="9"),
        "db2": scanned("residual", [leftovers()], distribution="redhat", version="9"),
        "win1": windows("affected", [kes_win()]),
        "odd": scanned("unknown", errors=[{"section": "packages", "message": "dpkg status: Permission denied"}]),
        "gone": failed("unreachable"),
        "broke": failed("failed", "MODULE FAILURE"),
        "new1": {},
    }


def build(hosts, **kwargs):
    return r.build_identify_report(hosts, NOW, **kwargs)


def host(doc, name):
    return next(h for h in doc["hosts"] if h["name"] == name)


def csv_rows(doc):
    return list(csv.reader(io.StringIO(r.render_csv(doc).decode("utf-8"))))


# --------------------------------------------------------------------------------------------
# The document
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("hosts, expected", [
    ({}, {}),
    ({"a": scanned("clean"), "b": scanned("clean")}, {"clean": 2}),
    (fleet(), {"affected": 3, "residual": 2, "unknown": 1, "failed": 1, "unreachable": 1, "not_scanned": 1,
               "clean": 1}),
    ({"a": failed("unreachable"), "b": failed("unreachable"), "c": {}}, {"unreachable": 2, "not_scanned": 1}),
    ({"a": None, "b": {}}, {"not_scanned": 2}),
], ids=["empty", "all-clean", "fleet", "errors", "not-scanned"])
def test_status_counts(hosts, expected):
    doc = build(hosts)
    counts = dict.fromkeys(r.STATUSES, 0)
    counts.update(expected)
    assert doc["summary"]["by_status"] == counts
    assert list(doc["summary"]["by_status"]) == list(r.STATUSES)
    assert doc["summary"]["hosts"] == len(hosts) == sum(counts.values())
    assert [h["name"] for h in doc["hosts"]] == sorted(hosts, key=t.natural_key)


@pytest.mark.parametrize("hostvars, status, error_kind, last_status", [
    (scanned("clean"), "clean", None, None),
    (scanned("affected", [kesl()]), "affected", None, None),
    (scanned("residual", [leftovers()]), "residual", None, None),
    (scanned("unknown", errors=[{"section": "units", "message": "systemctl timed out"}]), "unknown", None, None),
    (failed("unreachable"), "unreachable", "unreachable", None),
    (failed("failed"), "failed", "failed", None),
    ({"divest_scan": {"kind": "weird", "msg": "x"}}, "failed", "failed", None),
    ({"divest_scan": "plain text error"}, "failed", "failed", None),
    # what the identify role's scan task registers (ignore_unreachable, block/rescue)
    ({"divest_scan": {"unreachable": True, "changed": False, "msg": "ssh: connect to host web9 port 22: timed out"}},
     "unreachable", "unreachable", None),
    ({"divest_scan": {"failed": True, "msg": "MODULE FAILURE"}}, "failed", "failed", None),
    (dict(scanned("clean"), divest_scan={"changed": False, "ansible_facts": {}}), "clean", None, None),
    ({}, "not_scanned", None, None),
    (None, "not_scanned", "not_scanned", None),
    # a fact left in the fact cache by an earlier run, while this run could not reach the host
    (dict(scanned("affected", [kesl()]), **failed("unreachable")), "unreachable", "unreachable", "affected"),
    # facts that do not follow the contract
    ({"ansible_facts": {"divest": "garbage"}}, "unknown", None, None),
    ({"ansible_facts": {"divest": {"status": "pwned"}}}, "unknown", None, None),
    # the fact set with set_fact (top-level variable) instead of ansible_facts
    ({"divest": scanned("affected", [kesl()])["ansible_facts"]["divest"]}, "affected", None, None),
], ids=["clean", "affected", "residual", "unknown", "unreachable", "failed", "unknown-kind", "text-error",
        "registered-unreachable", "registered-failed", "registered-ok", "no-fact", "not-in-inventory",
        "stale-fact", "fact-not-mapping", "bad-status", "top-level-fact"])
def test_host_entry_status(hostvars, status, error_kind, last_status):
    entry = r.host_entry("h1", hostvars)
    assert entry["status"] == status
    assert (entry["error"] or {}).get("kind") == error_kind
    assert entry.get("last_status") == last_status
    assert set(entry) >= {"name", "status", "platform", "scanned_at", "findings", "scan", "error"}


@pytest.mark.parametrize("fact, message", [
    ("garbage", "the divest fact is not a mapping"),
    ({"status": "pwned"}, "unexpected status 'pwned' in the divest fact"),
    ({"status": None, "scan": {"errors": [{"section": "units", "message": "x"}]}}, "unexpected status ''"),
])
def test_invalid_fact_is_unknown_and_says_why(fact, message):
    entry = r.host_entry("h1", {"ansible_facts": {"divest": fact}})
    assert entry["status"] == "unknown"
    assert entry["scan"]["errors"][-1]["section"] == "report"
    assert entry["scan"]["errors"][-1]["message"].startswith(message)


def test_stale_fact_keeps_last_known_findings():
    entry = r.host_entry("h1", dict(scanned("affected", [kesl()]), **failed("unreachable", "timed out")))
    assert entry["findings"][0]["product"] == "kesl"
    assert entry["scanned_at"] == "2026-11-27T10:00:00Z"
    assert entry["error"] == {"kind": "unreachable", "message": "timed out"}


def test_ansible_facts_win_over_top_level_variable():
    hv = scanned("clean")
    hv["divest"] = {"status": "affected"}
    assert r.host_entry("h", hv)["status"] == "clean"


def test_other_fact_names():
    hv = {"ansible_facts": {"scan2": scanned("affected", [kesl()])["ansible_facts"]["divest"]},
          "scan2_err": None}
    entry = r.host_entry("h", hv, fact="scan2", scan_result="scan2_err")
    assert entry["status"] == "affected"
    assert r.host_entry("h", hv)["status"] == "not_scanned"


def test_by_product_counts_hosts_and_versions():
    hosts = {
        "a": scanned("affected", [kesl("12.1.0.1508")]),
        "b": scanned("affected", [kesl("12.1.0.1508")]),
        "c": scanned("affected", [kesl("11.2.0.4528")]),
        # one host, two findings of the same product (two versions): counted once, both versions
        "d": scanned("affected", [kesl("12.1.0.1508"), kesl("12.1.0.999", "residual")]),
        "e": scanned("residual", [kesl(None, "residual")]),
        "f": windows("affected", [kes_win()]),
        "g": scanned("residual", [leftovers()]),
        "h": scanned("clean"),
    }
    doc = build(hosts)
    products = {(p["vendor"], p["product"]): p for p in doc["summary"]["by_product"]}
    assert list(products) == [("kaspersky", "kes_win"), ("kaspersky", "kesl"), ("kaspersky", "leftovers")]
    k = products[("kaspersky", "kesl")]
    assert (k["hosts"], k["installed"], k["residual"]) == (5, 4, 1)
    assert k["name"] == "Kaspersky Endpoint Security for Linux"
    assert k["versions"] == [
        {"version": "11.2.0.4528", "hosts": 1},
        {"version": "12.1.0.999", "hosts": 1},
        {"version": "12.1.0.1508", "hosts": 3},
        {"version": None, "hosts": 1},
    ]
    assert products[("kaspersky", "kes_win")]["versions"] == [{"version": "12.6.0.438", "hosts": 1}]
    assert products[("kaspersky", "leftovers")]["residual"] == 1


def test_by_platform():
    doc = build(fleet())
    plats = {(p["system"], p["distribution"], p["version"]): p for p in doc["summary"]["by_platform"]}
    assert plats[("Linux", "debian", "12")]["hosts"] == 4
    assert plats[("Linux", "redhat", "9")]["by_status"]["residual"] == 2
    assert plats[("Windows", "Microsoft Windows Server 2022 Standard", "10.0.20348")]["hosts"] == 1
    assert plats[(None, None, None)]["hosts"] == 3  # unreachable, failed, not scanned
    assert sum(p["hosts"] for p in plats.values()) == 10


@pytest.mark.parametrize("names, expected", [
    (["web10", "web2", "web1"], ["web1", "web2", "web10"]),
    (["B", "a", "C"], ["a", "B", "C"]),
    (["h-010", "h-9", "h-10"], ["h-9", "h-10", "h-010"]),
    (["x" + "9" * 5000, "x1"], ["x1", "x" + "9" * 5000]),  # no int() on absurd digit runs
    (["10.0.0.2", "10.0.0.10", "10.0.0.1"], ["10.0.0.1", "10.0.0.2", "10.0.0.10"]),
])
def test_host_sort_order(names, expected):
    doc = build({n: scanned("clean") for n in names})
    assert [h["name"] for h in doc["hosts"]] == expected


def test_html_lists_hosts_most_urgent_first():
    page = r.render_html(build(fleet())).decode("utf-8")
    table = page[page.index('id="hosts-table"'):]
    order = re.findall(r'<th scope="row" class="nowrap">([^<]*)</th>', table)
    assert order == ["web2", "web10", "win1", "db1", "db2", "odd", "broke", "gone", "new1", "web1"]


def test_compact_summary_is_small():
    summary = r.compact_summary(build(fleet()))
    assert summary == {
        "report": "identify",
        "generated_at": NOW,
        "hosts": 10,
        "status": {"unprotected": 0, "reappearance": 0, "affected": 3, "residual": 2, "unknown": 1, "failed": 1,
                   "unreachable": 1, "not_scanned": 1, "clean": 1},
        "alerts": {"unprotected": 0, "reappearance": 0},
        "products": {"kaspersky/kesl": 3, "kaspersky/kes_win": 1, "kaspersky/leftovers": 1},
    }
    assert len(json.dumps(summary)) < 500


def test_compact_summary_caps_products():
    findings = [dict(kesl(), product="p%03d" % i) for i in range(80)]
    summary = r.compact_summary(build({"a": scanned("affected", findings)}))
    assert len(summary["products"]) == 50
    assert summary["products_truncated"] is True


# --------------------------------------------------------------------------------------------
# JSON
# --------------------------------------------------------------------------------------------

def test_json_round_trip():
    doc = build(fleet())
    data = r.render_json(doc)
    assert json.loads(data.decode("utf-8")) == doc
    assert data.endswith(b"\n")


def test_json_keeps_hostile_values_in_full_and_valid_utf8():
    hosts = {"evil": scanned("affected", [kesl(name=HUGE, evidence=[
        {"kind": "uninstall_entry", "name": SURROGATE, "version": XSS, "extra": float("nan")}])])}
    doc = build(hosts)
    data = r.render_json(doc)
    data.decode("utf-8", "strict")  # valid UTF-8
    back = json.loads(data)
    finding = back["hosts"][0]["findings"][0]
    assert finding["name"] == HUGE  # full length in JSON
    assert finding["evidence"][0]["name"] == "caf\\xe9 \\xff\\ud800"
    assert finding["evidence"][0]["version"] == XSS  # JSON is data, not markup
    assert finding["evidence"][0]["extra"] == "nan"


def test_render_json_accepts_foreign_types():
    doc = {"report": "x", "when": {1, 2}.__class__([3]), "b": b"\xff", "t": ("a",), "f": float("inf")}
    back = json.loads(r.render_json(doc))
    assert back == {"report": "x", "when": [3], "b": "\\xff", "t": ["a"], "f": "inf"}


# --------------------------------------------------------------------------------------------
# CSV
# --------------------------------------------------------------------------------------------

def test_csv_one_row_per_host_and_finding():
    hosts = fleet()
    hosts["multi"] = scanned("affected", [kesl(), leftovers(), kes_win()])
    doc = build(hosts)
    rows = csv_rows(doc)
    assert tuple(rows[0]) == r.CSV_COLUMNS
    expected = sum(max(1, len(h["findings"])) for h in doc["hosts"])
    assert len(rows) - 1 == expected == 13
    assert all(len(row) == len(r.CSV_COLUMNS) for row in rows)
    by_host = {}
    for row in rows[1:]:
        by_host.setdefault(row[0], []).append(dict(zip(r.CSV_COLUMNS, row)))
    assert [row["product"] for row in by_host["multi"]] == ["kesl", "leftovers", "kes_win"]
    web2 = by_host["web2"][0]
    assert web2["evidence"] == "package kesl 12.1.0-1508; service kesl running; path /opt/kaspersky/kesl"
    assert (web2["status"], web2["system"], web2["distribution"], web2["os_version"]) == \
        ("affected", "Linux", "debian", "12")
    assert (web2["vendor"], web2["product_name"], web2["product_version"], web2["state"]) == \
        ("kaspersky", "Kaspersky Endpoint Security for Linux", "12.1.0.1508", "installed")
    assert web2["scanned_at"] == "2026-11-27T10:00:00Z"
    # hosts without findings: one row, empty product columns, the error says why
    gone = by_host["gone"]
    assert len(gone) == 1
    assert [gone[0][c] for c in ("vendor", "product", "product_name", "product_version", "state", "evidence")] \
        == [""] * 6
    assert gone[0]["error"].startswith("unreachable: Failed to connect")
    assert by_host["odd"][0]["error"] == "packages: dpkg status: Permission denied"
    assert by_host["new1"][0]["status"] == "not_scanned"


def test_csv_bytes_format():
    data = r.render_csv(build({"a": scanned("clean")}))
    assert data.startswith(b'"host","status",')  # no BOM, every cell quoted
    assert data.count(b"\r\n") == 2


def test_csv_hostile_values():
    hosts = {
        "evil": scanned("affected", [kesl(version=HYPERLINK, name=DDE, evidence=[
            {"kind": "uninstall_entry", "name": XSS + "\r\n=cmd", "version": HUGE}])]),
    }
    rows = csv_rows(build(hosts))
    row = dict(zip(r.CSV_COLUMNS, rows[1]))
    assert row["product_version"] == "'" + HYPERLINK
    assert row["product_name"] == "'" + DDE
    assert "\r" not in row["evidence"] and "\n" not in row["evidence"]
    assert len(row["evidence"]) < r.EVIDENCE_LIMIT + 100
    assert "more characters]" in row["evidence"]
    for cell in rows[1]:
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))


# --------------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------------

def hostile_fleet():
    hosts = fleet()
    hosts['ev"il<b>'] = scanned("affected", [kesl(name=XSS, version=HYPERLINK, evidence=[
        {"kind": "uninstall_entry", "name": DDE, "version": SURROGATE, "publisher": "\" onmouseover=\"alert(2)"},
        {"kind": "path", "name": HUGE},
        {"kind": "registry_key", "name": "<img src=x onerror=alert(3)>", "note": "</script><script>alert(4)"},
    ])], distribution="<i>debian</i>")
    hosts["gone2"] = failed("unreachable", "<b>ssh</b> \x1b[31mrefused\u202e")
    return hosts


def test_html_escapes_hostile_values():
    page = r.render_html(build(hostile_fleet())).decode("utf-8")
    parsed = parse(page)
    names = [name for name, dummy in parsed.tags]
    assert names.count("script") == 2 and len(parsed.raw["script"]) == 1 and len(parsed.data) == 1  # ours
    assert "img" not in names and "i" not in names and "b" not in names
    assert XSS not in page and "<img" not in page and "<i>debian" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    for dummy, attrs in parsed.tags:
        for attr in attrs:
            assert not attr.startswith("on")
            assert attr != "style"
    assert 'ev&quot;il&lt;b&gt;' in page
    assert "\x1b" not in page and "\u202e" not in page and "\udce9" not in page
    assert "caf\\xe9" in page
    # the 100 kB value is shortened in the page, with a marker
    assert HUGE not in page
    assert "K" * t.FIELD_LIMIT + "[\u2026 %d more characters]" % (len(HUGE) - t.FIELD_LIMIT) in page


def test_html_is_self_contained_with_strict_csp():
    page = r.render_html(build(hostile_fleet())).decode("utf-8")
    parsed = parse(page)
    csp = [a["content"] for t, a in parsed.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    assert len(csp) == 1
    policy = dict(part.strip().split(" ", 1) for part in csp[0].split(";"))
    assert policy["default-src"] == "'none'"
    assert policy["base-uri"] == "'none'" and policy["form-action"] == "'none'"
    for kind, directive in (("script", "script-src"), ("style", "style-src")):
        assert len(parsed.raw[kind]) == 1
        digest = base64.b64encode(hashlib.sha256(parsed.raw[kind][0].encode("utf-8")).digest()).decode()
        assert policy[directive] == "'sha256-%s'" % digest
        assert "unsafe-inline" not in policy[directive]
    # nothing to load from anywhere
    for name, attrs in parsed.tags:
        assert "src" not in attrs and name not in ("link", "iframe", "object", "embed", "img", "base", "form")
        assert not attrs.get("href", "").startswith(("http", "//", "javascript"))
    assert "http://" not in page.replace('"http://x"', "").replace("&quot;http://x&quot;", "").replace('\\"http://x\\"', "")
    assert page.startswith("<!DOCTYPE html>")
    assert '<meta charset="utf-8">' in page


def test_html_content():
    doc = build(fleet())
    page = r.render_html(doc).decode("utf-8")
    for status in r.STATUSES:
        label = r.STATUS_TEXT[status][0]
        assert '<div class="value">%s</div><div class="label">%s</div>' % (
            doc["summary"]["by_status"][status], label) in page
    assert page.count("<details>") == 8  # hosts with findings, errors or scan notes
    assert 'class="data sortable"' in page and 'data-filter="' in page
    assert "Kaspersky Endpoint Security for Linux" in page and "11.2.0.4528" in page
    assert '<meta name="divest-generated-at" content="%s">' % NOW in page
    # products: one group of rows per product, its header cell spanning its versions' rows
    assert ('<tr class="group-start"><th scope="row" rowspan="3"><strong>Kaspersky Endpoint Security for Linux</strong> '
            '<code>kesl</code><div class="muted">kaspersky \u00b7 3 hosts \u00b7 2 installed, 1 residual</div></th>'
            '<td>11.2.0.4528</td><td class="num">1</td></tr>') in page
    assert ('<tr><td>12.1.0.1508</td><td class="num">1</td></tr>'
            '<tr><td><span class="muted">unknown</span></td><td class="num">1</td></tr>') in page
    assert "Failed to connect to the host via ssh" in page
    assert "dpkg status: Permission denied" in page


def test_html_empty_fleet():
    page = r.render_html(build({})).decode("utf-8")
    assert "No hosts were in the play." in page
    assert "No vendor product was found on any scanned host." in page


def test_html_caps_evidence_items():
    evidence = [{"kind": "path", "name": "/p/%d" % i} for i in range(r.HTML_EVIDENCE_ITEMS + 25)]
    page = r.render_html(build({"a": scanned("affected", [kesl(evidence=evidence)])})).decode("utf-8")
    assert "/p/%d<" % (r.HTML_EVIDENCE_ITEMS - 1) in page
    assert "/p/%d<" % r.HTML_EVIDENCE_ITEMS not in page
    assert "and 25 more evidence items" in page


# --------------------------------------------------------------------------------------------
# Evidence text
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("item, expected", [
    ({"kind": "package", "name": "kesl", "version": "12.1.0-1508", "manager": "dpkg", "status": "installed"},
     "package kesl 12.1.0-1508"),
    ({"kind": "package", "name": "kesl", "version": "12.1.0-1508", "status": "config-files"},
     "package kesl 12.1.0-1508 config-files"),
    ({"kind": "service", "name": "kesl", "state": "running"}, "service kesl running"),
    ({"kind": "path", "name": "/opt/kaspersky"}, "path /opt/kaspersky"),
    ({"kind": "uninstall_entry", "name": "KES", "version": "12.6", "hive": "HKLM", "view": 32},
     "uninstall_entry KES 12.6"),
    ({"name": "x"}, "? x"),
    ("odd", "odd"),
])
def test_evidence_text(item, expected):
    assert r.evidence_text(item) == expected


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", r.FORMATS)
def test_writers(tmp_path, fmt):
    path = tmp_path / ("out." + fmt)
    doc = build(fleet())
    assert f.write_bytes_atomic(str(path), r.RENDERERS[fmt](doc)) is True
    assert f.write_bytes_atomic(str(path), r.RENDERERS[fmt](doc)) is False
    assert path.read_bytes() == r.RENDERERS[fmt](doc)
    path.read_bytes().decode("utf-8", "strict")


def write(dest, document, formats=r.FORMATS):
    """What the report action does: write the identify report's files under ``dest``."""
    return r.write_reports(dest, document, formats, r.RENDERERS)


def test_write_reports_idempotent(tmp_path):
    dest = tmp_path / "reports"
    files, changed, doc = write(str(dest), build(fleet()))
    assert changed is True
    assert files == {f: str(dest / ("divest-identify." + f)) for f in ("json", "csv", "html")}
    before = {f: os.stat(p).st_mtime_ns for f, p in files.items()}
    # same data, later clock: nothing is rewritten, the earlier generated_at is kept
    files2, changed2, doc2 = write(str(dest), r.build_identify_report(fleet(), LATER))
    assert changed2 is False and files2 == files
    assert doc2["generated_at"] == NOW
    assert {f: os.stat(p).st_mtime_ns for f, p in files.items()} == before
    # the data changes: files are rewritten with the new time
    hosts = fleet()
    hosts["web1"] = scanned("affected", [kesl()])
    files3, changed3, doc3 = write(str(dest), r.build_identify_report(hosts, LATER))
    assert changed3 is True and doc3["generated_at"] == LATER
    assert json.loads(open(files["json"], "rb").read())["generated_at"] == LATER


def test_write_reports_idempotent_without_json(tmp_path):
    dest = str(tmp_path)
    assert write(dest, build(fleet()), formats=("html",))[1] is True
    assert write(dest, r.build_identify_report(fleet(), LATER), formats=("html",))[1] is False
    assert write(dest, build(fleet()), formats=("csv",))[1] is True
    assert write(dest, r.build_identify_report(fleet(), LATER), formats=("csv",))[1] is False


def test_large_fleet_is_linear_work():
    """10,000 hosts build and render (no timing assertion: see docs/reports.md for numbers):
    every host is a row of the page's data; the first page of rows is in its HTML."""
    hosts = {}
    for i in range(10_000):
        if i % 10 == 0:
            hosts["host%05d" % i] = scanned("affected", [kesl()])
        elif i % 97 == 0:
            hosts["host%05d" % i] = failed()
        else:
            hosts["host%05d" % i] = scanned("clean")
    doc = build(hosts)
    assert doc["summary"]["by_status"]["affected"] == 1000
    assert len(csv_rows(doc)) == 10_001
    page = r.render_html(doc)
    assert len(table_rows(page_data(page)["tables"]["hosts-table"])) == 10_000
    assert page.count(b"<tr") == h.PAGE_ROWS + 1 + len(doc["summary"]["by_platform"]) + 1 + 1 + 1


# --------------------------------------------------------------------------------------------
# Host text is inert in every format: invisible characters, formulas after Unicode spaces,
# Markdown, and the same hostile values through every renderer of the identify report
# --------------------------------------------------------------------------------------------

#: Hostile host text: (id, value). Each goes through every renderer of the identify report.
HOSTILE = [
    ("html", "<img src=x onerror=alert(1)><script>alert(2)</script>"),
    ("attribute", "\" onmouseover=\"alert(3)"),
    ("url", "see http://evil.example/x and https://evil.example"),
    ("www", "www.evil.example"),
    ("autolink", "<https://evil.example>"),
    ("email", "admin@evil.example"),
    ("markdown", "*b* _i_ **s** ~~d~~ [l](http://e.example) ![i](x.png) `c` # h | t |"),
    ("fence", "```\nrm -rf /\n```"),
    ("formula", "=HYPERLINK(\"http://x\",\"y\")"),
    ("formula-nbsp", "\u00a0=1+1"),
    ("formula-ideographic", "\u3000+cmd|' /C calc'!A0"),
    ("formula-zero-width", "\u200b@SUM(A1)"),
    ("zero-width", "ke\u200bsl\u200c\u200d\u2060\ufeff\u180e"),
    ("bidi", "\u202eexe.txt\u2066x\u2069\u200f"),
    ("tags", "ok\U000e0069\U000e0067\U000e006e"),
    ("controls", "bell\x07\x1b[31m\x7f\x9b"),
    ("lines", "a\r\nb\u2028c"),
    ("surrogate", "caf\udce9"),
]


def _visible(value):
    """What a reader sees of ``value`` in a page or a cell: the display text."""
    return t.clean_text(value)


def hostile_hosts(value):
    outcome = {"status": "removed", "reason": value, "digest": "sha256:" + "ab" * 32, "run_id": value,
               "finished_at": "2026-12-30T10:01:40Z", "check_mode": False,
               "replacement": {"product": value, "healthy": False, "checked": True, "reason": value}}
    vendor = scanned("affected", [kesl(version=value, name=value, evidence=[
        {"kind": "uninstall_entry", "name": value, "version": value, "publisher": value}])],
        distribution=value, scanned_at="2026-12-31T10:00:00Z")
    unprotected = scanned("clean", scanned_at="2026-12-31T10:00:00Z")
    unprotected["ansible_facts"]["divest_outcome"] = outcome
    return {value: vendor, "unprotected-" + value: unprotected, "down": failed("unreachable", value)}


@pytest.mark.parametrize("value", [v for dummy, v in HOSTILE], ids=[i for i, dummy in HOSTILE])
def test_hostile_text_through_every_identify_renderer(value):
    doc = build(hostile_hosts(value))
    # JSON: data, kept in full (lone surrogates as \xNN), nothing invisible in the file
    raw = r.render_json(doc).decode("utf-8")
    assert invisible(raw) == []
    back = json.loads(raw)
    entry = next(h for h in back["hosts"] if h["findings"])
    assert entry["findings"][0]["name"] == t.text(value)
    assert host(back, "unprotected-" + t.text(value))["execute"]["reason"] == t.text(value)
    # CSV: every cell as displayed, never a formula, nothing invisible
    data = r.render_csv(doc).decode("utf-8")
    assert invisible(data) == []
    rows = csv_rows(doc)
    for row in rows[1:]:
        assert len(row) == len(r.CSV_COLUMNS)
        for cell in row:
            assert not re.match(r"[\s\ufffd]*[=+\-@\uff1d\uff0b\uff0d\uff20]", cell), cell
    cells = {c for row in rows[1:] for c in row}
    shown = _visible(value)
    assert shown in cells or "'" + shown in cells
    # HTML: only our elements, the value shown as text, nothing invisible
    page = r.render_html(doc).decode("utf-8")
    parsed = parse(page)
    assert [tag for tag, dummy in parsed.tags].count("script") == 2 and len(parsed.raw["script"]) == 1
    assert not {"img", "a", "b", "i"} & {t for t, dummy in parsed.tags}
    for dummy, attrs in parsed.tags:
        assert not any(a.startswith("on") for a in attrs)
    assert invisible(page) == []
    assert html.escape(shown, quote=True) in page


# --------------------------------------------------------------------------------------------
# Execute outcomes in the identify report: unprotected and reappearance
# --------------------------------------------------------------------------------------------

DONE = "2026-12-30T10:01:40Z"
BEFORE = "2026-12-29T09:00:00Z"   # a scan from before execute cleaned the host
AFTER = "2027-01-05T08:00:00Z"    # a scan made since
DIGEST = "sha256:" + "0123456789abcdef" * 4


def outcome(status="removed", healthy=True, check_mode=False, replacement=True, reason="removed kesl; clean"):
    out = {"status": status, "reason": reason, "digest": DIGEST, "run_id": "9be8e5eaa984", "wave": "canary",
           "step": "done", "started_at": "2026-12-30T10:00:00Z", "finished_at": DONE,
           "check_mode": check_mode, "removed": [], "remaining": []}
    out["replacement"] = ({"product": "clamav", "healthy": healthy, "checked": True, "version": "1.4.3",
                           "reason": "clamd is not running" if healthy is False else "clamd answers PING"}
                          if replacement else None)
    return out


def with_outcome(hostvars, value, top_level=False):
    hostvars = json.loads(json.dumps(hostvars))
    if top_level:
        hostvars["divest_outcome"] = value
    else:
        hostvars.setdefault("ansible_facts", {})["divest_outcome"] = value
    return hostvars


@pytest.mark.parametrize("hostvars, status, alerts", [
    # execute cleaned the host, its replacement is healthy, the scan since is clean: green
    (with_outcome(scanned("clean", scanned_at=AFTER), outcome()), "clean", []),
    # ... the replacement is not healthy: unprotected
    (with_outcome(scanned("clean", scanned_at=AFTER), outcome(healthy=False)), "unprotected", ["unprotected"]),
    (with_outcome(scanned("clean", scanned_at=AFTER), outcome("already_clean", healthy=False)), "unprotected",
     ["unprotected"]),
    (with_outcome(scanned("clean", scanned_at=AFTER), outcome("unprotected", healthy=False)), "unprotected",
     ["unprotected"]),
    (with_outcome(scanned("clean", scanned_at=AFTER), outcome("unprotected", replacement=False)), "unprotected",
     ["unprotected"]),
    # no replacement (null): waived, not unprotected
    (with_outcome(scanned("clean", scanned_at=AFTER), outcome(replacement=False)), "clean", []),
    # health not recorded is not "false"
    (with_outcome(scanned("clean", scanned_at=AFTER), outcome(healthy=None)), "clean", []),
    # the vendor is back: reappearance, whether the replacement is healthy or not
    (with_outcome(scanned("affected", [kesl()], scanned_at=AFTER), outcome()), "reappearance", ["reappearance"]),
    (with_outcome(scanned("affected", [kesl()], scanned_at=AFTER), outcome(healthy=False)), "reappearance",
     ["reappearance"]),
    (with_outcome(scanned("residual", [leftovers()], scanned_at=AFTER), outcome()), "reappearance",
     ["reappearance"]),
    # leftovers back and no healthy replacement: both (unprotected first)
    (with_outcome(scanned("residual", [leftovers()], scanned_at=AFTER), outcome(healthy=False)), "unprotected",
     ["unprotected", "reappearance"]),
    # a scan incomplete since, no installed product seen, replacement not healthy
    (with_outcome(scanned("unknown", errors=[{"section": "packages", "message": "x"}], scanned_at=AFTER),
                  outcome(healthy=False)), "unprotected", ["unprotected"]),
    # not cleaned by execute: check mode, failed, blocked, drifted, would_remove
    (with_outcome(scanned("clean", scanned_at=AFTER), outcome(check_mode=True, healthy=False)), "clean", []),
    (with_outcome(scanned("affected", [kesl()], scanned_at=AFTER), outcome(check_mode=True)), "affected", []),
    (with_outcome(scanned("affected", [kesl()], scanned_at=AFTER), outcome("failed", healthy=False)), "affected", []),
    (with_outcome(scanned("affected", [kesl()], scanned_at=AFTER), outcome("blocked")), "affected", []),
    (with_outcome(scanned("affected", [kesl()], scanned_at=AFTER), outcome("drifted")), "affected", []),
    (with_outcome(scanned("clean", scanned_at=AFTER), outcome("would_remove", healthy=False, check_mode=True)),
     "clean", []),
    # a scan from before execute cleaned the host says nothing about the host since
    (with_outcome(scanned("affected", [kesl()], scanned_at=BEFORE), outcome()), "affected", []),
    (with_outcome(scanned("affected", [kesl()], scanned_at=BEFORE), outcome(healthy=False)), "unprotected",
     ["unprotected"]),
    # unprotected and an installed vendor product: the vendor is what runs there, not "unprotected"
    (with_outcome(scanned("affected", [kesl()], scanned_at=AFTER), outcome("unprotected", healthy=False)),
     "reappearance", ["reappearance"]),
    # the outcome as a top-level variable
    (with_outcome(scanned("clean", scanned_at=AFTER), outcome(healthy=False), top_level=True), "unprotected",
     ["unprotected"]),
    # unreachable now: the alert of the last known state wins over the error
    (with_outcome(dict(scanned("clean", scanned_at=AFTER), **failed("unreachable")), outcome(healthy=False)),
     "unprotected", ["unprotected"]),
    (with_outcome(dict(scanned("affected", [kesl()], scanned_at=AFTER), **failed("failed")), outcome()),
     "reappearance", ["reappearance"]),
    # an outcome that is not a mapping is ignored
    (with_outcome(scanned("clean", scanned_at=AFTER), "garbage"), "clean", []),
    # Windows waiting for its restart: unprotected while its replacement does not work, else no alert
    (with_outcome(scanned("residual", [leftovers()], scanned_at=AFTER), outcome("reboot_pending", healthy=False)),
     "unprotected", ["unprotected"]),
    (with_outcome(scanned("residual", [leftovers()], scanned_at=AFTER), outcome("reboot_pending")), "residual", []),
], ids=["healthy", "unhealthy", "already-clean-unhealthy", "outcome-unprotected", "outcome-unprotected-waived",
        "waived", "health-unknown", "back-healthy", "back-unhealthy", "leftovers-back", "leftovers-back-unhealthy",
        "unknown-scan-unhealthy", "check-mode", "check-mode-affected", "failed", "blocked", "drifted",
        "would-remove", "old-scan", "old-scan-unhealthy", "unprotected-but-installed", "top-level",
        "unreachable-unprotected", "failed-reappeared", "not-a-mapping", "reboot-pending-unprotected",
        "reboot-pending-protected"])
def test_execute_outcome_alerts(hostvars, status, alerts):
    entry = r.host_entry("h1", hostvars)
    assert entry["alerts"] == alerts
    assert entry["status"] == status
    scan = hostvars["ansible_facts"]["divest"]["status"]
    assert entry.get("last_status") == (scan if status != scan else None)
    doc = build({"h1": hostvars})
    assert doc["summary"]["by_status"][status] == 1
    assert doc["summary"]["alerts"] == {a: int(a in alerts) for a in r.ALERTS}


def test_execute_outcome_is_in_the_entry():
    entry = r.host_entry("h1", with_outcome(scanned("clean", scanned_at=AFTER), outcome(healthy=False)))
    assert entry["execute"] == {
        "status": "removed", "reason": "removed kesl; clean", "digest": DIGEST, "run_id": "9be8e5eaa984",
        "finished_at": DONE, "check_mode": False, "cleaned": True,
        "replacement": {"product": "clamav", "healthy": False, "checked": True, "version": "1.4.3",
                        "reason": "clamd is not running"}}
    assert r.host_entry("h2", scanned("clean"))["execute"] is None


def alert_fleet():
    hosts = fleet()
    hosts["safe1"] = with_outcome(scanned("clean", scanned_at=AFTER), outcome())
    hosts["bare1"] = with_outcome(scanned("clean", scanned_at=AFTER), outcome(healthy=False))
    hosts["back1"] = with_outcome(scanned("affected", [kesl()], scanned_at=AFTER), outcome())
    hosts["back2"] = with_outcome(scanned("residual", [leftovers()], scanned_at=AFTER), outcome(healthy=False))
    return hosts


def test_alerts_in_json_csv_and_summary():
    doc = build(alert_fleet())
    assert doc["schema"] == 2
    assert doc["summary"]["alerts"] == {"unprotected": 2, "reappearance": 2}
    assert doc["summary"]["by_status"]["unprotected"] == 2 and doc["summary"]["by_status"]["reappearance"] == 1
    assert r.compact_summary(doc)["alerts"] == {"unprotected": 2, "reappearance": 2}
    back = json.loads(r.render_json(doc))
    assert host(back, "bare1")["alerts"] == ["unprotected"]
    assert host(back, "back2")["alerts"] == ["unprotected", "reappearance"]
    rows = csv_rows(doc)
    # the earlier columns keep their positions; the new ones are at the end
    assert tuple(rows[0][:13]) == ("host", "status", "system", "distribution", "os_version", "vendor", "product",
                                   "product_name", "product_version", "state", "evidence", "scanned_at", "error")
    assert tuple(rows[0]) == r.CSV_COLUMNS
    by_host = {row[0]: dict(zip(r.CSV_COLUMNS, row)) for row in rows[1:]}
    assert {k: by_host["bare1"][k] for k in r.CSV_COLUMNS[13:]} == {
        "alerts": "unprotected", "scan_status": "clean", "execute_status": "removed", "execute_finished_at": DONE,
        "execute_digest": DIGEST, "execute_reason": "removed kesl; clean", "replacement": "clamav",
        "replacement_healthy": "no"}
    assert by_host["back2"]["alerts"] == "unprotected; reappearance"
    assert (by_host["back1"]["status"], by_host["back1"]["scan_status"]) == ("reappearance", "affected")
    assert (by_host["safe1"]["status"], by_host["safe1"]["alerts"], by_host["safe1"]["replacement_healthy"]) == \
        ("clean", "", "yes")
    assert by_host["web1"]["execute_status"] == "" and by_host["web1"]["scan_status"] == "clean"
    assert by_host["gone"]["scan_status"] == ""


def _row(page, name):
    table = page[page.index('id="hosts-table"'):]
    start = table.index('<th scope="row" class="nowrap">%s</th>' % name)
    return table[table.rfind("<tr", 0, start):table.index("</tr>", start)]


def test_alerts_on_the_page_are_first_counted_and_never_green():
    doc = build(alert_fleet())
    page = r.render_html(doc).decode("utf-8")
    # cards: the two alerts first, with their counts
    cards_html = page[page.index('<div class="cards">'):]
    assert cards_html.index("Unprotected") < cards_html.index("Reappeared") < cards_html.index("Affected")
    assert '<div class="card tone-unprotected"><div class="value">2</div><div class="label">Unprotected</div>' \
        in page
    assert '<div class="card tone-reappearance"><div class="value">1</div><div class="label">Reappeared</div>' \
        in page
    # the banner says it first, in the alert tone
    banner = re.search(r'<p class="banner tone-(\w+)">(.*?)</p>', page)
    assert banner.group(1) == "unprotected"
    assert banner.group(2).startswith("<strong>2 hosts unprotected</strong>")
    assert "Vendor software is back on 2 hosts" in banner.group(2)
    # the rows: alerts first, never a green badge
    order = re.findall(r'<th scope="row" class="nowrap">([^<]*)</th>', page[page.index('id="hosts-table"'):])
    assert order[:3] == ["back2", "bare1", "back1"]
    for name in ("bare1", "back1", "back2"):
        row = _row(page, name)
        assert "tone-clean" not in row
        assert "execute: removed \u00b7 2026-12-30 10:01 UTC \u00b7 plan sha256:0123456789ab" in row
        assert DIGEST in row                      # the full digest in the details
        assert "removed kesl; clean" in row       # the reason
    assert "badge tone-unprotected" in _row(page, "back2") and "badge tone-reappearance" in _row(page, "back2")
    assert "clamav 1.4.3: NOT healthy (clamd is not running)" in _row(page, "bare1")
    assert "badge tone-clean" in _row(page, "safe1")


def test_hostile_outcome_reason_is_text_everywhere():
    evil = "<img src=x onerror=alert(1)>\u202e=cmd|'/C calc'!A0\u200b"
    hv = with_outcome(scanned("clean", scanned_at=AFTER),
                      dict(outcome(healthy=False), reason=evil, run_id=evil, digest=evil))
    hv["ansible_facts"]["divest_outcome"]["replacement"]["reason"] = evil
    doc = build({"h1": hv})
    page = r.render_html(doc).decode("utf-8")
    assert "<img" not in page and "\u202e" not in page and "\u200b" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;\ufffd=cmd|&#x27;/C calc&#x27;!A0\ufffd" in page
    row = dict(zip(r.CSV_COLUMNS, csv_rows(doc)[1]))
    assert row["execute_reason"] == row["execute_digest"] == "<img src=x onerror=alert(1)>\ufffd=cmd|'/C calc'!A0\ufffd"
    formula = with_outcome(scanned("clean", scanned_at=AFTER), dict(outcome(healthy=False), reason="\u00a0=1+1"))
    assert dict(zip(r.CSV_COLUMNS, csv_rows(build({"h1": formula}))[1]))["execute_reason"] == "'\u00a0=1+1"
    assert json.loads(r.render_json(doc))["hosts"][0]["execute"]["reason"] == evil


# --------------------------------------------------------------------------------------------
# Vendor software in containers on a host
# --------------------------------------------------------------------------------------------

POD = "1a3bb1070ecf6ebf618ce905632ee7a25587f855bf436908cb8028d565cd7701"


def in_container(product="kesl", name="Kaspersky Endpoint Security for Linux", runtime="podman", cid=POD,
                 pids=(4242,), process="kesl", scope="container", reason=None):
    entry = {"vendor": "kaspersky", "product": product, "name": name, "scope": scope, "runtime": runtime,
             "id": cid, "evidence": [{"kind": "process", "name": process, "pid": pid} for pid in pids]}
    if reason:
        entry["reason"] = reason
    return entry


def container_host(status="clean", findings=(), containers=()):
    hostvars = scanned(status, findings)
    hostvars["ansible_facts"]["divest"]["containers"] = list(containers)
    return hostvars


def container_fleet():
    return {
        "node1": container_host(containers=[
            in_container(), in_container("klnagent", "Kaspersky Security Center Network Agent for Linux",
                                         pids=(4300,), process="klnagent"),
            in_container(runtime="lxc", cid="web1", pids=(6000,))]),
        "node2": container_host("affected", [kesl()], [in_container(runtime="docker", cid="9f" * 32, pids=(5000,))]),
        "plain": scanned("clean"),
    }


def test_containers_are_listed_apart_and_never_counted_as_findings():
    doc = build(container_fleet())
    assert doc["summary"]["by_status"]["clean"] == 2 and doc["summary"]["by_status"]["affected"] == 1
    assert doc["summary"]["containers"] == {"hosts": 2, "containers": 3}   # node1: podman + lxc, node2: docker
    assert [p["product"] for p in doc["summary"]["by_product"]] == ["kesl"]  # node2's own kesl only
    node1 = host(doc, "node1")
    assert (node1["status"], node1["findings"]) == ("clean", [])
    assert [(c["runtime"], c["product"]) for c in node1["containers"]] == [
        ("podman", "kesl"), ("podman", "klnagent"), ("lxc", "kesl")]
    assert "containers" not in host(doc, "plain")
    assert [(name, item["id"]) for name, item in r.container_rows(doc)] == [
        ("node1", POD), ("node1", POD), ("node1", "web1"), ("node2", "9f" * 32)]


def test_a_fleet_without_containers_has_no_container_summary():
    assert "containers" not in build(fleet())["summary"]


def test_html_lists_vendor_software_in_containers_apart():
    page = r.render_html(build(container_fleet())).decode("utf-8")
    assert 'id="containers"' in page and "Vendor software running in containers" in page
    assert "Vendor software runs in 3 containers on 2 hosts" in page
    assert ('<tr><th scope="row">node1</th><td class="mono">podman 1a3bb1070ecf</td>'
            '<td>Kaspersky Endpoint Security for Linux</td><td>process kesl pid 4242</td></tr>') in page
    assert '<td class="mono">lxc web1</td>' in page
    rows = {row[0]: row for row in table_text(page, "hosts-table")}
    assert "in containers, not the host's: Kaspersky Endpoint Security for Linux, Kaspersky Security Center " \
           "Network Agent for Linux" in rows["node1"][3]
    assert "Vendor software running in containers on this host" in rows["node1"][5]


def test_html_without_containers_has_no_container_section():
    page = r.render_html(build(fleet())).decode("utf-8")
    assert 'id="containers"' not in page


def test_an_unknown_scope_is_shown_with_its_reason():
    hosts = {"odd": container_host("unknown", containers=[
        in_container(runtime=None, cid=None, scope="unknown", reason="pid namespace unreadable: Permission denied")])}
    page = r.render_html(build(hosts)).decode("utf-8")
    assert "host or container? pid namespace unreadable: Permission denied" in page


def test_csv_rows_stay_one_per_host_and_finding_with_containers():
    rows = csv_rows(build(container_fleet()))
    assert [(row[0], row[6]) for row in rows[1:]] == [("node1", ""), ("node2", "kesl"), ("plain", "")]


def test_hosts_alike_share_their_cells_and_keep_their_own():
    """Hosts whose entries are equal but for the name (and the scan time, when the details do not
    show it) share their cells in the page's data; every other difference, also of a value's
    type alone, shows."""
    def flagged(flag):
        return kesl(evidence=[{"kind": "package", "name": "kesl", "flag": flag}])

    hosts = {"web1": scanned("affected", [kesl()]), "web2": scanned("affected", [kesl()]),
             "web3": scanned("affected", [kesl()], scanned_at="2026-11-26T09:00:00Z"),
             "web4": scanned("affected", [flagged(True)]), "web5": scanned("affected", [flagged(1)]),
             "db1": dict(scanned("affected", [kesl()]), **failed()),
             "db2": dict(scanned("affected", [kesl()], scanned_at="2026-11-25T08:00:00Z"), **failed())}
    page = r.render_html(build(hosts))
    rows = {row[0]: row for row in table_text(page, "hosts-table")}
    table = page_data(page)["tables"]["hosts-table"]
    evidence = table["cells"][5]
    assert len(evidence["values"]) == 5                     # web1-3, web4, web5, db1, db2
    assert rows["web1"][1:] == rows["web2"][1:]
    assert rows["web3"][4] == "2026-11-26 09:00 UTC" and rows["web1"][4] == "2026-11-27 10:00 UTC"
    assert rows["web3"][5] == rows["web1"][5]
    assert "flag True" in rows["web4"][5] and "flag 1" in rows["web5"][5] and "flag True" not in rows["web5"][5]
    # an unreachable host's details name its last scan's date: its own
    assert "Last known scan (2026-11-27 10:00 UTC)" in rows["db1"][5]
    assert "Last known scan (2026-11-25 08:00 UTC)" in rows["db2"][5]
    keys = {row[0]: row[-1] for row in table_rows(table)}     # the rows' own sort keys by scan time
    assert (keys["web1"], keys["web3"], keys["db2"]) == ("2026-11-27T10:00:00Z", "2026-11-26T09:00:00Z",
                                                         "2026-11-25T08:00:00Z")


# --------------------------------------------------------------------------------------------
# Fleet scale: shared parts, entries made apart, CSV lines put together from fragments
# --------------------------------------------------------------------------------------------

class Tagged(str):
    """A str subclass (Ansible's tagged and unsafe strings are such): marshal refuses it."""


def repeating_fleet():
    """Many hosts with equal facts (each host its own copies), hostile values and a few oddities."""
    hosts = {}
    for index in range(30):
        findings = [kesl(), leftovers()] if index % 3 == 0 else ([kes_win()] if index % 3 == 1 else [])
        status = "affected" if findings else "clean"
        hosts["h%d" % index] = scanned(status, copy.deepcopy(findings), scanned_at="2026-11-27T10:%02d:00Z" % (index % 4))
    hosts.update(copy.deepcopy(hostile_fleet()))
    hosts["odd2"] = scanned("bogus")                       # an unexpected status: its scan gets an error
    hosts["odd3"] = scanned("bogus")
    hosts["tagged"] = scanned("affected", [kesl(name=Tagged("K\u00e9S"))])
    hosts["oneish"] = scanned("affected", [kesl(version=1)])
    hosts["trueish"] = scanned("affected", [kesl(version=True)])
    return hosts


def unshared_report(hosts):
    """The report as each host's own entry (no memo) gives it."""
    return r.build_identify_report(None, NOW, entries=[r.host_entry(name, hv) for name, hv in hosts.items()])


def test_hosts_with_equal_facts_share_their_parts_and_render_the_same():
    hosts = repeating_fleet()
    doc = build(hosts)
    assert doc == unshared_report(hosts)
    for fmt in r.FORMATS:
        assert r.RENDERERS[fmt](doc) == r.RENDERERS[fmt](unshared_report(hosts)), fmt
    h0, h3, h1 = host(doc, "h0"), host(doc, "h3"), host(doc, "h1")
    assert h0["findings"] is h3["findings"] and h0["platform"] is h3["platform"] and h0["scan"] is h3["scan"]
    assert h0["findings"] is not h1["findings"]
    # equal JSON text, other types: not shared (1, 1.0 and true are different values)
    assert host(doc, "oneish")["findings"][0]["version"] == 1
    assert host(doc, "trueish")["findings"][0]["version"] is True
    assert host(doc, "tagged")["findings"][0]["name"].__class__ is str
    # a scan changed for one host (an unexpected status) is that host's own
    assert host(doc, "odd2")["scan"] is not host(doc, "odd3")["scan"]
    assert len(host(doc, "odd2")["scan"]["errors"]) == 1 and not host(doc, "web1")["scan"]["errors"]


def test_entries_made_apart_make_the_same_report():
    hosts = repeating_fleet()
    names = list(hosts)
    parts = [r.host_entries([(name, hosts[name]) for name in names[start::3]]) for start in (2, 0, 1)]
    apart = r.build_identify_report({"ignored": None}, NOW, entries=[e for part in parts for e in part])
    assert apart == build(hosts)
    assert [r.RENDERERS[fmt](apart) for fmt in r.FORMATS] == [r.RENDERERS[fmt](build(hosts)) for fmt in r.FORMATS]


def test_csv_lines_are_the_csv_writers():
    for hosts in (repeating_fleet(), {}, {"a": None}):
        doc = build(hosts)
        assert r.render_csv(doc) == t.csv_bytes(r.CSV_COLUMNS, r._csv_rows(doc))
        assert r.render_csv(doc) == t.csv_bytes(r.CSV_COLUMNS, r._csv_rows(unshared_report(hosts)))
    hand_made = build({"a": scanned("clean"), "b": scanned("clean")})
    hand_made["hosts"][0]["scanned_at"] = ["not", "a", "time"]      # unhashable: its row is not shared
    assert r.render_csv(hand_made) == t.csv_bytes(r.CSV_COLUMNS, r._csv_rows(hand_made))
