# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A host's execute outcome, step by step: what the execute role did, and what it means.

The execute role runs the steps (re-identify, replacement, remove, cleanup, block, verify) and
hands each step's result to the ``fleetsec.divest.execute_outcome`` action, which calls the
function of the same name here. Every decision and every text of the outcome is made here, in
Python, where unit tests reach it; the role only runs the steps.

The state is ``{"outcome": <the divest_outcome fact>, "run": <what this run knows>}``:

* ``outcome`` is what is stored in the fact cache after every step (docs/execute.md,
  "Outcomes"): the status, the reason, the products **this plan** removed (kept across runs,
  never overwritten by a later run), the history of the plan's runs on the host, the
  replacement's last health check and whether the host is protected.
* ``run`` is this run's working state (the mode chosen after re-identifying, the scans, what
  was removed now); it is not stored.

Principles it implements (DESIGN.md): never unprotected (a host without the vendor's
protection and without a working replacement is ``unprotected``, whatever else happened);
every step recorded as it happens (each function returns the new fact); reruns converge (what
an earlier run of the same plan removed, or was removing when it was killed, is progress, not
drift); check mode tells the truth (the same decisions, on predictions).

Controller side, standard library only.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping

from ansible_collections.fleetsec.divest.plugins.plugin_utils import _execute
from ansible_collections.fleetsec.divest.plugins.plugin_utils._text import text, to_jsonable
from ansible_collections.fleetsec.divest.plugins.plugin_utils._vocabulary import FINAL
from ansible_collections.fleetsec.divest.plugins.plugin_utils._vocabulary import OUTCOME_STATUSES as STATUSES

__all__ = ["STATUSES", "FINAL", "MAX_HISTORY", "PLATFORMS", "REPLACEMENTS", "start", "scanned", "replacement",
           "removing", "removed", "rebooted", "changed", "verified", "failed", "finish", "protection", "EVENTS",
           "LINUX_STEPS", "runs", "begin", "guard", "needs_repair", "verdict_failure"]

#: Runs of the same plan kept in ``history`` (the oldest are dropped and counted).
MAX_HISTORY = 10
MAX_TEXT = 1500
STEPS = ("plan", "re-identify", "replacement", "remove", "reboot", "cleanup", "block_reinstall", "verify", "done")
#: The step after a step, by platform (Windows restarts after the removal and has no reinstall block).
NEXT = {"remove": "cleanup", "cleanup": "block_reinstall", "block_reinstall": "verify"}
WINDOWS_NEXT = {"remove": "reboot", "reboot": "cleanup", "cleanup": "verify"}
#: Platforms execute has steps for (roles/execute/tasks/<platform>.yml).
PLATFORMS = ("linux", "windows")
#: Replacement antivirus products whose health execute checks (clamav on Linux, defender on Windows).
REPLACEMENTS = ("clamav", "defender")
REPLACEMENT_KEYS = ("product", "healthy", "checked", "reason", "version", "signatures", "waived",
                    # Microsoft Defender (roles/defender): the stage it was judged for, its running mode
                    "stage", "running_mode", "tamper_protected", "passive_mode_forced")
NAMES = {"clamav": "ClamAV", "defender": "Microsoft Defender"}


def _clip(value, limit=MAX_TEXT):
    value = text(value)
    value = " ".join(value.split())  # one line: no stray line breaks from templated texts
    return value if len(value) <= limit else value[:limit] + "..."


def _label(item):
    return text(item.get("product")) if isinstance(item, Mapping) else text(item)


def _join(items):
    return ", ".join(items) if items else "none"


# ------------------------------------------------------------------------------------ start


