# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The plan document as files: JSON (machines), YAML, Markdown and one self-contained HTML page.

Controller side, pure functions of the plan document (``_planner.build_plan``), no Ansible
imports. Every value taken from the plan is host-controlled text and goes through the one text
safety layer of ``_report``: HTML is built with its toolkit (escaping, tables, page with its
Content-Security-Policy), Markdown shows each value as a code span (``md_code``), JSON and YAML
write invisible characters as escapes (``escape_invisible``). The HTML page and the Markdown
list what execute will delete and change, one entry per distinct removal recipe
(:func:`recipe_groups`).

Fleet scale: a plan of 10,000 hosts is written in well under a second per format. Per-host
JSON is serialised once (``_planner.host_json``) and reused for the digest, ``divest-plan.json``
and ``divest-plan.yml`` (one host per line, so plans diff and grep well); HTML and Markdown rows are
memoised by what they show, because most hosts of a fleet share a few action lists.
"""

from __future__ import annotations

import json
import re

from ansible_collections.fleetsec.divest.plugins.plugin_utils import _planner
from ansible_collections.fleetsec.divest.plugins.plugin_utils._report import (
    BASE_CSS,
    INVISIBLE,
    Cell,
    Column,
    Markup,
    badge,
    cards,
    clean_text,
    definition_list,
    details,
    esc,
    escape_invisible,
    md_code,
    natural_key,
    page,
    section,
    sortable_table,
    table,
    tag,
)

FORMATS = ("json", "yml", "html", "md")
FILENAMES = {"json": "divest-plan.json", "yml": "divest-plan.yml", "html": "divest-plan.html", "md": "divest-plan.md"}

REPLACEMENT_TEXT = {"clamav": "ClamAV", "defender": "Microsoft Defender Antivirus", "none": "none"}
BLOCKER_TEXT = {
    "not_scanned": ("Not scanned", "No findings, findings older than the maximum age, or the scan failed. "
                                   "Scan the host (the plan playbook does, unless scanning is off) and plan again."),
    "incomplete_scan": ("Incomplete scan", "A source needed to call the host clean could not be read (the package "
                                           "database, the vendor's paths or repository files, the Uninstall keys). "
                                           "Fix the scan errors, rescan, plan again."),
    "unsupported_platform": ("Unsupported platform", "Neither Linux nor Windows: no replacement is known."),
    "no_replacement": ("No replacement", "The policy installs no replacement antivirus and gives no waiver."),
    "unknown_removal": ("Unknown product", "Vendor software that no catalog entry describes: identify it and "
                                           "add it to the catalog, or remove it by hand and rescan."),
    "manual_step": ("Manual step", "The recipe needs a human (vendor uninstaller, Safe Mode, "
                                   "decommissioning). Do it, rescan, plan again."),
    "password_required": ("Password required", "The product is protected by an uninstall password and none "
                                               "is configured (divest_uninstall_passwords)."),
    "exception": ("Exception", "An exception in force holds the host until it expires."),
}
ACTION_TEXT = {"install_replacement": "Install the replacement", "remove": "Remove", "cleanup": "Clean up",
               "block_reinstall": "Block reinstallation", "verify": "Verify"}


# -------------------------------------------------------------------------------------- JSON

def _dump_pretty(value, indent):
    text = json.dumps(value, indent=2, ensure_ascii=False, allow_nan=False)
    return text.replace("\n", "\n" + " " * indent)


def _host_items(document, host_json):
    """``(name as JSON, entry as canonical JSON)`` per host, in document order (natural order)."""
    if host_json is None:
        host_json = _planner.host_json(document["hosts"])
    for name in document["hosts"]:
        yield json.dumps(name, ensure_ascii=False), host_json[name]


def render_json(document, host_json=None):
    """``divest-plan.json``: top-level keys pretty-printed, one host per line (compact, sorted keys)."""
    out = ["{"]
    keys = list(document)
    for index, key in enumerate(keys):
        comma = "," if index < len(keys) - 1 else ""
        if key == "hosts" and document["hosts"]:
            out.append('  "hosts": {')
            out.append(",\n".join("    %s: %s" % item for item in _host_items(document, host_json)))
            out.append("  }" + comma)
        else:
            out.append("  %s: %s%s" % (json.dumps(key), _dump_pretty(document[key], 2), comma))
    out.append("}")
    return (escape_invisible("\n".join(out)) + "\n").encode("utf-8")


# -------------------------------------------------------------------------------------- YAML

# Characters a YAML parser refuses raw (or folds) in a double-quoted scalar, and the invisible
# ones (_report.INVISIBLE): written escaped.
_YAML_UNSAFE = re.compile("%s|[\ufffe\uffff]" % INVISIBLE.pattern)
_YAML_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_./-]*$")
_YAML_RESERVED = frozenset(("y", "n", "yes", "no", "on", "off", "true", "false", "null", "nan", "inf"))


def _yaml_escape(match):
    code = ord(match.group(0))
    return "\\u%04x" % code if code <= 0xFFFF else "\\U%08x" % code


def _yaml_fix(text):
    """Escape what :data:`_YAML_UNSAFE` matches; it only occurs inside double-quoted scalars
    (plain scalars are ASCII), where ``\\uXXXX`` / ``\\UXXXXXXXX`` mean the character itself."""
    if not text.isascii() or "\x7f" in text:
        text = _YAML_UNSAFE.sub(_yaml_escape, text)
    return text


def _yaml_scalar(value):
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if _YAML_PLAIN.match(value) and value.lower() not in _YAML_RESERVED:
        return value
    return _yaml_fix(json.dumps(value, ensure_ascii=False))


def _yaml_block(value, indent, out):
    pad = " " * indent
    if isinstance(value, dict):
        for key, item in value.items():
            head = "%s%s:" % (pad, _yaml_scalar(key))
            if isinstance(item, (dict, list)) and item:
                out.append(head)
                _yaml_block(item, indent + 2, out)
            else:
                out.append("%s %s" % (head, _yaml_empty(item)))
    else:
        for item in value:
            if isinstance(item, dict) and item:
                inner = []
                _yaml_block(item, indent + 2, inner)
                inner[0] = pad + "- " + inner[0][indent + 2:]
                out.extend(inner)
            elif isinstance(item, list) and item:
                inner = []
                _yaml_block(item, indent + 2, inner)
                inner[0] = pad + "- " + inner[0][indent + 2:]
                out.extend(inner)
            else:
                out.append("%s- %s" % (pad, _yaml_empty(item)))


def _yaml_empty(value):
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return _yaml_scalar(value)


def render_yaml(document, host_json=None):
    """``divest-plan.yml``: the same document as YAML; block style, one host per line (flow style)."""
    out = ["---", "# fleetsec.divest plan %s (docs/plan.md). Generated; do not edit: the digest would not match."
           % document.get("digest")]
    for key, value in document.items():
        if key == "hosts" and value:
            out.append("hosts:")
            out.extend(_yaml_fix("  %s: %s" % item) for item in _host_items(document, host_json))
        elif isinstance(value, (dict, list)) and value:
            out.append("%s:" % key)
            _yaml_block(value, 2, out)
        else:
            out.append("%s: %s" % (key, _yaml_empty(value)))
    return ("\n".join(out) + "\n").encode("utf-8")


# ------------------------------------------------------------------------------- shared text
#
# Text for people is built from our own words and values taken from the plan (host names,
# products, packages, paths, reasons: host-controlled, and the plan file may have been edited).
# Functions that build such text take ``fmt(value, limit)``, which makes one value safe for the
# target: :func:`_plain` for HTML (the toolkit escapes the whole string afterwards), ``md`` for
# Markdown (a code span). Our own words are plain ASCII prose without markup characters.

def _plain(value, limit=200):
    """A plan value as display text (escaped later by the HTML toolkit)."""
    return clean_text(value, limit)


def md(value, limit=300):
    """A plan value for Markdown, in a table cell: a code span (:func:`_report.md_code`)."""
    return md_code(value, limit)


def _md_line(value, limit=300):
    """A plan value for Markdown outside a table (``|`` stays as it is)."""
    return md_code(value, limit, cell=False)


_MD_SPECIAL = re.compile(r"([\\`*_\[\]|<>#~$&])")


def _md_words(value):
    """Our own words (labels, explanations) for Markdown: markup characters escaped."""
    return _MD_SPECIAL.sub(r"\\\1", clean_text(value, None))


def _product_label(action):
    name = action.get("name") or action.get("product")
    version = action.get("version")
    return "%s %s" % (name, version) if version else name


def _items(value):
    """``value`` if it is a list, else ``[]`` (a plan file may have been edited)."""
    return value if isinstance(value, list) else []


def _list_text(values, limit=6, fmt=_plain):
    values = [fmt(v, 200) for v in _items(values) if v is not None]
    if len(values) > limit:
        return "%s and %d more" % (", ".join(values[:limit]), len(values) - limit)
    return ", ".join(values)


def action_text(action, fmt=_plain):
    """One line for people: what a plan action does. Plan values go through ``fmt`` (default:
    plain text, not escaped)."""
    kind = action.get("action")
    removal = action.get("removal") if isinstance(action.get("removal"), dict) else {}
    if kind == "install_replacement":
        replacement = action.get("replacement")
        if replacement is None:
            return "No replacement antivirus known for this platform"
        if replacement == "none":
            waiver = action.get("waiver")
            return "No replacement antivirus (%s)" % (("waiver: %s" % fmt(waiver, 200)) if waiver else "no waiver")
        known = REPLACEMENT_TEXT.get(replacement) if isinstance(replacement, str) else None
        return "Install and start %s" % (known or fmt(replacement, 80))
    if kind in ("remove", "cleanup"):
        method = action.get("method")
        label = fmt(_product_label(action), 200)
        verb = "Remove" if kind == "remove" else "Clean up"
        if action.get("state") == "residual" and kind == "remove":
            label += " (residual)"
        if kind == "cleanup" and action.get("vendor") and action.get("state") is None:
            label = "%s leftovers" % fmt(action.get("vendor"), 80)  # the vendor-wide cleanup
        if method == "package":
            packages = removal.get("packages")
            detail = "packages %s" % _list_text(packages, fmt=fmt) if packages else "package"
        elif method == "msi":
            detail = "Windows Installer, %d product code(s)" % len(_items(removal.get("product_codes")))
        elif method == "residue":
            parts = []
            for key, what in (("residue", "path(s)"), ("residue_files", "file(s)")):
                if _items(removal.get(key)):
                    parts.append("%d %s" % (len(removal[key]), what))
            if _items(removal.get("repo_files")):
                parts.append("repository files %s" % _list_text(removal["repo_files"], 3, fmt))
            if _items(removal.get("config_edits")):
                parts.append("%d configuration edit(s)" % len(removal["config_edits"]))
            if _items(action.get("repo_patterns")):
                parts.append("the vendor's repository entries")
            detail = "delete " + (", ".join(parts) or "leftovers")
        elif method == "manual":
            detail = "by hand: %s" % fmt(removal.get("note") or "see the catalog", 300)
        else:
            detail = "unknown method%s" % ((": %s" % _list_text(removal.get("candidates"), 3, fmt))
                                           if _items(removal.get("candidates")) else "")
        extra = []
        if removal.get("password") in ("optional", "required"):
            extra.append("password %s, %s" % (removal["password"],
                                              "configured" if action.get("password_configured") else "none configured"))
        if _items(action.get("holds")):
            extra.append("%d package hold(s) released" % len(action["holds"]))
        if removal.get("reboot"):
            extra.append("reboot")
        return "%s %s: %s%s" % (verb, label, detail, (" (%s)" % "; ".join(extra)) if extra else "")
    if kind == "block_reinstall":
        parts = []
        if _items(action.get("packages")):
            parts.append("pin out %s" % _list_text(action["packages"], fmt=fmt))
        if _items(action.get("product_codes")):
            parts.append("%d product code(s)" % len(action["product_codes"]))
        if _items(action.get("vendors")):
            parts.append("vendor %s" % _list_text(action["vendors"], fmt=fmt))
        return "Block reinstallation%s" % ((": " + "; ".join(parts)) if parts else "")
    if kind == "verify":
        return "Verify: rescan, vendor products gone, replacement healthy%s" % (
            " (after a reboot)" if action.get("reboot") else "")
    return fmt(kind, 80)


def _hosts_key(entry, entry_json=None):
    """Memo key of a host's action list: the actions' canonical JSON.

    ``entry_json`` is the host's canonical JSON (sorted keys, so it starts with
    ``{"actions":[...],"blockers":``); a JSON string never holds a bare ``"``, and no key
    after the top-level ``blockers`` is called ``blockers``, so the last ``],"blockers":``
    ends the actions. Without it the actions are serialised again."""
    if entry_json is not None:
        end = entry_json.rfind('],"blockers":')
        if entry_json.startswith('{"actions":[') and end > 0:
            return entry_json[11:end + 1]
    return json.dumps(entry["actions"], sort_keys=True, separators=(",", ":"), ensure_ascii=False)


_TIME = re.compile(r"^(\d{4}-\d\d-\d\d)T(\d\d:\d\d)(:\d\d(\.\d+)?)?(Z|[+-]00:?00)$")


def _fmt_time(value, fmt=_plain):
    """``2026-11-28T12:00:00Z`` -> ``2026-11-28 12:00 UTC``; anything else through ``fmt``."""
    if not value:
        return ""
    match = _TIME.match(value) if isinstance(value, str) else None
    return "%s %s UTC" % (match.group(1), match.group(2)) if match else fmt(value, 80)


def _plural(count, word, plural=None):
    return "%d %s" % (count, word if count == 1 else (plural or word + "s"))


def _platform_text(platform):
    platform = platform or {}
    return " ".join(clean_text(p, 80) for p in (platform.get("distribution") or platform.get("system"),
                                                platform.get("version")) if p)


def _directive_rows(document, fmt=_plain):
    directive = document["directive"]
    rows = [("Directive", fmt(directive["name"], 80))]
    labels = (("start", "Start (day 0)"), ("identify_by", "Identify by (day 30)"),
              ("plan_by", "Plan by (day 60)"), ("remove_from", "Begin removal (day 90)"))
    for key, label in labels:
        rows.append((label, fmt(directive[key], 40) if directive[key]
                     else "not set (%s)" % fmt("divest_directive_start", 40)))
    return rows


def _waves_policy_text(waves, fmt=_plain):
    parts = []
    if waves.get("canary"):
        parts.append("canary of %s" % _plural(waves["canary"], "host"))
    if "size" in waves:
        parts.append("then waves of %s" % _plural(waves["size"], "host"))
    elif "percent" in waves:
        parts.append("then waves of %s%% of the remaining hosts" % fmt(waves["percent"], 20))
    elif "by_group" in waves:
        parts.append("then one wave per group: %s, then the remaining hosts" % _list_text(waves["by_group"], 50, fmt))
    else:
        parts.append("then one wave")
    parts.append("management servers last")
    return ", ".join(parts)


def _replacement_policy(policy, platform, fmt):
    choice = policy["replacement"][platform]
    waiver = policy["replacement_waiver"][platform]
    known = REPLACEMENT_TEXT.get(choice) if isinstance(choice, str) else None
    return "%s%s" % (known or fmt(choice, 80), (" \u2014 waiver: %s" % fmt(waiver, 600)) if waiver else "")


def _policy_rows(policy, fmt=_plain):
    rows = [
        ("Replacement (Linux)", _replacement_policy(policy, "linux", fmt)),
        ("Replacement (Windows)", _replacement_policy(policy, "windows", fmt)),
        ("Waves", _waves_policy_text(policy["waves"], fmt)),
        ("Findings older than", fmt(policy["max_age"], 40) if policy["max_age"] else "no limit"),
        ("Scan hosts without fresh findings", "yes" if policy["scan"] else "no"),
        ("Host selector (JMESPath)", fmt(policy["selector"], 2000) if policy["selector"]
         else "every affected or residual host"),
        ("Uninstall passwords configured", ", ".join("%s: %s" % (fmt(k, 120), "yes" if v else "no")
                                                     for k, v in policy["passwords"].items()) or "none"),
        ("Exceptions", _plural(len(policy["exceptions"]), "exception")),
    ]
    return rows


# ------------------------------------------------------------------------- removal recipes
#
# What execute will delete and change, grouped: hosts with the same products share the same
# recipes, so a fleet of 10,000 hosts has a few dozen groups. Rendered from the keys present,
# so a key the planner adds later is shown (under its own name) before it has a label here.

#: Actions whose recipe the plan page lists.
RECIPE_ACTIONS = ("remove", "cleanup", "block_reinstall")
_RECIPE_RANK = {kind: rank for rank, kind in enumerate(RECIPE_ACTIONS)}
#: Keys of an action that say which product it is, not what is done (shown in the group's title).
_IDENTITY_KEYS = frozenset(("step", "action", "vendor", "product", "name", "role", "version", "state", "method",
                            "removal", "password_configured"))
#: Keys that vary from host to host without changing what is done: not part of a group's key.
_VARYING_KEYS = ("step", "name", "version", "state")
#: Recipe keys that steer execute but neither delete nor change anything on the host.
_INTERNAL_KEYS = frozenset(("method", "order", "success_codes", "absent_codes", "password_properties"))
#: Known keys, in the order shown, with what they mean for people; ``None``: action-specific.
RECIPE_LABELS = (
    ("packages", None),
    ("purge", "Configuration files purged with the packages"),
    ("holds", "Package holds released first"),
    ("services", "Services stopped and disabled"),
    ("processes", "Processes stopped"),
    ("product_codes", None),
    ("properties", "Windows Installer properties"),
    ("residue", "Paths deleted (globs)"),
    ("residue_files", "Files deleted outside the vendor directories"),
    ("vendor_dirs", "Vendor directories (residue is only deleted inside them)"),
    ("repo_files", "Repository files looked at"),
    ("repo_patterns", None),
    ("config_edits", "Lines removed from configuration files"),
    ("accounts", "Accounts deleted"),
    ("vendors", "Vendors"),
    ("password", "Uninstall password"),
    ("reboot", "Reboot needed"),
    ("note", "Note"),
    ("candidates", "Candidates"),
)
_RECIPE_LABEL = dict(RECIPE_LABELS)
_ACTION_LABELS = {
    ("packages", "block_reinstall"): "Packages blocked from being installed again",
    ("packages", None): "Packages removed",
    ("product_codes", "block_reinstall"): "Windows Installer product codes blocked",
    ("product_codes", None): "Windows Installer products uninstalled (product codes)",
    ("repo_patterns", "block_reinstall"): "Repositories blocked (patterns)",
    ("repo_patterns", None): "Repository entries removed (patterns)",
}
#: At most this many values of one recipe key, and this many host names per group, are shown.
RECIPE_ITEMS = 200
RECIPE_HOSTS = 200


def _recipe_key(action):
    return json.dumps({k: v for k, v in action.items() if k not in _VARYING_KEYS},
                      sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def recipe_groups(document, host_json=None):
    """The plan's distinct removal recipes, each with the hosts that share it.

    Returns ``[{action, hosts, versions}]``: one group per distinct ``remove``, ``cleanup`` or
    ``block_reinstall`` action (the same action on two hosts up to its step number, product
    name, version and state), in the order remove, cleanup, block; then protection products
    first (as execute removes them), then by product. ``action`` is the first host's action,
    ``hosts`` the host names in plan order, ``versions`` the product versions seen.
    Linear in the hosts: hosts with the same action list (most of a fleet) are grouped through
    the memo key of :func:`_hosts_key`.
    """
    host_json = host_json or {}
    # Hosts by action list first (one dict lookup per host), then each distinct list's recipes.
    lists = {}
    for name, entry in document["hosts"].items():
        key = _hosts_key(entry, host_json.get(name))
        members = lists.get(key)
        if members is None:
            lists[key] = members = (entry, [])
        members[1].append(name)
    groups = {}
    for entry, names in lists.values():
        for action in _items(entry.get("actions")):
            if not isinstance(action, dict) or action.get("action") not in _RECIPE_RANK:
                continue
            group = groups.setdefault(_recipe_key(action), {"action": action, "hosts": [], "versions": {}})
            group["hosts"].append(names)
            group["versions"][action.get("version")] = None
    order = None
    for group in groups.values():
        if len(group["hosts"]) == 1:
            group["hosts"] = group["hosts"][0]
        else:  # several action lists share this recipe: back to plan order
            if order is None:
                order = {name: index for index, name in enumerate(document["hosts"])}
            group["hosts"] = sorted((n for names in group["hosts"] for n in names), key=order.__getitem__)
    out = list(groups.values())
    for group in out:
        group["versions"] = sorted((v for v in group["versions"] if v is not None), key=natural_key)
    out.sort(key=lambda g: (_RECIPE_RANK[g["action"]["action"]],
                            _planner.ROLE_RANK.get(g["action"].get("role"), len(_planner.ROLES)),
                            natural_key(g["action"].get("vendor")), natural_key(g["action"].get("product")),
                            -len(g["hosts"])))
    return out


def _recipe_label(key, kind, fmt):
    """Our label of a recipe key; a key we have no label for is shown as it is (through ``fmt``)."""
    label = _RECIPE_LABEL.get(key)
    if label is None:
        label = _ACTION_LABELS.get((key, kind)) or _ACTION_LABELS.get((key, None))
    return label or fmt(key, 80)


def _value_text(value, fmt, limit=300):
    """One value of a recipe: a config edit (``path``: lines matching ``regexp``), a package
    hold, a mapping (``key: value, ...``) or a scalar."""
    if isinstance(value, dict):
        if "path" in value and "regexp" in value:
            return "%s: lines matching %s" % (fmt(value.get("path"), limit), fmt(value.get("regexp"), limit))
        if "package" in value:
            hold = value.get("hold")
            return "%s%s" % (fmt(value.get("package"), limit), (" (%s)" % fmt(hold, 80)) if hold else "")
        return ", ".join("%s: %s" % (fmt(k, 80), fmt(v if not isinstance(v, (dict, list)) else json.dumps(v), limit))
                         for k, v in value.items())
    if value is True:
        return "yes"
    if value is False:
        return "no"
    return fmt(value, limit)


def recipe_items(action, fmt=_plain):
    """``[(label, [text, ...], more)]``: what ``action`` deletes and changes, from the keys
    present in the action and its ``removal`` recipe (known keys first, in
    :data:`RECIPE_LABELS` order, then any other key under its own name). Each text is made with
    ``fmt``; ``more`` counts the values beyond :data:`RECIPE_ITEMS`. Keys with no value
    (empty lists, ``null``, ``false`` flags such as ``reboot: false``) are left out."""
    kind = action.get("action")
    removal = action.get("removal") if isinstance(action.get("removal"), dict) else {}
    values = {}
    for source in (removal, action):
        for key, value in source.items():
            if source is action and key in _IDENTITY_KEYS:
                continue
            if source is removal and key in _INTERNAL_KEYS:
                continue
            if value is None or value is False or value == [] or value == {} or value == "":
                continue
            if key == "password" and value == "none":
                continue
            values[key] = value
    ordered = [k for k, _label in RECIPE_LABELS if k in values] + sorted(k for k in values if k not in _RECIPE_LABEL)
    out = []
    for key in ordered:
        value = values[key]
        if key == "accounts" and isinstance(value, dict):
            texts = ["%s %s" % (what, _list_text(value.get(plural), RECIPE_ITEMS, fmt))
                     for plural, what in (("users", "users"), ("groups", "groups")) if _items(value.get(plural))]
            texts += ["%s: %s" % (fmt(k, 80), _value_text(v, fmt)) for k, v in value.items()
                      if k not in ("users", "groups")]
            out.append((_recipe_label(key, kind, fmt), texts, 0))
            continue
        if key == "password":
            configured = action.get("password_configured")
            value = "%s%s" % (fmt(value, 40), "" if configured is None else
                              (", configured" if configured else ", none configured"))
            out.append((_recipe_label(key, kind, fmt), [value], 0))
            continue
        items = value if isinstance(value, list) else [value]
        texts = [_value_text(v, fmt) for v in items[:RECIPE_ITEMS]]
        out.append((_recipe_label(key, kind, fmt), texts, max(0, len(items) - RECIPE_ITEMS)))
    return out


def _recipe_title(action, fmt=_plain):
    """``Remove Kaspersky Endpoint Security for Linux (kesl, package)`` and the like."""
    kind = action.get("action")
    if kind == "block_reinstall":
        return "Block reinstallation"
    verb = ACTION_TEXT.get(kind, kind)
    if kind == "cleanup" and action.get("state") is None:
        return "%s: %s leftovers (vendor-wide)" % (verb, fmt(action.get("vendor"), 80))
    name = action.get("name") or action.get("product")
    meta = [fmt(action["product"], 80)] if action.get("product") and action.get("product") != name else []
    if action.get("method"):
        meta.append(fmt(action["method"], 40))
    return "%s %s%s" % (verb, fmt(name, 200), (" (%s)" % ", ".join(meta)) if meta else "")


# ---------------------------------------------------------------------------------- Markdown

def _md_table(header, rows):
    out = ["| %s |" % " | ".join(header), "|%s|" % "|".join(["---"] * len(header))]
    for row in rows:
        out.append("| %s |" % " | ".join(row))
    return out


def _md_num(value):
    """A count from the document: digits, or a code span if it is anything else."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else md(value, 40)


