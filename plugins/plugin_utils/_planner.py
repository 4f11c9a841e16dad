# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The planner: findings of many hosts + a policy -> the day-60 plan document (BOD 17-01).

Pure functions, controller side, standard library plus ``jmespath`` (for the host selector)
and ansible-core's argument spec validator (for the policy, through ``_argspec``). The
``fleetsec.divest.removal_plan`` action reads the hosts' facts and hands them here; tests call these
functions directly. The document format, the digest rule and
the policy are described in ``docs/plan.md``.

* :data:`POLICY_SPEC` is the policy's argument spec; :func:`normalize_policy` validates a
  policy with it, checks what a spec cannot say (durations, dates, ranges, the selector) and
  returns its canonical, non-secret form (raises :class:`PolicyError` with a message that
  names the offending key).
* :func:`scan_state` / :func:`stale_hosts` say which hosts have no findings or findings
  older than ``max_age`` (the playbook scans those before planning).
* :func:`build_plan` returns the plan document; :func:`digest` and :func:`verify` implement
  the digest rule; :func:`host_part` is what a host stores in its facts (``divest_plan``);
  :func:`compact_summary` is the few hundred bytes meant for ``set_stats``.

Everything is deterministic (host names in natural order, no randomness, no clock reads
other than the ``now`` argument), so the same input gives the same digest. Work is linear in
the number of hosts (plus sorting).
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import json
import marshal
import math
import re
from collections.abc import Mapping

from ansible_collections.fleetsec.divest.plugins.plugin_utils import _argspec
from ansible_collections.fleetsec.divest.plugins.plugin_utils._text import get as _get
from ansible_collections.fleetsec.divest.plugins.plugin_utils._text import natural_key, to_jsonable_fast
from ansible_collections.fleetsec.divest.plugins.plugin_utils._text import opt_text as _opt_text
from ansible_collections.fleetsec.divest.plugins.plugin_utils._text import text as _text
from ansible_collections.fleetsec.divest.plugins.plugin_utils._vocabulary import (
    BLOCKER_KINDS,
    METHODS,
    PLANNED_STATUSES,
    PLATFORMS,
    ROLE_RANK,
    ROLES,
)

try:
    import jmespath
    from jmespath.exceptions import JMESPathError
except ImportError as _exc:  # pragma: no cover - jmespath is a declared dependency
    jmespath = None
    JMESPathError = Exception
    JMESPATH_IMPORT_ERROR = _exc
else:
    JMESPATH_IMPORT_ERROR = None

__all__ = [
    "SCHEMA", "ROLES", "BLOCKER_KINDS", "PolicyError", "POLICY_SPEC", "normalize_policy", "parse_duration",
    "parse_time", "scan_state", "stale_hosts", "build_plan", "build_plan_parts", "host_json",
    "digest", "verify", "host_part", "host_parts", "verify_part", "part_entry", "leaf_hash",
    "compact_summary",
]

#: 2: the digest commits to each host through a hash tree; Linux cleanup and block actions carry
#: the vendor-wide profile (docs/plan.md).
SCHEMA = 2
#: The schema of the ``divest`` facts the planner reads (docs/facts.md).
FACTS_SCHEMA = 1
KIND = "fleetsec.divest/plan"
#: Replacement antivirus per platform; ``none`` is accepted only with a waiver.
REPLACEMENTS = {"linux": ("clamav", "none"), "windows": ("defender", "none")}
DEFAULT_REPLACEMENT = {"linux": "clamav", "windows": "defender"}
DIRECTIVE = "DHS BOD 17-01"
DIRECTIVE_DAYS = (("identify_by", 30), ("plan_by", 60), ("remove_from", 90))
#: The kinds of wave a policy chooses from (one at most).
WAVE_KINDS = ("size", "percent", "by_group")
_DEFAULT_ORDER = 100


class PolicyError(ValueError):
    """A policy the planner cannot use; the message names the key and what is wrong."""


# ------------------------------------------------------------------------------------ values


@functools.lru_cache(maxsize=4096)
def _natural_key_cached(value):
    return natural_key(value)


def _none_last(value):
    return (1, "") if value is None else (0, _text(value))


# ------------------------------------------------------------------------------ time, dates

_DURATION = re.compile(r"(\d+)\s*([smhdw]?)", re.IGNORECASE)
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value, key="max_age"):
    """``"24h"``, ``"7d"``, ``"1d12h"``, ``"90m"``, ``"3600"`` or an integer (seconds) -> seconds.

    ``None``, ``""``, ``0`` and ``"0"`` mean "no limit" and give ``None``.
    """
    if value is None or value is False or value == "":
        return None
    if isinstance(value, bool):
        raise PolicyError("%s must be a duration such as 24h or 7d, got %r" % (key, value))
    if isinstance(value, (int, float)):
        if value < 0 or not math.isfinite(value):
            raise PolicyError("%s must not be negative, got %r" % (key, value))
        return int(value) or None
    if not isinstance(value, str):
        raise PolicyError("%s must be a duration such as 24h or 7d, got %r" % (key, value))
    text = value.strip()
    pos, total = 0, 0
    for match in _DURATION.finditer(text):
        if match.start() != pos and text[pos:match.start()].strip():
            break
        total += int(match.group(1)) * _UNITS[match.group(2).lower()]
        pos = match.end()
    if not text or text[pos:].strip() or pos == 0:
        raise PolicyError("%s must be a duration such as 24h, 7d or 1d12h (units s, m, h, d, w), got %r"
                          % (key, value))
    return total or None


def parse_time(value):
    """An ISO 8601 timestamp (``2026-11-27T10:00:00Z``) or datetime -> aware UTC datetime, else None."""
    if isinstance(value, datetime.datetime):
        moment = value
    elif isinstance(value, str) and value:
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            moment = datetime.datetime.fromisoformat(text)
        except ValueError:
            return None
    else:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment.astimezone(datetime.timezone.utc)


def _parse_date(value, key, optional=False):
    """A date from text (``POLICY_SPEC`` makes a YAML date text): ``2026-12-31`` or a timestamp."""
    text = "" if value is None else value.strip()
    if not text:
        if optional:
            return None
        raise PolicyError("%s is required (a date such as 2026-12-31)" % key)
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        moment = parse_time(text)
        if moment is not None:
            return moment.date()
    raise PolicyError("%s must be a date such as 2026-12-31, got %r" % (key, value))


def _now(now):
    moment = parse_time(now)
    if moment is None:
        raise ValueError("now must be a datetime or an ISO 8601 timestamp, got %r" % (now,))
    return moment


