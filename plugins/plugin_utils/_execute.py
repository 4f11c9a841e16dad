# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Execute (BOD 17-01 day 90): the gate, drift, verification and outcomes, as pure functions.

Controller side, standard library only, no Ansible imports (the ``plan_gate`` action, the
``drift`` / ``verify`` filters, the execute report and the tests share them).

* :func:`load_plan_file`, :func:`check_plan`: read an approved plan and refuse it, with one
  clear message, when the approved digest is missing, does not match, or the plan was edited
  after it was made (:class:`GateError`).
* :func:`parts_from_plan`, :func:`parts_from_facts`: every planned host's part (its actions,
  expectation and blockers), from the plan file or from the hosts' ``divest_plan`` facts (AWX).
* :func:`gate`: the hosts to act on in wave order, the wave sizes for ``serial``, the hosts
  left out and why, and the parts, with identical action lists stored once.
* :func:`drift`: compare a host's fresh findings with the plan's ``expect``.
* :func:`verify`: after the removal, is the host clean (of the plan's products)?
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping

from ansible_collections.fleetsec.divest.plugins.plugin_utils import _planner
from ansible_collections.fleetsec.divest.plugins.plugin_utils._text import natural_key
from ansible_collections.fleetsec.divest.plugins.plugin_utils._text import text as _text
from ansible_collections.fleetsec.divest.plugins.plugin_utils._vocabulary import FAILURES, SETTLED

__all__ = [
    "GateError", "DIGEST", "load_plan_file", "check_digest", "check_plan", "reasons_from_plan", "parts_from_plan", "parts_from_facts",
    "wave_order", "gate", "drift", "verify", "findings_of", "summarize_part", "earlier_waves", "wave_limit",
    "outcome_status", "SETTLED", "FAILURES",
]

DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_WAVE_RANK = {"canary": 0, "management": 3}


class GateError(ValueError):
    """The plan cannot be executed; the message says why and what to do."""


# ------------------------------------------------------------------------------------- plan


def load_plan_file(path):
    """The plan document in ``path`` (``.json``; ``.yml``/``.yaml`` through PyYAML)."""
    if not path:
        raise GateError("no plan file given (divest_plan_file)")
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise GateError("cannot read the plan %s: %s. Make the plan first (fleetsec.divest.plan), or point "
                        "divest_plan_file at the approved divest-plan.json, or use divest_plan_source=facts under AWX."
                        % (path, exc.strerror or exc))
    try:
        if path.endswith((".yml", ".yaml")):
            import yaml  # ansible-core depends on PyYAML
            document = yaml.safe_load(data.decode("utf-8"))
        else:
            document = json.loads(data.decode("utf-8"))
    except Exception as exc:  # pylint: disable=broad-except  # any parse error is the same refusal
        raise GateError("the plan %s is not readable %s: %s" % (
            path, "YAML" if path.endswith((".yml", ".yaml")) else "JSON", exc))
    if not isinstance(document, dict):
        raise GateError("the plan %s is not a plan document (a mapping is expected)" % path)
    return document


def check_digest(approved):
    """The approved digest, or GateError when it is missing or malformed."""
    if approved in (None, "") or (isinstance(approved, str) and not approved.strip()):
        raise GateError("no approved plan digest: run execute with -e divest_plan_digest=sha256:... (the plan "
                        "playbook prints it; it is also in divest-plan.html and divest-plan.md). Execute acts only on a plan "
                        "someone approved by its digest. Nothing was done.")
    approved = _text(approved).strip()
    if not DIGEST.match(approved):
        raise GateError("divest_plan_digest %r is not a plan digest (sha256: and 64 hex digits). Nothing was done."
                        % approved[:100])
    return approved


def check_plan(document, approved, where="the plan"):
    """Refuse a plan that is not the approved one. Returns the plan's digest."""
    approved = check_digest(approved)
    if document.get("kind") != _planner.KIND:
        raise GateError("%s is not a fleetsec.divest plan (kind %r). Nothing was done." % (where, document.get("kind")))
    if document.get("schema") != _planner.SCHEMA:
        raise GateError("%s was made by another version of fleetsec.divest (plan schema %r; this version executes "
                        "schema %d). Nothing was done. Make the plan again and approve its new digest."
                        % (where, document.get("schema"), _planner.SCHEMA))
    recorded = document.get("digest")
    if not _planner.verify(document):
        try:
            actual = _planner.digest(document)
        except (TypeError, ValueError):
            actual = "not computable"
        raise GateError("%s was changed after it was made: its content does not match its own digest "
                        "(recorded %s, content %s). Nothing was done. Make the plan again and approve its new "
                        "digest." % (where, recorded, actual))
    if recorded != approved:
        raise GateError("%s has digest %s, but the approved digest is %s. Nothing was done. Approve this plan's "
                        "digest, or point divest_plan_file at the plan that was approved." % (where, recorded, approved))
    return recorded


def _platform_of(actions):
    for action in actions or ():
        if isinstance(action, Mapping) and action.get("action") == "install_replacement":
            return action.get("platform"), action.get("replacement")
    return None, None


def _part(digest, entry):
    actions = entry.get("actions") or []
    platform, replacement = _platform_of(actions)
    return {"digest": digest, "wave": entry.get("wave"), "status": entry.get("status"),
            "platform": platform, "replacement": replacement, "actions": actions,
            "expect": entry.get("expect") or [], "blockers": entry.get("blockers") or []}


def parts_from_plan(document):
    """``{host: part}`` for every host of the plan document."""
    digest = document["digest"]
    hosts = document.get("hosts") or {}
    return {_text(name): _part(digest, entry) for name, entry in hosts.items() if isinstance(entry, Mapping)}


def parts_from_facts(names, read, approved):
    """``(parts, others)`` from the hosts' ``divest_plan`` facts (``read(name)`` returns it or
    None): the parts of the approved plan, and ``{host: reason}`` for hosts whose part is
    missing or belongs to another plan.

    Every part that says it belongs to the approved plan is checked against the approved
    digest with its proof (``_planner.verify_part``): a part whose content was changed after
    the plan was made, or copied from another host, stops the run (GateError), as a changed
    plan file does."""
    parts, others, refused = {}, {}, []
    for name in names:
        part = read(name)
        if not isinstance(part, Mapping):
            continue
        digest = part.get("digest")
        if digest != approved:
            others[name] = "its stored plan part is from another plan (%s)" % _text(digest)
            continue
        why = _planner.verify_part(name, part, approved)
        if why:
            refused.append("%s (%s)" % (_text(name), why))
            continue
        parts[name] = _part(approved, _planner.part_entry(part))
    if refused:
        raise GateError("the stored plan part of %d host(s) claims the approved digest but does not match it: %s. "
                        "The fact cache was changed after the plan was made. Nothing was done. Make the plan again "
                        "(it rewrites the parts) and approve its new digest."
                        % (len(refused), "; ".join(refused[:5]) + (" ..." if len(refused) > 5 else "")))
    return parts, others


def _wave_key(name, hint):
    if name in hint:
        return (0, hint.index(name), "")
    rank = _WAVE_RANK.get(name, 1 if name != "remaining" else 2)
    return (1, rank, natural_key(name))


def wave_order(parts, hint=()):
    """Wave names of ``parts`` in execution order: ``hint`` (the plan's order, from its
    set_stats summary under AWX) first, else canary, the planner's other waves in natural order
    (wave-1, wave-2 ..., group-*), remaining, management."""
    hint = list(hint or ())
    names = {part["wave"] for part in parts.values() if part.get("wave")}
    return sorted(names, key=lambda n: _wave_key(n, hint))


def _dedupe(parts):
    recipes, index, compact = [], {}, {}
    for name, part in parts.items():
        key = json.dumps(part["actions"], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        digest = hashlib.sha1(key.encode("utf-8")).hexdigest()
        if digest not in index:
            index[digest] = len(recipes)
            recipes.append(part["actions"])
        entry = {k: v for k, v in part.items() if k not in ("actions", "digest")}  # the gate has the digest
        entry["recipe"] = index[digest]
        compact[name] = entry
    return recipes, compact


def gate(parts, candidates, waves=None, reasons=None, source="file"):
    """Which hosts execute acts on, in which order and batches.

    ``parts``: ``{host: part}`` of the approved plan. ``candidates``: the inventory hosts the
    run targets (``divest_hosts`` and ``--limit`` applied), in inventory order. ``waves``: the
    plan's ``[{name, kind, hosts}]`` in order (``None``: derived from the parts). ``reasons``:
    ``{host: why it is not in the plan}`` for candidates left out.
    """
    reasons = dict(reasons or {})
    targeted = set(candidates)
    if waves is None:
        by_wave = {}
        for name in sorted(parts, key=natural_key):
            by_wave.setdefault(parts[name].get("wave"), []).append(name)
        waves = [{"name": w, "kind": w if w in ("canary", "management") else "wave", "hosts": by_wave[w]}
                 for w in wave_order(parts)]
    order, serial, run_waves = [], [], []
    for wave in waves:
        members = [h for h in wave.get("hosts") or [] if h in targeted and h in parts]
        if not members:
            continue
        order.extend(members)
        serial.append(len(members))
        run_waves.append({"name": wave["name"], "kind": wave.get("kind"), "hosts": members,
                          "size": len(members)})
    planned = set(order)
    not_in_plan = [{"host": h, "reason": reasons.get(h) or "not in the plan"} for h in candidates if h not in planned]
    not_targeted = sorted((h for h in parts if h not in targeted), key=natural_key)
    recipes, compact = _dedupe({h: parts[h] for h in order})
    # what the report needs of the plan's hosts this run leaves alone (they stay "still to do")
    others = {h: {"wave": parts[h].get("wave"), "expect": parts[h].get("expect") or [],
                  "blockers": parts[h].get("blockers") or []} for h in not_targeted}
    return {
        "source": source,
        "order": order,
        "serial": serial,
        "waves": run_waves,
        "parts": compact,
        "recipes": recipes,
        "not_in_plan": not_in_plan,
        "not_targeted": not_targeted,
        "not_targeted_parts": others,
        "counts": {"planned": len(parts), "targeted": len(order), "blocked": sum(1 for h in order if parts[h]["blockers"]),
                   "not_in_plan": len(not_in_plan), "not_targeted": len(not_targeted)},
    }


def wave_limit(name, limits):
    """The failure limit (percent of the wave's hosts) of wave ``name`` under ``limits``
    ``{canary, default, waves: {name: percent}}``."""
    limits = limits or {}
    by_name = limits.get("waves") or {}
    if name in by_name:
        return int(by_name[name])
    return int(limits.get("canary", 0) if name == "canary" else limits.get("default", 10))


def outcome_status(outcome, approved):
    """The status of a real run's outcome of the approved plan, or None (no such outcome)."""
    if not isinstance(outcome, Mapping) or outcome.get("digest") != approved or outcome.get("check_mode"):
        return None
    status = outcome.get("status")
    return status if isinstance(status, str) else None


def earlier_waves(waves, targeted, outcomes, approved, limits=None):
    """Problems that make running the targeted hosts now jump the plan's wave order.

    ``waves``: the plan's ``[{name, hosts}]`` in order; ``targeted``: the hosts this run works
    on; ``outcomes``: ``{host: divest_outcome}`` of the plan's other hosts. Every wave before the
    last wave this run targets must be finished, except for the hosts this run targets itself
    (they run first, in order): each of its other hosts has a settled outcome of the approved
    plan (removed, already clean, blocked, drifted) or a failure (failed, unreachable,
    unprotected) within the wave's limit. Returns ``[message]``, empty when the order holds."""
    targeted = set(targeted)
    indexes = [i for i, w in enumerate(waves) if any(h in targeted for h in w.get("hosts") or ())]
    if not indexes:
        return []
    problems = []
    for wave in waves[:max(indexes)]:
        members = list(wave.get("hosts") or ())
        pending, failed = [], []
        for name in members:
            if name in targeted:
                continue
            status = outcome_status(outcomes.get(name), approved)
            if status in FAILURES:
                failed.append("%s (%s)" % (name, status))
            elif status not in SETTLED:
                pending.append("%s (%s)" % (name, "no outcome of this plan" if status is None else status))
        limit = wave_limit(wave.get("name"), limits)
        if pending:
            problems.append("wave %s is not finished: %s" % (wave.get("name"), _few(pending)))
        elif failed and len(failed) * 100 > limit * max(len(members), 1):
            problems.append("wave %s failed above its limit of %d %%: %s" % (wave.get("name"), limit, _few(failed)))
    return problems


def _few(items, count=5):
    return ", ".join(items[:count]) + (" and %d more" % (len(items) - count) if len(items) > count else "")


def reasons_from_plan(document):
    """``{host: why}`` for the plan's clean, not selected and not scanned hosts."""
    out = {}
    for name in document.get("clean") or []:
        out[_text(name)] = "clean when the plan was made"
    for name in document.get("not_selected") or []:
        out[_text(name)] = "not selected by the plan's host selector"
    for item in document.get("not_scanned") or []:
        if isinstance(item, Mapping):
            out[_text(item.get("host"))] = "not scanned when the plan was made: %s" % _text(item.get("reason"))
    return out


# ------------------------------------------------------------------------------------ drift


def findings_of(facts):
    """``[{vendor, product, version, state}]`` of a ``divest`` fact, sorted like ``expect``."""
    out = []
    for item in (facts or {}).get("findings") or []:
        if isinstance(item, Mapping):
            out.append({"vendor": _text(item.get("vendor")), "product": _text(item.get("product")),
                        "version": None if item.get("version") is None else _text(item.get("version")),
                        "state": _text(item.get("state"))})
    return sorted(out, key=lambda e: (e["vendor"], e["product"], _planner._none_last(e["version"]), e["state"]))


def _label(item):
    text = "%s/%s" % (item["vendor"], item["product"])
    if item.get("version"):
        text += " %s" % item["version"]
    if item.get("state") and item["state"] != "installed":
        text += " (%s)" % item["state"]
    return text


def drift(expect, facts, previous=None):
    """Compare the fresh findings ``facts`` (a ``divest`` fact) with the plan's ``expect``.

    Returns ``{state, message, added, gone, changed}``; ``state`` is ``match`` (proceed),
    ``clean`` (nothing of the vendor left), ``incomplete`` (the scan could not read a source
    it needs) or ``drifted``. ``previous``: this host's earlier outcome for the SAME plan; the
    products it removed may be gone or residual without that counting as drift, so a rerun
    finishes an interrupted removal.
    """
    facts = facts if isinstance(facts, Mapping) else {}
    status = facts.get("status")
    current = findings_of(facts)
    if status == "clean" and not current:
        return {"state": "clean", "message": "no vendor software found", "added": [], "gone": [], "changed": []}
    if status == "unknown":
        errors = [e for e in (facts.get("scan") or {}).get("errors") or [] if isinstance(e, Mapping)]
        detail = "; ".join("%s: %s" % (_text(e.get("section")), _text(e.get("message"))) for e in errors[:3])
        return {"state": "incomplete", "message": "the scan could not read a source it needs (%s)" % detail,
                "added": [], "gone": [], "changed": []}
    done = set()
    if isinstance(previous, Mapping):
        for item in previous.get("removed") or []:
            if isinstance(item, Mapping):
                done.add((_text(item.get("vendor")), _text(item.get("product"))))
            elif isinstance(item, str) and "/" in item:
                done.add(tuple(item.split("/", 1)))
    want = {}
    for item in expect or []:
        if isinstance(item, Mapping):
            want[(_text(item.get("vendor")), _text(item.get("product")))] = {
                "vendor": _text(item.get("vendor")), "product": _text(item.get("product")),
                "version": None if item.get("version") is None else _text(item.get("version")),
                "state": _text(item.get("state"))}
    have = {(e["vendor"], e["product"]): e for e in current}
    added, gone, changed = [], [], []
    for key, item in have.items():
        if key not in want:
            added.append(item)
    for key, item in want.items():
        now = have.get(key)
        if now is None:
            if key not in done:
                gone.append(item)
        elif now["version"] != item["version"] and not (key in done and now["version"] is None):
            changed.append({"from": item, "to": now})
        elif now["state"] != item["state"] and not (key in done and now["state"] == "residual"):
            changed.append({"from": item, "to": now})
    if not (added or gone or changed):
        return {"state": "match", "message": "as planned", "added": [], "gone": [], "changed": []}
    parts = []
    if added:
        parts.append("new since the plan: %s" % ", ".join(_label(i) for i in added))
    if gone:
        parts.append("gone since the plan: %s" % ", ".join(_label(i) for i in gone))
    for change in changed:
        parts.append("%s is now %s" % (_label(change["from"]), _label(change["to"])))
    return {"state": "drifted", "message": "; ".join(parts), "added": added, "gone": gone, "changed": changed}


def verify(facts, absent=(), allow_drift=False):
    """After the removal: ``{ok, message, remaining}``. The host must scan clean; with
    ``allow_drift`` only the plan's products (``absent``: ``[{vendor, product}]``) must be gone."""
    facts = facts if isinstance(facts, Mapping) else {}
    status = facts.get("status")
    remaining = []
    planned = {(_text(a.get("vendor")), _text(a.get("product"))) for a in absent or [] if isinstance(a, Mapping)}
    for item in facts.get("findings") or []:
        if not isinstance(item, Mapping):
            continue
        key = (_text(item.get("vendor")), _text(item.get("product")))
        if allow_drift and key not in planned:
            continue
        evidence = [e for e in item.get("evidence") or [] if isinstance(e, Mapping)]
        remaining.append({"vendor": key[0], "product": key[1], "state": _text(item.get("state")),
                          "evidence": ["%s %s" % (_text(e.get("kind")), _text(e.get("name"))) for e in evidence[:4]]})
    if status == "unknown" and not allow_drift:
        return {"ok": False, "message": "the scan after the removal is incomplete: cannot confirm the host is clean",
                "remaining": remaining}
    if remaining:
        return {"ok": False, "message": "still found after the removal: %s" % "; ".join(
            "%s/%s (%s: %s)" % (r["vendor"], r["product"], r["state"], ", ".join(r["evidence"]) or "no evidence")
            for r in remaining), "remaining": remaining}
    return {"ok": True, "message": "clean" if status == "clean" else "the plan's products are gone", "remaining": []}


def summarize_part(part):
    """A one-line text of what the plan says for a host (for messages)."""
    removes = [a for a in part.get("actions") or [] if isinstance(a, Mapping) and a.get("action") == "remove"]
    return ", ".join("%s %s" % (a.get("product"), a.get("version") or "") for a in removes).strip()


def relpath(path, start=None):
    try:
        return os.path.relpath(path, start or os.getcwd())
    except ValueError:
        return path