_KEY = re.compile(r"^[a-z][a-z_]*$")


def _md_key(value):
    """A key of the document (``not_scanned``) as words, or a code span if it is anything else."""
    return value.replace("_", " ") if isinstance(value, str) and _KEY.match(value) else md(value, 80)


_COMMENT_SAFE = re.compile(r"[^A-Za-z0-9:._+-]")


def _md_comment(value):
    """A value inside the leading HTML comment: letters, digits and ``:._+-`` only."""
    return _COMMENT_SAFE.sub("_", clean_text(value, 100))


def _md_recipes(groups):
    out = []
    for group in groups:
        action, hosts = group["action"], group["hosts"]
        out += ["", "### %s \u2014 %s" % (_recipe_title(action, _md_line), _plural(len(hosts), "host")), ""]
        if group["versions"]:
            out.append("- Versions: %s" % _list_text(group["versions"], 20, _md_line))
        for label, texts, more in recipe_items(action, _md_line):
            line = ", ".join(texts) + (" and %d more (see divest-plan.json)" % more if more else "")
            out.append("- %s: %s" % (label, line))
        names = ", ".join(_md_line(n, 120) for n in hosts[:RECIPE_HOSTS])
        if len(hosts) > RECIPE_HOSTS:
            names += " and %d more" % (len(hosts) - RECIPE_HOSTS)
        out.append("- Hosts: %s" % names)
    if not out:
        out = ["", "Nothing to remove."]
    return out