def _iso(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# ----------------------------------------------------------------------------------- policy


def _choice(value):
    """The type of a replacement (``POLICY_SPEC``): a choice in any case, null and false meaning none."""
    return "none" if value is None or value is False else str(value).strip().lower()


#: The plan policy's argument spec: the suboptions of the plan action's ``policy`` option,
#: documented in plugins/modules/plan.py. The types, defaults and choices, and the rule that a
#: wave policy gives one kind of wave, are the spec's (``_argspec`` validates it and words the
#: errors); :func:`normalize_policy` checks what a spec cannot say. ``raw`` options are read by
#: the planner: ``max_age`` (a duration), ``replacement_waiver`` (a reason, or one per
#: platform), ``percent`` (a number or a text such as ``12.5%``), ``by_group`` (a list of group
#: names: a text is refused, not split at commas), ``selector`` (JMESPath text: a number is
#: refused, not turned into text) and ``passwords`` (keys mapped to booleans, or a list of keys).
POLICY_SPEC = {
    "max_age": {"type": "raw"},
    "scan": {"type": "bool", "default": True},
    "directive_start": {"type": "str"},
    "replacement": {"type": "dict", "apply_defaults": True, "options": {
        platform: {"type": _choice, "choices": list(choices), "default": DEFAULT_REPLACEMENT[platform]}
        for platform, choices in REPLACEMENTS.items()}},
    "replacement_waiver": {"type": "raw"},
    "waves": {"type": "dict", "apply_defaults": True, "mutually_exclusive": [list(WAVE_KINDS)], "options": {
        "canary": {"type": "int", "default": 0},
        "size": {"type": "int"},
        "percent": {"type": "raw"},
        "by_group": {"type": "raw"},
    }},
    # no default: null is accepted as no exception, like an empty list
    "exceptions": {"type": "list", "elements": "dict", "options": {
        "host": {"type": "str"},
        "reason": {"type": "str"},
        "expires": {"type": "str"},  # a YAML date arrives as text
    }},
    "selector": {"type": "raw"},
    "passwords": {"type": "raw"},
}
#: What the keys of a policy mapping are called in the message about an unknown one.
_NOUNS = {(): "policy key", ("replacement",): "platform"}


def _at_least(value, key, minimum):
    if value < minimum:
        raise PolicyError("%s must be at least %d, got %d" % (key, minimum, value))
    return value


def _percent(value):
    percent = value
    if isinstance(percent, str):
        try:
            percent = float(percent.strip().rstrip("%"))
        except ValueError:
            raise PolicyError("waves.percent must be a number between 0 and 100, got %r" % (value,))
    if isinstance(percent, bool) or not isinstance(percent, (int, float)) or not math.isfinite(percent) \
            or not 0 < percent <= 100:
        raise PolicyError("waves.percent must be a number above 0 and at most 100, got %r" % (value,))
    return int(percent) if float(percent).is_integer() else float(percent)


def _group_names(groups):
    if isinstance(groups, str) or not isinstance(groups, (list, tuple)):
        raise PolicyError("waves.by_group must be a list of inventory group names, got %r" % (groups,))
    names = []
    for group in groups:
        if not isinstance(group, str) or not group.strip():
            raise PolicyError("waves.by_group must list group names (non-empty strings), got %r" % (group,))
        if group in names:
            raise PolicyError("waves.by_group lists group %r twice" % group)
        names.append(_text(group))
    return names


def _waves(waves):
    """The canonical wave policy: ``canary`` and the one kind of wave given (the spec allows one)."""
    out = {"canary": _at_least(waves["canary"], "waves.canary", 0)}
    if waves["size"] is not None:
        out["size"] = _at_least(waves["size"], "waves.size", 1)
    elif waves["percent"] not in (None, ""):
        out["percent"] = _percent(waves["percent"])
    elif waves["by_group"] not in (None, "", []):
        out["by_group"] = _group_names(waves["by_group"])
    return out


def _waiver(value):
    out = dict.fromkeys(PLATFORMS)
    if value is None or value is False or value == "" or value == {}:
        return out
    if isinstance(value, str):
        return dict.fromkeys(PLATFORMS, _text(value.strip()))
    if not isinstance(value, Mapping):
        raise PolicyError("replacement_waiver must be a reason (text) or a mapping of platform to reason, got %r"
                          % (value,))
    for platform, reason in value.items():
        if platform not in PLATFORMS:
            raise PolicyError("replacement_waiver: unknown platform %r (expected linux, windows)" % (platform,))
        if reason in (None, "", False):
            continue
        if not isinstance(reason, str):
            raise PolicyError("replacement_waiver.%s must be a reason (text), got %r" % (platform, reason))
        out[platform] = _text(reason.strip()) or None
    return out


def _exceptions(items):
    out = []
    for index, item in enumerate(items or ()):
        key = "exceptions[%d]" % index
        host, reason = (item["host"] or "").strip(), (item["reason"] or "").strip()
        if not host:
            raise PolicyError("%s.host must be an inventory host name" % key)
        if not reason:
            raise PolicyError("%s.reason must say why the host is excepted (host %s)" % (key, host))
        expires = _parse_date(item["expires"], "%s.expires" % key)
        out.append({"host": _text(host), "reason": _text(reason), "expires": expires.isoformat()})
    out.sort(key=lambda e: (natural_key(e["host"]), e["expires"], e["reason"]))
    return out


_PASSWORD_KEY = re.compile(r"^[a-z0-9_-]+(/[A-Za-z0-9_.+-]+)?$")


def _passwords(value):
    """``{"vendor" | "vendor/product": configured}`` with booleans only (never a secret)."""
    if value is None or value == "":
        return {}
    if isinstance(value, (list, tuple)):
        items = [(k, True) for k in value]
    elif isinstance(value, Mapping):
        # A value that is not a boolean (a secret passed by mistake) only says "configured".
        items = [(k, (v if isinstance(v, bool) else v not in (None, "", {}, []))) for k, v in value.items()]
    else:
        raise PolicyError("passwords must map vendor or vendor/product to true/false (whether an uninstall "
                          "password is configured), got %s" % type(value).__name__)
    out = {}
    for key, configured in items:
        if not isinstance(key, str) or not _PASSWORD_KEY.match(key):
            raise PolicyError("passwords: keys are a vendor (kaspersky) or vendor/product (kaspersky/kes), got %r"
                              % (key if isinstance(key, str) and len(key) < 80 else type(key).__name__,))
        out[key] = bool(configured)
    return dict(sorted(out.items()))


def compile_selector(expression):
    """Compile a JMESPath selector; ``None`` / empty selects every host."""
    if expression is None or expression == "":
        return None
    if not isinstance(expression, str):
        raise PolicyError("selector must be a JMESPath expression (text), got %r" % (expression,))
    if jmespath is None:
        raise PolicyError("selector needs the jmespath Python library on the controller (%s)" % JMESPATH_IMPORT_ERROR)
    try:
        return jmespath.compile(expression)
    except JMESPathError as exc:
        raise PolicyError("selector %r is not a valid JMESPath expression: %s"
                          % (expression, " ".join(_text(exc).split())))


def normalize_policy(policy, validated=False):
    """Validate ``policy`` and return its canonical form (what the plan document records).

    Keys (all optional, see :data:`POLICY_SPEC`): ``max_age`` (duration; empty/0 = no limit),
    ``scan`` (bool, recorded only), ``directive_start`` (date), ``replacement`` ({linux:
    clamav|none, windows: defender|none}), ``replacement_waiver`` (reason, or {platform:
    reason}), ``waves`` ({canary, size | percent | by_group}), ``exceptions`` ([{host,
    reason, expires}]), ``selector`` (JMESPath), ``passwords`` ({vendor[/product]: bool} or
    a list of the keys that have one). The policy of a plan (this function's output) is
    accepted again and gives the same result.

    ``validated``: ``policy`` already went through :data:`POLICY_SPEC` (the plan action's
    argument spec does it); else it is validated here. Raises :class:`PolicyError`, whose
    message names each offending key.
    """
    if not isinstance(policy, Mapping):
        raise PolicyError("policy must be a mapping, got %s" % type(policy).__name__)
    if "max_age_seconds" in policy:  # a policy this function returned (a plan's): accept it again
        policy = dict(policy)
        seconds = policy.pop("max_age_seconds")
        if policy.get("max_age") in (None, ""):
            policy["max_age"] = seconds
    if not validated:
        try:
            policy = _argspec.validate(POLICY_SPEC, policy, nouns=_NOUNS)
        except _argspec.ArgumentError as exc:
            raise PolicyError(str(exc))
    max_age = policy["max_age"]
    seconds = parse_duration(max_age)
    start = _parse_date(policy["directive_start"], "directive_start", optional=True)
    selector = policy["selector"]
    compile_selector(selector)
    return {
        "max_age": None if seconds is None else (_text(max_age).strip() if isinstance(max_age, str) else "%ds" % seconds),
        "max_age_seconds": seconds,
        "scan": policy["scan"],
        "directive_start": None if start is None else start.isoformat(),
        "replacement": {platform: policy["replacement"][platform] for platform in REPLACEMENTS},
        "replacement_waiver": _waiver(policy["replacement_waiver"]),
        "waves": _waves(policy["waves"]),
        "exceptions": _exceptions(policy["exceptions"]),
        "selector": _text(selector) if selector else None,
        "passwords": _passwords(policy["passwords"]),
    }


# ------------------------------------------------------------------------------ scan state


def _error_text(error):
    if error in (None, False, "", {}):
        return None
    if isinstance(error, Mapping):
        kind = _text(_get(error, "kind") or "failed")
        message = _get(error, "message")
        if message is None:
            message = _get(error, "msg")
        return "%s: %s" % (kind, _text(message)) if message else kind
    return _text(error)


def scan_state(entry, max_age_seconds, now):
    """``(facts, None)`` when ``entry`` has usable findings no older than ``max_age_seconds``,
    else ``(None, reason)``. ``entry`` is ``{"divest": facts or None, "error": ...}``."""
    now = _now(now)
    if not isinstance(entry, Mapping):
        return None, "host not found in the inventory"
    facts = _get(entry, "divest")
    error = _error_text(_get(entry, "error"))
    if facts is None:
        return None, ("scan failed (%s)" % error) if error else "no scan result"
    if not isinstance(facts, Mapping):
        return None, "the divest fact is not a mapping"
    schema = _get(facts, "schema", FACTS_SCHEMA)
    if schema != FACTS_SCHEMA:
        return None, "facts schema %r is not supported (expected %d)" % (schema, FACTS_SCHEMA)
    scanned_at = parse_time(_get(facts, "scanned_at"))
    if scanned_at is None:
        return None, "scan time unknown"
    if max_age_seconds and (now - scanned_at).total_seconds() > max_age_seconds:
        reason = "last scan %s is older than max_age" % _iso(scanned_at)
        return None, ("%s; the new scan failed (%s)" % (reason, error)) if error else reason
    status = _get(facts, "status")
    if status not in PLANNED_STATUSES and status != "clean":
        return None, "unexpected scan status %r" % (status,)
    return facts, None


def stale_hosts(hosts, policy, now):
    """Names (natural order) of the hosts in ``hosts`` that need a scan before planning:
    no findings, unusable findings, or findings older than the policy's ``max_age``."""
    seconds = normalize_policy(policy)["max_age_seconds"]
    now = _now(now)
    return sorted((_text(name) for name, entry in hosts.items() if scan_state(entry, seconds, now)[0] is None),
                  key=natural_key)


# --------------------------------------------------------------------------------- per host


def _platform(value):
    if not isinstance(value, Mapping):
        return {"system": None, "distribution": None, "version": None}
    return {k: _opt_text(_get(value, k)) for k in ("system", "distribution", "version")}


def _blocker(kind, message, **extra):
    out = {"kind": kind, "message": message}
    out.update((k, v) for k, v in extra.items() if v is not None)
    return out


def _password_configured(passwords, vendor, product):
    key = "%s/%s" % (vendor, product)
    if key in passwords:
        return passwords[key]
    return passwords.get(vendor, False)


def _order(removal):
    order = removal.get("order")
    if isinstance(order, bool) or not isinstance(order, (int, float)):
        return _DEFAULT_ORDER
    return order


def _finding_key(finding):
    return (ROLE_RANK.get(finding["role"], len(ROLES)), _order(finding["removal"]),
            _natural_key_cached(finding["product"]), _none_last(finding["version"]), finding["state"])


def _holds(evidence):
    """``[{package, hold}]``: the package evidence the scan found held (apt-mark hold, dnf
    versionlock, zypper lock), which execute releases and reports."""
    out = []
    for item in evidence if isinstance(evidence, list) else ():
        if isinstance(item, Mapping) and _get(item, "kind") == "package" and _get(item, "hold"):
            entry = {"package": _text(_get(item, "name")), "hold": _text(_get(item, "hold"))}
            if entry not in out:
                out.append(entry)
    return sorted(out, key=lambda e: (_natural_key_cached(e["package"]), e["hold"]))


def _shared(value, shared):
    """``to_jsonable_fast(value)``, one object for equal values when ``shared`` (a dict) is given:
    hosts with the same product share its removal recipe, and a fleet-wide plan holds tens of
    thousands of them (nothing changes a recipe once planned)."""
    if shared is None:
        return to_jsonable_fast(value)
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False)   # key order kept: it is shown
        text.encode("utf-8")
    except (TypeError, ValueError, UnicodeEncodeError, RecursionError):
        return to_jsonable_fast(value)
    found = shared.get(text)
    if found is None:
        found = shared[text] = json.loads(text)   # what to_jsonable_fast gives
    return found