def start(part, previous, gate, now, check_mode=False):
    """The state when work on a host of the plan begins.

    ``part``: the host's part (gate result: wave, platform, replacement, blockers ...).
    ``previous``: the host's ``divest_outcome`` before this run (any plan, or nothing): an
    outcome of the SAME plan from a real run carries its ``removed`` list and ``history``
    over. ``gate``: ``{digest, run_id}``. Blocked hosts and hosts of a platform execute does
    not handle yet are final at once."""
    digest = text(gate.get("digest"))
    same = (isinstance(previous, Mapping) and previous.get("digest") == digest
            and not previous.get("check_mode"))
    history = copy.deepcopy(list(previous.get("history") or [])) if same else []
    removed = copy.deepcopy(list(previous.get("removed") or [])) if same else []
    holds = copy.deepcopy(list(previous.get("holds_released") or [])) if same else []
    removing = copy.deepcopy(list(previous.get("removing") or [])) if same else []
    dropped = int(previous.get("history_dropped") or 0) if same else 0
    outcome = {
        "status": "running",
        "reason": None,
        "digest": digest,
        "run_id": text(gate.get("run_id")),
        "wave": part.get("wave"),
        "step": "re-identify",
        "started_at": now,
        "finished_at": None,
        "removed": [r for r in removed if isinstance(r, Mapping)],
        "remaining": [],
        "changes": {},
        "replacement": None,
        "protection": None,
        "holds_released": [h for h in holds if isinstance(h, Mapping)],
        "removing": [r for r in removing if isinstance(r, Mapping)],
        "reboot": None,
        "history": [h for h in history if isinstance(h, Mapping)],
        "history_dropped": dropped,
        "check_mode": bool(check_mode),
    }
    run = {"mode": None, "platform": part.get("platform"), "replacement": part.get("replacement"),
           "expect": to_jsonable(part.get("expect") or []), "removed_now": [], "scan": None, "after": None,
           "verdict": None, "drift": None}
    state = {"outcome": outcome, "run": run}
    blockers = [b for b in part.get("blockers") or [] if isinstance(b, Mapping)]
    if blockers:
        return _final(state, "blocked", "plan", "; ".join(text(b.get("message")) for b in blockers))
    if part.get("platform") not in PLATFORMS:
        return _final(state, "blocked", "plan", "execute has no steps for this host's platform (%s); it handles %s"
                      % (text(part.get("platform")) if part.get("platform") else "unknown", " and ".join(PLATFORMS)))
    return state


def _final(state, status, step, reason):
    state["outcome"].update(status=status, step=step, reason=_clip(reason))
    state["run"]["mode"] = "stop"
    return state


# ---------------------------------------------------------------------------------- scanned


def _journal_products(journal, digest):
    """``{(vendor, product): entry}`` of the host's journal for this plan."""
    out = {}
    plan = (journal or {}).get("plans", {}).get(digest) if isinstance(journal, Mapping) else None
    for key, entry in ((plan or {}).get("products") or {}).items() if isinstance(plan, Mapping) else ():
        if isinstance(entry, Mapping) and isinstance(key, str) and "/" in key:
            out[tuple(key.split("/", 1))] = entry
    return out


def scanned(state, facts, journal=None, allow_drift=False):
    """The host was re-identified (``facts``: its fresh ``divest`` facts; ``journal``: what the
    host's own journal says this plan removed, or was removing when a run was stopped).

    Chooses the mode of this run: ``act`` (as planned: replacement, removal, cleanup, block,
    verify), ``converge`` (nothing of the vendor left: replacement, cleanup, block and verify
    still run, so an interrupted or tampered-with host gets its end state back), ``check``
    (drifted: nothing is changed, but the replacement is still checked) or ``stop``."""
    outcome, run = state["outcome"], state["run"]
    run["scan"] = facts if isinstance(facts, Mapping) else {}
    known = {(text(r.get("vendor")), text(r.get("product"))) for r in outcome["removed"]}
    for key, entry in _journal_products(journal, outcome["digest"]).items():
        if entry.get("state") == "removed" and key not in known:
            outcome["removed"].append({"vendor": key[0], "product": key[1], "version": entry.get("version"),
                                       "state": entry.get("from_state"), "packages": to_jsonable(entry.get("packages") or []),
                                       "run_id": text(entry.get("run_id")), "at": entry.get("at"),
                                       "source": "host journal"})
            known.add(key)
    progress = set(known)
    progress.update(k for k, e in _journal_products(journal, outcome["digest"]).items()
                    if e.get("state") in ("removing", "removed"))
    # what a run of this plan began to remove (recorded in the fact before the uninstaller ran)
    progress.update((text(r.get("vendor")), text(r.get("product"))) for r in outcome.get("removing") or [])
    done = {"removed": [{"vendor": v, "product": p} for v, p in sorted(progress)]}
    drift = _execute.drift(run.get("expect") or [], facts, done)
    run["drift"] = drift
    if drift["state"] == "clean":
        run["mode"] = "converge"
        outcome["step"] = "replacement"
    elif drift["state"] == "incomplete":
        _final(state, "failed", "re-identify", "re-identify: %s; nothing was done" % drift["message"])
    elif drift["state"] == "drifted" and not allow_drift:
        _final(state, "drifted", "re-identify", "%s; left alone: plan again to include the change" % drift["message"])
        run["mode"] = "check"
    else:
        run["mode"] = "act"
        outcome["step"] = "replacement"
    return state