def render_markdown(document, host_json=None, groups=None):
    """``divest-plan.md``: the plan for people who read Markdown (tickets, wikis, pull requests).

    Every value taken from the plan is a code span (:func:`md`), where no Markdown renderer
    finds links, emphasis, HTML or anything else, and no platform finds mentions or
    references; our own words carry no markup. ``groups``: :func:`recipe_groups`, when the
    caller has them already."""
    host_json = host_json or {}
    s = document["summary"]
    hosts = s["hosts"]
    out = ["<!-- divest-plan digest=%s generated_at=%s -->" % (_md_comment(document["digest"]),
                                                               _md_comment(document["generated_at"])),
           "# Removal plan (%s, day 60)" % _md_line(document["directive"]["name"], 80), "",
           "Generated %s \u00b7 digest %s \u00b7 %s" % (
               _fmt_time(document["generated_at"], _md_line), _md_line(document["digest"], 100),
               _plural(hosts["total"], "host")), ""]
    out += ["## Directive", ""] + _md_table(["Milestone", "Date"], [[a, b] for a, b in _directive_rows(document, md)])
    out += ["", "## Summary", ""]
    out += _md_table(["Hosts", "Count"], [[_md_key(k), _md_num(v)] for k, v in hosts.items()])
    out += ["", "## Waves", "", "Each wave starts after the previous one succeeded. Management servers come last.", ""]
    out += _md_table(["#", "Wave", "Hosts", "Ready", "Blocked"],
                     [[str(i), md(w["name"]), _md_num(w["hosts"]), _md_num(w["ready"]), _md_num(w["blocked"])]
                      for i, w in enumerate(s["by_wave"], 1)])
    out += ["", "## Products", ""]
    out += _md_table(["Product", "Role", "Hosts", "Installed", "Residual", "Blocked", "By wave"],
                     [[md(p["name"] or p["product"]), md(p["role"]) or "\u2014", _md_num(p["hosts"]),
                       _md_num(p["installed"]), _md_num(p["residual"]), _md_num(p["blocked"]),
                       ", ".join("%s: %s" % (md(w, 80), _md_num(n)) for w, n in list(p["by_wave"].items())[:20])
                       + (" \u2026" if len(p["by_wave"]) > 20 else "")]
                      for p in s["by_product"]])
    out += ["", "## What execute will change", "",
            "Each removal recipe of the plan, with the hosts that share it: what execute deletes "
            "(packages, services, paths, files, accounts), the configuration lines it removes and "
            "what it blocks from being installed again."]
    out += _md_recipes(groups if groups is not None else recipe_groups(document, host_json))
    out += ["", "## Blockers", ""]
    known = [(k, v) for k, v in s["blockers"].items() if v]
    out += _md_table(["Blocker", "Hosts", "What to do"],
                     [[_md_words(BLOCKER_TEXT[k][0]) if k in BLOCKER_TEXT else md(k), _md_num(v),
                       _md_words(BLOCKER_TEXT[k][1]) if k in BLOCKER_TEXT else ""] for k, v in known])
    if not known:
        out.append("No blockers.")
    if document["exceptions"]:
        out += ["", "## Exceptions", ""]
        out += _md_table(["Host", "Reason", "Expires", "State"],
                         [[md(e["host"]), md(e["reason"]), md(e["expires"]),
                           ("in force" if e["state"] == "in_force" else "expired, ignored")
                           + ("" if e["host_state"] == "planned" else " (host %s)" % md(e["host_state"]))]
                          for e in document["exceptions"]])
    if document["not_scanned"]:
        out += ["", "## Not scanned", ""]
        out += _md_table(["Host", "Reason"], [[md(e["host"]), md(e["reason"])] for e in document["not_scanned"]])
    out += ["", "## Hosts", ""]
    memo = {}
    rows = []
    for name, entry in document["hosts"].items():
        key = _hosts_key(entry, host_json.get(name))
        steps = memo.get(key)
        if steps is None:
            steps = memo[key] = "<br>".join("%s. %s" % (_md_num(a.get("step")), action_text(a, md))
                                            for a in entry["actions"])
        blockers = "<br>".join(md(b["message"], 400) for b in entry["blockers"]) or "ready"
        rows.append([md(name), md(entry["wave"]), md(entry["status"]), md(_platform_text(entry["platform"])),
                     steps, blockers])
    out += _md_table(["Host", "Wave", "Status", "Platform", "Actions", "Blockers"], rows)
    for title, names in (("Clean hosts", document["clean"]), ("Not selected", document["not_selected"])):
        if names:
            out += ["", "## %s (%d)" % (title, len(names)), "", "Hosts: " + ", ".join(_md_line(n) for n in names)]
    if document["notes"]:
        out += ["", "## Notes", ""] + ["- %s" % _md_line(n, 1000) for n in document["notes"]]
    out += ["", "## Policy", ""] + _md_table(["Setting", "Value"],
                                             [[a, b] for a, b in _policy_rows(document["policy"], md)])
    out += ["", "---", "", "Approve this plan by passing its digest to execute: %s. "
            "The digest is the SHA-256 of the canonical JSON of the plan without `digest` and `generated_at` "
            "(docs/plan.md)." % _md_line("divest_plan_digest=%s" % document["digest"], 120), ""]
    return "\n".join(out).encode("utf-8")