def _findings(facts, shared=None):
    out = []
    for item in _get(facts, "findings") or []:
        if not isinstance(item, Mapping):
            continue
        removal = _get(item, "removal")
        out.append({
            "vendor": _text(_get(item, "vendor")),
            "product": _text(_get(item, "product")),
            "name": _opt_text(_get(item, "name")),
            "role": _opt_text(_get(item, "role")),
            "version": _opt_text(_get(item, "version")),
            "state": _text(_get(item, "state")),
            "removal": _shared(removal, shared) if isinstance(removal, Mapping) else {},
            "holds": _holds(_get(item, "evidence")),
        })
    return out


def normalize_vendors(vendors):
    """``{vendor: {linux: {dirs, repos, packages}}}`` in canonical form (sorted, plain text).

    What execute needs to know of each vendor as a whole, from its catalog (the plan action
    reads the catalogs): ``dirs``, the vendor's own directories (no residue outside them unless
    a recipe marks a file as the vendor's); ``repos``, the patterns of its repository entries;
    ``packages``, every package name the catalog knows (the reinstall block covers them all,
    not only those a host had). It goes into each host's actions, so the digest covers it."""
    out = {}
    for vendor, platforms in (vendors or {}).items():
        if not isinstance(platforms, Mapping):
            raise PolicyError("vendor profile %r must be a mapping" % (vendor,))
        entry = {}
        for platform, profile in platforms.items():
            if platform not in PLATFORMS or not isinstance(profile, Mapping):
                raise PolicyError("vendor profile %r: %r is not a platform profile" % (vendor, platform))
            entry[platform] = {key: sorted({_text(v) for v in profile.get(key) or ()}, key=_natural_key_cached)
                               for key in ("dirs", "repos", "packages")}
        out[_text(vendor)] = entry
    return out


