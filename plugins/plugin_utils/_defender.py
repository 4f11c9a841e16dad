# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every decision about Microsoft Defender Antivirus as the replacement (controller side, pure).

The module ``win_defender_info.ps1`` records what Windows says; this module decides what it
means, for one of two stages of the role ``fleetsec.divest.defender``:

* ``ready`` - the vendor's product is still installed. On Windows 10/11 a non-Microsoft
  antivirus registered with Security Center puts Defender into *disabled mode*, and that is
  normal (MicrosoftDocs/defender-docs, microsoft-defender-antivirus-compatibility.md). Ready
  means the engine is there and can take over: on Windows Server the feature installed (a
  feature just installed needs a restart first), the ``WinDefend`` service present and not
  disabled, the status readable and the signatures no older than the limit.
  ``ForceDefenderPassiveMode`` is recorded, not cleared.
* ``active`` - after the removal, or the role used alone: ``AMServiceEnabled``,
  ``AntivirusEnabled`` and ``RealTimeProtectionEnabled`` true, the running mode ``Normal``
  (where the platform reports it), the signatures no older than the limit and, where Security
  Center exists (clients, Enterprise multi-session included), an enabled Defender entry there.

Standard library only; every text is one clean line.
"""

from __future__ import annotations

import re

STAGES = ("ready", "active")
PRODUCT = "defender"

#: The remediation steps, in the order the role runs them. ``reboot`` is never run by the role:
#: it is listed when Windows must restart before Defender can run.
STEPS = ("install_feature", "reboot", "clear_passive_mode", "clear_policy", "start_service",
         "update_signatures", "enable_realtime")
#: Steps switched off by ``divest_defender_reenable: false``.
REENABLE_STEPS = ("clear_passive_mode", "clear_policy", "start_service", "enable_realtime")
#: Which steps each stage may need.
STAGE_STEPS = {
    "ready": ("install_feature", "reboot", "start_service", "update_signatures"),
    "active": STEPS,
}
#: ``divest_defender_update_source`` values.
UPDATE_SOURCES = ("default", "unc", "offline", "none")

#: Security Center's displayName for Defender ("Windows Defender" on Windows 10/11); a name
#: such as "Bitdefender" must not count.
DEFENDER_NAME = re.compile(r"^\s*(windows|microsoft)\s+defender\b", re.IGNORECASE)
#: Middle byte of productState: 0x10 on, 0x11 also seen for on (reference: homotechsual enum).
STATE_ON = (0x10, 0x11)
MAX_TEXT = 600
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


# --------------------------------------------------------------------------- small helpers

def clean(value, limit=MAX_TEXT):
    """One line: control characters and line breaks become a space, runs of spaces one."""
    text = "" if value is None else str(value)
    text = " ".join(_CONTROL.sub(" ", text).split())
    if len(text) > limit:
        text = text[:limit - 3].rstrip() + "..."
    return text


def _dict(value):
    return value if isinstance(value, dict) else {}


def _int(value):
    """An int from an int or decimal text; None for anything else (bools included)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    return None


def _bool(value):
    """True, False or None (unknown): only real booleans and 0/1 count."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    number = _int(value)
    if number in (0, 1):
        return bool(number)
    return None


def _str(value):
    if value is None:
        return None
    text = clean(value, 200)
    return text or None


def _errors(info):
    """``{section: message}`` of the module's ``errors`` (the first message of a section)."""
    found = {}
    for entry in info.get("errors") or []:
        if isinstance(entry, dict) and entry.get("section"):
            found.setdefault(clean(entry.get("section"), 40), clean(entry.get("message"), 300))
    return found


def product_state(value):
    """Security Center's productState decoded: ``{enabled, up_to_date}``, or None.

    The middle byte is the execution state (0x10 or 0x11 on), the low byte the signature state
    (0x00 up to date, 0x10 out of date): 397568 = 0x061100 is on and up to date, 393472 off.
    """
    state = _int(value)
    if state is None or state < 0:
        return None
    return {"enabled": ((state >> 8) & 0xFF) in STATE_ON, "up_to_date": (state & 0xFF) == 0x00}