# -------------------------------------------------------------------------------------- HTML

PLAN_CSS = """
.digest{font:12px/1.4 ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;overflow-wrap:anywhere}
ol.steps{margin:0;padding-left:20px}
ol.steps li{margin:0 0 2px}
.approval{margin-top:18px;display:grid;grid-template-columns:repeat(auto-fit,minmax(220px,1fr));gap:18px}
.approval div{border-top:1px solid var(--fg);padding-top:4px;color:var(--muted);font-size:12px}
.names{columns:4 180px;margin:6px 0;padding-left:18px}
#recipes-table tbody th{width:27%}
#recipes-table tbody th .muted{font-weight:400}
dl.recipe{grid-template-columns:17em 1fr;gap:4px 14px;margin:0}
dl.recipe dt{font-weight:600;color:var(--muted)}
dl.recipe code{white-space:pre-wrap}
"""


def _tone_for_blockers(count):
    return "clean" if not count else "residual"


def _steps_html(entry, memo, entry_json):
    key = _hosts_key(entry, entry_json)
    html = memo.get(key)
    if html is None:
        html = memo[key] = tag("ol", [tag("li", action_text(a)) for a in entry["actions"]], class_="steps")
    return html


def _products_cell(entry):
    items = []
    for item in entry["expect"]:
        label = "%s %s" % (item["product"], item["version"]) if item["version"] else item["product"]
        if item["state"] != "installed":
            label += " (%s)" % item["state"]
        items.append(label)
    return ", ".join(clean_text(i, 120) for i in items)