# ------------------------------------------------------------------------------ replacement


def replacement(state, health):
    """The replacement's health after the replacement step (or its read-only check); noted in
    the run as recorded (``replaced``: :func:`replacement_pending`)."""
    run = state["run"]
    if run.get("mode") not in ("act", "converge", "check"):
        return state
    run["replaced"] = True
    if run.get("replacement") not in REPLACEMENTS:
        state["outcome"]["replacement"] = {
            "product": text(run.get("replacement") or "none"), "healthy": None, "checked": False, "waived": True,
            "reason": "no replacement: the plan waives it"}
        return state
    state["outcome"]["replacement"] = _health(health, run["replacement"])
    if run["mode"] in ("act", "converge"):
        state["outcome"]["step"] = "remove" if run["mode"] == "act" else "cleanup"
    return state


def replacement_pending(state):
    """Whether the replacement's health is still to be recorded in this run: a Linux step records
    it first when so (the replacement's role ran in the task before it)."""
    return state["run"].get("mode") in ("act", "converge", "check") and not state["run"].get("replaced")


def _health(health, product):
    if not isinstance(health, Mapping):
        return {"product": product, "healthy": False, "checked": False, "reason": "no health check result"}
    out = {k: to_jsonable(health.get(k)) for k in REPLACEMENT_KEYS if k in health}
    out.setdefault("product", product)
    out["reason"] = _clip(out.get("reason") or "", 600)
    if out.get("healthy") is not True:
        out["healthy"] = False
    return out


# ----------------------------------------------------------------------------- the removals


def removed(state, action, result, now):
    """One product's removal went through (``result``: the linux_remove result)."""
    outcome, run = state["outcome"], state["run"]
    result = result if isinstance(result, Mapping) else {}
    key = (text(action.get("vendor")), text(action.get("product")))
    packages = [text(p) for p in result.get("removed_packages") or []]
    # Windows (win_remove): the product codes msiexec removed, with their exit codes
    codes = [c for c in result.get("codes") or [] if isinstance(c, Mapping)]
    packages += [text(c.get("product_code")) for c in codes if c.get("result") in ("removed", "reboot_required", "would_remove")]
    entry = {"vendor": key[0], "product": key[1], "version": action.get("version"), "state": action.get("state"),
             "packages": packages, "run_id": outcome["run_id"], "at": now}
    if codes:
        entry["exit_codes"] = [c.get("rc") for c in codes if "rc" in c]
    if result.get("reboot_required"):
        entry["reboot_required"] = True
        outcome["reboot"] = dict(outcome.get("reboot") or {}, needed=True, done=False)
    outcome["removing"] = [r for r in outcome.get("removing") or []
                           if (text(r.get("vendor")), text(r.get("product"))) != key]
    old = next((r for r in outcome["removed"] if (r.get("vendor"), r.get("product")) == key), None)
    if old is None:
        outcome["removed"].append(entry)
        run["removed_now"].append(key[1])
    elif packages:
        # finished now what an earlier (stopped) run began: keep the earlier packages too
        entry["packages"] = list(dict.fromkeys(list(old.get("packages") or []) + packages))
        entry["first_run_id"] = old.get("first_run_id") or old.get("run_id")
        outcome["removed"][outcome["removed"].index(old)] = entry
        run["removed_now"].append(key[1])
    # else: an earlier run of this plan removed it; this run only tidied (residue, processes)
    _add_counts(outcome, [result])
    for hold in result.get("holds_released") or []:
        if isinstance(hold, Mapping):
            entry = {"package": text(hold.get("package")), "kind": text(hold.get("kind")), "run_id": outcome["run_id"]}
            if not any(h.get("package") == entry["package"] and h.get("kind") == entry["kind"]
                       for h in outcome["holds_released"]):
                outcome["holds_released"].append(entry)
    return state