def security_center_entries(rows):
    """``(defender, others)``: Security Center rows split into Defender's and the rest."""
    defender, others = [], []
    for row in rows or []:
        if not isinstance(row, dict):
            continue
        name = _str(row.get("name")) or "?"
        entry = {"name": name, "product_state": _int(row.get("product_state")),
                 "state": product_state(row.get("product_state"))}
        (defender if DEFENDER_NAME.search(name) else others).append(entry)
    return defender, others


def running_mode_normal(mode):
    """Whether AMRunningMode says Normal; None when the platform does not report it."""
    mode = _str(mode)
    if mode is None:
        return None
    return mode.strip().lower() == "normal"


def _nonzero(value):
    number = _int(value)
    return number is not None and number != 0


def _order(steps):
    return [step for step in STEPS if step in steps]


# --------------------------------------------------------------------------- the judgement

def _view(info):
    """The parts of the module result the judgement reads, with unknowns as None."""
    info = _dict(info)
    os_ = _dict(info.get("os"))
    status = info.get("status")
    return {
        "known": bool(info) and any(key in info for key in ("service", "status", "os")),
        "server": _bool(os_.get("server")),
        "build": _int(os_.get("build")),
        "feature": _dict(info.get("feature")),
        "service": _dict(info.get("service")),
        "status": status if isinstance(status, dict) else None,
        "policy": _dict(info.get("policy")),
        "security_center": info.get("security_center") if isinstance(info.get("security_center"), list) else None,
        "reboot": _dict(info.get("reboot_pending")),
        "errors": _errors(info),
    }