def _code(value, limit=200):
    """A plan value as an escaped ``<code>`` element."""
    return Markup("<code>%s</code>" % esc(value, limit))


def _recipe_head_html(group):
    """The first cell of a recipe row: what the action is, for which product, which versions."""
    action = group["action"]
    kind = action.get("action")
    if kind == "block_reinstall":
        head = [tag("strong", "Block reinstallation")]
    elif kind == "cleanup" and action.get("state") is None:
        head = [tag("strong", "Clean up the vendor's leftovers"), " ", tag("code", action.get("vendor")),
                tag("div", "vendor-wide", class_="muted")]
    else:
        name = action.get("name") or action.get("product")
        head = [tag("strong", "%s %s" % (ACTION_TEXT.get(kind, kind), clean_text(name, 200)))]
        if action.get("product") and action.get("product") != name:
            head += [" ", tag("code", action.get("product"))]
        meta = ["%s %s" % (what, clean_text(action.get(key), 60)) for key, what in (("method", "method"),
                                                                                    ("role", "role"))
                if action.get(key)]
        if group["versions"]:
            meta.append("version%s %s" % ("s" if len(group["versions"]) > 1 else "",
                                          _list_text(group["versions"], 12)))
        if meta:
            head.append(tag("div", " \u00b7 ".join(meta), class_="muted"))
    return head