def _plan_host(facts, policy, exceptions, today, vendors=None, shared=None):
    """The host's entry (without ``wave``) for usable ``facts``; ``vendors``: see
    :func:`normalize_vendors`; ``shared``: see :func:`_shared`."""
    vendors = vendors or {}
    platform = _platform(_get(facts, "platform"))
    system = (platform["system"] or "").lower()
    findings = _findings(facts, shared)
    status = _text(_get(facts, "status"))
    blockers = []
    notes = []

    # 1. The replacement antivirus, installed and healthy before anything is removed.
    if system in PLATFORMS:
        replacement = policy["replacement"][system]
        install = {"action": "install_replacement", "platform": system, "replacement": replacement}
        if replacement == "none":
            waiver = policy["replacement_waiver"][system]
            if waiver:
                install["waiver"] = waiver
            else:
                blockers.append(_blocker("no_replacement", "the policy sets no replacement antivirus for %s and "
                                         "gives no waiver: the host would be left unprotected" % system))
    else:
        replacement = None
        install = {"action": "install_replacement", "platform": system or None, "replacement": None}
        blockers.append(_blocker("unsupported_platform", "platform %r is neither Linux nor Windows: no replacement "
                                 "antivirus is known" % (platform["system"],)))

    if status == "unknown":
        errors = [e for e in (_get(_get(facts, "scan"), "errors") or []) if isinstance(e, Mapping)]
        detail = "; ".join("%s: %s" % (_text(_get(e, "section")), _text(_get(e, "message"))) for e in errors[:5])
        blockers.append(_blocker("incomplete_scan", "the scan could not read a source needed to call the host "
                                 "clean%s" % (" (%s)" % detail if detail else "")))

    # 2. One removal per product, protection first, management last; leftovers are cleanup.
    removes, cleanups = [], []
    for finding in sorted(findings, key=_finding_key):
        removal = finding["removal"]
        method = removal.get("method")
        vendor, product = finding["vendor"], finding["product"]
        action = {
            "action": "cleanup" if product == "leftovers" else "remove",
            "vendor": vendor, "product": product, "name": finding["name"], "role": finding["role"],
            "version": finding["version"], "state": finding["state"], "method": _opt_text(method),
            "removal": removal,
        }
        if finding["holds"]:
            action["holds"] = finding["holds"]
        password = removal.get("password", "none")
        if password in ("optional", "required"):
            action["password_configured"] = _password_configured(policy["passwords"], vendor, product)
        (cleanups if product == "leftovers" else removes).append(action)
        if product == "unknown" or method == "unknown" or method not in METHODS:
            candidates = removal.get("candidates")
            blockers.append(_blocker(
                "unknown_removal", "%s %s: no known way to remove it; a human must identify it%s"
                % (vendor, product, (" (%s)" % ", ".join(_text(c) for c in candidates[:10]))
                   if isinstance(candidates, list) and candidates else ""),
                vendor=vendor, product=product))
        elif method == "manual":
            note = removal.get("note")
            blockers.append(_blocker("manual_step", "%s %s must be removed by hand%s"
                                     % (vendor, product, (": %s" % _text(note)) if note else ""),
                                     vendor=vendor, product=product))
        if password == "required" and not action.get("password_configured"):
            blockers.append(_blocker("password_required", "%s %s needs an uninstall password and none is configured "
                                     "for %s/%s or %s" % (vendor, product, vendor, product, vendor),
                                     vendor=vendor, product=product))

    # 3. Exceptions: in force -> blocker; expired -> ignored, noted.
    for exc in exceptions:
        if exc["expires"] >= today:
            blockers.append(_blocker("exception", "exception until %s: %s" % (exc["expires"], exc["reason"]),
                                     expires=exc["expires"]))
        else:
            notes.append("exception expired on %s and is ignored: %s" % (exc["expires"], exc["reason"]))

    # 3b. Vendor-wide work on Linux: one cleanup action per vendor (its leftovers finding's, or an
    #     empty recipe), carrying the vendor's own directories and repository patterns.
    host_vendors = sorted({f["vendor"] for f in findings}, key=_natural_key_cached)
    blocked_names = []
    if system == "linux":
        for vendor in host_vendors:
            profile = (vendors.get(vendor) or {}).get("linux")
            if profile is None:
                continue
            cleanup = next((a for a in cleanups if a["vendor"] == vendor), None)
            if cleanup is None:
                cleanup = {"action": "cleanup", "vendor": vendor, "product": "leftovers", "name": None, "role": None,
                           "version": None, "state": None, "method": "residue", "removal": {"method": "residue"}}
                cleanups.append(cleanup)
            cleanup["vendor_dirs"] = profile["dirs"]
            cleanup["repo_patterns"] = profile["repos"]
            blocked_names.extend(profile["packages"])

    packages, codes, absent = [], [], []
    reboot = False
    for action in removes + cleanups:
        if action["state"] is None:  # the vendor-wide cleanup of a host without a leftovers finding
            continue
        removal = action["removal"]
        if action["method"] == "package":
            packages.extend(p for p in removal.get("packages") or [] if isinstance(p, str))
        if action["method"] == "msi":
            codes.extend(c for c in removal.get("product_codes") or [] if isinstance(c, str))
        reboot = reboot or removal.get("reboot") is True
        absent.append({"vendor": action["vendor"], "product": action["product"]})

    actions = [install] + removes + cleanups
    actions.append({"action": "block_reinstall",
                    "vendors": host_vendors,
                    "packages": sorted(set(packages) | set(blocked_names), key=_natural_key_cached),
                    "product_codes": sorted(set(codes), key=_natural_key_cached)})
    actions.append({"action": "verify", "replacement": replacement, "reboot": reboot, "absent": absent})
    actions = [dict({"step": step}, **action) for step, action in enumerate(actions, 1)]

    expect = sorted(({"vendor": f["vendor"], "product": f["product"], "version": f["version"], "state": f["state"]}
                     for f in findings),
                    key=lambda e: (e["vendor"], e["product"], _none_last(e["version"]), e["state"]))
    order = {kind: rank for rank, kind in enumerate(BLOCKER_KINDS)}
    blockers.sort(key=lambda b: order[b["kind"]])
    return {
        "status": status,
        "platform": platform,
        "wave": None,
        "scanned_at": _opt_text(_get(facts, "scanned_at")),
        "management": any(f["role"] == "management" for f in findings),
        "reboot": reboot,
        "replacement": replacement,
        "expect": expect,
        "actions": actions,
        "blockers": blockers,
        "notes": notes,
    }