def removing(state, action, now):
    """The uninstaller of one product is about to run: recorded in the fact first, so that a run
    killed while it runs is finished, not taken for drift, by a rerun of the same plan (Linux
    hosts also keep a journal on the host; Windows hosts have this record only)."""
    outcome = state["outcome"]
    key = (text(action.get("vendor")), text(action.get("product")))
    if state["run"].get("mode") == "act" and not any(
            (text(r.get("vendor")), text(r.get("product"))) == key for r in outcome["removing"]):
        outcome["removing"].append({"vendor": key[0], "product": key[1], "run_id": outcome["run_id"], "at": now})
    outcome["step"] = "remove"
    return state


def rebooted(state, result, policy, before=False, pending=True):
    """A reboot step ran (``result``: the win_reboot result, or a skipped task): ``before`` is a
    restart before any removal (one that was already pending when execute started - ``pending``
    says whether one was - or one that Defender's feature install needed). ``policy``:
    divest_windows_reboot."""
    outcome = state["outcome"]
    if state["run"].get("mode") not in ("act", "converge") or (before and not pending):
        return state
    reboot = dict(outcome.get("reboot") or {}, policy=text(policy))
    done = isinstance(result, Mapping) and bool(result.get("rebooted")) and not result.get("failed")
    if before:
        reboot["pending_before"] = True
        reboot["done_before"] = done
        if not done:
            # not restarted (divest_windows_reboot: never): the host cannot be finished before it is
            reboot["needed"] = True
            reboot["done"] = False
    else:
        if done:
            reboot["done"] = True
        reboot["needed"] = bool(reboot.get("needed"))
        if state["run"]["mode"] == "act":
            outcome["step"] = "cleanup"
    outcome["reboot"] = reboot
    return state


def reboot_pending(state):
    """True when a removal of this run needs a reboot that has not happened."""
    reboot = state["outcome"].get("reboot") or {}
    return bool(reboot.get("needed")) and not reboot.get("done")


def _add_counts(outcome, results):
    for result in results:
        counts = result.get("counts") if isinstance(result, Mapping) else None
        for step, count in (counts or {}).items():
            if isinstance(count, int) and not isinstance(count, bool):
                outcome["changes"][text(step)] = outcome["changes"].get(text(step), 0) + count


def changed(state, step, results):
    """A step went through (``results``: module results): ``remove`` (the loop of removals),
    ``cleanup`` or ``block_reinstall``. Nothing happens when the mode does not have the step."""
    mode = state["run"].get("mode")
    if mode not in ("act", "converge") or (step == "remove" and mode != "act"):
        return state
    _add_counts(state["outcome"], [r for r in results or [] if isinstance(r, Mapping)])
    after = WINDOWS_NEXT if state["run"].get("platform") == "windows" else NEXT
    state["outcome"]["step"] = after.get(step, step)
    return state


