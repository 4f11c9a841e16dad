# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Render the identify HTML report in headless Debian chromium.

* ``--dump-dom`` (the DOM after the page script ran): the summary counts and every host row
  are there, the script ran (so its CSP hash is right), hostile values stayed text;
* chromium's console has no Content-Security-Policy violation (so the style hash is right);
* ``--screenshot``: a PNG that is not blank and shows the status colours (decoded with the
  standard library); it is kept as ``tests/output/report-identify.png`` for people to look at;
* the DevTools protocol over ``--remote-debugging-pipe`` clicks the header buttons and types
  into the host filter, to check that sorting and filtering work.

Skipped only when chromium is not installed.
"""

from __future__ import annotations

import fcntl
import json
import os
import pathlib
import re
import shutil
import struct
import subprocess
import time
import zlib

import pytest

from ansible_collections.fleetsec.divest.plugins.plugin_utils import _report as r

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium")
ROOT = pathlib.Path(__file__).resolve().parents[4]
OUTPUT = ROOT / "tests" / "output"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--enable-logging=stderr", "--v=0"]
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
    files, changed, doc = r.write_reports(str(tmp_path_factory.mktemp("report")), doc)
    assert changed
    OUTPUT.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(files["html"], OUTPUT / "report-identify.html")
    return doc, files["html"]


def chromium(args, tmp_path, timeout=90):
    profile = tmp_path / ("profile-%d" % len(list(tmp_path.iterdir())))
    cmd = [CHROMIUM] + FLAGS + ["--user-data-dir=%s" % profile] + args
    return subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)


def csp_violations(stderr):
    return [line for line in stderr.decode("utf-8", "replace").splitlines()
            if "Content Security Policy" in line or "Refused to" in line]


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
    # hostile values stayed text: one script element (ours), no injected image
    assert len(re.findall(r"<script\b", dom)) == 1
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


class DevTools(object):
    """Minimal Chrome DevTools Protocol client over --remote-debugging-pipe (fds 3 and 4)."""

    def __init__(self, tmp_path):
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()

        def wire():
            # In the child, before exec: chromium reads commands from fd 3 and writes to fd 4.
            # Go through high descriptors so that one dup2 cannot clobber the other pipe end.
            high_r = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD, 100)
            high_w = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD, 100)
            os.dup2(high_r, 3)  # dup2 makes 3 and 4 inheritable
            os.dup2(high_w, 4)

        cmd = [CHROMIUM] + FLAGS + ["--user-data-dir=%s" % (tmp_path / "cdp-profile"),
                                    "--remote-debugging-pipe", "--window-size=1280,1600", "about:blank"]
        # close_fds would close 3 and 4 after wire(); the other pipe ends are close-on-exec anyway
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, preexec_fn=wire, close_fds=False)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buffer = b""
        self._id = 0

    def call(self, method, session=None, **params):
        self._id += 1
        message = {"id": self._id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._to_chrome, json.dumps(message).encode("utf-8") + b"\0")
        while True:
            while b"\0" not in self._buffer:
                chunk = os.read(self._from_chrome, 65536)
                if not chunk:
                    raise RuntimeError("chromium closed the DevTools pipe")
                self._buffer += chunk
            raw, self._buffer = self._buffer.split(b"\0", 1)
            reply = json.loads(raw)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError("%s: %s" % (method, reply["error"]))
                return reply.get("result", {})

    def evaluate(self, session, expression):
        result = self.call("Runtime.evaluate", session, expression=expression, awaitPromise=True,
                           returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(result["exceptionDetails"])
        return result["result"].get("value")

    def close(self):
        try:
            self.call("Browser.close")
        except Exception:
            pass
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_chrome)
        os.close(self._from_chrome)


ROW_NAMES = "Array.from(document.querySelectorAll('#hosts-table tbody tr')).map(r => r.cells[0].textContent)"
VISIBLE = ("Array.from(document.querySelectorAll('#hosts-table tbody tr')).filter(r => !r.hidden)"
           ".map(r => r.cells[0].textContent)")


@needs_chromium
def test_sorting_and_filtering(report, tmp_path):
    doc, path = report
    names = [h["name"] for h in doc["hosts"]]
    tools = DevTools(tmp_path)
    try:
        target = tools.call("Target.createTarget", url="about:blank")["targetId"]
        session = tools.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        tools.call("Page.navigate", session, url=pathlib.Path(path).as_uri())
        # wait until the report is loaded and its script has run (a navigation may still be
        # replacing the execution context: retry until it is the report's)
        ready, deadline = False, time.monotonic() + 30
        while not ready and time.monotonic() < deadline:
            try:
                ready = tools.evaluate(session, "!!(document.querySelector('#hosts-table')"
                                                " && document.querySelector('.toolbar'))")
            except RuntimeError as exc:
                if "context" not in str(exc):
                    raise
            if not ready:
                time.sleep(0.05)
        assert ready, "the report did not load in chromium"
        initial = tools.evaluate(session, ROW_NAMES)
        # most urgent first: unprotected, vendor back, affected
        assert initial[:7] == ["web20", "web21", "evil", "web3", "web7", "web12", "win-fs01"]
        # click "Host": natural ascending order, click again: descending
        click = "document.querySelectorAll('#hosts-table thead th button')[%d].click()"
        tools.evaluate(session, click % 0)
        ascending = tools.evaluate(session, ROW_NAMES)
        assert ascending == sorted(names, key=r.natural_key)
        assert tools.evaluate(session, "document.querySelector('#hosts-table thead th').getAttribute('aria-sort')") \
            == "ascending"
        tools.evaluate(session, click % 0)
        assert tools.evaluate(session, ROW_NAMES) == list(reversed(ascending))
        # click "Status": by severity, not alphabetically
        tools.evaluate(session, click % 1)
        statuses = tools.evaluate(session, "Array.from(document.querySelectorAll('#hosts-table tbody tr'))"
                                           ".map(r => r.cells[1].querySelector('.badge').textContent)")
        order = [r.STATUS_TEXT[s][0] for s in r.STATUSES]
        assert statuses == sorted(statuses, key=order.index)
        # the filter box hides rows that do not contain the text
        tools.evaluate(session, "(() => { const i = document.querySelector('.toolbar input');"
                                " i.value = 'kaspersky endpoint security for linux';"
                                " i.dispatchEvent(new Event('input')); })()")
        tools.evaluate(session, "new Promise(done => setTimeout(done, 300))")
        assert sorted(tools.evaluate(session, VISIBLE)) == ["web12", "web21", "web3", "web7"]
        assert tools.evaluate(session, "document.querySelector('.toolbar .count').textContent") \
            == "Showing 4 of %d" % len(names)
        # expand all opens every details element
        tools.evaluate(session, "document.querySelectorAll('.toolbar button')[0].click()")
        assert tools.evaluate(session, "Array.from(document.querySelectorAll('#hosts-table details'))"
                                       ".every(d => d.open)")
    finally:
        tools.close()