def _template_key(facts):
    """What :func:`_plan_host` reads of ``facts`` besides ``scanned_at`` (the platform, the findings,
    the status and, for an ``unknown`` status, the scan's errors), as a key equal for equal plain
    data of the same types (``marshal`` format 2); ``None`` when ``facts`` is not such data."""
    if facts.__class__ is not dict:
        return None
    status = facts.get("status")
    scan = facts.get("scan")
    try:
        return marshal.dumps([facts.get("platform"), facts.get("findings"), status,
                              scan.get("errors") if status == "unknown" and isinstance(scan, dict) else None], 2)
    except ValueError:  # not plain data (tagged text, dates ...)
        return None


def _plan_host_shared(facts, policy, exceptions, today, vendors, shared, templates):
    """:func:`_plan_host`, made once for the hosts without exceptions whose facts are equal but for
    ``scanned_at`` (``templates``: a dict kept for one plan): each such host's entry is a dict of
    its own (its ``wave`` is set later) sharing the template's values, which nothing changes once
    planned. Most of a fleet repeats a few sets of findings."""
    key = None if exceptions or templates is None else _template_key(facts)
    if key is None:
        return _plan_host(facts, policy, exceptions, today, vendors, shared)
    template = templates.get(key)
    if template is None:
        template = templates[key] = _plan_host(facts, policy, exceptions, today, vendors, shared)
        return dict(template)
    entry = dict(template)
    entry["scanned_at"] = _opt_text(_get(facts, "scanned_at"))
    return entry


# ------------------------------------------------------------------------------------ waves


def _canary(candidates, count):
    """Up to ``count`` ready hosts, taken in turn from each platform (natural order within)."""
    if count <= 0:
        return []
    by_platform = {}
    for name, entry in candidates:
        if not entry["blockers"]:
            by_platform.setdefault((entry["platform"]["system"] or "").lower(), []).append(name)
    queues = [by_platform[p] for p in sorted(by_platform)]
    chosen = []
    index = 0
    while len(chosen) < count and any(index < len(q) for q in queues):
        for queue in queues:
            if index < len(queue) and len(chosen) < count:
                chosen.append(queue[index])
        index += 1
    return chosen