def _recipes_html(groups):
    """The "What execute will change" table: one row per distinct recipe (:func:`recipe_groups`).

    :func:`recipe_items` composes its text from ``_code`` elements (escaped) and our own words,
    which hold no HTML special character: the result is markup."""
    rows = []
    for group in groups:
        hosts = group["hosts"]
        pairs = []
        for label, texts, more in recipe_items(group["action"], _code):
            value = [Markup(", ".join(texts))]
            if more:
                value.append(tag("span", " \u2026 and %d more (see divest-plan.json)" % more, class_="muted"))
            pairs.append((Markup(label) if label.startswith("<code>") else label, value))
        changes = tag("dl", [part for term, desc in pairs for part in (tag("dt", term), tag("dd", desc))],
                      class_="recipe") if pairs else tag("span", "nothing listed in the recipe", class_="muted")
        shown = [tag("li", n) for n in hosts[:RECIPE_HOSTS]]
        if len(hosts) > RECIPE_HOSTS:
            shown.append(tag("li", "\u2026 and %d more (see the Hosts table)" % (len(hosts) - RECIPE_HOSTS),
                             class_="muted"))
        rows.append([Cell(_recipe_head_html(group), header=True),
                     details(_plural(len(hosts), "host"), tag("ul", shown, class_="names")), changes])
    return table([Column("Action"), Column("Hosts", cls="nowrap"), Column("What it deletes and changes")], rows,
                 empty="Nothing to remove: no host in the plan.", id_="recipes-table")


