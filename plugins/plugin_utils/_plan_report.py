# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The plan document as files: JSON (machines), YAML, Markdown and one self-contained HTML page.

Controller side, pure functions of the plan document (``_planner.build_plan``), no Ansible
imports. Every value taken from the plan is host-controlled text and goes through the one text
safety layer (``_text``): the HTML page is the template ``_pages/plan.html.j2`` of the page layer
(``_html``: escaping, host tables, Content-Security-Policy), Markdown shows each value as a code
span (``md_code``), JSON and YAML write invisible characters as escapes (``escape_invisible``).
The HTML page and the Markdown list what execute will delete and change, one entry per distinct
removal recipe (:func:`recipe_groups`).

Fleet scale: a plan of 10,000 hosts is written in well under a second per format. Per-host
JSON is serialised once (``_planner.host_json``) and reused for the digest, ``divest-plan.json``
and ``divest-plan.yml`` (one host per line, so plans diff and grep well); HTML and Markdown rows are
memoised by what they show, because most hosts of a fleet share a few action lists.
"""

from __future__ import annotations

import functools
import json
import re

from ansible_collections.fleetsec.divest.plugins.plugin_utils import _planner
from ansible_collections.fleetsec.divest.plugins.plugin_utils._html import (
    Column,
    DataTable,
    Markup,
    badge,
    el,
    esc,
    render_page,
    shown,
)
from ansible_collections.fleetsec.divest.plugins.plugin_utils._text import (
    INVISIBLE,
    clean_text,
    escape_invisible,
    fmt_time,
    gc_paused,
    md_code,
    natural_key,
    platform_text,
    plural,
)
from ansible_collections.fleetsec.divest.plugins.plugin_utils._vocabulary import BLOCKER, ROLE_RANK, ROLES

FORMATS = ("json", "yml", "html", "md")
FILENAMES = {"json": "divest-plan.json", "yml": "divest-plan.yml", "html": "divest-plan.html", "md": "divest-plan.md"}

REPLACEMENT_TEXT = {"clamav": "ClamAV", "defender": "Microsoft Defender Antivirus", "none": "none"}
#: ``{blocker kind: (label, what to do)}`` (``_vocabulary.BLOCKER``).
BLOCKER_TEXT = BLOCKER
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
# ones (_text.INVISIBLE): written escaped.
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
    """A plan value for Markdown, in a table cell: a code span (:func:`_text.md_code`)."""
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


def _platform_text(platform):
    if platform.__class__ is dict and len(platform) == 3:
        try:
            # a fleet has a few platforms: each text is made once (the values with their types)
            return _platform_text_of(tuple((key, value.__class__, value) for key, value in platform.items()))
        except TypeError:  # an unhashable value (an edited plan file)
            pass
    return platform_text(platform, fmt=_plain)


@functools.lru_cache(maxsize=256)
def _platform_text_of(items):
    return platform_text({key: value for key, dummy, value in items}, fmt=_plain)


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
        parts.append("canary of %s" % plural(waves["canary"], "host"))
    if "size" in waves:
        parts.append("then waves of %s" % plural(waves["size"], "host"))
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
        ("Exceptions", plural(len(policy["exceptions"]), "exception")),
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
                            ROLE_RANK.get(g["action"].get("role"), len(ROLES)),
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
        out += ["", "### %s \u2014 %s" % (_recipe_title(action, _md_line), plural(len(hosts), "host")), ""]
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
               fmt_time(document["generated_at"], _md_line), _md_line(document["digest"], 100),
               plural(hosts["total"], "host")), ""]
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
        blockers = _by_identity(memo, entry["blockers"], _md_blockers)
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

def _code(value, limit=200):
    """A plan value as an escaped ``<code>`` element."""
    return Markup("<code>%s</code>" % esc(value, limit))


def _recipe_head(group):
    """The first cell of a recipe row: what the action is, for which product, which versions."""
    action = group["action"]
    kind = action.get("action")
    if kind == "block_reinstall":
        return el("strong", None, "Block reinstallation")
    if kind == "cleanup" and action.get("state") is None:
        return el("", None, el("strong", None, "Clean up the vendor's leftovers"), " ",
                  el("code", None, action.get("vendor")), el("div", "muted", "vendor-wide"))
    name = action.get("name") or action.get("product")
    head = [el("strong", None, "%s %s" % (ACTION_TEXT.get(kind, kind), clean_text(name, 200)))]
    if action.get("product") and action.get("product") != name:
        head += [" ", el("code", None, action.get("product"))]
    meta = ["%s %s" % (what, clean_text(action.get(key), 60)) for key, what in (("method", "method"), ("role", "role"))
            if action.get(key)]
    if group["versions"]:
        meta.append("version%s %s" % ("s" if len(group["versions"]) > 1 else "", _list_text(group["versions"], 12)))
    if meta:
        head.append(el("div", "muted", " \u00b7 ".join(meta)))
    return el("", None, head)


def _recipes(groups):
    """The rows of the "What execute will change" table, one per distinct recipe
    (:func:`recipe_groups`): ``{head, hosts, more, changes: [(label, text, more)]}``.

    :func:`recipe_items` composes its text from ``_code`` elements (escaped) and our own words,
    which hold no HTML special character: the result is markup."""
    rows = []
    for group in groups:
        hosts = group["hosts"]
        changes = [(Markup(label) if label.startswith("<code>") else label, Markup(", ".join(texts)), more)
                   for label, texts, more in recipe_items(group["action"], _code)]
        rows.append({"head": _recipe_head(group), "hosts": hosts[:RECIPE_HOSTS], "count": len(hosts),
                     "more": max(0, len(hosts) - RECIPE_HOSTS), "changes": changes})
    return rows


def _wave_label(wave):
    return {"canary": "Canary", "size": "By host count", "percent": "By share of the fleet",
            "group": "Group %s" % clean_text(wave.get("group"), 80), "remaining": "Hosts in no listed group",
            "all": "All other hosts", "management": "Management servers (last)"}.get(
        wave["kind"], clean_text(wave["kind"], 80))


def _steps(entry):
    return el("ol", "steps", [el("li", None, action_text(a)) for a in entry["actions"]])


def _products_cell(entry):
    items = []
    for item in entry["expect"]:
        label = "%s %s" % (item["product"], item["version"]) if item["version"] else item["product"]
        if item["state"] != "installed":
            label += " (%s)" % item["state"]
        items.append(label)
    return ", ".join(clean_text(i, 120) for i in items)


def _by_identity(memo, value, make):
    """``make(value)``, made once for each object ``value`` (a list or dict that hosts planned
    alike share, ``_planner.host_json``) while ``memo`` (a dict) is in use; the object is kept
    with its result, so its id is not reused meanwhile."""
    key = ("id", make, id(value))
    found = memo.get(key)
    if found is None:
        found = memo[key] = (value, make(value))
    return found[1]


def _md_blockers(blockers):
    return "<br>".join(md(b["message"], 400) for b in blockers) or "ready"


def _expect_cell(expect):
    return _products_cell({"expect": expect})


def _blockers_badge(count):
    return badge("ready" if not count else plural(count, "blocker"), "clean" if not count else "residual")


def _hosts_table(document, host_json):
    waves = {w["name"]: i for i, w in enumerate(document["waves"])}
    table = DataTable(
        "hosts-table",
        [Column("Host", header=True), Column("Wave", cls="nowrap", key=0), Column("Status"), Column("Platform"),
         Column("Found"), Column("Actions, in order", sortable=False), Column("Blockers", key=1)],
        "Filter hosts (name, wave, product\u2026)", empty="No host to plan.",
        files="divest-plan.json and divest-plan.yml")
    memo = {}
    for name, entry in document["hosts"].items():
        nblock = len(entry["blockers"])
        table.add([name, table.share(("wave", entry["wave"]), el, "code", None, entry["wave"]), entry["status"],
                   _platform_text(entry["platform"]), _by_identity(memo, entry["expect"], _expect_cell),
                   table.share(_hosts_key(entry, host_json.get(name)), _steps, entry),
                   table.share(("blockers", nblock), _blockers_badge, nblock)],
                  keys=("%05d" % waves.get(entry["wave"], 99999), str(nblock)))
    return table


def _blocked_table(document):
    table = DataTable("blocked-table", [Column("Host", header=True), Column("Wave", cls="nowrap"), Column("Blockers")],
                      "Filter blocked hosts\u2026", files="divest-plan.json and divest-plan.yml")
    for name, entry in document["hosts"].items():
        if entry["blockers"]:
            table.add([name, el("code", None, entry["wave"]), el("ul", "plain", [
                el("li", None, badge(BLOCKER_TEXT[b["kind"]][0], "residual"), " ", shown(b["message"], 600))
                for b in entry["blockers"]])])
    return table


def _not_scanned_table(document):
    table = DataTable("not-scanned-table", [Column("Host", header=True), Column("Why"), Column("Last scan")],
                      "Filter hosts\u2026", files="divest-plan.json and divest-plan.yml")
    for item in document["not_scanned"]:
        table.add([item["host"], item["reason"], fmt_time(item["scanned_at"], _plain)])
    return table


@gc_paused
def render_html(document, host_json=None, groups=None):
    """``divest-plan.html``: one self-contained page an agency can hand in as its day-60 plan
    (``plan.html.j2``). ``groups``: :func:`recipe_groups`, when the caller has them already."""
    host_json = host_json or {}
    s = document["summary"]
    counts = s["hosts"]
    generated = fmt_time(document["generated_at"], _plain)
    waves = []
    for wave, stats in zip(document["waves"], s["by_wave"]):
        names = wave["hosts"]
        members = ", ".join(clean_text(n, 80) for n in names[:12]) + (
            " \u2026 and %d more" % (len(names) - 12) if len(names) > 12 else "")
        waves.append((wave["name"], _wave_label(wave), stats, members))
    wave_names = [w["name"] for w in document["waves"]]
    groups = groups if groups is not None else recipe_groups(document, host_json)
    hosts = _hosts_table(document, host_json)
    blocked = _blocked_table(document)
    not_scanned = _not_scanned_table(document) if document["not_scanned"] else None
    tables = [t for t in (blocked, not_scanned, hosts) if t is not None and (t is not blocked or t.count)]
    return render_page(
        "plan.html.j2",
        title="Removal plan \u2014 %s" % generated,
        meta={"generator": "fleetsec.divest plan", "divest-plan-digest": document["digest"],
              "divest-generated-at": document["generated_at"]},
        tables=tables,
        document=document, s=s, counts=counts, generated=generated, waves=waves, wave_names=wave_names,
        matrix=len(wave_names) <= 12,
        products=[(prod, ", ".join("%s: %d" % (w, n) for w, n in prod["by_wave"].items())) for prod in s["by_product"]],
        directive=_directive_rows(document), recipes=_recipes(groups),
        blockers=[(badge(BLOCKER_TEXT[k][0], "residual"), v, BLOCKER_TEXT[k][1]) for k, v in s["blockers"].items() if v],
        blocked=blocked if blocked.count else None, not_scanned=not_scanned, hosts=hosts,
        policy=_policy_rows(document["policy"]), names_limit=5000)


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
