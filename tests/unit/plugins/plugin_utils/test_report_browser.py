# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Render the identify HTML report in headless Debian chromium.

* ``--dump-dom`` (the DOM after the page script ran): the summary counts and every host row
  are there (rendered by the script from the page's data), the script ran (so its CSP hash is
  right), hostile values stayed text;
* chromium's console has no Content-Security-Policy violation (so the style hash is right);
* ``--screenshot``: a PNG that is not blank and shows the status colours (decoded with the
  standard library); it is kept as ``tests/output/report-identify.png`` for people to look at;
* the DevTools protocol over ``--remote-debugging-pipe`` clicks the header buttons and types
  into the host filter, to check that sorting and filtering work; on a fleet larger than one
  page of rows, that the pages, the filter and the sort cover every row, and that printing
  renders every row with its details open.

Skipped only when chromium is not installed.
"""

from __future__ import annotations

import pathlib
import re
import shutil
import struct
import zlib

import pytest

from ansible_collections.fleetsec.divest.plugins.plugin_utils import _html as h
from ansible_collections.fleetsec.divest.plugins.plugin_utils import _report as r
from ansible_collections.fleetsec.divest.plugins.plugin_utils import _text as t
from ansible_collections.fleetsec.divest.tests.unit.plugins.plugin_utils.chromium import (
    CHROMIUM,
    DevTools,
    csp_violations,
)
from ansible_collections.fleetsec.divest.tests.unit.plugins.plugin_utils.chromium import run as run_chromium

pytestmark = pytest.mark.browser

ROOT = pathlib.Path(__file__).resolve().parents[4]
OUTPUT = ROOT / "tests" / "output"
XSS = "<script>alert(1)</script>"

needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed "
                                    "(apt-get install chromium) - the browser test needs it")


def finding(product, name, version, state="installed", evidence=None):
    return {"vendor": "kaspersky", "product": product, "name": name, "version": version, "state": state,
            "evidence": evidence or [{"kind": "package", "name": product, "version": version},
                                     {"kind": "service", "name": product, "state": "running"}],
            "removal": {"method": "package", "order": 10, "reboot": False, "password": "none"}}


def scanned(status, findings=(), system="Linux", distribution="debian", version="12"):
    return {"ansible_facts": {"divest": {
        "schema": 1, "scanned_at": "2026-11-27T10:00:00Z", "status": status,
        "platform": {"system": system, "distribution": distribution, "version": version},
        "scan": {"live": True, "root": "/", "skipped": [], "errors": []}, "findings": list(findings)}}}


def fleet():
    hosts = {}
    for i in range(1, 25):
        hosts["web%d" % i] = scanned("clean")
    for i in (3, 7, 12):
        hosts["web%d" % i] = scanned("affected", [finding("kesl", "Kaspersky Endpoint Security for Linux",
                                                          "12.1.0.1508" if i != 12 else "11.2.0.4528")])
    hosts["db1"] = scanned("residual", [finding("leftovers", "Kaspersky leftovers", None, "residual",
                                                [{"kind": "path", "name": "/var/opt/kaspersky"}])],
                           distribution="redhat", version="9")
    hosts["win-fs01"] = scanned("affected", [finding(
        "kes_win", "Kaspersky Endpoint Security for Windows", "12.6.0.438",
        evidence=[{"kind": "uninstall_entry", "name": "Kaspersky Endpoint Security for Windows",
                   "version": "12.6.0.438", "key": "{9A017278-F7F4-4DF9-A482-0B97B70DD7ED}", "hive": "HKLM",
                   "view": 32}])], system="Windows", distribution="Microsoft Windows Server 2022 Standard",
        version="10.0.20348")
    hosts["evil"] = scanned("affected", [finding(
        "unknown", XSS, '=HYPERLINK("http://x")',
        evidence=[{"kind": "uninstall_entry", "name": "<img src=x onerror=alert(2)>", "version": "1"}])])
    hosts["odd"] = {"ansible_facts": {"divest": dict(scanned("unknown")["ansible_facts"]["divest"], scan={
        "errors": [{"section": "packages", "message": "dpkg status: Permission denied"}]})}}
    hosts["gone"] = {"divest_scan": {"kind": "unreachable", "message": "ssh: connect to host gone: No route to host"}}
    hosts["broke"] = {"divest_scan": {"kind": "failed", "message": "MODULE FAILURE"}}
    hosts["new1"] = {}
    # execute cleaned these two: web20 has no healthy replacement since, the vendor is back on web21
    done = {"status": "removed", "reason": "removed kesl; clean", "digest": "sha256:" + "5e" * 32,
            "run_id": "9be8e5eaa984", "finished_at": "2026-11-20T10:01:40Z", "check_mode": False}
    hosts["web20"]["ansible_facts"]["divest_outcome"] = dict(done, replacement={
        "product": "clamav", "healthy": False, "checked": True, "version": "1.4.3", "reason": "clamd is not running"})
    hosts["web21"] = scanned("affected", [finding("kesl", "Kaspersky Endpoint Security for Linux", "12.1.0.1508")])
    hosts["web21"]["ansible_facts"]["divest_outcome"] = dict(done, replacement={
        "product": "clamav", "healthy": True, "checked": True, "version": "1.4.3"})
    return hosts


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """The report written by write_reports, also copied to tests/output/ for people."""
    doc = r.build_identify_report(fleet(), "2026-11-27T10:05:00Z")
    files, changed, doc = r.write_reports(str(tmp_path_factory.mktemp("report")), doc, r.FORMATS, r.RENDERERS)
    assert changed
    OUTPUT.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(files["html"], OUTPUT / "report-identify.html")
    return doc, files["html"]


def chromium(args, tmp_path, timeout=90):
    return run_chromium(args, tmp_path / ("profile-%d" % len(list(tmp_path.iterdir()))), timeout)


@needs_chromium
def test_dom_after_script(report, tmp_path):
    doc, path = report
    proc = chromium(["--dump-dom", pathlib.Path(path).as_uri()], tmp_path)
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")[-2000:]
    dom = proc.stdout.decode("utf-8")
    assert csp_violations(proc.stderr) == []
    # the page script ran: it only can when the CSP hash of the inline script matches
    assert re.search(r'<html lang="en" class="js">', dom)
    assert dom.count('title="Sort by this column"') == 5 + 0  # host table: 5 sortable columns
    assert "Showing %d of %d" % (len(doc["hosts"]), len(doc["hosts"])) in dom
    # summary counts
    counts = doc["summary"]["by_status"]
    assert counts["affected"] == 5 and counts["clean"] == 19
    assert counts["unprotected"] == 1 and counts["reappearance"] == 1
    for status in r.STATUSES:
        assert '<div class="value">%d</div><div class="label">%s</div>' % (
            counts[status], r.STATUS_TEXT[status][0]) in dom
    # every host has its row
    rows = re.findall(r'<th scope="row" class="nowrap">([^<]*)</th>', dom)
    assert sorted(rows) == sorted(h["name"] for h in doc["hosts"])
    # hostile values stayed text: our script and its data block (not run), no injected image
    assert re.findall(r"<script\b[^>]*>", dom) == ['<script type="application/json" id="divest-data">', "<script>"]
    assert "<img" not in dom
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom
    assert "&lt;img src=x onerror=alert(2)&gt;" in dom


def _png(path):
    """(width, height, rows) of an 8-bit RGB/RGBA PNG, rows unfiltered (stdlib only)."""
    data = pathlib.Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, [], None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        pos += 12 + length
    width, height, depth, colour, interlace = header[0], header[1], header[2], header[3], header[6]
    assert depth == 8 and colour in (2, 6) and interlace == 0, header
    bpp = 3 if colour == 2 else 4
    stride = width * bpp
    raw = zlib.decompress(b"".join(idat))
    rows, prev = [], bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if kind == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif kind == 2:
            line = bytearray((a + b) & 0xFF for a, b in zip(line, prev))
        elif kind == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 0xFF
        elif kind == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b = prev[i]
                c = prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else (b if pb <= pc else c))) & 0xFF
        rows.append(bytes(line))
        prev = line
    return width, height, bpp, rows


def _has_colour(rows, bpp, rgb, tolerance=12, minimum=50):
    found = 0
    for row in rows:
        for x in range(0, len(row), bpp):
            if all(abs(row[x + k] - rgb[k]) <= tolerance for k in range(3)):
                found += 1
                if found >= minimum:
                    return True
    return False


@needs_chromium
def test_screenshot(report, tmp_path):
    doc, path = report
    shot = OUTPUT / "report-identify.png"
    if shot.exists():
        shot.unlink()
    proc = chromium(["--screenshot=%s" % shot, "--window-size=1280,1600", pathlib.Path(path).as_uri()], tmp_path)
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")[-2000:]
    assert csp_violations(proc.stderr) == []
    assert shot.exists() and shot.stat().st_size > 20_000
    width, height, bpp, rows = _png(shot)
    assert (width, height) == (1280, 1600)
    assert len(set(rows)) > 200, "the page looks blank"
    # the styles were applied (CSP style hash right): the cards' status colours are drawn
    top = rows[:900]
    assert _has_colour(top, bpp, (0xB4, 0x23, 0x18)), "no 'affected' red in the summary"
    assert _has_colour(top, bpp, (0x06, 0x76, 0x47)), "no 'clean' green in the summary"
    assert _has_colour(top, bpp, (0x91, 0x20, 0x18)), "no 'unprotected' red in the summary"


READY = "!!(document.querySelector('#hosts-table') && document.querySelector('.toolbar'))"
ROW_NAMES = "Array.from(document.querySelectorAll('#hosts-table tbody tr')).map(r => r.cells[0].textContent)"
VISIBLE = ("Array.from(document.querySelectorAll('#hosts-table tbody tr')).filter(r => !r.hidden)"
           ".map(r => r.cells[0].textContent)")


@needs_chromium
def test_sorting_and_filtering(report, tmp_path):
    doc, path = report
    names = [h["name"] for h in doc["hosts"]]
    tools = DevTools(tmp_path / "cdp-profile")
    try:
        # wait until the report is loaded and its script has run
        tools.open(pathlib.Path(path).as_uri(), ready=READY, timeout=30)
        initial = tools.evaluate(ROW_NAMES)
        # most urgent first: unprotected, vendor back, affected
        assert initial[:7] == ["web20", "web21", "evil", "web3", "web7", "web12", "win-fs01"]
        # click "Host": natural ascending order, click again: descending
        click = "document.querySelectorAll('#hosts-table thead th button')[%d].click()"
        tools.evaluate(click % 0)
        ascending = tools.evaluate(ROW_NAMES)
        assert ascending == sorted(names, key=t.natural_key)
        assert tools.evaluate("document.querySelector('#hosts-table thead th').getAttribute('aria-sort')") \
            == "ascending"
        tools.evaluate(click % 0)
        assert tools.evaluate(ROW_NAMES) == list(reversed(ascending))
        # click "Status": by severity, not alphabetically
        tools.evaluate(click % 1)
        statuses = tools.evaluate("Array.from(document.querySelectorAll('#hosts-table tbody tr'))"
                                  ".map(r => r.cells[1].querySelector('.badge').textContent)")
        order = [r.STATUS_TEXT[s][0] for s in r.STATUSES]
        assert statuses == sorted(statuses, key=order.index)
        # the filter box hides rows that do not contain the text
        tools.evaluate("(() => { const i = document.querySelector('.toolbar input');"
                       " i.value = 'kaspersky endpoint security for linux';"
                       " i.dispatchEvent(new Event('input')); })()")
        tools.evaluate("new Promise(done => setTimeout(done, 300))")
        assert sorted(tools.evaluate(VISIBLE)) == ["web12", "web21", "web3", "web7"]
        assert tools.evaluate("document.querySelector('.toolbar .count').textContent") \
            == "Showing 4 of %d" % len(names)
        # expand all opens every details element
        tools.evaluate("document.querySelectorAll('.toolbar button')[0].click()")
        assert tools.evaluate("Array.from(document.querySelectorAll('#hosts-table details'))"
                              ".every(d => d.open)")
    finally:
        tools.close()


def big_fleet(count):
    """``count`` hosts, a few of them affected, one with a hostile product name."""
    hosts = {"host%04d" % i: scanned("clean") for i in range(count)}
    for i in range(0, count, 97):
        hosts["host%04d" % i] = scanned("affected", [finding("kesl", "Kaspersky Endpoint Security for Linux",
                                                             "12.1.0.1508")])
    hosts["host%04d" % (count - 3)] = scanned("affected", [finding("unknown", XSS, "1")])
    return hosts


BODY_NAMES = "Array.from(document.querySelectorAll('#hosts-table tbody tr')).map(r => r.cells[0].textContent)"


@needs_chromium
def test_pages_filter_sort_and_print_cover_every_row(tmp_path):
    """More hosts than one page: the table shows a page of rows, the pager moves through them,
    the filter and the sort see every row, printing renders every row with its details open,
    and a hostile value rendered by the script stays text."""
    count = h.PAGE_ROWS * 2 + 50
    doc = r.build_identify_report(big_fleet(count), "2026-11-27T10:05:00Z")
    path = tmp_path / "big.html"
    path.write_bytes(r.render_html(doc))
    order = [e["name"] for e in sorted(doc["hosts"], key=lambda e: (r.STATUSES.index(e["status"]), t.natural_key(e["name"])))]
    tools = DevTools(tmp_path / "cdp-profile")
    try:
        tools.open(path.as_uri(), ready=READY, timeout=60)
        assert tools.evaluate(BODY_NAMES) == order[:h.PAGE_ROWS]
        assert tools.evaluate("document.querySelector('.toolbar .count').textContent") == \
            "Showing %d of %d" % (count, count)
        assert tools.evaluate("document.querySelector('.pager .count').textContent") == \
            "Rows 1\u2013%d of %d" % (h.PAGE_ROWS, count)
        assert tools.evaluate("document.querySelector('.pager').hidden") is False
        # the last page
        for dummy in range(2):
            tools.evaluate("document.querySelectorAll('.pager button')[1].click()")
        assert tools.evaluate(BODY_NAMES) == order[2 * h.PAGE_ROWS:]
        assert tools.evaluate("document.querySelectorAll('.pager button')[1].disabled") is True
        # the filter finds a host that is not on the page shown, the pager hides
        last = order[-1]
        tools.evaluate("(() => { const i = document.querySelector('.toolbar input'); i.value = %r;"
                       " i.dispatchEvent(new Event('input')); })()" % last)
        tools.evaluate("new Promise(done => setTimeout(done, 300))")
        assert tools.evaluate(BODY_NAMES) == [last]
        assert tools.evaluate("document.querySelector('.pager').hidden") is True
        tools.evaluate("(() => { const i = document.querySelector('.toolbar input'); i.value = '';"
                       " i.dispatchEvent(new Event('input')); })()")
        tools.evaluate("new Promise(done => setTimeout(done, 300))")
        # the sort orders every row: descending by name puts the last name of all first
        click = "document.querySelectorAll('#hosts-table thead th button')[0].click()"
        tools.evaluate(click)
        tools.evaluate(click)
        names = sorted((e["name"] for e in doc["hosts"]), key=t.natural_key, reverse=True)
        assert tools.evaluate(BODY_NAMES) == names[:h.PAGE_ROWS]
        # printing: every row, details open; afterwards one page again
        tools.evaluate("window.dispatchEvent(new Event('beforeprint'))")
        assert tools.evaluate(BODY_NAMES) == names
        assert tools.evaluate("Array.from(document.querySelectorAll('#hosts-table details')).every(d => d.open)")
        tools.evaluate("window.dispatchEvent(new Event('afterprint'))")
        assert len(tools.evaluate(BODY_NAMES)) == h.PAGE_ROWS
        # the hostile name is text in the row the script rendered
        tools.evaluate("(() => { const i = document.querySelector('.toolbar input'); i.value = 'alert(1)';"
                       " i.dispatchEvent(new Event('input')); })()")
        tools.evaluate("new Promise(done => setTimeout(done, 300))")
        assert tools.evaluate("document.querySelectorAll('#hosts-table script, #hosts-table img').length") == 0
        assert XSS in tools.evaluate("document.querySelector('#hosts-table tbody').textContent")
    finally:
        tools.close()