def _names_block(names, limit=5000):
    if not names:
        return tag("p", "None.", class_="muted")
    shown = [tag("li", n) for n in names[:limit]]
    if len(names) > limit:
        shown.append(tag("li", "\u2026 and %d more (see divest-plan.json)" % (len(names) - limit), class_="muted"))
    return details(_plural(len(names), "host"), tag("ul", shown, class_="names"))


def render_html(document, host_json=None, groups=None):
    """``divest-plan.html``: one self-contained page an agency can hand in as its day-60 plan.
    ``groups``: :func:`recipe_groups`, when the caller has them already."""
    host_json = host_json or {}
    s = document["summary"]
    counts = s["hosts"]
    generated = _fmt_time(document["generated_at"])
    header = [
        tag("p", "fleetsec.divest \u00b7 %s step 2: plan" % document["directive"]["name"], class_="kicker"),
        tag("h1", "Removal plan"),
        tag("p", [tag("span", "Generated %s" % generated), tag("span", _plural(counts["total"], "host")),
                  tag("span", _plural(len(document["waves"]), "wave")),
                  tag("span", ["Digest ", tag("code", document["digest"])])], class_="meta"),
    ]
    body = []

    # Summary.
    if counts["planned"]:
        headline = "%s to clean in %s" % (_plural(counts["planned"], "host"), _plural(len(document["waves"]), "wave"))
        banner = tag("p", [tag("strong", headline),
                           "; %d ready, %d held by blockers. %s not scanned." % (
                               counts["ready"], counts["blocked"], _plural(counts["not_scanned"], "host"))],
                     class_="banner tone-%s" % ("affected" if counts["blocked"] else "neutral"))
    elif counts["not_scanned"]:
        banner = tag("p", [tag("strong", "Nothing to plan on the scanned hosts"),
                           "; %s could not be confirmed (not scanned)." % _plural(counts["not_scanned"], "host")],
                     class_="banner tone-unknown")
    else:
        banner = tag("p", tag("strong", "No vendor software on any host: nothing to remove."), class_="banner tone-clean")
    body.append(section("Summary", [banner, cards([
        ("Planned", counts["planned"], "affected", "hosts in a wave"),
        ("Ready", counts["ready"], "clean", "no blocker"),
        ("Blocked", counts["blocked"], "residual", "held until resolved"),
        ("Not scanned", counts["not_scanned"], "not_scanned", "no fresh findings"),
        ("Not selected", counts["not_selected"], None, "left out by the selector"),
        ("Clean", counts["clean"], "clean", "nothing found"),
        ("Reboots", s["reboots"], None, "hosts needing one"),
    ])], id_="summary"))

    body.append(section("Directive dates", definition_list(_directive_rows(document)), id_="directive",
                        intro="BOD 17-01: identify the vendor's products by day 30, plan their removal by day 60, "
                              "begin removal on day 90."))

    # Waves.
    wrows = []
    for index, (wave, stats) in enumerate(zip(document["waves"], s["by_wave"]), 1):
        names = wave["hosts"]
        members = ", ".join(clean_text(n, 80) for n in names[:12]) + (
            " \u2026 and %d more" % (len(names) - 12) if len(names) > 12 else "")
        label = {"canary": "Canary", "size": "By host count", "percent": "By share of the fleet",
                 "group": "Group %s" % clean_text(wave.get("group"), 80), "remaining": "Hosts in no listed group",
                 "all": "All other hosts", "management": "Management servers (last)"}.get(
            wave["kind"], clean_text(wave["kind"], 80))
        wrows.append([index, Cell(tag("code", wave["name"]), header=True), label, stats["hosts"], stats["ready"],
                      stats["blocked"], members])
    body.append(section("Waves", table(
        [Column("#", numeric=True), Column("Wave", cls="nowrap"), Column("Kind"), Column("Hosts", numeric=True),
         Column("Ready", numeric=True), Column("Blocked", numeric=True), Column("Hosts in the wave")],
        wrows, empty="No host to plan."), id_="waves",
        intro="Waves run in this order; each starts once the previous one succeeded. A canary goes first; "
              "Security Center Administration Servers go last, after the hosts they manage."))

    # Products.
    waves = [w["name"] for w in document["waves"]]
    matrix = len(waves) <= 12
    columns = [Column("Product"), Column("Role", cls="nowrap"), Column("Hosts", numeric=True), Column("Installed", numeric=True),
               Column("Residual", numeric=True), Column("Blocked", numeric=True)]
    if matrix:
        columns += [Column(w, numeric=True) for w in waves]
    else:
        columns.append(Column("By wave"))
    prows = []
    for prod in s["by_product"]:
        row = [Cell([tag("strong", prod["name"] or prod["product"]), " ", tag("code", prod["product"])], header=True),
               prod["role"] or Markup('<span class="muted">\u2014</span>'), prod["hosts"], prod["installed"],
               prod["residual"], prod["blocked"]]
        if matrix:
            row += [prod["by_wave"].get(w, 0) for w in waves]
        else:
            row.append(details("%s" % _plural(len(prod["by_wave"]), "wave"),
                               ", ".join("%s: %d" % (w, n) for w, n in prod["by_wave"].items())))
        prows.append(row)
    body.append(section("Products", table(columns, prows, empty="No vendor product on a planned host."),
                        id_="products", intro="Hosts per product and wave. Removal order on a host: protection, "
                                              "agent, tools, management; leftovers are cleaned up last."))

    groups = groups if groups is not None else recipe_groups(document, host_json)
    body.append(section("What execute will change", _recipes_html(groups), id_="recipes",
                        intro="Each removal recipe of the plan, with the hosts that share it: the packages, "
                              "services, paths, files and accounts execute deletes, the configuration lines it "
                              "removes and what it blocks from being installed again. Values are the plan's, "
                              "shown as text."))

    # Blockers.
    brows = [[Cell(badge(BLOCKER_TEXT[k][0], "residual"), sort=k), v, BLOCKER_TEXT[k][1]]
             for k, v in s["blockers"].items() if v]
    blocked = []
    for name, entry in document["hosts"].items():
        if entry["blockers"]:
            blocked.append([Cell(name, header=True), tag("code", entry["wave"]),
                            tag("ul", [tag("li", [badge(BLOCKER_TEXT[b["kind"]][0], "residual"), " ", esc(b["message"], 600)])
                                       for b in entry["blockers"]], class_="plain")])
    blocker_body = [table([Column("Blocker"), Column("Hosts", numeric=True), Column("What to do")], brows,
                          empty="No blockers: every planned host is ready.")]
    if blocked:
        blocker_body.append(tag("h3", "Blocked hosts"))
        blocker_body.append(sortable_table([Column("Host"), Column("Wave", cls="nowrap"), Column("Blockers")], blocked,
                                           filter_placeholder="Filter blocked hosts\u2026", id_="blocked-table"))
    body.append(section("Blockers", blocker_body, id_="blockers",
                        intro="A blocked host stays in its wave but execute leaves it alone until the blocker is "
                              "resolved and the plan is made again (a new digest to approve)."))

    # Exceptions.
    erows = [[Cell(e["host"], header=True), e["reason"], Cell(e["expires"], cls="nowrap"),
              badge("in force" if e["state"] == "in_force" else "expired, ignored",
                    "residual" if e["state"] == "in_force" else "not_scanned"),
              e["host_state"].replace("_", " ")] for e in document["exceptions"]]
    body.append(section("Exceptions", table([Column("Host"), Column("Reason"), Column("Expires"), Column("State"),
                                             Column("Host is")], erows, empty="No exceptions."), id_="exceptions"))

    # Not scanned.
    if document["not_scanned"]:
        nrows = [[Cell(e["host"], header=True), e["reason"], _fmt_time(e["scanned_at"])]
                 for e in document["not_scanned"]]
        body.append(section("Not scanned", sortable_table([Column("Host"), Column("Why"), Column("Last scan")], nrows,
                                                          filter_placeholder="Filter hosts\u2026"),
                            id_="not-scanned", intro="These hosts may carry vendor software: they are not in "
                                                     "the plan until a fresh scan says what is on them."))

    # Hosts.
    memo = {}
    hrows = []
    rank = {w: i for i, w in enumerate(waves)}
    for name, entry in document["hosts"].items():
        nblock = len(entry["blockers"])
        hrows.append([
            Cell(name, header=True),
            Cell(tag("code", entry["wave"]), sort="%05d" % rank.get(entry["wave"], 99999)),
            entry["status"],
            _platform_text(entry["platform"]),
            _products_cell(entry),
            _steps_html(entry, memo, host_json.get(name)),
            Cell(badge("ready" if not nblock else _plural(nblock, "blocker"), _tone_for_blockers(nblock)),
                 sort=str(nblock)),
        ])
    body.append(section("Hosts", sortable_table(
        [Column("Host"), Column("Wave", cls="nowrap"), Column("Status"), Column("Platform"), Column("Found"),
         Column("Actions, in order", sortable=False), Column("Blockers")], hrows,
        filter_placeholder="Filter hosts (name, wave, product\u2026)", id_="hosts-table",
        empty="No host to plan."), id_="hosts",
        intro="Per host, in order: install the replacement, remove each product (protection first, "
              "management last), clean up leftovers, block reinstallation, verify. Execute re-identifies "
              "each host first and refuses a host whose products changed since this plan."))

    body.append(section("Clean and not selected hosts", [
        tag("h3", "Clean"), _names_block(document["clean"]),
        tag("h3", "Not selected by the host selector"), _names_block(document["not_selected"])], id_="other"))

    if document["notes"]:
        body.append(section("Notes", tag("ul", [tag("li", n) for n in document["notes"]]), id_="notes"))

    body.append(section("Policy", definition_list(_policy_rows(document["policy"])), id_="policy"))

    body.append(section("Approval", [
        tag("p", ["Execute acts only on a plan whose digest it is given: ",
                  tag("code", "-e divest_plan_digest=%s" % document["digest"]), ". The digest is the SHA-256 of "
                  "the canonical JSON of the plan without its digest and generation time (docs/plan.md)."]),
        tag("div", [tag("div", "Approved by (name, role)"), tag("div", "Signature"), tag("div", "Date")],
            class_="approval"),
    ], id_="approval"))

    footer = tag("p", ["Generated by fleetsec.divest (plan schema %s) at %s. Machine-readable copies: divest-plan.json and "
                       "divest-plan.yml beside this page. Digest " % (document["schema"], generated),
                       tag("span", document["digest"], class_="digest"), "."])
    meta = {"generator": "fleetsec.divest plan", "divest-plan-digest": document["digest"],
            "divest-generated-at": document["generated_at"]}
    title = "Removal plan \u2014 %s" % generated
    return page(title, body, header=header, footer=footer, meta=meta, css=BASE_CSS + PLAN_CSS).encode("utf-8")


RENDERERS = {"json": render_json, "yml": render_yaml, "html": render_html, "md": render_markdown}


def render(document, formats=FORMATS, host_json=None):
    """``{format: bytes}`` for ``formats``; ``host_json`` (from ``_planner``) avoids serialising hosts twice."""
    if host_json is None:
        host_json = _planner.host_json(document["hosts"])
    out = {}
    groups = recipe_groups(document, host_json) if {"html", "md"} <= set(formats) else None
    for fmt in formats:
        if groups is not None and fmt in ("html", "md"):
            out[fmt] = RENDERERS[fmt](document, host_json, groups)
        else:
            out[fmt] = RENDERERS[fmt](document, host_json)
    return out
