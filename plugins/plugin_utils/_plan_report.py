# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The plan document as files: JSON (machines), YAML, Markdown and one self-contained HTML page.

Controller side, pure functions of the plan document (``_planner.build_plan``), no Ansible
imports. HTML is built with the report toolkit of ``_report`` (escaping, tables, page with
its Content-Security-Policy), so host-controlled values are always shown as text.

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
    Cell,
    Column,
    Markup,
    badge,
    cards,
    clean_text,
    definition_list,
    details,
    esc,
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
    "incomplete_scan": ("Incomplete scan", "The package database or the Uninstall keys could not be read. "
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
    return ("\n".join(out) + "\n").encode("utf-8")


# -------------------------------------------------------------------------------------- YAML

# Characters a YAML parser refuses raw (or folds) in a double-quoted scalar: written escaped.
_YAML_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]")
_YAML_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_./-]*$")
_YAML_RESERVED = frozenset(("y", "n", "yes", "no", "on", "off", "true", "false", "null", "nan", "inf"))


def _yaml_fix(text):
    if _YAML_UNSAFE.search(text):
        text = _YAML_UNSAFE.sub(lambda m: "\\u%04x" % ord(m.group(0)), text)
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

def _product_label(action):
    name = action.get("name") or action.get("product")
    version = action.get("version")
    return "%s %s" % (name, version) if version else name


def _list_text(values, limit=6):
    values = [clean_text(v, 200) for v in values or [] if v is not None]
    if len(values) > limit:
        return "%s and %d more" % (", ".join(values[:limit]), len(values) - limit)
    return ", ".join(values)


def action_text(action):
    """One line for people: what a plan action does (not escaped)."""
    kind = action["action"]
    removal = action.get("removal") or {}
    if kind == "install_replacement":
        replacement = action.get("replacement")
        if replacement is None:
            return "No replacement antivirus known for this platform"
        if replacement == "none":
            waiver = action.get("waiver")
            return "No replacement antivirus (%s)" % (("waiver: %s" % clean_text(waiver, 200)) if waiver else "no waiver")
        return "Install and start %s" % REPLACEMENT_TEXT.get(replacement, replacement)
    if kind in ("remove", "cleanup"):
        method = action.get("method")
        label = clean_text(_product_label(action), 200)
        verb = "Remove" if kind == "remove" else "Clean up"
        if action.get("state") == "residual" and kind == "remove":
            label += " (residual)"
        if method == "package":
            detail = "packages %s" % _list_text(removal.get("packages")) if removal.get("packages") else "package"
        elif method == "msi":
            detail = "Windows Installer, %d product code(s)" % len(removal.get("product_codes") or [])
        elif method == "residue":
            parts = []
            if removal.get("residue"):
                parts.append("%d path(s)" % len(removal["residue"]))
            if removal.get("repo_files"):
                parts.append("repository files %s" % _list_text(removal["repo_files"], 3))
            if removal.get("config_edits"):
                parts.append("%d configuration edit(s)" % len(removal["config_edits"]))
            detail = "delete " + (", ".join(parts) or "leftovers")
        elif method == "manual":
            detail = "by hand: %s" % clean_text(removal.get("note") or "see the catalog", 300)
        else:
            detail = "unknown method%s" % ((": %s" % _list_text(removal.get("candidates"), 3))
                                           if removal.get("candidates") else "")
        extra = []
        if removal.get("password") in ("optional", "required"):
            extra.append("password %s, %s" % (removal["password"],
                                              "configured" if action.get("password_configured") else "none configured"))
        if removal.get("reboot"):
            extra.append("reboot")
        return "%s %s: %s%s" % (verb, label, detail, (" (%s)" % "; ".join(extra)) if extra else "")
    if kind == "block_reinstall":
        parts = []
        if action.get("packages"):
            parts.append("pin out %s" % _list_text(action["packages"]))
        if action.get("product_codes"):
            parts.append("%d product code(s)" % len(action["product_codes"]))
        if action.get("vendors"):
            parts.append("vendor %s" % _list_text(action["vendors"]))
        return "Block reinstallation%s" % ((": " + "; ".join(parts)) if parts else "")
    if kind == "verify":
        return "Verify: rescan, vendor products gone, replacement healthy%s" % (
            " (after a reboot)" if action.get("reboot") else "")
    return clean_text(kind)


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


def _fmt_time(value):
    if not value:
        return ""
    match = re.match(r"^(\d{4}-\d\d-\d\d)T(\d\d:\d\d)(:\d\d(\.\d+)?)?(Z|[+-]00:?00)$", value)
    return "%s %s UTC" % (match.group(1), match.group(2)) if match else clean_text(value)