def verified(state, facts, health, absent=(), allow_drift=False):
    """The host was scanned again after the work (``facts``: the verdict is kept for
    :func:`finish`), and/or the replacement was checked again (``health``). The role records the
    scan first, so that a replacement failing its check afterwards is judged on that scan."""
    run = state["run"]
    if run.get("mode") not in ("act", "converge"):
        return state  # not verified in this mode
    if isinstance(facts, Mapping):
        run["after"] = facts
        run["verdict"] = _execute.verify(run["after"], absent, allow_drift)
        state["outcome"]["remaining"] = run["verdict"]["remaining"]
    if health is not None and run.get("replacement") in REPLACEMENTS:
        state["outcome"]["replacement"] = _health(health, run["replacement"])
    return state


def failed(state, step, message, down=False, health=None):
    """A step failed (``message``: why), or the host stopped answering (``down``). A failed
    replacement check passes its ``health``, so the outcome shows the health that failed,
    never an earlier one."""
    outcome, run = state["outcome"], state["run"]
    if health is not None and run.get("replacement") in REPLACEMENTS:
        outcome["replacement"] = _health(health, run["replacement"])
        if step in ("replacement", "verify") and outcome["replacement"].get("checked") and outcome["replacement"]["reason"]:
            message = outcome["replacement"]["reason"]   # the role's own words, not its wrapper's
    if down:
        reason = "%s: the host does not answer (%s)" % (step, _clip(message, 400))
        status = "unreachable"
    else:
        reason = "%s: %s" % (step, _clip(message, 900))
        status = "failed"
        if step == "replacement" and not run["removed_now"]:
            reason += "; nothing was removed" if run.get("mode") == "act" else \
                "; nothing to remove (the vendor's products were already gone)"
    if run["removed_now"]:
        reason += "; removed before the failure: %s" % _join(run["removed_now"])
    if step == "verify" and run.get("verdict") and not run["verdict"]["ok"]:
        outcome["remaining"] = run["verdict"]["remaining"]
    return _final(state, status, step, reason)


# ------------------------------------------------------------------- the steps of a Linux host

#: The Linux steps that ``fleetsec.divest.linux_step`` runs, with the outcome's name of each.
LINUX_STEPS = {"identify": "re-identify", "remove": "remove", "cleanup": "cleanup", "block": "block_reinstall",
               "verify": "verify"}


def runs(state, step, check_mode=False, enabled=True):
    """Whether a Linux step does its work on the host in this run: re-identify unless the host
    is done (``stop``); remove in ``act`` only; cleanup and the reinstall block (``enabled``:
    divest_block_reinstall) in ``act`` and ``converge``; verify there too, in real runs only. A
    step that does not run records nothing."""
    mode = state["run"].get("mode")
    if step == "identify":
        return mode != "stop"
    if step == "remove":
        return mode == "act"
    if step == "verify":
        return mode in ("act", "converge") and not check_mode
    return mode in ("act", "converge") and (enabled or step != "block")


def begin(state, step):
    """A Linux step that runs begins: the outcome names it, so that a failure is recorded at it."""
    state["outcome"]["step"] = LINUX_STEPS.get(step, step)
    return state


def guard(state, check_mode=False):
    """Never unprotected: None when a product may be removed (the replacement was proven
    healthy, or the plan waives it; check mode may not know yet), else why not."""
    repl = state["outcome"].get("replacement") or {}
    if repl.get("healthy") is True or repl.get("waived") or check_mode:
        return None
    return _clip(repl.get("reason") or "no health check result", 600)


def needs_repair(state, health):
    """After the scan of the verify step: True when the replacement's read-only check (``health``,
    None when it could not be made) did not prove it healthy, so that the replacement role runs
    again to make it protect the host (and fails, with its reason, when it cannot)."""
    if state["run"].get("mode") not in ("act", "converge") or state["run"].get("replacement") != "clamav":
        return False
    return not (isinstance(health, Mapping) and health.get("healthy") is True)


def verdict_failure(state):
    """Why the verify step fails (something of the vendor is still there), or None."""
    verdict = state["run"].get("verdict")
    if verdict is not None and not verdict.get("ok"):
        return verdict.get("message") or "something of the vendor is still there"
    return None


# ----------------------------------------------------------------------------------- finish


