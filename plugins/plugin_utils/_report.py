# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The identify report (BOD 17-01 day 30): build it from host facts, render it as JSON, CSV and
one self-contained HTML page.

Controller side (plugin_utils), pure functions of their arguments, no Ansible imports:

* :func:`build_identify_report` turns ``{host: hostvars}`` into the document
  (docs/reports.md), :func:`host_entry` one host's entry, :func:`compact_summary` the few
  hundred bytes meant for ``set_stats``;
* :data:`RENDERERS` turn the document into bytes: :func:`render_json`, :func:`render_csv`
  (one row per host and finding, :data:`CSV_COLUMNS`), :func:`render_html` (the page
  ``_pages/identify.html.j2``, host rows rendered by its script from the page's data);
* the action writes them with :func:`write_reports` (``_files``).

Text safety is ``_text``'s, the statuses and their words ``_vocabulary``'s, the page layer
``_html``'s. All work is linear in the number of hosts (plus sorting).
"""

from __future__ import annotations

import datetime
import marshal
from collections.abc import Mapping

from ansible_collections.fleetsec.divest.plugins.plugin_utils._files import REPORT_FORMATS as FORMATS
from ansible_collections.fleetsec.divest.plugins.plugin_utils._files import ReportWriteError, write_reports
from ansible_collections.fleetsec.divest.plugins.plugin_utils._html import (
    Column,
    DataTable,
    alike,
    el,
    render_page,
    shown,
    status_badge,
)
from ansible_collections.fleetsec.divest.plugins.plugin_utils._text import (
    FIELD_LIMIT,
    clean_text,
    csv_fragment,
    csv_header,
    fmt_time,
    gc_paused,
    get,
    json_bytes,
    natural_key,
    opt_text,
    platform_text,
    plural,
    text,
    to_jsonable,
)
from ansible_collections.fleetsec.divest.plugins.plugin_utils._vocabulary import (
    ALERTS,
    ERROR_STATUSES,
    HOST_STATUS,
    HOST_STATUSES,
    SCAN_STATUSES,
    VENDOR_FREE,
)

__all__ = [
    "SCHEMA", "STATUSES", "SCAN_STATUSES", "ERROR_STATUSES", "ALERTS", "CLEANED", "STATUS_TEXT", "CSV_COLUMNS",
    "FIELD_LIMIT", "EVIDENCE_LIMIT", "HTML_EVIDENCE_ITEMS", "FORMATS", "RENDERERS",
    "build_identify_report", "host_entry", "evidence_text", "compact_summary", "container_rows",
    "render_json", "render_csv", "render_html", "write_reports", "ReportWriteError",
]

#: 2: execute outcomes; the ``unprotected`` and ``reappearance`` statuses, ``alerts``, ``execute``.
SCHEMA = 2

#: Every status a host can have in a report, most urgent first (``_vocabulary.HOST_STATUS``).
STATUSES = HOST_STATUSES
#: ``{status: (label, meaning)}`` for people.
STATUS_TEXT = HOST_STATUS
#: Outcome statuses of an execute run that cleaned a host (with ``check_mode`` false).
CLEANED = VENDOR_FREE
_RANK = {status: rank for rank, status in enumerate(STATUSES)}

#: Column order of the identify CSV (one row per host and finding). Columns are only ever
#: added at the end, so spreadsheets built on the earlier ones keep working.
CSV_COLUMNS = (
    "host", "status", "system", "distribution", "os_version", "vendor", "product",
    "product_name", "product_version", "state", "evidence", "scanned_at", "error",
    "alerts", "scan_status", "execute_status", "execute_finished_at", "execute_digest", "execute_reason",
    "replacement", "replacement_healthy",
)

#: Length cap of the CSV evidence cell (other values: ``_text.FIELD_LIMIT``; the JSON keeps everything).
EVIDENCE_LIMIT = 4096
#: At most this many evidence items per finding are listed in the HTML page.
HTML_EVIDENCE_ITEMS = 100


# --------------------------------------------------------------------------------------------
# The document
# --------------------------------------------------------------------------------------------

def _host_fact(hostvars, fact, facts=None):
    """The host's ``fact``: ``ansible_facts[fact]`` first, then a top-level variable.
    ``facts``: the host's ``ansible_facts`` when the caller has them already."""
    if facts is None:
        facts = get(hostvars, "ansible_facts")
    value = get(facts, fact)
    if value is None:
        value = get(hostvars, fact)
    return value


def _platform(value):
    if not isinstance(value, Mapping):
        return None
    return {
        "system": opt_text(value.get("system")),
        "distribution": opt_text(value.get("distribution")),
        "version": opt_text(value.get("version")),
    }


def _error(value):
    """Why a host has no usable scan: from the registered result of the scan task (an
    Ansible task result: ``unreachable`` / ``failed`` with ``msg``; a successful result means
    no error), or from a ``{kind, message}`` mapping. ``None`` when there is no error."""
    if value is None or value is False or value == "" or value == {}:
        return None
    if isinstance(value, Mapping) and "kind" not in value:
        if value.get("unreachable"):
            return {"kind": "unreachable", "message": text(value.get("msg") or "host unreachable")}
        if value.get("failed"):
            return {"kind": "failed", "message": text(value.get("msg") or "scan failed")}
        if "message" not in value and "msg" not in value:
            return None  # a successful task result
    if isinstance(value, Mapping):
        kind = text(value.get("kind")) or "failed"
        message = value.get("message")
        if message is None:
            message = value.get("msg")
        return {"kind": kind if kind in ERROR_STATUSES else "failed", "message": text(message)}
    return {"kind": "failed", "message": text(value)}


def _parse_time(value):
    """An ISO 8601 time as an aware datetime (UTC when no offset is given), else ``None``."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.timezone.utc)


_OUTCOME_KEYS = ("status", "reason", "digest", "run_id", "finished_at", "check_mode")


def _execute_outcome(value):
    """The part of a host's ``divest_outcome`` the identify report shows, or ``None``.

    ``{status, reason, digest, run_id, finished_at, check_mode, cleaned, replacement}``:
    ``cleaned`` is true for an outcome of a real run (``check_mode`` false) whose status is
    one of :data:`CLEANED`; ``replacement`` is the outcome's replacement mapping, or ``None``
    (no replacement: waived)."""
    if not isinstance(value, Mapping):
        return None
    out = {key: to_jsonable(get(value, key)) for key in _OUTCOME_KEYS}
    out["check_mode"] = bool(out["check_mode"])
    out["cleaned"] = not out["check_mode"] and out["status"] in CLEANED
    replacement = get(value, "replacement")
    out["replacement"] = to_jsonable(replacement) if isinstance(replacement, Mapping) else None
    return out


def _alerts(outcome, status, findings, scanned_at):
    """The :data:`ALERTS` of a host from its execute ``outcome`` (:func:`_execute_outcome`) and
    its (last known) scan: ``status`` (``None``: no usable scan), ``findings``, ``scanned_at``.

    * ``reappearance``: execute cleaned the host and a scan made since says ``affected`` or
      ``residual``.
    * ``unprotected``: the outcome says ``unprotected``, or execute cleaned the host (or left it
      ``reboot_pending``) and its replacement is a mapping with ``healthy: false`` (``null`` is a
      waived replacement); and no scan made since shows an installed vendor product.

    A scan older than the outcome's ``finished_at`` predates the cleaning and says nothing
    about the host since; one whose time or the outcome's is unknown counts as newer.
    """
    if outcome is None:
        return []
    scan_time, done = _parse_time(scanned_at), _parse_time(outcome.get("finished_at"))
    current = status is not None and not (scan_time and done and scan_time < done)
    installed = current and (status == "affected" or any(
        finding.get("state") == "installed" for finding in findings))
    replacement = outcome.get("replacement")
    unhealthy = isinstance(replacement, dict) and replacement.get("healthy") is False
    alerts = []
    # a Windows host waiting for its restart (reboot_pending) whose replacement does not work yet
    # has no working antivirus either
    waiting = outcome.get("status") == "reboot_pending" and not outcome["check_mode"] and unhealthy
    if (outcome.get("status") == "unprotected" or (outcome["cleaned"] and unhealthy) or waiting) and not installed:
        alerts.append("unprotected")
    if outcome["cleaned"] and current and status in ("affected", "residual"):
        alerts.append("reappearance")
    return alerts


def _shared_plain(value, memo, kind, make):
    """``make(value)``, the same object for every equal ``value`` of ``kind`` seen with ``memo``
    (a dict, or ``None``: no sharing). Equal means: equal plain data of the same types in the
    same order (``marshal`` format 2 writes exactly such values as equal bytes, and refuses
    anything else: tagged strings, dates ..., made anew each time). The hosts of a fleet mostly
    repeat a few findings and scan notes: shared, they are converted once, held once in memory,
    sent once between processes and rendered once (the renderers memoise by identity)."""
    if memo is None:
        return make(value)
    try:
        key = (kind, marshal.dumps(value, 2))
    except ValueError:
        return make(value)
    made = memo.get(key)
    if made is None:
        made = memo[key] = make(value)
    return made


def _findings_of(value):
    findings = to_jsonable(value)
    return [f for f in findings if isinstance(f, dict)]


def host_entry(name, hostvars, fact="divest", scan_result="divest_scan", outcome="divest_outcome", memo=None):
    """Return the report entry of one host from its variables.

    ``hostvars``: the host's variables (``hostvars[name]``: a mapping with ``ansible_facts``,
    or any mapping; ``None`` when the host is unknown). The entry is::

        {name, status, platform, scanned_at, findings, scan, error, execute, alerts[, last_status]}

    * ``status`` is the scan's status (clean / affected / residual / unknown) when the host
      has the ``fact``; ``unreachable`` / ``failed`` when it has ``scan_result`` (this wins
      over a fact left in the fact cache by an earlier run: its findings stay listed as the
      last known ones); ``not_scanned`` when it has neither.
    * ``execute``: what the host's execute ``outcome`` (``divest_outcome``, in ``ansible_facts``
      or a top-level variable) says (:func:`_execute_outcome`), or ``None``. ``alerts``: the
      :data:`ALERTS` it raises with the scan (:func:`_alerts`); the first one is the host's
      ``status``, whatever the scan or the error says: an unprotected host or one where the
      vendor came back is never reported clean (nor only unreachable).
    * ``last_status``: the scan's own status, when ``status`` is another one (an error or an
      alert).
    * ``containers``: the fact's vendor software running in containers on the host (never
      part of ``status`` nor ``findings``), only when there is some.
    * A fact that is not a mapping, or an unexpected ``status``, gives ``unknown`` with a
      ``scan.errors`` entry saying why.
    * Values are plain JSON types; strings are complete (see :func:`to_jsonable`).

    ``memo``: a dict shared by the entries of one report: hosts with equal findings, platform or
    scan notes share one (read-only) object for them (:func:`_shared_plain`).
    """
    facts = get(hostvars, "ansible_facts")
    data = _host_fact(hostvars, fact, facts)
    error = _error(get(hostvars, scan_result))
    entry = {
        "name": text(name),
        "status": "not_scanned",
        "platform": None,
        "scanned_at": None,
        "findings": [],
        "scan": None,
        "error": error,
        "execute": _execute_outcome(_host_fact(hostvars, outcome, facts)),
        "alerts": [],
    }
    status = None
    if data is not None:
        if isinstance(data, Mapping):
            status = text(data.get("status"))
            scan = data.get("scan")
            if not isinstance(scan, Mapping):
                scan = {}
            elif status in SCAN_STATUSES:
                scan = _shared_plain(scan, memo, "scan", to_jsonable)
            else:  # changed below: the host's own
                scan = to_jsonable(scan)
            findings = data.get("findings")
            if isinstance(findings, (list, tuple)):
                entry["findings"] = _shared_plain(findings, memo, "findings", _findings_of)
            containers = data.get("containers")
            if isinstance(containers, (list, tuple)) and containers:
                entry["containers"] = [c for c in to_jsonable(containers) if isinstance(c, dict)]
            entry["platform"] = _shared_plain(data.get("platform"), memo, "platform", _platform)
            entry["scanned_at"] = opt_text(data.get("scanned_at"))
            if status not in SCAN_STATUSES:
                scan.setdefault("errors", [])
                if isinstance(scan["errors"], list):
                    scan["errors"].append({"section": "report",
                                           "message": "unexpected status %r in the %s fact" % (status, fact)})
                status = "unknown"
            entry["scan"] = scan
        else:
            status = "unknown"
            entry["scan"] = {"errors": [{"section": "report",
                                         "message": "the %s fact is not a mapping" % fact}]}
        entry["status"] = status
    if error is not None:
        entry["status"] = error["kind"]
    elif hostvars is None:
        entry["error"] = {"kind": "not_scanned", "message": "host not found in the inventory"}
    if entry["execute"] is not None:
        entry["alerts"] = _alerts(entry["execute"], status, entry["findings"], entry["scanned_at"])
        if entry["alerts"]:
            entry["status"] = entry["alerts"][0]
    if status is not None and entry["status"] != status:
        entry["last_status"] = status
    return entry


def host_entries(hosts, fact="divest", scan_result="divest_scan", outcome="divest_outcome"):
    """``[host_entry, ...]`` of ``hosts`` (``{name: hostvars}`` or ``(name, hostvars)`` pairs, read
    one at a time), in their order; equal parts shared (:func:`host_entry`'s ``memo``). The
    entries of several calls (a fleet read by several processes) make one report together
    (:func:`build_identify_report`'s ``entries``)."""
    items = hosts.items() if isinstance(hosts, Mapping) else hosts
    memo = {}
    return [host_entry(name, hv, fact, scan_result, outcome, memo) for name, hv in items]


@gc_paused
def build_identify_report(hosts, generated_at, fact="divest", scan_result="divest_scan",
                          title="Identify report", outcome="divest_outcome", entries=None):
    """Return the identify report document for ``hosts``.

    ``hosts``: mapping ``{host name: hostvars-like mapping or None}`` (every host of the play,
    ``None`` for a name the inventory does not know). ``generated_at``: ISO 8601 string.
    ``outcome``: the host variable with the execute outcome (see :func:`host_entry`).

    The document (all plain JSON types)::

        schema: 2
        report: identify
        title, generated_at, fact
        summary:
          hosts: N
          by_status: {unprotected, reappearance, affected, residual, unknown, failed,
                      unreachable, not_scanned, clean}
          alerts: {unprotected, reappearance}                 # hosts with each alert
          by_product: [{vendor, product, name, hosts, installed, residual,
                        versions: [{version, hosts}]}]       # hosts carrying the product
          by_platform: [{system, distribution, version, hosts, by_status}]
        hosts: [host_entry ...]                               # natural order of names

    A host counts once per product (``installed`` if any of its findings for the product is
    installed, else ``residual``) and once per distinct version of it.

    ``summary.containers`` (only when some host has vendor software in containers):
    ``{hosts, containers}``, the hosts and the distinct containers (runtime and id) where it
    runs; the hosts' ``containers`` entries list them (:func:`container_rows`).

    ``entries``: the hosts' entries made already (:func:`host_entries`, distinct names, any
    order; ``hosts`` is then not read): the same document.
    """
    if entries is None:
        entries = host_entries(hosts, fact, scan_result, outcome)
    entries.sort(key=lambda e: natural_key(e["name"]))

    by_status = dict.fromkeys(STATUSES, 0)
    alerts = dict.fromkeys(ALERTS, 0)
    products = {}
    platforms = {}
    for entry in entries:
        by_status[entry["status"]] += 1
        for alert in entry["alerts"]:
            alerts[alert] += 1
        plat = entry["platform"] or {}
        pkey = (plat.get("system"), plat.get("distribution"), plat.get("version"))
        prow = platforms.get(pkey)
        if prow is None:
            prow = platforms[pkey] = {
                "system": pkey[0], "distribution": pkey[1], "version": pkey[2], "hosts": 0,
                "by_status": dict.fromkeys(STATUSES, 0),
            }
        prow["hosts"] += 1
        prow["by_status"][entry["status"]] += 1

        host_products = {}
        for finding in entry["findings"]:
            key = (text(finding.get("vendor")), text(finding.get("product")))
            state = text(finding.get("state"))
            version = finding.get("version")
            version = None if version in (None, "") else text(version)
            seen = host_products.get(key)
            if seen is None:
                seen = host_products[key] = {"installed": False, "versions": set()}
                prod = products.get(key)
                if prod is None:
                    prod = products[key] = {
                        "vendor": key[0], "product": key[1], "name": None,
                        "hosts": 0, "installed": 0, "residual": 0, "versions": {},
                    }
                if prod["name"] is None and finding.get("name"):
                    prod["name"] = text(finding.get("name"))
            if state == "installed":
                seen["installed"] = True
            seen["versions"].add(version)
        for key, seen in host_products.items():
            prod = products[key]
            prod["hosts"] += 1
            prod["installed" if seen["installed"] else "residual"] += 1
            for version in seen["versions"]:
                prod["versions"][version] = prod["versions"].get(version, 0) + 1

    by_product = []
    for key in sorted(products, key=lambda k: (natural_key(k[0]), natural_key(k[1]))):
        prod = products[key]
        versions = sorted(prod["versions"].items(), key=lambda item: natural_key(item[0]))
        prod["versions"] = [{"version": v, "hosts": n} for v, n in versions]
        by_product.append(prod)
    by_platform = [platforms[k] for k in sorted(
        platforms, key=lambda k: tuple(natural_key(part) for part in k))]

    summary = {
        "hosts": len(entries),
        "by_status": by_status,
        "alerts": alerts,
        "by_product": by_product,
        "by_platform": by_platform,
    }
    with_containers = [e for e in entries if e.get("containers")]
    if with_containers:
        summary["containers"] = {
            "hosts": len(with_containers),
            "containers": sum(len(set((text(c.get("runtime")), text(c.get("id"))) for c in e["containers"]))
                              for e in with_containers),
        }
    return {
        "schema": SCHEMA,
        "report": "identify",
        "title": text(title),
        "generated_at": text(generated_at),
        "fact": text(fact),
        "summary": summary,
        "hosts": entries,
    }


def container_rows(document):
    """``[(host, entry)]``: every host's vendor software in containers, hosts in natural order,
    each host's entries in the fact's order (containers first, then the ``unknown`` ones)."""
    return [(host["name"], item) for host in document.get("hosts", [])
            for item in host.get("containers") or () if isinstance(item, Mapping)]


def compact_summary(document, max_products=50):
    """A small dict for ``set_stats`` (a few hundred bytes): report, generated_at, hosts,
    ``status`` (every status with its count), ``alerts`` (hosts per alert: unprotected,
    reappearance) and ``products`` (``"vendor/product": hosts``,
    at most ``max_products`` entries, most frequent first; ``products_truncated`` says when
    some were left out)."""
    summary = document.get("summary", {})
    prods = sorted(summary.get("by_product", []), key=lambda p: (-p["hosts"], p["vendor"], p["product"]))
    out = {
        "report": document.get("report"),
        "generated_at": document.get("generated_at"),
        "hosts": summary.get("hosts", 0),
        "status": dict(summary.get("by_status", {})),
        "alerts": dict(summary.get("alerts", {})),
        "products": {"%s/%s" % (p["vendor"], p["product"]): p["hosts"] for p in prods[:max_products]},
    }
    if len(prods) > max_products:
        out["products_truncated"] = True
    return out


# --------------------------------------------------------------------------------------------
# JSON and CSV
# --------------------------------------------------------------------------------------------

_EVIDENCE_DETAIL_KEYS = ("version", "state", "status")


def evidence_text(item, limit=FIELD_LIMIT):
    """Compact one-line text of one evidence item: ``kind name [version] [state] [status]``.

    ``status: installed`` of a package is left out (it is the normal case);
    e.g. ``package kesl 12.1.0-1508``, ``service kesl running``,
    ``package kesl-gui 12.1.0-1508 config-files``. Not escaped; each part capped at ``limit``.
    """
    if not isinstance(item, Mapping):
        return clean_text(item, limit)
    parts = [clean_text(item.get("kind") or "?", limit), clean_text(item.get("name"), limit)]
    for key in _EVIDENCE_DETAIL_KEYS:
        value = item.get(key)
        if value is None or value == "":
            continue
        if key == "status" and value == "installed":
            continue
        parts.append(clean_text(value, limit))
    return " ".join(p for p in parts if p)


def _evidence_list(finding):
    evidence = finding.get("evidence")
    return evidence if isinstance(evidence, list) else []


def _host_error_text(entry):
    error = entry.get("error")
    if error:
        return "%s: %s" % (error.get("kind"), error.get("message"))
    scan = entry.get("scan") or {}
    errors = scan.get("errors") if isinstance(scan, dict) else None
    if isinstance(errors, list) and errors:
        return "; ".join("%s: %s" % (text(get(e, "section")), text(get(e, "message")))
                         if isinstance(e, Mapping) else text(e) for e in errors)
    return ""


def render_json(document):
    """The document as UTF-8 JSON bytes (values in full; ``_text.json_bytes``): top-level keys
    indented, each host compactly on a line of its own, invisible characters as escapes."""
    return json_bytes(document)


def _healthy_text(replacement):
    healthy = replacement.get("healthy") if isinstance(replacement, Mapping) else None
    return "" if healthy is None else ("yes" if healthy is True else "no")


def _csv_execute(entry):
    """The columns after ``error``: alerts, the scan's status, the execute outcome."""
    status = entry.get("status")
    scan_status = entry.get("last_status") or (status if status in SCAN_STATUSES else "")
    outcome = entry.get("execute")
    if not isinstance(outcome, Mapping):
        return ["; ".join(entry.get("alerts") or []), scan_status, "", "", "", "", "", ""]
    replacement = outcome.get("replacement")
    return ["; ".join(entry.get("alerts") or []), scan_status, outcome.get("status"), outcome.get("finished_at"),
            outcome.get("digest"), (outcome.get("reason"), 2048),
            replacement.get("product") if isinstance(replacement, Mapping) else "", _healthy_text(replacement)]


def _csv_finding(finding):
    evidence = "; ".join(evidence_text(e) for e in _evidence_list(finding))
    return [finding.get("vendor"), finding.get("product"), finding.get("name"),
            finding.get("version"), finding.get("state"), (evidence, EVIDENCE_LIMIT)]


def _csv_rows(document):
    for entry in document.get("hosts", []):
        plat = entry.get("platform") or {}
        base = [entry.get("name"), entry.get("status"), plat.get("system"),
                plat.get("distribution"), plat.get("version")]
        tail = [entry.get("scanned_at"), _host_error_text(entry)] + _csv_execute(entry)
        findings = entry.get("findings") or []
        if not findings:
            yield base + [""] * 6 + tail
            continue
        for finding in findings:
            yield base + _csv_finding(finding) + tail


def _csv_lines(document):
    """The lines of :func:`render_csv` after its header: those of ``csv_bytes(CSV_COLUMNS,
    _csv_rows(document))``, put together from fragments (``_text.csv_fragment``) made once for
    each platform, finding and row tail that hosts share (the same objects, :func:`host_entry`'s
    ``memo``, or equal values)."""
    fragments = {}
    no_finding = csv_fragment([""] * 6)
    for entry in document.get("hosts", []):
        plat = entry.get("platform")
        key = ("platform", id(plat) if plat else None)
        where = fragments.get(key)
        if where is None:
            plat = plat or {}
            where = fragments[key] = (plat, csv_fragment([plat.get("system"), plat.get("distribution"), plat.get("version")]))
        head = "%s,%s" % (csv_fragment((entry.get("name"), entry.get("status"))), where[1])
        error, outcome = entry.get("error"), entry.get("execute")
        scan = entry.get("scan")
        tail = None
        if error is None and outcome is None:
            # the objects are kept in the value: an id is not reused while its key is in use
            key = ("tail", entry.get("scanned_at"), id(scan), entry.get("status"), entry.get("last_status"),
                   tuple(entry.get("alerts") or ()))
            try:
                tail = fragments.get(key)
            except TypeError:  # an unhashable value (a hand-made document): not shared
                key = None
            if tail is None and key is not None:
                tail = fragments[key] = (scan, csv_fragment([entry.get("scanned_at"), _host_error_text(entry)]
                                                            + _csv_execute(entry)))
            tail = tail[1] if tail is not None else None
        if tail is None:
            tail = csv_fragment([entry.get("scanned_at"), _host_error_text(entry)] + _csv_execute(entry))
        findings = entry.get("findings") or []
        if not findings:
            yield "%s,%s,%s\r\n" % (head, no_finding, tail)
            continue
        for finding in findings:
            key = ("finding", id(finding))
            middle = fragments.get(key)
            if middle is None:
                middle = fragments[key] = (finding, csv_fragment(_csv_finding(finding)))
            yield "%s,%s,%s\r\n" % (head, middle[1], tail)


def render_csv(document):
    """The identify CSV (columns :data:`CSV_COLUMNS`) as UTF-8 bytes: one row per host and
    finding, one row with empty product columns for a host without findings. The same bytes as
    ``csv_bytes(CSV_COLUMNS, _csv_rows(document))``."""
    return (csv_header(CSV_COLUMNS) + "".join(_csv_lines(document))).encode("utf-8")


# --------------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------------

def _status_badge(status):
    return status_badge(status, STATUS_TEXT)


def _typed(values):
    """``values`` as a key of shared cells: each value with its type (``1`` is not ``True``)."""
    return tuple((value.__class__, value) for value in values)


def _finding_head(finding):
    """A finding's heading, its version and state line, its removal line."""
    name = finding.get("name") or finding.get("product") or "?"
    parts = [el("h3", None, name, " ", el("code", None, finding.get("product")))]
    sub = []
    if finding.get("version"):
        sub.append("version %s" % clean_text(finding.get("version")))
    if finding.get("state"):
        sub.append(clean_text(finding.get("state")))
    if finding.get("vendor"):
        sub.append("vendor %s" % clean_text(finding.get("vendor")))
    if sub:
        parts.append(el("p", "muted", " \u00b7 ".join(sub)))
    removal = finding.get("removal")
    if isinstance(removal, Mapping) and removal:
        rem = ["removal: %s" % clean_text(removal.get("method") or "?")]
        if removal.get("reboot"):
            rem.append("reboot needed")
        password = removal.get("password")
        if password and password != "none":
            rem.append("password: %s" % clean_text(password))
        parts.append(el("p", "muted", " \u00b7 ".join(rem)))
    return el("", None, parts)


_HEAD_KEYS = ("name", "product", "version", "state", "vendor")


def _evidence_item(item):
    """One evidence item: its kind, name and every other attribute."""
    if not isinstance(item, Mapping):
        return el("li", None, text(item))
    extra = ["%s %s" % (clean_text(k, 64), clean_text(v)) for k, v in item.items()
             if k not in ("kind", "name") and v not in (None, "") and not isinstance(v, (dict, list))]
    return el("li", None, el("code", None, item.get("kind") or "?"), " ", item.get("name"),
              " " if extra else None, el("span", "muted", " \u00b7 ".join(extra)) if extra else None)


def _finding_nodes(finding, table):
    """A finding in a host's details: its heading, version and removal lines, its evidence.
    The heading and each evidence item are cells of ``table`` that hosts with the same share."""
    removal = finding.get("removal")
    head_key = _typed([finding.get(k) for k in _HEAD_KEYS] + (
        [removal.get("method"), bool(removal.get("reboot")), removal.get("password")]
        if isinstance(removal, Mapping) and removal else [removal]))
    parts = [table.share(("finding",) + head_key, _finding_head, finding)]
    items = []
    evidence = _evidence_list(finding)
    for item in evidence[:HTML_EVIDENCE_ITEMS]:
        key = ("item",) + _typed(part for pair in item.items() for part in pair) if isinstance(item, dict) else None
        items.append(table.share(key, _evidence_item, item))
    if len(evidence) > HTML_EVIDENCE_ITEMS:
        items.append(el("li", "muted", "\u2026 and %d more evidence items (see the JSON report)"
                        % (len(evidence) - HTML_EVIDENCE_ITEMS)))
    if items:
        parts.append(el("ul", None, items))
    return parts


def _short_digest(digest):
    """``sha256:0123456789ab`` (12 hex digits: enough to tell plans apart on a page)."""
    digest = clean_text(digest, 200)
    algorithm, sep, value = digest.partition(":")
    return "%s:%s" % (algorithm, value[:12]) if sep and len(value) > 12 else digest


def _replacement_text(replacement):
    """``clamav 1.4.3: NOT healthy (clamd is not running)`` for people; ``""`` without one."""
    if not isinstance(replacement, Mapping):
        return ""
    name = " ".join(clean_text(replacement.get(key), 120) for key in ("product", "version") if replacement.get(key))
    healthy = replacement.get("healthy")
    state = "healthy" if healthy is True else ("NOT healthy" if healthy is False else "health not checked")
    reason = replacement.get("reason")
    return "%s: %s%s" % (name or "replacement", state, (" (%s)" % clean_text(reason, 600)) if reason else "")


def _execute_line(outcome):
    """One muted line under a host's status: what execute last did there, when, for which plan."""
    status = clean_text(outcome.get("status"), 40).replace("_", " ")
    parts = ["execute%s: %s" % (" (check mode)" if outcome.get("check_mode") else "", status)]
    if outcome.get("finished_at"):
        parts.append(fmt_time(outcome["finished_at"]))
    if outcome.get("digest"):
        parts.append("plan %s" % _short_digest(outcome["digest"]))
    return el("div", "muted", " \u00b7 ".join(parts))


def _alert_node(entry, alert):
    outcome = entry["execute"]
    when = fmt_time(outcome.get("finished_at")) if outcome.get("finished_at") else "a date not recorded"
    if alert == "unprotected":
        replacement = _replacement_text(outcome.get("replacement"))
        words = ("Execute cleaned this host (%s, %s) and no healthy replacement antivirus protects it%s."
                 % (clean_text(outcome.get("status"), 40), when, (": " + replacement) if replacement else ""))
    else:
        words = ("Execute cleaned this host (%s, %s); the scan of %s finds the vendor's software again. "
                 "BOD 17-01 forbids its use: remove it again and find out how it came back."
                 % (clean_text(outcome.get("status"), 40), when,
                    fmt_time(entry.get("scanned_at")) if entry.get("scanned_at") else "an unknown date"))
    return el("p", None, _status_badge(alert), " ", words)


def _outcome_key(outcome):
    """What the page shows of an outcome, hashable (the hosts of one run share it), or ``None``."""
    replacement = outcome.get("replacement")
    key = tuple(outcome.get(k) for k in _OUTCOME_KEYS) + (
        tuple(sorted(replacement.items())) if isinstance(replacement, dict) else replacement,)
    try:
        hash(key)
    except TypeError:  # a list somewhere in a hand-made outcome
        return None
    return key


def _execute_nodes(outcome):
    """The execute outcome in a host's details: status, time, plan digest, run, reason, replacement."""
    rows = [("Outcome", clean_text(outcome.get("status"), 40) + (" (check mode)" if outcome.get("check_mode") else "")),
            ("Finished", fmt_time(outcome.get("finished_at")) if outcome.get("finished_at") else "\u2014"),
            ("Plan digest", el("code", None, outcome.get("digest") or "?")),
            ("Run", el("code", None, outcome.get("run_id") or "?")),
            ("Reason", shown(outcome.get("reason") or "\u2014", 2048)),
            ("Replacement", _replacement_text(outcome.get("replacement")) or "none (waived or not recorded)")]
    return el("", None, el("p", None, el("strong", None, "Execute outcome")),
              el("dl", None, [(el("dt", None, term), el("dd", None, desc)) for term, desc in rows]))


def _host_details(entry, table):
    """The host's ``<details>`` (alerts, error, findings, scan notes, execute outcome), or
    ``None`` when there is nothing to show. The execute outcome is a cell of ``table`` that the
    hosts of one run share."""
    parts = []
    outcome = entry.get("execute") if isinstance(entry.get("execute"), Mapping) else None
    for alert in entry.get("alerts") or []:
        parts.append(_alert_node(entry, alert))
    error = entry.get("error")
    if error:
        parts.append(el("p", None, el("strong", None, "%s: " % STATUS_TEXT.get(error.get("kind"), (error.get("kind"),))[0]),
                        shown(error.get("message"), 2048)))
    if entry.get("last_status"):
        parts.append(el("p", "muted", "%s scan (%s): %s.%s"
                        % ("Last known" if error else "Last", fmt_time(entry.get("scanned_at")) or "time unknown",
                           STATUS_TEXT.get(entry["last_status"], (entry["last_status"],))[0],
                           " The findings below are from that scan." if entry.get("findings") else "")))
    for finding in entry.get("findings") or []:
        parts.extend(_finding_nodes(finding, table))
    if entry.get("containers"):
        parts.append(el("p", None, el("strong", None, "Vendor software running in containers on this host"),
                        el("span", "muted", " (not the host's own: follow up on the container image)")))
        parts.append(el("ul", None, [el("li", None, _container_text(item)) for item in entry["containers"]
                                     [:HTML_EVIDENCE_ITEMS] if isinstance(item, Mapping)]))
    scan = entry.get("scan") or {}
    if isinstance(scan, Mapping):
        for key, label in (("errors", "Scan errors"), ("skipped", "Skipped")):
            values = scan.get(key)
            if isinstance(values, list) and values:
                lis = []
                for item in values[:HTML_EVIDENCE_ITEMS]:
                    if isinstance(item, Mapping):
                        lis.append(el("li", None, el("code", None, item.get("section") or "?"), " ",
                                      item.get("message") or item.get("reason")))
                    else:
                        lis.append(el("li", None, text(item)))
                parts.append(el("p", None, el("strong", None, label)))
                parts.append(el("ul", None, lis))
    if outcome is not None:
        key = _outcome_key(outcome)
        parts.append(table.share(("details",) + key if key else None, _execute_nodes, outcome))
    if not parts:
        return None
    findings = entry.get("findings") or []
    evidence = sum(len(_evidence_list(f)) for f in findings)
    if findings:
        summary = "%s, %s" % (plural(len(findings), "finding"), plural(evidence, "evidence item"))
    elif entry.get("containers"):
        summary = "In containers"
    elif entry.get("alerts"):
        summary = "Why"
    elif error:
        summary = "Error"
    elif outcome is not None and not entry.get("scan"):
        summary = "Execute outcome"
    else:
        summary = "Scan notes"
    return el("details", None, el("summary", None, summary), el("div", "details-body", parts))


def _container_where(item):
    """Where it runs, for people: ``podman 1a3bb1070ecf`` (a 64-digit id cut to 12, as the
    runtimes' own listings show it), ``lxc web1``, ``another pid namespace``, or for an
    ``unknown`` entry ``host or container? <why>``."""
    if item.get("scope") == "unknown":
        return "host or container? %s" % clean_text(item.get("reason"), 200)
    cid = clean_text(item.get("id"), 200) if item.get("id") else ""
    if len(cid) == 64 and all(char in "0123456789abcdef" for char in cid):
        cid = cid[:12]
    runtime = clean_text(item.get("runtime"), 40) if item.get("runtime") else ""
    return " ".join(part for part in (runtime, cid) if part) or "another pid namespace"


def _container_seen(item):
    """What was seen: ``process kesl pid 4242, path /var/lib/docker/...``."""
    seen = []
    for ev in item.get("evidence") or ():
        if isinstance(ev, Mapping):
            seen.append(" ".join(clean_text(part) for part in (ev.get("kind"), ev.get("name")) if part)
                        + (" pid %s" % clean_text(ev["pid"]) if ev.get("pid") is not None else ""))
    return ", ".join(seen) or "?"


def _container_text(item):
    """One line: product, where it runs, what was seen."""
    name = clean_text(item.get("name") or item.get("product"))
    return "%s \u2014 %s: %s" % (name, _container_where(item), _container_seen(item))


def _products_key(entry):
    """What the "Products found" cell of a host with findings or containers shows, or ``None``."""
    findings = entry.get("findings")
    containers = len(entry.get("containers") or ())
    if not findings and not containers:
        return None
    return ("products", containers) + _typed(value for f in findings or () for value in (
        f.get("name") or f.get("product"), f.get("version"), f.get("state")))


def _products_node(entry):
    """The "Products found" cell: each finding's name, version and state (or why there is none)."""
    products = []
    for finding in entry.get("findings") or []:
        line = [el("span", None, finding.get("name") or finding.get("product"))]
        if finding.get("version"):
            line.append(el("span", "mono", " %s" % clean_text(finding.get("version"))))
        if finding.get("state") and finding.get("state") != "installed":
            line.append(el("span", "muted", " (%s)" % clean_text(finding.get("state"))))
        products.append(el("li", None, line))
    outcome = entry.get("execute")
    if not products and entry["status"] == "unprotected":
        replacement = _replacement_text(outcome.get("replacement"))
        why = ("replacement " + replacement) if replacement else clean_text(outcome.get("reason"), 160)
        products.append(el("li", "muted", "no vendor product; %s" % why if why else "no vendor product"))
    elif not products and entry.get("error"):
        products.append(el("li", "muted", clean_text(entry["error"].get("message"), 160)))
    elif not products and entry["status"] == "unknown":
        products.append(el("li", "muted", "incomplete scan: %s" % clean_text(_host_error_text(entry), 160)))
    containers = [c for c in entry.get("containers") or () if isinstance(c, Mapping)]
    if containers:
        names = []
        for item in containers:
            name = clean_text(item.get("name") or item.get("product"), 160)
            if name not in names:
                names.append(name)
        products.append(el("li", "muted", "in containers, not the host's: %s" % ", ".join(names)))
    return el("ul", "plain", products) if products else ""


def _details_key(entry):
    """What a host's details show (:func:`_host_details`), as a key of shared cells: hosts with
    the same findings, outcome, errors ... share one; ``None`` when the host has no details
    (``False``: not shared, hand-made data)."""
    scan = entry.get("scan")
    notes = isinstance(scan, Mapping) and (scan.get("errors") or scan.get("skipped"))
    if not (entry.get("findings") or entry.get("alerts") or entry.get("error") or entry.get("last_status")
            or entry.get("containers") or isinstance(entry.get("execute"), Mapping) or notes):
        return None
    dated = entry.get("alerts") or entry.get("last_status")
    try:
        # marshal (format 2: no references between objects) writes equal plain data as equal
        # bytes, with its types (1, 1.0 and true differ), about 3 times faster than json
        return marshal.dumps([entry.get(key) for key in _DETAILS_KEYS] + [
            entry.get("scanned_at") if dated else None], 2)
    except ValueError:  # not plain data (hand-made): not shared
        return False


_DETAILS_KEYS = ("findings", "alerts", "error", "last_status", "containers", "execute", "scan")


def _status_node(entry, table):
    """The "Status" cell: the alerts' badges (else the status's), the scan's own status, the
    error now, and what execute last did (cells of ``table`` that hosts share)."""
    cell = [table.share(("badge", alert), _status_badge, alert) for alert in entry.get("alerts") or ()] or [
        table.share(("badge", entry["status"]), _status_badge, entry["status"])]
    if entry.get("last_status"):
        cell.append(el("div", "muted", "last scan: %s" % STATUS_TEXT.get(entry["last_status"], (entry["last_status"],))[0]))
    if entry.get("error") and entry.get("alerts"):
        kind = entry["error"].get("kind")
        cell.append(el("div", "muted", "now: %s" % STATUS_TEXT.get(kind, (kind,))[0]))
    outcome = entry.get("execute")
    if isinstance(outcome, Mapping):
        key = _outcome_key(outcome)
        cell.append(table.share(("line",) + key if key else None, _execute_line, outcome))
    return cell[0] if len(cell) == 1 else el("", None, cell)


def _hosts_table(document):
    """The "Hosts" table: most urgent first, then by name."""
    table = DataTable(
        "hosts-table",
        [Column("Host", cls="nowrap", header=True), Column("Status", key=0), Column("Platform"),
         Column("Products found", key=1), Column("Scanned at", cells="nowrap", key=2),
         Column("Evidence", sortable=False)],
        "Filter hosts (name, status, product, evidence\u2026)",
        files="divest-%s.csv and divest-%s.json" % (document.get("report"), document.get("report")))
    hosts = sorted(document["hosts"], key=lambda e: (_RANK.get(e["status"], len(STATUSES)), natural_key(e["name"])))
    platforms, times = {}, {}
    no_details = table.share(("no details",), el, "span", "muted", "\u2014")

    def details(entry):
        return _host_details(entry, table) or no_details

    def row(entry):
        """The row's cells and sort keys (the name and the scan time are the row's own: add_like)."""
        plat = entry.get("platform")
        pkey = (plat.get("system"), plat.get("distribution"), plat.get("version")) if isinstance(plat, dict) else None
        platform = platforms.get(pkey) if pkey is not None else None
        if platform is None:
            platform = clean_text(platform_text(plat))
            if pkey is not None:
                platforms[pkey] = platform
        key = _details_key(entry)
        return ([None, _status_node(entry, table), shown(platform, None),
                 table.share(_products_key(entry), _products_node, entry),
                 None, no_details if key is None else table.share(key or None, details, entry)],
                ["%d %s" % (_RANK.get(entry["status"], 9), entry["status"]), str(len(entry.get("findings") or [])), None])

    for entry in hosts:
        scanned = entry.get("scanned_at")
        when = times.get(scanned) if scanned else ""
        if when is None:
            when = times[scanned] = clean_text(fmt_time(scanned))
        # the details say when the host was scanned only with an alert or a last status
        own = ("name",) if entry.get("alerts") or entry.get("last_status") else ("name", "scanned_at")
        table.add_like(alike(entry, own), {0: entry["name"], 4: shown(when, None), 8: scanned or ""}, row, entry)
    return table


def _banner(document):
    """What the summary banner says: counts and the tone."""
    summary = document["summary"]
    counts = summary["by_status"]
    alerts = summary.get("alerts") or {}
    # A host where the vendor came back carries its software too (its scan says which way).
    back = [e.get("last_status") for e in document["hosts"] if e["status"] == "reappearance"]
    installed = counts["affected"] + back.count("affected")
    leftovers = counts["residual"] + back.count("residual")
    unsure = counts["unknown"] + counts["failed"] + counts["unreachable"] + counts["not_scanned"]
    unprotected, reappearance = alerts.get("unprotected"), alerts.get("reappearance")
    alerted = bool(unprotected or reappearance)
    vendor_hosts = installed + leftovers
    tone = "unprotected" if alerted else ("affected" if vendor_hosts else ("unknown" if unsure else "clean"))
    return {"total": summary["hosts"], "tone": tone, "unprotected": unprotected, "reappearance": reappearance,
            "alerted": alerted, "vendor_hosts": vendor_hosts, "installed": installed, "leftovers": leftovers,
            "unsure": unsure}


@gc_paused
def render_html(document):
    """The identify report as one self-contained HTML page (UTF-8 bytes): ``identify.html.j2``."""
    summary = document["summary"]
    generated = fmt_time(document.get("generated_at"))
    products = []
    for prod in summary["by_product"]:
        versions = prod["versions"] or [{"version": None, "hosts": prod["hosts"]}]
        products.append((prod, versions))
    platforms = []
    for plat in summary["by_platform"]:
        by = plat["by_status"]
        alerted = sum(by[s] for s in ALERTS)
        platforms.append((platform_text(plat, with_system=True), plat["hosts"], alerted, by["affected"], by["residual"],
                          plat["hosts"] - alerted - by["affected"] - by["residual"] - by["clean"], by["clean"]))
    hosts = _hosts_table(document)
    containers = [(name, _container_where(item), clean_text(item.get("name") or item.get("product")),
                   _container_seen(item)) for name, item in container_rows(document)]
    return render_page(
        "identify.html.j2",
        title="%s \u2014 %s" % (document.get("title") or "Identify report", generated),
        meta={"generator": "fleetsec.divest report", "divest-report": document.get("report"),
              "divest-generated-at": document.get("generated_at")},
        tables=[hosts],
        document=document, generated=generated, banner=_banner(document),
        cards=[("Hosts", summary["hosts"], None, "in the play")] + [
            (label, summary["by_status"][status], status, hint) for status, (label, hint) in STATUS_TEXT.items()],
        products=products, platforms=platforms, hosts=hosts, containers=containers,
        container_summary=summary.get("containers"),
        legend=[(_status_badge(status), hint) for status, (label, hint) in STATUS_TEXT.items()],
        field_limit=FIELD_LIMIT)


#: ``{format: document -> bytes}``.
RENDERERS = {"json": render_json, "csv": render_csv, "html": render_html}