def _plural(count, word, plural=None):
    return "%d %s" % (count, word if count == 1 else (plural or word + "s"))


def _platform_text(platform):
    platform = platform or {}
    return " ".join(clean_text(p, 80) for p in (platform.get("distribution") or platform.get("system"),
                                                platform.get("version")) if p)


def _directive_rows(document):
    directive = document["directive"]
    rows = [("Directive", directive["name"])]
    labels = (("start", "Start (day 0)"), ("identify_by", "Identify by (day 30)"),
              ("plan_by", "Plan by (day 60)"), ("remove_from", "Begin removal (day 90)"))
    for key, label in labels:
        rows.append((label, directive[key] or "not set (divest_directive_start)"))
    return rows


def _waves_policy_text(waves):
    parts = []
    if waves.get("canary"):
        parts.append("canary of %s" % _plural(waves["canary"], "host"))
    if "size" in waves:
        parts.append("then waves of %s" % _plural(waves["size"], "host"))
    elif "percent" in waves:
        parts.append("then waves of %s%% of the remaining hosts" % waves["percent"])
    elif "by_group" in waves:
        parts.append("then one wave per group: %s, then the remaining hosts" % ", ".join(waves["by_group"]))
    else:
        parts.append("then one wave")
    parts.append("management servers last")
    return ", ".join(parts)


def _policy_rows(policy):
    replacement = policy["replacement"]
    waiver = policy["replacement_waiver"]
    rows = [
        ("Replacement (Linux)", "%s%s" % (REPLACEMENT_TEXT[replacement["linux"]],
                                          (" \u2014 waiver: %s" % waiver["linux"]) if waiver["linux"] else "")),
        ("Replacement (Windows)", "%s%s" % (REPLACEMENT_TEXT[replacement["windows"]],
                                            (" \u2014 waiver: %s" % waiver["windows"]) if waiver["windows"] else "")),
        ("Waves", _waves_policy_text(policy["waves"])),
        ("Findings older than", policy["max_age"] or "no limit"),
        ("Scan hosts without fresh findings", "yes" if policy["scan"] else "no"),
        ("Host selector (JMESPath)", policy["selector"] or "every affected or residual host"),
        ("Uninstall passwords configured", ", ".join("%s: %s" % (k, "yes" if v else "no")
                                                     for k, v in policy["passwords"].items()) or "none"),
        ("Exceptions", _plural(len(policy["exceptions"]), "exception")),
    ]
    return rows


# ---------------------------------------------------------------------------------- Markdown

_MD_SPECIAL = re.compile(r"([\\`*_\[\]|<>#])")


def md(value, limit=300):
    """Escape text for a Markdown table cell or paragraph (no markup, no HTML, one line)."""
    value = clean_text(value, limit)
    value = value.replace("&", "&amp;")
    return _MD_SPECIAL.sub(lambda m: {"<": "&lt;", ">": "&gt;"}.get(m.group(1), "\\" + m.group(1)), value)


def _md_table(header, rows):
    out = ["| %s |" % " | ".join(header), "|%s|" % "|".join(["---"] * len(header))]
    for row in rows:
        out.append("| %s |" % " | ".join(row))
    return out


