# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The execute report (BOD 17-01 day 90 on): what the plan expected on each host, and what
happened, as JSON, CSV and one self-contained HTML page built with the ``_report`` toolkit.

:func:`build_execute_report` takes, for every host of the run, the host's ``divest_outcome``
and ``divest`` facts, plus the gate's result (the approved plan's parts, waves and run id), and
returns the document; :data:`RENDERERS` turn it into bytes. Pure functions, controller side,
standard library only. The document is described in docs/execute.md.
"""

from __future__ import annotations

from collections.abc import Mapping

from ansible_collections.fleetsec.divest.plugins.plugin_utils._report import (
    BASE_CSS,
    Cell,
    Column,
    _fmt_time,
    _plural,
    badge,
    cards,
    clean_text,
    csv_bytes,
    definition_list,
    details,
    esc,
    natural_key,
    page,
    render_json,
    section,
    sortable_table,
    table,
    tag,
    text,
    to_jsonable,
)

__all__ = ["build_execute_report", "compact_summary", "render_csv", "render_html", "RENDERERS", "STATUS_TEXT",
           "CSV_COLUMNS", "STATUSES"]

SCHEMA = 1
#: Statuses of a host in the execute report, in the order of the summary cards: the outcome
#: statuses (plugin_utils/_outcome.py) and two of the report's own, for hosts without an outcome
#: of this run.
STATUSES = ("unprotected", "removed", "already_clean", "would_remove", "blocked", "drifted", "failed", "unreachable",
            "not_started", "not_targeted")
#: Statuses where the host no longer carries the vendor's software (the directive's goal).
#: ``unprotected`` hosts are vendor-free too, but never counted as done: see the banner.
VENDOR_FREE = ("removed", "already_clean", "unprotected")
DONE = ("removed", "already_clean")
#: Statuses whose hosts may have had nothing removed in any run.
UNTOUCHED = ("failed", "blocked", "drifted", "unreachable", "not_started", "not_targeted")
STATUS_TEXT = {
    "unprotected": ("Unprotected", "The vendor's protection is gone and the replacement antivirus does not work: the "
                                   "host has NO working antivirus. Fix the replacement first."),
    "removed": ("Removed", "Replacement healthy, the vendor's products removed by this plan and the host verified."),
    "already_clean": ("Already clean", "Nothing of the vendor found when execute re-identified the host; the "
                                       "replacement, the reinstall block and the verification were still done."),
    "would_remove": ("Would remove", "Check mode: execute would install the replacement and remove the products."),
    "blocked": ("Blocked", "The plan has a blocker for the host: left alone until it is resolved and re-planned."),
    "drifted": ("Drifted", "The host's products changed since the plan: left alone; plan again."),
    "failed": ("Failed", "A step failed; the reason says which. The host is still protected (by the replacement, or "
                         "by the vendor's product when the replacement failed and nothing was removed)."),
    "unreachable": ("Unreachable", "The host could not be contacted; its state is unchanged or unknown."),
    "not_started": ("Not started", "Its wave did not run (an earlier wave failed too often, or the run stopped)."),
    "not_targeted": ("Not in this run", "A host of the plan this run did not target (--limit, divest_hosts): still to do."),
}
TONES = {"removed": "clean", "already_clean": "clean", "would_remove": "neutral", "blocked": "residual",
         "drifted": "unknown", "failed": "failed", "unreachable": "unreachable", "not_started": "not_scanned",
         "not_in_plan": "not_scanned", "not_targeted": "not_scanned", "unprotected": "unprotected"}
PROTECTION_TEXT = {"replacement": "the replacement", "vendor": "the vendor's product (still installed)",
                   "waived": "nothing (replacement waived in the plan)", "none": "NOTHING", None: "not known"}
CSV_COLUMNS = ("host", "wave", "status", "reason", "expected", "removed", "remaining", "replacement",
               "replacement_healthy", "replacement_version", "started_at", "finished_at", "run", "digest",
               "protection", "removed_by_runs", "runs", "holds_released")


def _get(mapping, key, default=None):
    if isinstance(mapping, Mapping):
        try:
            return mapping.get(key, default)
        except Exception:  # pylint: disable=broad-except
            return default
    return default


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
        "wave": _get(part, "wave"),
        "expected": to_jsonable(_get(part, "expect") or []),
        "blockers": to_jsonable(_get(part, "blockers") or []),
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
            reason=_opt(outcome.get("reason")),
            removed=to_jsonable(outcome.get("removed") or []),
            replacement=to_jsonable(outcome.get("replacement")),
            protection=_opt(outcome.get("protection")),
            history=to_jsonable(outcome.get("history") or []),
            holds_released=to_jsonable(outcome.get("holds_released") or []),
            started_at=_opt(outcome.get("started_at")),
            finished_at=_opt(outcome.get("finished_at")),
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
        entry["after"] = {"status": _opt(facts.get("status")), "scanned_at": _opt(facts.get("scanned_at")),
                          "products": [_label(f) for f in facts.get("findings") or [] if isinstance(f, Mapping)]}
    return entry


def _opt(value):
    return None if value is None else text(value)


def _product_counts(entries):
    """Per product of the plan: on how many hosts it was removed (by this plan), already gone,
    or is still there. A host that ended vendor-free has none of its planned products left,
    whether a removal or the cleanup took them; on other hosts only what this plan removed is
    gone."""
    products = {}
    for entry in entries:
        removed = {(text(_get(r, "vendor")), text(_get(r, "product"))) for r in entry["removed"] if isinstance(r, Mapping)}
        vendor_free = entry["status"] in VENDOR_FREE
        for item in entry["expected"]:
            key = (text(_get(item, "vendor")), text(_get(item, "product")))
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
        by_wave.append({"name": text(wave), "kind": _opt(kind), "hosts": len(members), "by_status": counts})
    not_in_plan = [{"host": text(_get(i, "host")), "reason": _opt(_get(i, "reason"))}
                   for i in gate.get("not_in_plan") or [] if isinstance(i, Mapping)]
    done = sum(by_status[s] for s in DONE)
    vendor_free = sum(by_status[s] for s in VENDOR_FREE)
    return {
        "schema": SCHEMA,
        "report": "execute-check" if check_mode else "execute",
        "title": title or ("Execute report (check mode)" if check_mode else "Execute report"),
        "generated_at": text(generated_at),
        "check_mode": bool(check_mode),
        "plan": {"digest": _opt(gate.get("digest")), "source": _opt(gate.get("source")),
                 "generated_at": _opt(gate.get("generated_at")), "path": _opt(gate.get("path")),
                 "directive": to_jsonable(gate.get("directive")), "run_id": _opt(gate.get("run_id"))},
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
    return "; ".join("%s@%s %s" % (text(_get(r, "product")), text(_get(r, "run_id")), text(_get(r, "at") or ""))
                     for r in entry["removed"] if isinstance(r, Mapping)).strip()


def _csv_rows(document):
    for entry in document["hosts"]:
        repl = entry.get("replacement") if isinstance(entry.get("replacement"), Mapping) else {}
        yield [entry["name"], entry["wave"], entry["status"], entry["reason"], _list_text(entry["expected"]),
               _list_text(entry["removed"]), _list_text(entry["remaining"]), repl.get("product"),
               "" if repl.get("healthy") is None else ("yes" if repl.get("healthy") else "no"), repl.get("version"),
               entry["started_at"], entry["finished_at"], entry["run"], document["plan"]["digest"],
               entry["protection"] or "", _removed_by_runs(entry), len(entry["history"]),
               "; ".join("%s (%s)" % (text(_get(h, "package")), text(_get(h, "kind"))) for h in entry["holds_released"])]
    for item in document["not_in_plan"]:
        yield [item["host"], "", "not_in_plan", item["reason"], "", "", "", "", "", "", "", "", "",
               document["plan"]["digest"], "", "", "", ""]


def render_csv(document):
    """One row per host of the run (and per targeted host not in the plan)."""
    return csv_bytes(CSV_COLUMNS, _csv_rows(document))


# --------------------------------------------------------------------------------- HTML

EXECUTE_CSS = """
.tone-removed,.tone-already_clean{--tone:var(--clean);--tone-bg:var(--clean-bg)}
.tone-would_remove{--tone:var(--neutral);--tone-bg:var(--neutral-bg)}
.tone-blocked{--tone:var(--residual);--tone-bg:var(--residual-bg)}
.tone-drifted{--tone:var(--unknown);--tone-bg:var(--unknown-bg)}
.tone-not_started,.tone-not_in_plan,.tone-not_targeted{--tone:var(--not_scanned);--tone-bg:var(--not_scanned-bg)}
.alert{color:var(--unprotected,#912018);font-weight:600}
.digest{font:12px/1.4 ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;overflow-wrap:anywhere}
.arrow{color:var(--muted);padding:0 4px}
"""


def _badge(status):
    return badge(STATUS_TEXT.get(status, (status.replace("_", " "),))[0], status)


def _products(items, empty="\u2014"):
    labels = [_label(i) for i in items or []]
    if not labels:
        return tag("span", empty, class_="muted")
    return tag("ul", [tag("li", clean_text(label, 160)) for label in labels], class_="plain")


def _replacement_cell(entry):
    repl = entry.get("replacement")
    guard = entry.get("protection")
    if not isinstance(repl, Mapping) or not repl.get("product"):
        return tag("span", "\u2014", class_="muted")
    if repl.get("waived"):
        state = "waived in the plan"
    elif repl.get("healthy"):
        state = "healthy"
    elif not repl.get("checked"):
        state = "not checked"
    else:
        state = "NOT healthy"
    parts = [tag("strong", repl.get("product")), " %s" % clean_text(repl.get("version") or "", 40),
             tag("div", state, class_="muted" if state == "healthy" else "alert")]
    if entry["status"] in ("failed", "unprotected", "drifted", "unreachable") and guard in PROTECTION_TEXT:
        parts.append(tag("div", "protected by: %s" % PROTECTION_TEXT[guard],
                         class_="alert" if guard == "none" else "muted"))
    return parts


def _banner(document):
    s = document["summary"]
    counts = s["by_status"]
    if document["check_mode"]:
        parts = [tag("strong", "Check mode: nothing was changed."),
                 " %s would be cleaned; %s already clean; %s would be left alone or fail."
                 % (_plural(counts["would_remove"], "host"), counts["already_clean"],
                    s["hosts"] - counts["would_remove"] - counts["already_clean"] - counts["unprotected"])]
        if counts["unprotected"]:
            parts.append(" %s would be left with NO working antivirus." % _plural(counts["unprotected"], "host"))
        return tag("p", parts, class_="banner tone-%s" % ("unprotected" if counts["unprotected"] else "neutral"))
    if not s["hosts"]:
        return tag("p", "No host of the plan was in this run.", class_="banner tone-neutral")
    if counts["unprotected"]:
        tone = "unprotected"
    elif s["done"] == s["hosts"]:
        tone = "clean"
    else:
        tone = "failed" if counts["failed"] + counts["unreachable"] else "residual"
    parts = []
    if counts["unprotected"]:
        parts.append(tag("strong", "%s UNPROTECTED: the vendor's protection is gone and the replacement antivirus "
                                   "does not work. " % _plural(counts["unprotected"], "host")))
    parts += [tag("strong", "%d of %s no longer carry the vendor's software" % (s["vendor_free"], _plural(s["hosts"], "planned host"))),
              " (%d removed by this plan, %d already clean%s)." % (
                  counts["removed"], counts["already_clean"],
                  ", %d unprotected" % counts["unprotected"] if counts["unprotected"] else "")]
    if s["still_affected"]:
        parts.append(" %s still to do: %d blocked, %d drifted, %d failed, %d unreachable, %d not started, %d not in this run."
                     % (_plural(s["still_affected"], "host"), counts["blocked"], counts["drifted"], counts["failed"],
                        counts["unreachable"], counts["not_started"], counts["not_targeted"]))
    if s["stopped_after"]:
        parts.append(" The run stopped after wave %s." % clean_text(s["stopped_after"]))
    return tag("p", parts, class_="banner tone-%s" % tone)


def _history(entry):
    """What this plan did on the host, run by run."""
    items = []
    for run in entry["history"]:
        if not isinstance(run, Mapping):
            continue
        removed = ", ".join(clean_text(p, 60) for p in run.get("removed") or []) or "nothing removed"
        items.append(tag("li", "run %s, %s: %s (%s)" % (clean_text(run.get("run_id"), 20),
                                                        _fmt_time(run.get("finished_at") or run.get("started_at")),
                                                        clean_text(run.get("status"), 20), removed)))
    return tag("ul", items, class_="plain") if items else None


def render_html(document):
    s = document["summary"]
    counts = s["by_status"]
    plan = document["plan"]
    generated = _fmt_time(document["generated_at"])
    header = [
        tag("p", "fleetsec.divest \u00b7 BOD 17-01 step 3: execute%s" % (" (check mode)" if document["check_mode"] else ""),
            class_="kicker"),
        tag("h1", document["title"]),
        tag("p", [tag("span", "Generated %s" % generated), tag("span", _plural(s["hosts"], "host")),
                  tag("span", ["Plan ", tag("code", plan["digest"])]), tag("span", "Run %s" % (plan["run_id"] or "?"))],
            class_="meta"),
    ]
    body = []
    status_cards = [("Planned hosts", s["hosts"], None, "of the plan")]
    for status in STATUSES:
        if status == "would_remove" and not document["check_mode"]:
            continue
        label, hint = STATUS_TEXT[status]
        status_cards.append((label, counts[status], TONES[status], hint))
    status_cards.append(("Not in the plan", s["not_in_plan"], None, "targeted but not planned: untouched"))
    body.append(section("Summary", [_banner(document), cards(status_cards)], id_="summary"))

    directive = plan.get("directive") if isinstance(plan.get("directive"), Mapping) else {}
    pairs = [("Plan digest", tag("span", plan["digest"], class_="digest")),
             ("Plan source", "%s%s" % (plan.get("source") or "?", (" (%s)" % plan["path"]) if plan.get("path") else "")),
             ("Plan generated", _fmt_time(plan.get("generated_at")) if plan.get("generated_at") else "\u2014")]
    for key, label in (("start", "Directive day 0"), ("identify_by", "Identify by (day 30)"),
                       ("plan_by", "Plan by (day 60)"), ("remove_from", "Begin removal (day 90)")):
        if directive.get(key):
            pairs.append((label, directive[key]))
    pairs.append(("Toward the directive", "%d of %d planned hosts are free of the vendor's software"
                  % (s["vendor_free"], s["hosts"])))
    body.append(section("Plan and directive", definition_list(pairs), id_="plan"))

    check = document["check_mode"]
    done_key, done_label = ("would_remove", "Would remove") if check else ("removed", "Removed")
    wrows = []
    for index, wave in enumerate(s["by_wave"], 1):
        c = wave["by_status"]
        wrows.append([index, Cell(tag("code", wave["name"]), header=True), wave["hosts"], c["unprotected"], c[done_key],
                      c["already_clean"], c["blocked"], c["drifted"], c["failed"], c["unreachable"], c["not_started"],
                      c["not_targeted"]])
    body.append(section("Waves", table(
        [Column("#", numeric=True), Column("Wave"), Column("Hosts", numeric=True), Column("Unprotected", numeric=True),
         Column(done_label, numeric=True), Column("Already clean", numeric=True), Column("Blocked", numeric=True),
         Column("Drifted", numeric=True), Column("Failed", numeric=True), Column("Unreachable", numeric=True),
         Column("Not started", numeric=True), Column("Not in this run", numeric=True)],
        wrows, empty="No wave in this run."), id_="waves",
        intro="Waves run in order; a wave whose share of failed, unreachable or unprotected hosts is above its "
              "limit stops the later waves."))

    prows = [[Cell([tag("code", p["product"])], header=True), p["vendor"], p["hosts"], p["removed"],
              p["already_clean"], p["remaining"]] for p in s["by_product"]]
    body.append(section("Products", table(
        [Column("Product"), Column("Vendor"), Column("Planned hosts", numeric=True), Column(done_label, numeric=True),
         Column("Already clean", numeric=True), Column("Still there", numeric=True)], prows,
        empty="No product in the plan."), id_="products"))

    rank = {status: i for i, status in enumerate(STATUSES)}
    hrows = []
    for entry in sorted(document["hosts"], key=lambda e: (rank.get(e["status"], 99), natural_key(e["name"]))):
        after = entry["removed"]
        reason = entry["reason"] or ""
        more = []
        history = _history(entry)
        if history is not None:
            more.append(tag("p", "Runs of this plan on the host:"))
            more.append(history)
        if entry["removed"]:
            more.append(tag("p", ["Removed by this plan: ", esc(_removed_by_runs(entry), 600)]))
        if entry["holds_released"]:
            more.append(tag("p", ["Holds released: ", esc("; ".join(
                "%s (%s)" % (text(_get(h, "package")), text(_get(h, "kind"))) for h in entry["holds_released"]), 600)]))
        if entry["blockers"]:
            more.append(tag("ul", [tag("li", esc(b.get("message") if isinstance(b, Mapping) else b, 600))
                                   for b in entry["blockers"]]))
        if entry["remaining"]:
            more.append(tag("p", ["Still there: ", esc(_list_text(entry["remaining"]), 600)]))
        if isinstance(entry.get("after"), Mapping) and entry["after"].get("status"):
            more.append(tag("p", "Last scan: %s%s" % (clean_text(entry["after"]["status"]),
                                                      (", " + ", ".join(clean_text(p, 80) for p in entry["after"]["products"]))
                                                      if entry["after"]["products"] else ""), class_="muted"))
        if entry["run"] == "earlier":
            more.append(tag("p", "Outcome of an earlier run of this plan.", class_="muted"))
        hrows.append([
            Cell(entry["name"], header=True),
            Cell(tag("code", entry["wave"] or "?"), sort="%03d" % next((i for i, w in enumerate(s["by_wave"]) if w["name"] == entry["wave"]), 999)),
            _products(entry["expected"]),
            Cell(_badge(entry["status"]), sort="%02d %s" % (rank.get(entry["status"], 99), entry["status"])),
            _products(after, empty="nothing removed" if entry["status"] in UNTOUCHED else "\u2014"),
            _replacement_cell(entry),
            [esc(reason, 600)] + ([details("more", more)] if more else []),
            Cell(_fmt_time(entry["finished_at"]) if entry["finished_at"] else "", sort=entry["finished_at"] or "", cls="nowrap"),
        ])
    body.append(section("Hosts", sortable_table(
        [Column("Host", cls="nowrap"), Column("Wave", cls="nowrap"), Column("Before: the plan expected"),
         Column("Outcome"), Column("After: removed"), Column("Replacement"), Column("Reason"), Column("Finished")],
        hrows, filter_placeholder="Filter hosts (name, wave, outcome, product\u2026)", id_="hosts-table",
        empty="No host of the plan in this run."), id_="hosts",
        intro="Before: the products the approved plan expected on the host. After: what this plan removed, in "
              "any of its runs (the details list each run). Failed hosts say which step failed and what protects "
              "them; unprotected hosts have the vendor's protection gone and no working replacement."))

    if document["not_in_plan"]:
        nrows = [[Cell(i["host"], header=True), i["reason"] or ""] for i in document["not_in_plan"]]
        body.append(section("Not in the plan", sortable_table([Column("Host"), Column("Why")], nrows,
                                                              filter_placeholder="Filter hosts\u2026"),
                            id_="not-in-plan", intro="Targeted by this run but not part of the approved plan: "
                                                     "execute did not touch them."))

    body.append(section("How to read this report", definition_list(
        [(_badge(st), STATUS_TEXT[st][1]) for st in STATUSES]), id_="legend"))
    footer = tag("p", ["Generated by fleetsec.divest (execute report schema %s) at %s for plan " % (SCHEMA, generated),
                       tag("span", plan["digest"] or "?", class_="digest"),
                       ". Machine-readable copies: the JSON and CSV files of the same name."])
    meta = {"generator": "fleetsec.divest execute", "divest-report": document["report"],
            "divest-generated-at": document["generated_at"], "divest-plan-digest": plan["digest"] or ""}
    return page("%s \u2014 %s" % (document["title"], generated), body, header=header, footer=footer, meta=meta,
                css=BASE_CSS + EXECUTE_CSS).encode("utf-8")


RENDERERS = {"json": render_json, "csv": render_csv, "html": render_html}