def _problems(view, stage, max_age, reboot_required):
    """``(problems, steps)``: what stands in the way, in words, and the steps that would fix it."""
    problems, steps = [], set()
    server = view["server"] is True
    feature, service, status, policy = view["feature"], view["service"], view["status"], view["policy"]
    errors = view["errors"]
    exists = _bool(service.get("exists"))
    feature_name = _str(feature.get("name")) or "Windows-Defender"
    feature_installed = _bool(feature.get("installed"))

    # --- restart, feature, service
    pending = _bool(view["reboot"].get("pending")) is True
    waiting = server and feature_installed is True and exists is False and pending
    reboot_needed = bool(reboot_required) or waiting
    if reboot_needed:
        problems.append("Windows must restart to finish installing the %s feature (the role does not restart hosts)"
                        % feature_name)
        steps.add("reboot")
    if server and feature_installed is False:
        problems.append("the %s feature is not installed" % feature_name)
        steps.add("install_feature")
    elif server and feature_installed is None and "feature" in errors:
        problems.append("the %s feature state could not be read (%s)" % (feature_name, errors["feature"]))
    if exists is False:
        if not (server and (feature_installed is False or reboot_needed)):
            problems.append("the WinDefend service does not exist%s"
                            % (" on this server" if server else " (Defender removed from this Windows image?)"))
    elif exists is None:
        problems.append("the WinDefend service could not be read%s"
                        % (" (%s)" % errors["service"] if "service" in errors else ""))
    else:
        start_mode = _str(service.get("start_mode"))
        state = _str(service.get("state"))
        if start_mode == "disabled":
            problems.append("the WinDefend service is disabled")
            steps.add("start_service")
        elif stage == "active" and state is not None and state != "running":
            problems.append("the WinDefend service is %s, not running" % state)
            steps.add("start_service")
        elif stage == "active" and start_mode not in (None, "auto"):
            problems.append("the WinDefend service starts %s, not automatically" % start_mode)
            steps.add("start_service")

    # --- policies (cleared in stage active only; ready records them)
    passive = _int(policy.get("ForceDefenderPassiveMode"))
    if stage == "active":
        if _nonzero(passive):
            problems.append("policy ForceDefenderPassiveMode is %d (Defender forced into passive mode)" % passive)
            steps.add("clear_passive_mode")
        for name in ("DisableAntiSpyware", "DisableRealtimeMonitoring"):
            if _nonzero(policy.get(name)):
                problems.append("policy %s is %d" % (name, _int(policy.get(name))))
                steps.add("clear_policy")

    # --- status
    if status is None:
        why = errors.get("status") or "not returned"
        if not (exists is False or reboot_needed or (server and feature_installed is False)):
            problems.append("Defender's status (MSFT_MpComputerStatus) could not be read: %s" % why)
        if stage == "active" and exists is True:
            steps.update(("update_signatures", "enable_realtime"))
        return problems, steps, reboot_needed

    if stage == "active":
        switched_off = []
        mode = _str(status.get("AMRunningMode"))
        normal = running_mode_normal(mode)
        if normal is False:
            problems.append("running mode is '%s', not Normal%s"
                            % (mode, " (passive)" if "passive" in mode.lower() else ""))
            switched_off.append("mode")
        for field, words in (("AMServiceEnabled", "the antimalware service is not enabled (AMServiceEnabled false)"),
                             ("AntivirusEnabled", "antivirus is disabled (AntivirusEnabled false)"),
                             ("RealTimeProtectionEnabled", "real-time protection is off")):
            value = _bool(status.get(field))
            if value is not True:
                problems.append(words if value is False else "%s is unknown" % field)
                switched_off.append(field)
        if _bool(status.get("RealTimeProtectionEnabled")) is not True:
            steps.add("enable_realtime")
        if switched_off and _bool(status.get("IsTamperProtected")) is True:
            problems.append("tamper protection is on, so Windows ignores changes to Defender's settings made by scripts"
                            " or local policy: change them in Windows Security or through the management tool")
        defender, others = security_center_entries(view["security_center"])
        on = [row["name"] for row in others if row["state"] and row["state"]["enabled"]]
        if switched_off and on and view["security_center"] is not None:
            problems.append("another antivirus is registered and on in Security Center (%s): Windows keeps Defender"
                            " in disabled mode until it unregisters" % ", ".join(on))

    age = _int(status.get("AntivirusSignatureAge"))
    if age is None:
        problems.append("the signature age is unknown")
        steps.add("update_signatures")
    elif age > max_age:
        problems.append("signatures are %d days old (limit %d)" % (age, max_age))
        steps.add("update_signatures")

    if stage == "active" and view["security_center"] is not None:
        defender, _others = security_center_entries(view["security_center"])
        enabled = [row for row in defender if row["state"] and row["state"]["enabled"]]
        if not defender:
            problems.append("Security Center lists no Defender entry")
        elif not enabled:
            problems.append("Security Center shows Defender off (productState %s)"
                            % ", ".join(str(row["product_state"]) for row in defender))
    elif stage == "active" and view["server"] is False and "security_center" in errors:
        problems.append("Security Center could not be read (%s)" % errors["security_center"])
    return problems, steps, reboot_needed


def remediation(info, stage="active", max_signature_age_days=3, reboot_required=False):
    """The steps still needed for ``stage``, in the order the role runs them (from :data:`STEPS`).

    While a restart is pending (``reboot`` in the list) nothing else can run yet, so only the
    steps before it are kept.
    """
    return assess(info, stage, max_signature_age_days, reboot_required)["remediation"]


def runnable(steps, install_feature=True, reenable=True, update_source="default"):
    """The needed ``steps`` the role runs with its settings (``reboot`` never is)."""
    allowed = set(STEPS) - {"reboot"}
    if not install_feature:
        allowed.discard("install_feature")
    if not reenable:
        allowed.difference_update(REENABLE_STEPS)
    if update_source == "none":
        allowed.discard("update_signatures")
    return [step for step in _order(steps or []) if step in allowed]


def _check_arguments(stage, max_age):
    if stage not in STAGES:
        raise ValueError("stage must be one of %s, not %r" % (", ".join(STAGES), stage))
    age = _int(max_age)
    if age is None or age < 0:
        raise ValueError("max_signature_age_days must be a whole number of days >= 0, not %r" % (max_age,))
    return age