def render_markdown(document, host_json=None):
    """``divest-plan.md``: the plan for people who read Markdown (tickets, wikis, pull requests)."""
    host_json = host_json or {}
    s = document["summary"]
    hosts = s["hosts"]
    out = ["<!-- divest-plan digest=%s generated_at=%s -->" % (document["digest"], md(document["generated_at"], 64)),
           "# Removal plan (%s, day 60)" % md(document["directive"]["name"]), "",
           "Generated %s \u00b7 digest `%s` \u00b7 %s" % (
               _fmt_time(document["generated_at"]), document["digest"], _plural(hosts["total"], "host")), ""]
    out += ["## Directive", ""] + _md_table(["Milestone", "Date"], [[md(a), md(b)] for a, b in _directive_rows(document)])
    out += ["", "## Summary", ""]
    out += _md_table(["Hosts", "Count"], [[md(k.replace("_", " ")), str(v)] for k, v in hosts.items()])
    out += ["", "## Waves", "", "Each wave starts after the previous one succeeded. Management servers come last.", ""]
    out += _md_table(["#", "Wave", "Hosts", "Ready", "Blocked"],
                     [[str(i), md(w["name"]), str(w["hosts"]), str(w["ready"]), str(w["blocked"])]
                      for i, w in enumerate(s["by_wave"], 1)])
    out += ["", "## Products", ""]
    out += _md_table(["Product", "Role", "Hosts", "Installed", "Residual", "Blocked", "By wave"],
                     [[md(p["name"] or p["product"]), md(p["role"] or "\u2014"), str(p["hosts"]), str(p["installed"]),
                       str(p["residual"]), str(p["blocked"]),
                       md(", ".join("%s: %d" % (w, n) for w, n in list(p["by_wave"].items())[:20])
                          + (" \u2026" if len(p["by_wave"]) > 20 else ""))]
                      for p in s["by_product"]])
    out += ["", "## Blockers", ""]
    out += _md_table(["Blocker", "Hosts", "What to do"],
                     [[md(BLOCKER_TEXT[k][0]), str(v), md(BLOCKER_TEXT[k][1])] for k, v in s["blockers"].items() if v])
    if not any(s["blockers"].values()):
        out.append("No blockers.")
    if document["exceptions"]:
        out += ["", "## Exceptions", ""]
        out += _md_table(["Host", "Reason", "Expires", "State"],
                         [[md(e["host"]), md(e["reason"]), md(e["expires"]),
                           md("in force" if e["state"] == "in_force" else "expired, ignored")
                           + ("" if e["host_state"] == "planned" else md(" (host %s)" % e["host_state"].replace("_", " ")))]
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
            steps = memo[key] = "<br>".join("%d. %s" % (a["step"], md(action_text(a), 400)) for a in entry["actions"])
        blockers = "<br>".join(md(b["message"], 400) for b in entry["blockers"]) or "ready"
        rows.append([md(name), md(entry["wave"]), md(entry["status"]), md(_platform_text(entry["platform"])),
                     steps, blockers])
    out += _md_table(["Host", "Wave", "Status", "Platform", "Actions", "Blockers"], rows)
    for title, names in (("Clean hosts", document["clean"]), ("Not selected", document["not_selected"])):
        if names:
            out += ["", "## %s (%d)" % (title, len(names)), "", ", ".join(md(n) for n in names)]
    if document["notes"]:
        out += ["", "## Notes", ""] + ["- %s" % md(n, 1000) for n in document["notes"]]
    policy_rows = [[md(a), md(b, 2000)] for a, b in _policy_rows(document["policy"])]
    out += ["", "## Policy", ""] + _md_table(["Setting", "Value"], policy_rows)
    out += ["", "---", "", "Approve this plan by passing its digest to execute: `divest_plan_digest=%s`. "
            "The digest is the SHA-256 of the canonical JSON of the plan without `digest` and `generated_at` "
            "(docs/plan.md)." % document["digest"], ""]
    return "\n".join(out).encode("utf-8")


# -------------------------------------------------------------------------------------- HTML

PLAN_CSS = """
.digest{font:12px/1.4 ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;overflow-wrap:anywhere}
ol.steps{margin:0;padding-left:20px}
ol.steps li{margin:0 0 2px}
.approval{margin-top:18px;display:grid;grid-template-columns:repeat(auto-fit,minmax(220px,1fr));gap:18px}
.approval div{border-top:1px solid var(--fg);padding-top:4px;color:var(--muted);font-size:12px}
.names{columns:4 180px;margin:6px 0;padding-left:18px}
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


def _names_block(names, limit=5000):
    if not names:
        return tag("p", "None.", class_="muted")
    shown = [tag("li", n) for n in names[:limit]]
    if len(names) > limit:
        shown.append(tag("li", "\u2026 and %d more (see divest-plan.json)" % (len(names) - limit), class_="muted"))
    return details(_plural(len(names), "host"), tag("ul", shown, class_="names"))


def render_html(document, host_json=None):
    """``divest-plan.html``: one self-contained page an agency can hand in as its day-60 plan."""
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
    from ansible_collections.fleetsec.divest.plugins.plugin_utils._report import BASE_CSS
    title = "Removal plan \u2014 %s" % generated
    return page(title, body, header=header, footer=footer, meta=meta, css=BASE_CSS + PLAN_CSS).encode("utf-8")


RENDERERS = {"json": render_json, "yml": render_yaml, "html": render_html, "md": render_markdown}


def render(document, formats=FORMATS, host_json=None):
    """``{format: bytes}`` for ``formats``; ``host_json`` (from ``_planner``) avoids serialising hosts twice."""
    if host_json is None:
        host_json = _planner.host_json(document["hosts"])
    return {fmt: RENDERERS[fmt](document, host_json) for fmt in formats}