def _vendor_protects(facts, removed=()):
    """True when a product of the vendor with the role ``protection`` is installed per ``facts``
    and was not removed since (``removed``: ``(vendor, product)`` this plan removed), False when
    there is none, None without a usable scan."""
    if not isinstance(facts, Mapping) or not facts:
        return None
    if facts.get("status") == "unknown":
        return None
    gone = set(removed)
    return any(isinstance(f, Mapping) and f.get("role") == "protection" and f.get("state") == "installed"
               and (f.get("vendor"), f.get("product")) not in gone for f in facts.get("findings") or [])


def protection(state):
    """What protects the host now: ``replacement`` (healthy), ``vendor`` (the vendor's
    protection product is still installed), ``waived`` (the plan waives the replacement),
    ``none`` (neither: unprotected) or None (not known: the host was not checked)."""
    outcome, run = state["outcome"], state["run"]
    repl = outcome.get("replacement") or {}
    if repl.get("waived"):
        return "waived"
    # Defender judged ready to take over (before the removal) does not protect the host yet
    if repl.get("healthy") is True and repl.get("stage") != "ready":
        return "replacement"
    # the scan after the work when there is one; else the one before, without what was removed since
    latest = run.get("after") or run.get("scan")
    vendor = _vendor_protects(latest, {(r.get("vendor"), r.get("product")) for r in outcome["removed"]})
    if vendor:
        return "vendor"
    if vendor is False and repl.get("checked") and repl.get("healthy") is False:
        return "none"
    return None


def _replacement_text(repl):
    if not repl:
        return "replacement not checked"
    name = NAMES.get(repl.get("product"), text(repl.get("product")))
    if repl.get("waived"):
        return "no replacement (waived in the plan)"
    if repl.get("healthy") is True:
        return "%s healthy" % name
    if not repl.get("checked"):
        return "%s: %s" % (name, repl.get("reason") or "not checked")
    return "%s NOT healthy: %s" % (name, repl.get("reason") or "no reason given")