def _assign_waves(planned, groups, waves_policy, notes):
    """``planned``: [(name, entry)] in natural order. Returns the ordered wave list."""
    management = [name for name, entry in planned if entry["management"]]
    rest = [(name, entry) for name, entry in planned if not entry["management"]]
    waves = []
    canary = _canary(rest, waves_policy["canary"])
    if waves_policy["canary"] and not canary and rest:
        notes.append("no canary wave: no host without blockers to take it")
    if canary:
        waves.append({"name": "canary", "kind": "canary", "hosts": sorted(canary, key=natural_key)})
    taken = set(canary)
    remaining = [name for name, dummy in rest if name not in taken]

    def chunks(size, kind):
        for start in range(0, len(remaining), size):
            waves.append({"name": "wave-%d" % (start // size + 1), "kind": kind,
                          "hosts": remaining[start:start + size]})

    if "size" in waves_policy:
        chunks(waves_policy["size"], "size")
    elif "percent" in waves_policy:
        if remaining:
            chunks(max(1, int(math.ceil(len(remaining) * waves_policy["percent"] / 100.0))), "percent")
    elif "by_group" in waves_policy:
        left = remaining
        for group in waves_policy["by_group"]:
            members = [name for name in left if group in groups.get(name, ())]
            if not members:
                notes.append("waves.by_group: no planned host in group %s" % group)
                continue
            waves.append({"name": "group-%s" % group, "kind": "group", "group": group, "hosts": members})
            chosen = set(members)
            left = [name for name in left if name not in chosen]
        if left:
            waves.append({"name": "remaining", "kind": "remaining", "hosts": left})
    elif remaining:
        waves.append({"name": "wave-1", "kind": "all", "hosts": remaining})
    if management:
        waves.append({"name": "management", "kind": "management", "hosts": management})
    return waves


# ------------------------------------------------------------------------------------- plan


def _directive(start):
    out = {"name": DIRECTIVE, "start": start}
    begin = datetime.date.fromisoformat(start) if start else None
    for key, days in DIRECTIVE_DAYS:
        out[key] = (begin + datetime.timedelta(days=days)).isoformat() if begin else None
    return out


def _selector_input(name, groups, facts):
    return {
        "host": name,
        "groups": list(groups),
        "status": _text(_get(facts, "status")),
        "platform": _platform(_get(facts, "platform")),
        "findings": to_jsonable_fast(_get(facts, "findings") or []),
        "scanned_at": _opt_text(_get(facts, "scanned_at")),
    }


def _groups_of(entry):
    groups = _get(entry, "groups") or ()
    if isinstance(groups, str):
        groups = (groups,)
    return sorted({_text(g) for g in groups if g not in (None, "all")}, key=_natural_key_cached)


def build_plan(hosts, policy, *, now, vendors=None):
    """Return the plan document for ``hosts`` under ``policy`` at time ``now``
    (see :func:`build_plan_parts`)."""
    return build_plan_parts(hosts, policy, now=now, vendors=vendors)[0]


def build_plan_parts(hosts, policy, *, now, vendors=None):
    """Return ``(plan, {host: canonical JSON of its entry})``: the plan document for ``hosts``
    under ``policy`` at time ``now``, and the per-host pieces its digest was computed from.

    ``hosts``: ``{name: {"divest": facts or None, "groups": [...], "error": ... or None}}``
    (a value of ``None``: a name the inventory does not know), or an iterable of such
    ``(name, value)`` pairs with distinct names (read one at a time: see :class:`Planner`).
    ``policy``: see :func:`normalize_policy`. ``now``: aware datetime or ISO 8601 text; it
    decides which findings are too old and which exceptions are in force, and is the
    ``generated_at``.

    Each host lands in exactly one of: a wave (``hosts`` map; affected, residual or
    unknown-status hosts the selector selects), ``clean``, ``not_selected`` or
    ``not_scanned``. Raises :class:`PolicyError` for an unusable policy or a selector that
    fails on a host. ``vendors``: what the catalogs say of each vendor as a whole
    (:func:`normalize_vendors`).
    """
    planner = Planner(policy, now=now, vendors=vendors)
    if isinstance(hosts, Mapping):
        hosts = {_text(n): v for n, v in hosts.items()}.items()
    for name, entry in hosts:
        planner.add(name, entry)
    return planner.finish()


class Planner(object):
    """:func:`build_plan_parts` one host at a time: :meth:`add` each host (distinct names, any
    order), then :meth:`finish`. Each host's facts are reduced to its place in the plan as it
    is added, so a fleet's findings need not be in memory at once; the document is the same
    whatever the order of the hosts. :meth:`stale` gives the hosts :func:`stale_hosts` would.
    Raises :class:`PolicyError` as :func:`build_plan_parts` does (a failing selector: in
    :meth:`finish`, for the first such host in natural order)."""

    def __init__(self, policy, *, now, vendors=None):
        self.policy = normalize_policy(policy)
        self.vendors = normalize_vendors(vendors)
        self.now = _now(now)
        self.today = self.now.date().isoformat()
        self.selector = compile_selector(self.policy["selector"])
        self.by_host = {}
        for exc in self.policy["exceptions"]:
            self.by_host.setdefault(exc["host"], []).append(exc)
        self.count = 0
        self.planned, self.groups_of = [], {}
        self.clean, self.not_selected, self.not_scanned = [], [], []
        self.selector_errors = []
        self.shared = {}
        self.templates = {}

    def add(self, name, entry):
        """Place host ``name`` (``entry``: ``{"divest", "groups", "error"}`` or ``None``)."""
        name = _text(name)
        policy = self.policy
        self.count += 1
        facts, reason = scan_state(entry, policy["max_age_seconds"], self.now)
        if facts is None:
            divest = _get(entry, "divest")
            self.not_scanned.append({"host": name, "reason": reason,
                                     "scanned_at": _opt_text(_get(divest, "scanned_at")),
                                     "error": _error_text(_get(entry, "error"))})
            return
        if _get(facts, "status") == "clean":
            self.clean.append(name)
            return
        groups = _groups_of(entry)
        if self.selector is not None:
            try:
                chosen = self.selector.search(_selector_input(name, groups, facts))
            except JMESPathError as exc:
                self.selector_errors.append((name, " ".join(_text(exc).split())))
                return
            if not chosen:
                self.not_selected.append(name)
                return
        self.groups_of[name] = groups
        self.planned.append((name, _plan_host_shared(facts, policy, self.by_host.get(name, ()), self.today, self.vendors,
                                                     self.shared, self.templates)))

    #: What :meth:`export` hands over, besides the count.
    _STATE = ("planned", "groups_of", "clean", "not_selected", "not_scanned", "selector_errors")

    def export(self):
        """The hosts placed so far, as picklable data for :meth:`absorb` (a planner in another
        process adding its share of a fleet)."""
        return dict({key: getattr(self, key) for key in self._STATE}, count=self.count)

    def absorb(self, state):
        """Take over the hosts another planner with the same policy placed (:meth:`export`)."""
        self.count += state["count"]
        self.groups_of.update(state["groups_of"])
        for key in ("planned", "clean", "not_selected", "not_scanned", "selector_errors"):
            getattr(self, key).extend(state[key])

    def stale(self):
        """The hosts added so far that need a scan before planning (:func:`stale_hosts`)."""
        return sorted((item["host"] for item in self.not_scanned), key=natural_key)

    def finish(self):
        """``(plan, {host: canonical JSON of its entry})``, see :func:`build_plan_parts`."""
        policy, today = self.policy, self.today
        if self.selector_errors:
            name, text = min(self.selector_errors, key=lambda item: natural_key(item[0]))
            raise PolicyError("selector %r failed on host %s: %s" % (policy["selector"], name, text))
        planned = sorted(self.planned, key=lambda item: natural_key(item[0]))
        clean = sorted(self.clean, key=natural_key)
        not_selected = sorted(self.not_selected, key=natural_key)
        not_scanned = sorted(self.not_scanned, key=lambda item: natural_key(item["host"]))
        notes = []
        waves = _assign_waves(planned, self.groups_of, policy["waves"], notes)
        entries = dict(planned)
        for wave in waves:
            for name in wave["hosts"]:
                entries[name]["wave"] = wave["name"]

        state = {}
        for name, dummy in planned:
            state[name] = "planned"
        state.update((n, "clean") for n in clean)
        state.update((n, "not_selected") for n in not_selected)
        state.update((e["host"], "not_scanned") for e in not_scanned)
        exceptions = []
        for exc in policy["exceptions"]:
            host_state = state.get(exc["host"], "not_in_run")
            exceptions.append(dict(exc, state="in_force" if exc["expires"] >= today else "expired",
                                   host_state=host_state))
            if host_state != "planned":
                notes.append("exception for %s has no effect: the host is %s"
                             % (exc["host"], host_state.replace("_", " ")))

        document = {
            "schema": SCHEMA,
            "kind": KIND,
            "digest": None,
            "generated_at": _iso(self.now),
            "directive": _directive(policy["directive_start"]),
            "policy": policy,
            "summary": _summary(self.count, planned, waves, clean, not_selected, not_scanned, exceptions),
            "waves": waves,
            "hosts": entries,
            "clean": clean,
            "not_selected": not_selected,
            "not_scanned": not_scanned,
            "exceptions": exceptions,
            "notes": notes,
        }
        parts = host_json(entries)
        document["digest"] = digest(document, parts)
        return document, parts


def _summary(total, planned, waves, clean, not_selected, not_scanned, exceptions):
    entries = dict(planned)
    blocked = sum(1 for dummy, e in planned if e["blockers"])
    by_status = dict.fromkeys(PLANNED_STATUSES, 0)
    by_platform = {}
    blockers = dict.fromkeys(BLOCKER_KINDS, 0)
    blockers["not_scanned"] = len(not_scanned)
    products = {}
    reboots = 0
    for name, entry in planned:
        by_status[entry["status"]] = by_status.get(entry["status"], 0) + 1
        system = (entry["platform"]["system"] or "other").lower()
        by_platform[system] = by_platform.get(system, 0) + 1
        reboots += entry["reboot"]
        for kind in {b["kind"] for b in entry["blockers"]}:
            blockers[kind] += 1
        seen = {}
        for action in entry["actions"]:
            if action["action"] not in ("remove", "cleanup") or action["state"] is None:
                continue
            key = (action["vendor"], action["product"])
            seen[key] = seen.get(key) or action["state"] == "installed"
            if key not in products:
                products[key] = {"vendor": key[0], "product": key[1], "name": action["name"], "role": action["role"],
                                 "hosts": 0, "installed": 0, "residual": 0, "blocked": 0, "by_wave": {}}
        for key, installed in seen.items():
            prod = products[key]
            prod["hosts"] += 1
            prod["installed" if installed else "residual"] += 1
            prod["blocked"] += bool(entry["blockers"])
            prod["by_wave"][entry["wave"]] = prod["by_wave"].get(entry["wave"], 0) + 1
    wave_rank = {w["name"]: i for i, w in enumerate(waves)}
    for prod in products.values():
        prod["by_wave"] = dict(sorted(prod["by_wave"].items(), key=lambda item: wave_rank.get(item[0], len(waves))))
    by_product = [products[k] for k in sorted(
        products, key=lambda k: (ROLE_RANK.get(products[k]["role"], len(ROLES)), natural_key(k[0]), natural_key(k[1])))]
    by_wave = []
    for wave in waves:
        stuck = sum(1 for n in wave["hosts"] if entries[n]["blockers"])
        by_wave.append({"name": wave["name"], "kind": wave["kind"], "hosts": len(wave["hosts"]),
                        "ready": len(wave["hosts"]) - stuck, "blocked": stuck})
    return {
        "hosts": {"total": total, "planned": len(planned), "ready": len(planned) - blocked, "blocked": blocked,
                  "clean": len(clean), "not_selected": len(not_selected), "not_scanned": len(not_scanned)},
        "by_status": by_status,
        "by_platform": dict(sorted(by_platform.items())),
        "by_wave": by_wave,
        "by_product": by_product,
        "blockers": blockers,
        "exceptions": {"in_force": sum(1 for e in exceptions if e["state"] == "in_force"),
                       "expired": sum(1 for e in exceptions if e["state"] == "expired")},
        "reboots": reboots,
    }


# ----------------------------------------------------------------------------------- digest
#
# The digest commits to every host's entry through a hash tree, so that one host's part, read
# alone from the fact cache (AWX), can be checked against the approved digest without the rest of
# the plan: the part carries its own entry and the sibling hashes up to the root (its proof).
#
#   leaf(host)   = sha256(0x00 || canonical JSON of the host name || 0x3a || canonical JSON of its entry)
#   node(l, r)   = sha256(0x01 || l || r)      levels built left to right over the leaves in the
#                                              code-point order of the host names; an odd last node
#                                              moves up unchanged
#   body         = sha256(canonical JSON of the document without digest, generated_at and hosts)
#   digest       = "sha256:" + hex(sha256(canonical JSON of {"body": hex(body), "hosts": n, "root": hex(root)}))
#
# canonical JSON: json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False),
# UTF-8. With no host, root is sha256 of the empty string.

_EMPTY_ROOT = hashlib.sha256(b"").digest()


def _dumps(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def canonical_json(value):
    """``value`` as the canonical JSON text the digest is computed over (sorted keys, compact,
    not ASCII-escaped; ``ValueError`` for NaN / infinity, ``TypeError`` for what is not JSON)."""
    return _dumps(value)


def host_json(hosts):
    """``{name: canonical JSON of the host's entry}``: the leaves of the digest.

    Serialising each host once lets the action reuse the same text for the digest and for
    ``divest-plan.json`` / ``divest-plan.yml`` (one host per line). Hosts planned from one
    template (:func:`_plan_host_shared`: the same objects but for ``scanned_at`` and ``wave``)
    share the text of those objects, serialised once."""
    memo = {}
    out = {}
    for name, entry in hosts.items():
        key = _shared_key(entry)
        if key is None:
            out[name] = _dumps(entry)
            continue
        head = memo.get(key)
        if head is None:
            # what _dumps gives for these members, sorted before scanned_at, status and wave; the
            # objects are kept with it (their ids are the key)
            head = memo[key] = (_dumps({k: entry[k] for k in _SHARED_MEMBERS})[:-1], [entry[k] for k in _SHARED_MEMBERS])
        out[name] = '%s,"scanned_at":%s,"status":%s,"wave":%s}' % (
            head[0], _dumps(entry["scanned_at"]), _dumps(entry["status"]), _dumps(entry["wave"]))
    return out


#: A planned host's members that hosts of one template share (sorted: all come before
#: ``scanned_at``, ``status`` and ``wave``, the host's own).
_SHARED_MEMBERS = ("actions", "blockers", "expect", "management", "notes", "platform", "reboot", "replacement")
_ENTRY_MEMBERS = frozenset(_SHARED_MEMBERS + ("scanned_at", "status", "wave"))


def _shared_key(entry):
    """The key of :func:`host_json`'s memo for ``entry``: the identity of its shared members
    (the values of the plain ones), or ``None`` for an entry of another shape."""
    if entry.__class__ is not dict or len(entry) != len(_ENTRY_MEMBERS) or not _ENTRY_MEMBERS.issuperset(entry):
        return None
    management, reboot, replacement = entry["management"], entry["reboot"], entry["replacement"]
    if management.__class__ is not bool or reboot.__class__ is not bool \
            or not (replacement is None or replacement.__class__ is str):
        return None
    return (id(entry["actions"]), id(entry["blockers"]), id(entry["expect"]), management, id(entry["notes"]),
            id(entry["platform"]), reboot, replacement)


def leaf_hash(name, entry_json):
    """The leaf of host ``name`` whose entry serialises to ``entry_json`` (bytes)."""
    return hashlib.sha256(b"\x00" + _dumps(name).encode("utf-8") + b":" + entry_json.encode("utf-8")).digest()


def _node(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def _levels(hosts_json):
    """``(names, levels)``: the host names in code-point order and every level of the hash tree
    over their leaves, from the leaves (``levels[0]``) up to the root (``levels[-1]``, one node;
    no level without a host). 2n hashes in all: each host's proof is read from them when asked
    (:func:`_proof`), not built for every host at once."""
    names = sorted(hosts_json)
    level = [leaf_hash(name, hosts_json[name]) for name in names]
    levels = [level]
    while len(level) > 1:
        up = [_node(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            up.append(level[-1])
        levels.append(up)
        level = up
    return names, (levels if names else [])


def _proof(levels, index):
    """The proof of the leaf at ``index``: ``["L:<hex>" | "R:<hex>", ...]``, the sibling hash at
    each level and on which side (an odd last node, which moves up unchanged, has none)."""
    path = []
    for level in levels[:-1]:
        if index % 2:
            path.append("L:" + level[index - 1].hex())
        elif index + 1 < len(level):
            path.append("R:" + level[index + 1].hex())
        index //= 2
    return path


def _tree(hosts_json, with_proofs=False):
    """``(root, {name: proof})``: the root over the hosts' leaves and, when asked, each host's
    proof (:func:`_proof`)."""
    names, levels = _levels(hosts_json)
    if not names:
        return _EMPTY_ROOT, {}
    proofs = {name: _proof(levels, index) for index, name in enumerate(names)} if with_proofs else None
    return levels[-1][0], proofs


def _body_hash(document):
    body = {k: v for k, v in document.items() if k not in ("digest", "generated_at", "hosts")}
    return hashlib.sha256(_dumps(body).encode("utf-8")).hexdigest()


def _commit(body_hex, count, root):
    top = _dumps({"body": body_hex, "hosts": count, "root": root.hex()})
    return "sha256:" + hashlib.sha256(top.encode("utf-8")).hexdigest()


def digest(document, hosts_json=None):
    """The plan's digest (see the rule above); ``hosts_json`` from :func:`host_json` when known."""
    hosts = document.get("hosts")
    if not isinstance(hosts, Mapping):
        raise ValueError("the plan has no hosts map")
    pieces = hosts_json if hosts_json is not None else host_json(hosts)
    root, dummy = _tree(pieces)
    return _commit(_body_hash(document), len(pieces), root)


def verify(document):
    """True when ``document`` is a plan of this schema whose ``digest`` matches its content."""
    if not isinstance(document, Mapping) or document.get("schema") != SCHEMA or document.get("kind") != KIND:
        return False
    claimed = document.get("digest")
    if not isinstance(claimed, str):
        return False
    try:
        return digest(document) == claimed
    except (TypeError, ValueError):
        return False


#: Keys of a stored part that are not the host's entry.
PART_KEYS = ("digest", "proof")


def host_parts(document, hosts_json=None):
    """``{name: part}``: what each planned host stores as its ``divest_plan`` fact.

    A part is the host's entry (exactly as in the plan's ``hosts`` map), plus ``digest`` and
    ``proof`` ``{body, hosts, path}``, which let :func:`verify_part` check it against an
    approved digest on its own."""
    hosts = document["hosts"]
    pieces = hosts_json if hosts_json is not None else host_json(hosts)
    root, proofs = _tree(pieces, with_proofs=True)
    body = _body_hash(document)
    out = {}
    for name, entry in hosts.items():
        part = dict(entry)
        part["digest"] = document["digest"]
        part["proof"] = {"body": body, "hosts": len(pieces), "path": proofs[name]}
        out[name] = part
    return out


class PartTexts(object):
    """Each planned host's part (:func:`host_parts`) as JSON text, made when asked from the
    canonical entries of :func:`host_json` (no entry serialised again) and the hash tree's levels
    (no proof built before it is needed): a fleet-wide plan stores tens of thousands of parts.

    :attr:`names`: the planned hosts in code-point order; :meth:`proof` and :meth:`text` take an
    index into it. ``json.loads`` of a text equals the host's part; its keys come in another
    order (``digest``, ``proof``, then the entry's, sorted)."""

    def __init__(self, document, hosts_json):
        self.hosts_json = hosts_json
        self.names, self._levels = _levels(hosts_json)
        self._body = _body_hash(document)
        self._head = '{"digest":%s,"proof":' % _dumps(document["digest"])
        self._hosts = document["hosts"]
        self._dumped_head = '{"digest": %s, "proof": ' % json.dumps(document["digest"])
        self._dumped_memo = {}

    def proof(self, index):
        """The ``proof`` of the host at ``index``."""
        return {"body": self._body, "hosts": len(self.names), "path": _proof(self._levels, index)}

    def text(self, index, proof=None):
        """The part of the host at ``index`` as JSON text (``proof``: :meth:`proof`, when known)."""
        entry = self.hosts_json[self.names[index]]
        if proof is None:
            # _dumps(self.proof(index)), written out: the body and the path are hex and ASCII
            proof = '{"body":"%s","hosts":%d,"path":[%s]}' % (
                self._body, len(self.names), ",".join(['"%s"' % step for step in _proof(self._levels, index)]))
        else:
            proof = _dumps(proof)
        return self._head + proof + ("," + entry[1:] if entry != "{}" else "}")

    def dumped(self, index):
        """:meth:`text` as ``json.dumps`` writes its value (default arguments: ``", "`` and ``": "``
        between items, ASCII with escapes), the keys in the same order (``digest``, ``proof``, then
        the entry's, sorted at every level): what a fact cache writer puts in its file. Hosts planned
        from one template share the text of its members (:func:`host_json`)."""
        entry = self._hosts[self.names[index]]
        key = _shared_key(entry)
        if key is None:
            body = json.dumps(entry, sort_keys=True)
        else:
            head = self._dumped_memo.get(key)
            if head is None:
                head = self._dumped_memo[key] = (
                    json.dumps({k: entry[k] for k in _SHARED_MEMBERS}, sort_keys=True)[:-1],
                    [entry[k] for k in _SHARED_MEMBERS])
            body = '%s, "scanned_at": %s, "status": %s, "wave": %s}' % (
                head[0], json.dumps(entry["scanned_at"]), json.dumps(entry["status"]), json.dumps(entry["wave"]))
        proof = '{"body": "%s", "hosts": %d, "path": [%s]}' % (
            self._body, len(self.names), ", ".join(['"%s"' % step for step in _proof(self._levels, index)]))
        return self._dumped_head + proof + (", " + body[1:] if body != "{}" else "}")


def iter_part_texts(document, hosts_json):
    """``(name, entry JSON, proof, part JSON)`` of each planned host, in code-point order of the
    names (:class:`PartTexts`)."""
    parts = PartTexts(document, hosts_json)
    for index, name in enumerate(parts.names):
        proof = parts.proof(index)
        yield name, hosts_json[name], proof, parts.text(index, proof)


def host_part(document, name):
    """The ``divest_plan`` fact of host ``name`` (see :func:`host_parts`), or ``None``."""
    if name not in document["hosts"]:
        return None
    return host_parts(document)[name]


_PROOF_STEP = re.compile(r"^[LR]:[0-9a-f]{64}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def part_entry(part):
    """The host entry inside a stored part (the part without ``digest`` and ``proof``)."""
    return {k: v for k, v in part.items() if k not in PART_KEYS}


def verify_part(name, part, approved):
    """``None`` when ``part`` (host ``name``'s ``divest_plan`` fact) is a part of the plan whose
    digest is ``approved``, as its proof shows; else why not, in a few words."""
    if not isinstance(part, Mapping):
        return "no plan part"
    proof = part.get("proof")
    if not isinstance(proof, Mapping):
        return "the part carries no proof (made by an older version: plan again)"
    body, count, path = proof.get("body"), proof.get("hosts"), proof.get("path")
    if not (isinstance(body, str) and _HEX64.match(body) and isinstance(count, int) and not isinstance(count, bool)
            and count > 0 and isinstance(path, list) and all(isinstance(s, str) and _PROOF_STEP.match(s) for s in path)):
        return "the part's proof is malformed"
    try:
        node = leaf_hash(name, _dumps(part_entry(part)))
    except (TypeError, ValueError):
        return "the part is not plain data"
    for step in path:
        sibling = bytes.fromhex(step[2:])
        node = _node(sibling, node) if step[0] == "L" else _node(node, sibling)
    if _commit(body, count, node) != approved:
        return "its content does not match the approved digest (changed after the plan was made, or from another plan)"
    return None


def compact_summary(document, max_items=50):
    """A small dict for ``set_stats``: digest, generated_at, host counts, waves (name: hosts;
    at most ``max_items``), blockers by kind, exceptions, products (``vendor/product``: hosts)."""
    summary = document["summary"]
    waves = summary["by_wave"]
    products = sorted(summary["by_product"], key=lambda p: (-p["hosts"], p["vendor"], p["product"]))
    out = {
        "digest": document["digest"],
        "generated_at": document["generated_at"],
        "hosts": dict(summary["hosts"]),
        "waves": {w["name"]: w["hosts"] for w in waves[:max_items]},
        "blockers": {k: v for k, v in summary["blockers"].items() if v},
        "exceptions": dict(summary["exceptions"]),
        "products": {"%s/%s" % (p["vendor"], p["product"]): p["hosts"] for p in products[:max_items]},
    }
    if len(waves) > max_items:
        out["waves_truncated"] = len(waves) - max_items
    if len(products) > max_items:
        out["products_truncated"] = len(products) - max_items
    return out