def assess(info, stage="active", max_signature_age_days=3, reboot_required=False, eicar=None):
    """Judge a ``win_defender_info`` result for ``stage``.

    Returns ``{product, stage, healthy, checked, reason, version, signatures: {version,
    age_days}, running_mode, tamper_protected, security_center, passive_mode_forced,
    reboot_needed, remediation}``. ``security_center`` is whether Security Center lists an
    enabled Defender entry (None where it does not exist); ``remediation`` the steps still
    needed, in order. ``reboot_required`` is the feature installation's own word that a
    restart is needed. ``eicar`` is the optional detection proof of stage ``active``: None (not
    tried), or ``{detected: bool, detail: str}``; recorded as ``eicar`` (None, True or False).
    """
    max_age = _check_arguments(stage, max_signature_age_days)
    view = _view(info)
    status = view["status"] or {}
    defender, _others = security_center_entries(view["security_center"])
    result = {
        "product": PRODUCT,
        "stage": stage,
        "healthy": False,
        "checked": view["known"],
        "reason": "",
        "version": _str(status.get("AMProductVersion")),
        "signatures": {"version": _str(status.get("AntivirusSignatureVersion")),
                       "age_days": _int(status.get("AntivirusSignatureAge"))},
        "running_mode": _str(status.get("AMRunningMode")),
        "tamper_protected": _bool(status.get("IsTamperProtected")),
        "security_center": (None if view["security_center"] is None
                            else any(row["state"] and row["state"]["enabled"] for row in defender)),
        "passive_mode_forced": _int(view["policy"].get("ForceDefenderPassiveMode")),
        "reboot_needed": False,
        "remediation": [],
        "eicar": None,
    }
    proof = eicar if isinstance(eicar, dict) else ({"detected": eicar} if isinstance(eicar, bool) else None)
    if proof is not None and stage == "active":
        result["eicar"] = _bool(proof.get("detected")) is True
    if not view["known"]:
        result["reason"] = "Defender's state was not read"
        return result
    problems, steps, reboot_needed = _problems(view, stage, max_age, reboot_required)
    if result["eicar"] is False:
        detail = clean(proof.get("detail"), 200)
        problems.append("the EICAR test file was not removed or blocked by Defender%s" % (" (%s)" % detail if detail else ""))
    steps = set(steps) & set(STAGE_STEPS[stage])
    ordered = _order(steps)
    if "reboot" in ordered:
        ordered = ordered[:ordered.index("reboot") + 1]
    result.update(healthy=not problems, reboot_needed=reboot_needed, remediation=ordered)
    result["reason"] = clean(_reason(stage, problems, result, max_age))
    return result


def _reason(stage, problems, result, max_age):
    if problems:
        head = "Defender is not ready to take over: " if stage == "ready" else "Defender does not protect the host: "
        return head + "; ".join(problems)
    signatures = result["signatures"]
    fresh = "signatures %s are %s days old (limit %d)" % (signatures["version"] or "?", signatures["age_days"], max_age)
    if stage == "ready":
        text = "Defender can take over: WinDefend present, status readable (running mode %s), %s" % (
            result["running_mode"] or "not reported", fresh)
        if _nonzero(result["passive_mode_forced"]):
            text += "; ForceDefenderPassiveMode is %d (cleared in stage active)" % result["passive_mode_forced"]
        return text
    text = "Defender protects the host: real-time protection on, running mode %s, %s" % (
        result["running_mode"] or "not reported", fresh)
    if result["security_center"]:
        text += ", on in Security Center"
    if result["eicar"]:
        text += ", EICAR test file removed"
    return text


def with_step_failures(assessment, failures):
    """The assessment with the remediation steps that failed named in its reason.

    ``failures`` is ``[{step, message}]``; a healthy assessment is returned as it is.
    """
    out = dict(assessment)
    failures = [f for f in failures or [] if isinstance(f, dict) and f.get("step")]
    if out.get("healthy") or not failures:
        return out
    words = "; ".join("%s failed: %s" % (clean(f.get("step"), 40), clean(f.get("message"), 200)) for f in failures)
    out["reason"] = clean("%s; %s" % (out.get("reason") or "", words))
    return out