def finish(state, now):
    """The final status and reason; the run is added to the plan's history on the host."""
    outcome, run = state["outcome"], state["run"]
    check = outcome["check_mode"]
    mode = run.get("mode")
    if outcome["status"] == "running":
        verdict = run.get("verdict")
        repl = outcome.get("replacement") or {}
        earlier = [_label(r) for r in outcome["removed"] if r.get("run_id") != outcome["run_id"]]
        if check:
            if mode == "act":
                outcome["status"] = "would_remove"
                outcome["reason"] = _check_reason(outcome, run)
            else:
                outcome["status"] = "removed" if outcome["removed"] else "already_clean"
                outcome["reason"] = _clip("check mode: nothing of the vendor found%s; %s" % (
                    "; removed by an earlier run of this plan: %s" % _join(earlier) if earlier else "",
                    _replacement_text(repl)))
            outcome["step"] = "done"
        elif reboot_pending(state):
            outcome["status"] = "reboot_pending"
            outcome["reason"] = _clip(
                "removed %s; Windows must restart to finish the removal (divest_windows_reboot: %s): restart the "
                "host, then run execute again with the same plan to clean up and verify it; %s" % (
                    _join(run["removed_now"] or [_label(r) for r in outcome["removed"]]),
                    (outcome.get("reboot") or {}).get("policy") or "never", _replacement_text(repl)))
            outcome["step"] = "reboot"
        elif verdict is None:
            _final(state, "failed", outcome["step"] or "verify", "%s: the run ended before the host was verified"
                   % (outcome["step"] or "verify"))
        else:
            parts = []
            if run["removed_now"]:
                parts.append("removed %s" % _join(run["removed_now"]))
            if earlier:
                parts.append("removed by an earlier run of this plan: %s" % _join(earlier))
            if mode == "converge" and not outcome["removed"]:
                parts.append("nothing of the vendor found")
            parts.append(verdict["message"])
            drift = run.get("drift") or {}
            if drift.get("state") == "drifted":
                if drift.get("added"):
                    parts.append("products not in the plan stay (drift allowed): %s"
                                 % ", ".join(_execute._label(i) for i in drift["added"]))  # pylint: disable=protected-access
                if drift.get("gone"):
                    parts.append("already gone before this run: %s"
                                 % ", ".join(_execute._label(i) for i in drift["gone"]))  # pylint: disable=protected-access
                for change in drift.get("changed") or []:
                    parts.append("%s is now %s" % (_execute._label(change["from"]), _execute._label(change["to"])))  # pylint: disable=protected-access
            exits = ["%s %s" % (text(r.get("product")), "/".join(text(c) for c in r["exit_codes"]))
                     for r in outcome["removed"] if r.get("run_id") == outcome["run_id"] and r.get("exit_codes")]
            if exits:
                parts.append("msiexec exit codes: %s" % ", ".join(exits))
            if (outcome.get("reboot") or {}).get("done"):
                parts.append("Windows restarted")
            if outcome["changes"].get("block"):
                parts.append("reinstall block written")
            parts.append(_replacement_text(repl))
            outcome["status"] = "removed" if outcome["removed"] else "already_clean"
            outcome["reason"] = _clip("; ".join(parts))
            outcome["step"] = "done"
    guard = protection(state)
    outcome["protection"] = guard
    if guard == "none" and outcome["status"] == "reboot_pending":
        # the restart the operator keeps for later is what Defender waits for: said first, the
        # status stays (the host is not done, and the report shows it apart, never green)
        outcome["reason"] = _clip("NO working antivirus until Windows restarts: %s; %s" % (
            _replacement_text(outcome.get("replacement")), outcome["reason"]))
    elif guard == "none" and outcome["status"] not in ("blocked",):
        before = outcome["status"]
        outcome["reason"] = _clip("no working antivirus: the vendor's protection is gone and %s (was: %s: %s)" % (
            _replacement_text(outcome.get("replacement")), before, outcome["reason"] or "-"))
        outcome["status"] = "unprotected"
    outcome["finished_at"] = now
    _record_history(outcome)
    return state


def _check_reason(outcome, run):
    repl = outcome.get("replacement") or {}
    counts = outcome["changes"]
    would = "install %s, then " % NAMES.get(repl.get("product"), repl.get("product")) \
        if repl and not repl.get("waived") and not repl.get("checked") else ""
    packages = []
    for entry in outcome["removed"]:
        if entry.get("run_id") == outcome["run_id"]:
            packages.extend(entry.get("packages") or [])
    restart = ", then restart Windows" if reboot_pending({"outcome": outcome}) else ""
    return _clip("check mode: would %sremove %s%s (packages: %s); %d change(s): %s" % (
        would, _join(run["removed_now"]), restart, _join(packages), sum(counts.values()),
        ", ".join("%s %d" % (k, v) for k, v in counts.items()) or "none"))


def _record_history(outcome):
    if outcome["check_mode"]:
        return
    entry = {"run_id": outcome["run_id"], "started_at": outcome["started_at"], "finished_at": outcome["finished_at"],
             "status": outcome["status"], "step": outcome["step"],
             "removed": [_label(r) for r in outcome["removed"] if r.get("run_id") == outcome["run_id"]]}
    history = [h for h in outcome["history"] if h.get("run_id") != outcome["run_id"]]
    history.append(entry)
    if len(history) > MAX_HISTORY:
        outcome["history_dropped"] = outcome.get("history_dropped", 0) + len(history) - MAX_HISTORY
        history = history[-MAX_HISTORY:]
    outcome["history"] = history


def running(state):
    """The outcome as stored while the host is being worked on (its history shows this run)."""
    outcome = copy.deepcopy(state["outcome"])
    if not outcome["check_mode"] and outcome["status"] == "running":
        _record_history(outcome)
    return outcome


#: The events the action accepts, in the order the role sends them.
EVENTS = ("start", "scanned", "replacement", "removing", "removed", "rebooted", "changed", "verified", "failed",
          "finish")
