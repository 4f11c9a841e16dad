# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for plugin_utils/_plan_report.py: the plan as JSON, YAML, Markdown and HTML.

* The page and the Markdown say what execute will delete and change, one entry per distinct
  removal recipe, with the hosts that share it (and stay small for a large fleet).
* Host text is inert in every format: the Markdown is parsed with markdown-it-py (CommonMark
  and GFM tables) to check that every value from the plan is a code span and nothing else.
"""

from __future__ import annotations

import copy
import datetime
import html
import json
import pathlib
import re
import shutil
import subprocess

import pytest
import yaml

from ansible_collections.fleetsec.divest.plugins.plugin_utils import _plan_report as pr
from ansible_collections.fleetsec.divest.plugins.plugin_utils import _planner
from ansible_collections.fleetsec.divest.plugins.plugin_utils import _text as t
from ansible_collections.fleetsec.divest.tests.unit.plugins.plugin_utils.hostile_text import invisible
from ansible_collections.fleetsec.divest.tests.unit.plugins.plugin_utils.pages import parse

NOW = datetime.datetime(2026, 11, 28, 12, 0, 0, tzinfo=datetime.timezone.utc)
FRESH = "2026-11-28T10:00:00Z"

SMB_HEADER = r"^\s*#\s*ADDED BY KASPERSKY ENDPOINT SECURITY 8 FOR LINUX\b.*$"
SMB_VFS = r"^\s*vfs objects?\s*=\s*kes4lwks-smb-vfs\S*\s*$"


def divest(status, findings=(), system="Linux"):
    return {"schema": 1, "scanned_at": FRESH, "status": status,
            "platform": {"system": system, "distribution": "debian" if system == "Linux" else "Windows 11",
                         "version": "12"},
            "scan": {"live": True, "skipped": [], "errors": []}, "findings": list(findings)}


def kes4lwks(version="8.0.4.312"):
    """A recipe with every kind of change (catalog: kes4lwks, plus accounts and files)."""
    return {"vendor": "kaspersky", "product": "kes4lwks", "name": "Kaspersky Endpoint Security 8 for Linux",
            "version": version, "state": "installed", "role": "protection",
            "evidence": [{"kind": "package", "name": "kes4lwks", "version": version, "manager": "dpkg",
                          "hold": "apt-mark"}],
            "removal": {"method": "package", "order": 10, "packages": ["kes4lwks"],
                        "services": ["kes4lwks-supervisor"], "processes": ["kes4lwks-supervisor"], "purge": True,
                        "residue": ["/opt/kaspersky/kes4lwks", "/var/opt/kaspersky/kes4lwks",
                                    "/etc/opt/kaspersky/kes4lwks*"],
                        "residue_files": ["/usr/bin/kes4lwks-control"],
                        "config_edits": [{"path": "/etc/samba/smb.conf", "regexp": SMB_HEADER},
                                         {"path": "/etc/samba/smb.conf", "regexp": SMB_VFS}],
                        "accounts": {"users": ["kluser"], "groups": ["klusers"]},
                        "reboot": False, "password": "none"}}


def klnagent():
    return {"vendor": "kaspersky", "product": "klnagent", "name": "Kaspersky Network Agent", "version": "15.1.0.20748",
            "state": "installed", "role": "agent", "evidence": [],
            "removal": {"method": "package", "order": 20, "packages": ["klnagent64"], "services": ["klnagent64"],
                        "residue": ["/opt/kaspersky/klnagent64"], "reboot": False, "password": "none"}}


def leftovers():
    return {"vendor": "kaspersky", "product": "leftovers", "name": "Kaspersky leftovers", "version": None,
            "state": "residual", "role": None, "evidence": [{"kind": "path", "name": "/var/opt/kaspersky"}],
            "removal": {"method": "residue", "order": 100, "residue": ["/var/opt/kaspersky"],
                        "repo_files": ["/etc/apt/sources.list.d/kaspersky.list"], "reboot": False,
                        "password": "none"}}


def kes_win():
    return {"vendor": "kaspersky", "product": "kes", "name": "Kaspersky Endpoint Security for Windows",
            "version": "12.3.0.493", "state": "installed", "role": "protection", "evidence": [],
            "removal": {"method": "msi", "order": 10, "password": "optional", "reboot": True,
                        "product_codes": ["{7EC66A95-AC2D-4127-940B-0445A526AB2F}"],
                        "properties": {"REBOOT": "ReallySuppress"}, "success_codes": [0, 3010]}}


VENDOR_DIRS = ["/etc/opt/kaspersky", "/opt/kaspersky", "/var/log/kaspersky", "/var/opt/kaspersky"]
REPO_PATTERNS = ["re:kaspersky"]
BLOCKED = ["kesl", "kesl-astra", "kes4lwks", "klnagent", "klnagent64"]


def with_vendor_profile(plan):
    """The keys the planner adds for the vendor as a whole (vendor_dirs, repo_patterns on the
    cleanup, every catalog package in the block), whether this planner adds them or not."""
    plan = copy.deepcopy(plan)
    for entry in plan["hosts"].values():
        if entry["platform"]["system"] != "Linux":
            continue
        actions = entry["actions"]
        cleanup = next((a for a in actions if a["action"] == "cleanup"), None)
        if cleanup is None:
            cleanup = {"action": "cleanup", "vendor": "kaspersky", "product": "leftovers", "name": None,
                       "role": None, "version": None, "state": None, "method": "residue",
                       "removal": {"method": "residue"}}
            actions.insert(len(actions) - 2, cleanup)
        cleanup["vendor_dirs"] = list(VENDOR_DIRS)
        cleanup["repo_patterns"] = list(REPO_PATTERNS)
        block = next(a for a in actions if a["action"] == "block_reinstall")
        block["packages"] = sorted(set(block["packages"]) | set(BLOCKED))
        for action in actions:
            if action.get("product") == "kes4lwks":
                action.setdefault("holds", [{"package": "kes4lwks", "hold": "apt-mark"}])
        for step, action in enumerate(actions, 1):
            action["step"] = step
    return plan


def fleet():
    hosts = {"lin%d" % i: {"divest": divest("affected", [kes4lwks(), klnagent()]), "groups": ["linux"], "error": None}
             for i in range(1, 4)}
    hosts["lin4"] = {"divest": divest("affected", [kes4lwks("8.0.3.100")]), "groups": ["linux"], "error": None}
    hosts["old1"] = {"divest": divest("residual", [leftovers()]), "groups": ["linux"], "error": None}
    hosts["win1"] = {"divest": divest("affected", [kes_win()], system="Windows"), "groups": ["windows"],
                     "error": None}
    hosts["web1"] = {"divest": divest("clean"), "groups": ["linux"], "error": None}
    return hosts


def plan_of(hosts, policy=None):
    return with_vendor_profile(_planner.build_plan_parts(hosts, policy or {}, now=NOW)[0])


@pytest.fixture(scope="module")
def plan():
    return plan_of(fleet())


def render(document, fmt):
    return pr.render(document, (fmt,))[fmt].decode("utf-8")


def section_html(page, id_):
    start = page.index('<section id="%s">' % id_)
    return page[start:page.index("</section>", start)]


# --------------------------------------------------------------------------------------------
# What execute will delete and change
# --------------------------------------------------------------------------------------------

def test_recipes_are_grouped_by_what_they_do(plan):
    groups = pr.recipe_groups(plan)
    summary = [(g["action"]["action"], g["action"].get("product"), g["hosts"], g["versions"]) for g in groups]
    assert summary == [
        ("remove", "kes", ["win1"], ["12.3.0.493"]),                     # protection first
        ("remove", "kes4lwks", ["lin1", "lin2", "lin3", "lin4"], ["8.0.3.100", "8.0.4.312"]),
        ("remove", "klnagent", ["lin1", "lin2", "lin3"], ["15.1.0.20748"]),
        ("cleanup", "leftovers", ["lin1", "lin2", "lin3", "lin4"], []),   # the vendor-wide cleanup
        ("cleanup", "leftovers", ["old1"], []),                           # with the leftovers recipe
        ("block_reinstall", None, ["lin1", "lin2", "lin3", "lin4", "old1"], []),
        ("block_reinstall", None, ["win1"], []),
    ]


def test_page_lists_what_execute_deletes_and_changes(plan):
    page = render(plan, "html")
    recipes = section_html(page, "recipes")
    assert "<h2>What execute will change</h2>" in recipes
    expected = [
        # remove kes4lwks: packages, purge, holds, services, processes, paths, files, config edits, accounts
        "<dt>Packages removed</dt><dd><code>kes4lwks</code></dd>",
        "<dt>Configuration files purged with the packages</dt><dd>yes</dd>",
        "<dt>Package holds released first</dt><dd><code>kes4lwks</code> (<code>apt-mark</code>)</dd>",
        "<dt>Services stopped and disabled</dt><dd><code>kes4lwks-supervisor</code></dd>",
        "<dt>Processes stopped</dt><dd><code>kes4lwks-supervisor</code></dd>",
        "<dt>Paths deleted (globs)</dt><dd><code>/opt/kaspersky/kes4lwks</code>, "
        "<code>/var/opt/kaspersky/kes4lwks</code>, <code>/etc/opt/kaspersky/kes4lwks*</code></dd>",
        "<dt>Files deleted outside the vendor directories</dt><dd><code>/usr/bin/kes4lwks-control</code></dd>",
        "<code>/etc/samba/smb.conf</code>: lines matching <code>%s</code>" % html.escape(SMB_HEADER),
        "<code>/etc/samba/smb.conf</code>: lines matching <code>%s</code>" % html.escape(SMB_VFS),
        "<dt>Accounts deleted</dt><dd>users <code>kluser</code>, groups <code>klusers</code></dd>",
        # Windows: product codes and msiexec properties, password need
        "<dt>Windows Installer products uninstalled (product codes)</dt>"
        "<dd><code>{7EC66A95-AC2D-4127-940B-0445A526AB2F}</code></dd>",
        "<dt>Windows Installer properties</dt><dd><code>REBOOT</code>: <code>ReallySuppress</code></dd>",
        "<dt>Uninstall password</dt><dd><code>optional</code>, none configured</dd>",
        "<dt>Reboot needed</dt><dd>yes</dd>",
        # the vendor-wide cleanup and the reinstall block
        "<dt>Vendor directories (residue is only deleted inside them)</dt><dd>%s</dd>"
        % ", ".join("<code>%s</code>" % d for d in VENDOR_DIRS),
        "<dt>Repository entries removed (patterns)</dt>"
        "<dd><code>re:kaspersky</code></dd>",
        "<dt>Repository files looked at</dt><dd><code>/etc/apt/sources.list.d/kaspersky.list</code></dd>",
        "<dt>Packages blocked from being installed again</dt><dd>%s</dd>"
        % ", ".join("<code>%s</code>" % p for p in sorted(BLOCKED, key=t.natural_key)),
        "<dt>Windows Installer product codes blocked</dt>",
    ]
    for fragment in expected:
        assert fragment in recipes, fragment
    # titles, hosts per recipe, versions
    assert ('<strong>Remove Kaspersky Endpoint Security 8 for Linux</strong> <code>kes4lwks</code>'
            '<div class="muted">method package \u00b7 role protection \u00b7 versions 8.0.3.100, 8.0.4.312</div>'
            in recipes)
    assert ('<strong>Clean up the vendor&#x27;s leftovers</strong> <code>kaspersky</code>'
            '<div class="muted">vendor-wide</div>' in recipes)
    assert "<summary>4 hosts</summary>" in recipes and "<summary>1 host</summary>" in recipes
    # internal keys of a recipe (order, success codes) are not changes
    assert "success_codes" not in recipes and "order" not in recipes


def test_markdown_lists_what_execute_deletes_and_changes(plan):
    md = render(plan, "md")
    part = md[md.index("## What execute will change"):md.index("## Blockers")]
    for line in (
        "### Remove `Kaspersky Endpoint Security 8 for Linux` (`kes4lwks`, `package`) \u2014 4 hosts",
        "- Versions: `8.0.3.100`, `8.0.4.312`",
        "- Paths deleted (globs): `/opt/kaspersky/kes4lwks`, `/var/opt/kaspersky/kes4lwks`, "
        "`/etc/opt/kaspersky/kes4lwks*`",
        "- Files deleted outside the vendor directories: `/usr/bin/kes4lwks-control`",
        "- Lines removed from configuration files: `/etc/samba/smb.conf`: lines matching `%s`, "
        "`/etc/samba/smb.conf`: lines matching `%s`" % (SMB_HEADER, SMB_VFS),
        "- Accounts deleted: users `kluser`, groups `klusers`",
        "- Package holds released first: `kes4lwks` (`apt-mark`)",
        "- Vendor directories (residue is only deleted inside them): %s" % ", ".join("`%s`" % d for d in VENDOR_DIRS),
        "- Repository entries removed (patterns): `re:kaspersky`",
        "- Packages blocked from being installed again: %s"
        % ", ".join("`%s`" % p for p in sorted(BLOCKED, key=t.natural_key)),
        "- Hosts: `lin1`, `lin2`, `lin3`, `lin4`",
    ):
        assert line in part.splitlines(), line


def test_recipes_render_the_keys_present():
    """Without the keys a newer planner adds, nothing breaks; a key with no label yet is
    shown under its own name; empty and false values are left out."""
    hosts = {"a": {"divest": divest("affected", [klnagent()]), "groups": [], "error": None}}
    plain = _planner.build_plan_parts(hosts, {}, now=NOW)[0]
    page = render(plain, "html")
    recipes = section_html(page, "recipes")
    assert "Vendor directories" not in recipes and "Reboot needed" not in recipes
    assert "<dt>Packages removed</dt><dd><code>klnagent64</code></dd>" in recipes
    plain["hosts"]["a"]["actions"][1]["removal"]["sockets"] = ["/run/klnagent.sock"]
    plain["hosts"]["a"]["actions"][1]["removal"]["empty"] = []
    recipes = section_html(render(plain, "html"), "recipes")
    assert "<dt><code>sockets</code></dt><dd><code>/run/klnagent.sock</code></dd>" in recipes
    assert "empty" not in recipes
    assert "- `sockets`: `/run/klnagent.sock`" in render(plain, "md")


def test_recipes_stay_small_for_a_large_fleet():
    hosts = {"host%05d" % i: {"divest": divest("affected", [kes4lwks("8.0.4.%d" % (i % 3)), klnagent()]),
                              "groups": [], "error": None} for i in range(2000)}
    document, parts = _planner.build_plan_parts(hosts, {}, now=NOW)
    groups = pr.recipe_groups(document, parts)
    assert [len(g["hosts"]) for g in groups] == [2000, 2000, 2000, 2000][:len(groups)]
    page = pr.render(document, ("html",), parts)["html"].decode("utf-8")
    recipes = section_html(page, "recipes")
    assert len(recipes) < 60_000
    assert recipes.count("<li>host") == len(groups) * pr.RECIPE_HOSTS
    assert "\u2026 and %d more (see the Hosts table)" % (2000 - pr.RECIPE_HOSTS) in recipes
    md = pr.render(document, ("md",), parts)["md"].decode("utf-8")
    part = md[md.index("## What execute will change"):md.index("## Blockers")]
    assert len(part) < 40_000 and " and %d more" % (2000 - pr.RECIPE_HOSTS) in part


def test_long_recipe_lists_are_cut_with_a_marker(plan):
    document = copy.deepcopy(plan)
    for entry in document["hosts"].values():
        for action in entry["actions"]:
            if action.get("product") == "klnagent":
                action["removal"]["residue"] = ["/opt/kaspersky/f%d" % i for i in range(pr.RECIPE_ITEMS + 7)]
    recipes = section_html(render(document, "html"), "recipes")
    assert "/opt/kaspersky/f%d<" % (pr.RECIPE_ITEMS - 1) in recipes
    assert "/opt/kaspersky/f%d<" % pr.RECIPE_ITEMS not in recipes
    assert "\u2026 and 7 more (see divest-plan.json)" in recipes


# --------------------------------------------------------------------------------------------
# Host text is inert in every format
# --------------------------------------------------------------------------------------------

HOSTILE = [
    ("url", "see http://evil.example/x and https://evil.example/y"),
    ("www", "www.evil.example"),
    ("autolink", "<https://evil.example/a>"),
    ("email", "admin@evil.example"),
    ("mention", "@evil-team #123 :evil:"),
    ("emphasis", "*evil* _evil_ **evil** ~~evil~~"),
    ("link", "[evil](http://evil.example) ![evil](http://evil.example/i.png)"),
    ("heading", "# evil heading"),
    ("table", "evil | x | y"),
    ("html", "<img src=x onerror=alert(1)><b>evil</b>"),
    ("comment", "--> <!-- evil"),
    ("fence", "```\nevil\n```"),
    ("backticks", "`` evil ` ``"),
    ("entity", "&lt;evil&gt; &#60;b&#62;"),
    ("backslash", "evil\\|pipe\\"),
    ("math", "$evil^2$"),
    ("zero-width", "ev\u200bil\u200d\u2060\ufeff\u180e"),
    ("bidi", "\u202eevil.exe\u2066\u2069"),
    ("tags", "evil\U000e0041\U000e0001"),
    ("controls", "evil\x1b[31m\x7f\x85\u2028"),
]


def hostile_plan(value):
    finding = kes4lwks(value)
    finding["name"] = "evil " + value
    removal = finding["removal"]
    removal["packages"] = [value, "kes4lwks"]
    removal["services"] = [value]
    removal["residue"] = ["/opt/" + value]
    removal["residue_files"] = ["/usr/bin/" + value]
    removal["config_edits"] = [{"path": "/etc/" + value, "regexp": value}]
    removal["accounts"] = {"users": [value], "groups": [value]}
    removal[value] = [value]                                # a key with no label: shown by name
    hosts = {value: {"divest": divest("affected", [finding]), "groups": ["linux"], "error": None},
             "plain": {"divest": divest("affected", [kes4lwks()]), "groups": ["linux"], "error": None}}
    policy = {"exceptions": [{"host": "plain", "reason": value, "expires": "2020-01-01"}]}
    document = plan_of(hosts, policy)
    for entry in document["hosts"].values():
        for action in entry["actions"]:
            if action["action"] == "cleanup":
                action["vendor_dirs"] = ["/opt/" + value]
                action["repo_patterns"] = [value]
            if action["action"] == "remove":
                action["holds"] = [{"package": value, "hold": value}]
    document["notes"].append(value)
    return document


def _inline_tokens(tokens):
    for token in tokens:
        yield token
        yield from token.children or ()


def _parse_markdown(markdown_it, md):
    """Tokens of ``md`` (CommonMark + GFM tables and strikethrough), after checking that the
    only markup in it is ours: the leading comment, ``<br>`` in table cells, code spans."""
    tokens = markdown_it.MarkdownIt("commonmark").enable(["table", "strikethrough"]).parse(md)
    types = {t.type for t in _inline_tokens(tokens)}
    assert not types & {"link_open", "image", "em_open", "strong_open", "s_open", "fence", "code_block"}
    assert {t.content for t in _inline_tokens(tokens) if t.type == "html_inline"} <= {"<br>"}
    blocks = [t for t in tokens if t.type == "html_block"]
    assert len(blocks) == 1 and blocks[0] is tokens[0] and tokens[0].content.count("-->") == 1
    return tokens


@pytest.mark.parametrize("value", [v for dummy, v in HOSTILE], ids=[i for i, dummy in HOSTILE])
def test_hostile_text_is_inert_in_markdown(value):
    """Parsed as CommonMark with GFM tables: every piece of host text is inside a code span
    (where no renderer or platform finds links, mentions, emphasis or HTML), shown exactly as
    the page shows it; nothing else (link, image, HTML, emphasis, heading, fence) comes from it,
    and every table row keeps its columns."""
    markdown_it = pytest.importorskip("markdown_it")
    md = render(hostile_plan(value), "md")
    assert invisible(md) == []
    tokens = _parse_markdown(markdown_it, md)
    assert tokens[0].content.startswith("<!-- divest-plan digest=sha256:")
    shown = t.clean_text(value).strip()
    code = [t.content for t in _inline_tokens(tokens) if t.type == "code_inline"]
    assert shown in code and "/opt/" + shown in code and "evil " + shown in code
    # outside code spans there is none of the host text
    words = "".join(t.content for t in _inline_tokens(tokens) if t.type == "text")
    assert "evil" not in words
    # headings are ours
    headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]
    assert all(not h.startswith("evil") for h in headings)
    # tables: each row has as many cells as its header
    row, widths = [], []
    for token in tokens:
        if token.type == "tr_open":
            row = []
        elif token.type in ("th_open", "td_open"):
            row.append(token)
        elif token.type == "tr_close":
            widths.append(len(row))
        elif token.type == "table_close":
            assert len(set(widths)) == 1, widths
            widths = []


# GitHub Flavored Markdown's extended autolinks (spec 6.9): what a GFM renderer links in plain
# text, which markdown-it's CommonMark mode does not do by itself.
GFM_AUTOLINK = re.compile(r"(?:https?://|www\.)[^\s<]|[\w.+-]+@[\w-]+\.[\w.-]*\w")


@pytest.mark.parametrize("value", ["see http://evil.example/x", "https://evil.example", "www.evil.example",
                                   "admin@evil.example", "<https://evil.example>", "<admin@evil.example>"])
def test_markdown_has_no_autolink_from_host_text(plan, value):
    """A URL, ``www.`` name or e-mail address in host text stays text: GFM links them only in
    plain text, never in a code span."""
    markdown_it = pytest.importorskip("markdown_it")
    document = copy.deepcopy(plan)
    document["hosts"]["lin1"]["blockers"].append({"kind": "exception", "message": value})
    document["notes"].append(value)
    tokens = markdown_it.MarkdownIt("commonmark").enable(["table"]).parse(render(document, "md"))
    assert "link_open" not in {t.type for t in _inline_tokens(tokens)}
    plain = [t.content for t in _inline_tokens(tokens) if t.type == "text" and GFM_AUTOLINK.search(t.content)]
    assert plain == []


@pytest.mark.parametrize("value", [v for dummy, v in HOSTILE], ids=[i for i, dummy in HOSTILE])
def test_hostile_text_is_inert_in_html_json_and_yaml(value):
    document = hostile_plan(value)
    files = pr.render(document)
    page = files["html"].decode("utf-8")
    parser = parse(page)
    tags = [tag for tag, dummy in parser.tags]
    assert tags.count("script") == 2 and len(parser.raw["script"]) == 1 and len(parser.data) == 1  # ours
    assert "img" not in tags and "b" not in tags
    assert not any(a.startswith("on") for dummy, attrs in parser.tags for a in attrs)
    assert invisible(page) == []
    shown = html.escape(t.clean_text(value), quote=True)
    recipes = section_html(page, "recipes")
    for fragment in ("<code>/opt/%s</code>" % shown, "<code>/usr/bin/%s</code>" % shown,
                     "<code>/etc/%s</code>: lines matching <code>%s</code>" % (shown, shown),
                     "users <code>%s</code>, groups <code>%s</code>" % (shown, shown),
                     "<dt><code>%s</code></dt><dd><code>%s</code></dd>" % (shown, shown)):
        assert fragment in recipes, fragment
    # JSON and YAML: the same data in full; invisible characters only as escapes
    for fmt in ("json", "yml"):
        raw = files[fmt].decode("utf-8")
        assert invisible(raw) == [], fmt
    loaded = json.loads(files["json"])
    assert yaml.safe_load(files["yml"].decode("utf-8")) == loaded == json.loads(json.dumps(document))
    assert value in loaded["hosts"] and loaded["notes"][-1] == value


@pytest.mark.parametrize("field", ["generated_at", "digest"])
def test_document_fields_are_inert_in_markdown(plan, field):
    markdown_it = pytest.importorskip("markdown_it")
    document = copy.deepcopy(plan)
    document[field] = "--><img src=x onerror=alert(1)> http://evil.example"
    md = render(document, "md")
    head = md.split("\n", 1)[0]
    assert head.startswith("<!-- divest-plan ") and head.endswith(" -->") and head.count("-->") == 1
    tokens = _parse_markdown(markdown_it, md)
    assert "evil" not in "".join(t.content for t in _inline_tokens(tokens) if t.type == "text")


def test_action_text_for_markdown_puts_values_in_code_spans(plan):
    action = next(a for a in plan["hosts"]["lin1"]["actions"] if a["action"] == "remove")
    assert pr.action_text(action) == ("Remove Kaspersky Endpoint Security 8 for Linux 8.0.4.312: "
                                      "packages kes4lwks (1 package hold(s) released)")
    assert pr.action_text(action, pr.md) == ("Remove `Kaspersky Endpoint Security 8 for Linux 8.0.4.312`: "
                                             "packages `kes4lwks` (1 package hold(s) released)")


# --------------------------------------------------------------------------------------------
# The page in a browser
# --------------------------------------------------------------------------------------------

CHROMIUM = shutil.which("chromium")
OUTPUT = pathlib.Path(__file__).resolve().parents[4] / "tests" / "output"


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)")
def test_plan_page_in_chromium(plan, tmp_path):
    """The plan page with its recipes loads under its Content-Security-Policy (no violation:
    the style and script hashes are right) and shows the recipes table; a screenshot is kept
    as tests/output/plan-recipes.png for people to look at."""
    OUTPUT.mkdir(parents=True, exist_ok=True)
    path = OUTPUT / "plan-recipes.html"
    path.write_text(render(plan, "html"), encoding="utf-8")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
             "--hide-scrollbars", "--enable-logging=stderr", "--v=0", "--user-data-dir=%s" % (tmp_path / "p")]
    proc = subprocess.run([CHROMIUM] + flags + ["--dump-dom", path.as_uri()], capture_output=True, timeout=90,
                          check=False)
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")[-2000:]
    errors = [line for line in proc.stderr.decode("utf-8", "replace").splitlines()
              if "Content Security Policy" in line or "Refused to" in line]
    assert errors == []
    dom = proc.stdout.decode("utf-8")
    assert re.search(r'<html lang="en" class="js">', dom)
    assert 'id="recipes-table"' in dom and "<code>/usr/bin/kes4lwks-control</code>" in dom
    shot = OUTPUT / "plan-recipes.png"
    proc = subprocess.run([CHROMIUM] + flags[:-1] + ["--user-data-dir=%s" % (tmp_path / "q"),
                                                     "--screenshot=%s" % shot, "--window-size=1280,3200",
                                                     path.as_uri()],
                          capture_output=True, timeout=90, check=False)
    assert proc.returncode == 0 and shot.stat().st_size > 20_000
