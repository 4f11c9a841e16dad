# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The execute report (BOD 17-01 day 90 on): what the plan expected on each host, and what
happened, as JSON, CSV and one self-contained HTML page (``_pages/execute.html.j2``).

:func:`build_execute_report` takes, for every host of the run, the host's ``divest_outcome``
and ``divest`` facts, plus the gate's result (the approved plan's parts, waves and run id), and
returns the document; :data:`RENDERERS` turn it into bytes. Pure functions, controller side.
The document is described in docs/execute.md; its statuses and their words are
``_vocabulary.EXECUTE_STATUS``.
"""

from __future__ import annotations

from collections.abc import Mapping

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
    clean_text,
    csv_bytes,
    fmt_time,
    gc_paused,
    get,
    json_bytes,
    natural_key,
    opt_text,
    text,
    to_jsonable,
)
from ansible_collections.fleetsec.divest.plugins.plugin_utils._vocabulary import (
    DONE,
    EXECUTE_STATUS,
    EXECUTE_STATUSES,
    UNTOUCHED,
    VENDOR_FREE,
)

__all__ = ["build_execute_report", "compact_summary", "render_csv", "render_html", "RENDERERS", "STATUS_TEXT",
           "CSV_COLUMNS", "STATUSES", "render_json"]

SCHEMA = 1
#: Statuses of a host in the execute report, in the order of the summary cards
#: (``_vocabulary.EXECUTE_STATUS``), and their ``(label, meaning)``.
STATUSES = EXECUTE_STATUSES
STATUS_TEXT = EXECUTE_STATUS
TONES = {"removed": "clean", "already_clean": "clean", "would_remove": "neutral", "reboot_pending": "residual",
         "blocked": "residual",
         "drifted": "unknown", "failed": "failed", "unreachable": "unreachable", "not_started": "not_scanned",
         "not_in_plan": "not_scanned", "not_targeted": "not_scanned", "unprotected": "unprotected"}
PROTECTION_TEXT = {"replacement": "the replacement", "vendor": "the vendor's product (still installed)",
                   "waived": "nothing (replacement waived in the plan)", "none": "NOTHING", None: "not known"}
CSV_COLUMNS = ("host", "wave", "status", "reason", "expected", "removed", "remaining", "replacement",
               "replacement_healthy", "replacement_version", "started_at", "finished_at", "run", "digest",
               "protection", "removed_by_runs", "runs", "holds_released")


def _label(item):
    if not isinstance(item, Mapping):
        return text(item)
    out = text(item.get("product"))
    if item.get("version"):
        out += " %s" % text(item.get("version"))
    if item.get("state") and item.get("state") not in ("installed",):
        out += " (%s)" % text(item.get("state"))
    return out


def _entry(name, part, outcome, facts, gate, targeted=True):
    digest = gate.get("digest")
    run_id = gate.get("run_id")
    usable = isinstance(outcome, Mapping) and outcome.get("digest") == digest
    if usable and outcome.get("check_mode") and not gate.get("check_mode"):
        usable = False  # a dry run's prediction is not an outcome of a real run
    outcome = outcome if usable else None
    entry = {
        "name": text(name),
        "wave": get(part, "wave"),
        "expected": to_jsonable(get(part, "expect") or []),
        "blockers": to_jsonable(get(part, "blockers") or []),
        "status": "not_started" if targeted else "not_targeted",
        "reason": None,
        "removed": [],
        "remaining": [],
        "replacement": None,
        "protection": None,
        "history": [],
        "holds_released": [],
        "started_at": None,
        "finished_at": None,
        "run": None,
        "after": None,
    }
    if outcome is None:
        entry["reason"] = "not started in this run" if targeted else \
            "not targeted by this run (--limit or divest_hosts): still to do"
    else:
        status = text(outcome.get("status"))
        entry.update(
            reason=opt_text(outcome.get("reason")),
            removed=to_jsonable(outcome.get("removed") or []),
            replacement=to_jsonable(outcome.get("replacement")),
            protection=opt_text(outcome.get("protection")),
            history=to_jsonable(outcome.get("history") or []),
            holds_released=to_jsonable(outcome.get("holds_released") or []),
            started_at=opt_text(outcome.get("started_at")),
            finished_at=opt_text(outcome.get("finished_at")),
            run="this" if outcome.get("run_id") == run_id else "earlier",
        )
        if status == "running":
            entry["status"] = "unreachable"
            entry["reason"] = ("no outcome recorded: contact with the host was lost (or the run was interrupted) "
                               "during step %s" % text(outcome.get("step") or "?"))
        elif status in STATUSES:
            entry["status"] = status
        else:
            entry["status"] = "failed"
            entry["reason"] = "unexpected outcome %r" % status
        remaining = outcome.get("remaining")
        if isinstance(remaining, list):
            entry["remaining"] = to_jsonable(remaining)
        if not targeted and entry["status"] not in DONE:
            entry["reason"] = "%s (outcome of an earlier run; not targeted by this run: still to do)" % (
                entry["reason"] or entry["status"])
    if isinstance(facts, Mapping) and entry["run"] is not None:
        entry["after"] = {"status": opt_text(facts.get("status")), "scanned_at": opt_text(facts.get("scanned_at")),
                          "products": [_label(f) for f in facts.get("findings") or [] if isinstance(f, Mapping)]}
    return entry


def _product_counts(entries):
    """Per product of the plan: on how many hosts it was removed (by this plan), already gone,
    or is still there. A host that ended vendor-free has none of its planned products left,
    whether a removal or the cleanup took them; on other hosts only what this plan removed is
    gone."""
    products = {}
    for entry in entries:
        removed = {(text(get(r, "vendor")), text(get(r, "product"))) for r in entry["removed"] if isinstance(r, Mapping)}
        vendor_free = entry["status"] in VENDOR_FREE
        for item in entry["expected"]:
            key = (text(get(item, "vendor")), text(get(item, "product")))
            prod = products.setdefault(key, {"vendor": key[0], "product": key[1], "hosts": 0, "removed": 0,
                                             "already_clean": 0, "remaining": 0})
            prod["hosts"] += 1
            if entry["status"] == "already_clean" or (vendor_free and not removed and entry["status"] != "removed"):
                prod["already_clean"] += 1
            elif vendor_free or key in removed or (entry["status"] == "would_remove"):
                prod["removed"] += 1
            else:
                prod["remaining"] += 1
    return [products[k] for k in sorted(products, key=lambda k: (natural_key(k[0]), natural_key(k[1])))]


@gc_paused
def build_execute_report(hosts, generated_at, gate, check_mode=False, title=None):
    """The execute report document.

    ``hosts``: ``{name: {"divest_outcome": ..., "divest": ...}}`` for the hosts of the run (the
    gate's ``order``), the plan's hosts the run did not target (``not_targeted``) and the
    targeted hosts not in the plan. ``gate``: the ``plan_gate`` result (``digest``, ``run_id``,
    ``order``, ``waves``, ``parts``, ``not_targeted``, ``not_targeted_parts``, ``not_in_plan``).
    """
    gate = gate if isinstance(gate, Mapping) else {}
    parts = gate.get("parts") or {}
    waves = [w for w in gate.get("waves") or [] if isinstance(w, Mapping)]
    wave_index = {w.get("name"): i for i, w in enumerate(waves)}
    entries = []
    for name in gate.get("order") or []:
        data = hosts.get(name) or {}
        entries.append(_entry(name, parts.get(name), data.get("divest_outcome"), data.get("divest"), gate))
    # Why the hosts of later waves did not start: the last wave of this run that started.
    started = [wave_index.get(e["wave"], -1) for e in entries if e["run"] == "this"]
    last = max(started) if started else -1
    stopped_after = None
    for entry in entries:
        if entry["status"] == "not_started" or (entry["run"] == "earlier"):
            index = wave_index.get(entry["wave"], -1)
            if last >= 0 and index > last:
                stopped_after = waves[last]["name"]
                why = "the run stopped after wave %s (too many failures there)" % stopped_after
            elif last < 0:
                why = "no wave of this run started"
            else:
                why = "not reached in this run"
            if entry["status"] == "not_started":
                entry["reason"] = why
            else:
                entry["reason"] = "%s (outcome of an earlier run; %s)" % (entry["reason"] or entry["status"], why)
    others = gate.get("not_targeted_parts") or {}
    for name in gate.get("not_targeted") or []:
        data = hosts.get(name) or {}
        entries.append(_entry(name, others.get(name), data.get("divest_outcome"), data.get("divest"), gate,
                              targeted=False))

    by_status = dict.fromkeys(STATUSES, 0)
    for entry in entries:
        by_status[entry["status"]] = by_status.get(entry["status"], 0) + 1
    names = [w.get("name") for w in waves]
    names += sorted({e["wave"] for e in entries if e["wave"] not in names and e["wave"] is not None}, key=natural_key)
    by_wave = []
    for wave in names:
        members = [e for e in entries if e["wave"] == wave]
        counts = dict.fromkeys(STATUSES, 0)
        for entry in members:
            counts[entry["status"]] += 1
        kind = next((w.get("kind") for w in waves if w.get("name") == wave), None)
        by_wave.append({"name": text(wave), "kind": opt_text(kind), "hosts": len(members), "by_status": counts})
    not_in_plan = [{"host": text(get(i, "host")), "reason": opt_text(get(i, "reason"))}
                   for i in gate.get("not_in_plan") or [] if isinstance(i, Mapping)]
    done = sum(by_status[s] for s in DONE)
    vendor_free = sum(by_status[s] for s in VENDOR_FREE)
    return {
        "schema": SCHEMA,
        "report": "execute-check" if check_mode else "execute",
        "title": title or ("Execute report (check mode)" if check_mode else "Execute report"),
        "generated_at": text(generated_at),
        "check_mode": bool(check_mode),
        "plan": {"digest": opt_text(gate.get("digest")), "source": opt_text(gate.get("source")),
                 "generated_at": opt_text(gate.get("generated_at")), "path": opt_text(gate.get("path")),
                 "directive": to_jsonable(gate.get("directive")), "run_id": opt_text(gate.get("run_id"))},
        "summary": {
            "hosts": len(entries),
            "by_status": by_status,
            "vendor_free": vendor_free,
            "done": done,
            "unprotected": by_status["unprotected"],
            "still_affected": len(entries) - vendor_free - by_status.get("would_remove", 0),
            "not_in_plan": len(not_in_plan),
            "not_targeted": len(gate.get("not_targeted") or []),
            "stopped_after": stopped_after,
            "by_wave": by_wave,
            "by_product": _product_counts(entries),
        },
        "hosts": entries,
        "not_in_plan": not_in_plan,
    }


def compact_summary(document):
    """A few hundred bytes for ``set_stats``."""
    summary = document["summary"]
    return {
        "report": document["report"],
        "generated_at": document["generated_at"],
        "digest": document["plan"]["digest"],
        "run_id": document["plan"]["run_id"],
        "check_mode": document["check_mode"],
        "hosts": summary["hosts"],
        "status": dict(summary["by_status"]),
        "vendor_free": summary["vendor_free"],
        "unprotected": summary["unprotected"],
        "still_affected": summary["still_affected"],
        "not_in_plan": summary["not_in_plan"],
        "stopped_after": summary["stopped_after"],
    }


# ---------------------------------------------------------------------------------- CSV


def _list_text(items):
    return "; ".join(_label(i) for i in items or [])


def _removed_by_runs(entry):
    """``kesl@run1 2026-12-30T10:01:10Z; klnagent@run2 ...``: what this plan removed, when, by which run."""
    return "; ".join("%s@%s %s" % (text(get(r, "product")), text(get(r, "run_id")), text(get(r, "at") or ""))
                     for r in entry["removed"] if isinstance(r, Mapping)).strip()


def _csv_rows(document):
    for entry in document["hosts"]:
        repl = entry.get("replacement") if isinstance(entry.get("replacement"), Mapping) else {}
        yield [entry["name"], entry["wave"], entry["status"], entry["reason"], _list_text(entry["expected"]),
               _list_text(entry["removed"]), _list_text(entry["remaining"]), repl.get("product"),
               "" if repl.get("healthy") is None else ("yes" if repl.get("healthy") else "no"), repl.get("version"),
               entry["started_at"], entry["finished_at"], entry["run"], document["plan"]["digest"],
               entry["protection"] or "", _removed_by_runs(entry), len(entry["history"]),
               "; ".join("%s (%s)" % (text(get(h, "package")), text(get(h, "kind"))) for h in entry["holds_released"])]
    for item in document["not_in_plan"]:
        yield [item["host"], "", "not_in_plan", item["reason"], "", "", "", "", "", "", "", "", "",
               document["plan"]["digest"], "", "", "", ""]


def render_csv(document):
    """One row per host of the run (and per targeted host not in the plan)."""
    return csv_bytes(CSV_COLUMNS, _csv_rows(document))


# --------------------------------------------------------------------------------- HTML


def render_json(document):
    """The document as UTF-8 JSON bytes (``_text.json_bytes``, as the identify report's)."""
    return json_bytes(document)


# --------------------------------------------------------------------------------- HTML

def _badge(status):
    return status_badge(status, STATUS_TEXT)


def _products(labels, empty="\u2014"):
    """A list of product labels (:func:`_label`), or ``empty`` in a muted span."""
    if not labels:
        return el("span", "muted", empty)
    return el("ul", "plain", [el("li", None, clean_text(label, 160)) for label in labels])


def _replacement_key(entry):
    """What the "Replacement" cell shows, as a key of shared cells (``None``: not shared)."""
    repl = entry.get("replacement")
    if not isinstance(repl, Mapping):
        return ("replacement", None)
    return ("replacement",) + tuple((v.__class__, v) for v in (
        repl.get("product"), repl.get("version"), repl.get("waived"), repl.get("healthy"), repl.get("checked"),
        entry["status"] in _GUARDED, entry.get("protection")))


_GUARDED = ("failed", "unprotected", "drifted", "unreachable")


def _replacement_cell(entry):
    repl = entry.get("replacement")
    guard = entry.get("protection")
    if not isinstance(repl, Mapping) or not repl.get("product"):
        return el("span", "muted", "\u2014")
    if repl.get("waived"):
        state = "waived in the plan"
    elif repl.get("healthy"):
        state = "healthy"
    elif not repl.get("checked"):
        state = "not checked"
    else:
        state = "NOT healthy"
    parts = [el("strong", None, repl.get("product")), " %s" % clean_text(repl.get("version") or "", 40),
             el("div", "muted" if state == "healthy" else "alert", state)]
    if entry["status"] in _GUARDED and guard in PROTECTION_TEXT:
        parts.append(el("div", "alert" if guard == "none" else "muted", "protected by: %s" % PROTECTION_TEXT[guard]))
    return el("", None, parts)


def _banner(document):
    """What the summary banner says: counts and the tone."""
    s = document["summary"]
    counts = s["by_status"]
    if document["check_mode"]:
        tone = "unprotected" if counts["unprotected"] else "neutral"
    elif counts["unprotected"]:
        tone = "unprotected"
    elif s["done"] == s["hosts"]:
        tone = "clean"
    else:
        tone = "failed" if counts["failed"] + counts["unreachable"] else "residual"
    return {"tone": tone, "left": s["hosts"] - counts["would_remove"] - counts["already_clean"] - counts["unprotected"]}


def _history(entry):
    """What this plan did on the host, run by run."""
    items = []
    for run in entry["history"]:
        if not isinstance(run, Mapping):
            continue
        removed = ", ".join(clean_text(p, 60) for p in run.get("removed") or []) or "nothing removed"
        when = fmt_time(run.get("finished_at") or run.get("started_at"))
        items.append(el("li", None, "run %s, %s: %s (%s)" % (
            clean_text(run.get("run_id"), 20), when, clean_text(run.get("status"), 20), removed)))
    return el("ul", "plain", items) if items else None


def _more(entry):
    """The "more" details of a host's reason: runs, removals, holds, blockers, what is left."""
    more = []
    history = _history(entry)
    if history is not None:
        more.append(el("p", None, "Runs of this plan on the host:"))
        more.append(history)
    if entry["removed"]:
        more.append(el("p", None, "Removed by this plan: ", shown(_removed_by_runs(entry), 600)))
    if entry["holds_released"]:
        more.append(el("p", None, "Holds released: ", shown("; ".join(
            "%s (%s)" % (text(get(h, "package")), text(get(h, "kind"))) for h in entry["holds_released"]), 600)))
    if entry["blockers"]:
        more.append(el("ul", None, [el("li", None, shown(b.get("message") if isinstance(b, Mapping) else b, 600))
                                    for b in entry["blockers"]]))
    if entry["remaining"]:
        more.append(el("p", None, "Still there: ", shown(_list_text(entry["remaining"]), 600)))
    if isinstance(entry.get("after"), Mapping) and entry["after"].get("status"):
        more.append(el("p", "muted", "Last scan: %s%s" % (clean_text(entry["after"]["status"]),
                                                          (", " + ", ".join(clean_text(p, 80) for p in entry["after"]["products"]))
                                                          if entry["after"]["products"] else "")))
    if entry["run"] == "earlier":
        more.append(el("p", "muted", "Outcome of an earlier run of this plan."))
    return more


def _hosts_table(document):
    """The "Hosts" table: most urgent first, then by name."""
    s = document["summary"]
    table = DataTable(
        "hosts-table",
        [Column("Host", cls="nowrap", header=True), Column("Wave", cls="nowrap", key=0),
         Column("Before: the plan expected"), Column("Outcome", key=1), Column("After: removed"),
         Column("Replacement"), Column("Reason"), Column("Finished", cells="nowrap", key=2)],
        "Filter hosts (name, wave, outcome, product\u2026)", empty="No host of the plan in this run.",
        files="divest-%s.csv and divest-%s.json" % (document["report"], document["report"]))
    rank = {status: i for i, status in enumerate(STATUSES)}
    waves = {}
    for index, wave in enumerate(s["by_wave"]):
        waves.setdefault(wave["name"], index)

    def row(entry):
        """The row's cells and sort keys (the name and the finishing time are the row's own: add_like)."""
        more = _more(entry)
        reason = el("", None, shown(entry["reason"] or "", 600),
                    el("details", None, el("summary", None, "more"), el("div", "details-body", more)) if more else None)
        expected = [_label(i) for i in entry["expected"]]
        removed = [_label(i) for i in entry["removed"]]
        empty = "nothing removed" if entry["status"] in UNTOUCHED else "\u2014"
        return ([None, table.share(("wave", entry["wave"]), el, "code", None, entry["wave"] or "?"),
                 table.share(("products", "\u2014") + tuple(expected), _products, expected),
                 table.share(("badge", entry["status"]), _badge, entry["status"]),
                 table.share(("products", empty) + tuple(removed), _products, removed, empty),
                 table.share(_replacement_key(entry), _replacement_cell, entry), reason, None],
                ["%03d" % waves.get(entry["wave"], 999), "%02d %s" % (rank.get(entry["status"], 99), entry["status"]),
                 None])

    times = {}
    for entry in sorted(document["hosts"], key=lambda e: (rank.get(e["status"], 99), natural_key(e["name"]))):
        finished = entry["finished_at"]
        when = times.get(finished) if finished else ""
        if when is None:
            when = times[finished] = fmt_time(finished)
        table.add_like(alike(entry, ("name", "finished_at")), {0: entry["name"], 7: when, 10: finished or ""},
                       row, entry)
    return table


def _not_in_plan_table(document):
    table = DataTable("not-in-plan-table", [Column("Host", header=True), Column("Why")], "Filter hosts\u2026",
                      files="divest-%s.csv and divest-%s.json" % (document["report"], document["report"]))
    for item in document["not_in_plan"]:
        table.add([item["host"], item["reason"] or ""])
    return table


@gc_paused
def render_html(document):
    """The execute report as one self-contained HTML page (UTF-8 bytes): ``execute.html.j2``."""
    s = document["summary"]
    plan = document["plan"]
    generated = fmt_time(document["generated_at"])
    check = document["check_mode"]
    status_cards = [("Planned hosts", s["hosts"], None, "of the plan")]
    for status, (label, hint) in STATUS_TEXT.items():
        if status == "would_remove" and not check:
            continue
        status_cards.append((label, s["by_status"][status], TONES[status], hint))
    status_cards.append(("Not in the plan", s["not_in_plan"], None, "targeted but not planned: untouched"))
    directive = plan.get("directive") if isinstance(plan.get("directive"), Mapping) else {}
    dates = [(label, directive[key]) for key, label in (
        ("start", "Directive day 0"), ("identify_by", "Identify by (day 30)"), ("plan_by", "Plan by (day 60)"),
        ("remove_from", "Begin removal (day 90)")) if directive.get(key)]
    tables = [_hosts_table(document)]
    if document["not_in_plan"]:
        tables.append(_not_in_plan_table(document))
    return render_page(
        "execute.html.j2",
        title="%s \u2014 %s" % (document["title"], generated),
        meta={"generator": "fleetsec.divest execute", "divest-report": document["report"],
              "divest-generated-at": document["generated_at"], "divest-plan-digest": plan["digest"] or ""},
        tables=tables,
        document=document, s=s, plan=plan, generated=generated, check=check, banner=_banner(document),
        cards=status_cards, dates=dates, done_key="would_remove" if check else "removed",
        done_label="Would remove" if check else "Removed", hosts=tables[0],
        not_in_plan=tables[1] if len(tables) > 1 else None,
        legend=[(_badge(status), hint) for status, (label, hint) in STATUS_TEXT.items()], schema=SCHEMA)


RENDERERS = {"json": render_json, "csv": render_csv, "html": render_html}
