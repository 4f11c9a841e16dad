# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for plugin_utils/_html.py: escaping, table cells, host tables, the page's data
block, the templates' building blocks and the Content-Security-Policy."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re

import jinja2
import pytest

from ansible_collections.fleetsec.divest.plugins.plugin_utils import _html as h
from ansible_collections.fleetsec.divest.plugins.plugin_utils import _report as r
from ansible_collections.fleetsec.divest.tests.unit.plugins.plugin_utils.hostile_text import invisible
from ansible_collections.fleetsec.divest.tests.unit.plugins.plugin_utils.pages import page_data, parse, table_rows

XSS = "<script>alert(1)</script>"


def render(source, **context):
    """A template written in the page layer's dialect (macros imported as ``m``)."""
    return h.ENVIRONMENT.from_string('{% import "macros.html.j2" as m %}' + source).render(**context)


# ------------------------------------------------------------------------------ escaping

@pytest.mark.parametrize("value, limit, expected", [
    (XSS, None, "&lt;script&gt;alert(1)&lt;/script&gt;"),
    ('a"b\'c&d', None, "a&quot;b&#x27;c&amp;d"),
    ("x" * 10, 4, "xxxx[\u2026 6 more characters]"),
    ("tab\there", None, "tab here"),
    ("nul\x00del\x7fc1\x85", None, "nul\ufffddel\ufffdc1 "),
    ("\ufeffbom", None, "\ufffdbom"),
    (None, None, ""),
    (h.Markup("<b>ok</b>"), None, "<b>ok</b>"),
])
def test_esc(value, limit, expected):
    out = h.esc(value, limit)
    assert isinstance(out, h.Markup)
    assert out == expected


def test_templates_escape_every_value_in_text_and_attributes():
    out = render('<td data-sort="{{ key }}" class="a">{{ value }}</td>', key='"><x', value=XSS)
    assert out == '<td data-sort="&quot;&gt;&lt;x" class="a">&lt;script&gt;alert(1)&lt;/script&gt;</td>'
    # display text first: invisible characters shown, long values cut, None is nothing
    assert render("{{ v }}", v="a\u202eb\u200b") == "a\ufffdb\ufffd"
    assert render("{{ v }}", v="x" * 600) == "x" * 512 + "[\u2026 88 more characters]"
    assert render("[{{ v }}]", v=None) == "[]" and render("{{ v }}", v=12) == "12"
    # markup we made passes as it is; a template is never rendered from data
    assert render("{{ v }}", v=h.Markup("<b>ok</b>")) == "<b>ok</b>"
    assert render("{{ v }}", v="{{ lookup('pipe', 'id') }}") == "{{ lookup(&#x27;pipe&#x27;, &#x27;id&#x27;) }}"


def test_templates_refuse_undefined_names():
    with pytest.raises(jinja2.UndefinedError):
        render("{{ missing }}")


def test_compact_loader_leaves_line_breaks_out():
    page = r.render_html(r.build_identify_report({}, "2026-11-27T10:05:00Z")).decode("utf-8")
    outside = re.sub(r"<(style|script)\b[^>]*>.*?</\1>", "", page, flags=re.S)
    assert "\n" not in outside and page.startswith("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">")


# ------------------------------------------------------------------------------ table cells

def test_el_escapes_and_refuses_unsafe_elements():
    assert h.node_html(h.el("p", "a", XSS)) == '<p class="a">&lt;script&gt;alert(1)&lt;/script&gt;</p>'
    assert h.node_html(h.el("p", None, [h.el("strong", None, "1"), "<2>"])) == "<p><strong>1</strong>&lt;2&gt;</p>"
    # text children are display text: invisible characters shown, long values cut (another cap: shown())
    assert h.el("span", None, "a\u202eb", None, 7) == ["span", "", "a\ufffdb", "7"]
    assert h.el("span", None, "x" * 600)[2] == "x" * 512 + "[\u2026 88 more characters]"
    assert h.el("span", None, h.shown("x" * 600, None))[2] == "x" * 600
    # only a few elements, no attribute but a checked class: no script, no style, no handler
    for bad in ("script", "style", "img", "a", "iframe", "td", "scr ipt", "@"):
        with pytest.raises(ValueError):
            h.el(bad, None, "x")
    for bad in ('a" onclick="x', "a>b", "x;y", "a\nb"):
        with pytest.raises(ValueError):
            h.el("span", bad, "x")
    with pytest.raises(TypeError):
        h.el("p", None, h.Markup("<b>1</b>"))
    with pytest.raises(TypeError):
        h.cell(h.Markup("<b>1</b>"))
    # a fragment: several elements in one cell
    assert h.node_html(h.el("", None, h.badge("Affected", "affected"), h.el("div", "muted", "x"))) == \
        '<span class="badge tone-affected">Affected</span><div class="muted">x</div>'
    assert h.node_text(h.el("", None, h.el("li", None, "a"), h.el("li", None, "b"))) == "ab"


def test_host_table_rows_shared_cells_and_sort_keys():
    cols = [h.Column("Name", header=True, cls="nowrap"), h.Column("Count", numeric=True),
            h.Column("Notes", sortable=False), h.Column("When", cells="nowrap", key=0)]
    table = h.DataTable("t", cols, "Filter", files="a.csv")
    calls = []

    def build(value):
        calls.append(value)
        return h.el("strong", None, value)

    table.add(["<c>", 3, table.share(("z",), build, "z"), "now"], keys=["003\u202e"])
    table.add(["grp", 2, table.share(("z",), build, "z"), None], keys=[""])
    table.add(["lst", 1, table.share(([1],), build, "y"), "later"], keys=["1"])   # unhashable key: not shared
    assert calls == ["z", "y"]
    data = table.data()
    assert data["shared"] == [["strong", "", "z"]]
    assert data["count"] == len(table) == 3
    assert table_rows(data)[0] == ["<c>", 3, ["@", 0], "now", "003\ufffd"]
    assert table_rows(data)[2][2] == ["strong", "", "y"]
    assert table.row(1) == ["grp", 2, ["@", 0], "", ""]
    # stored by column: distinct cells once, a number per row; all-different texts as they are
    assert data["cells"][0] == ["<c>", "grp", "lst"]
    assert data["cells"][2] == {"values": [["@", 0], ["strong", "", "y"]], "index": [0, 0, 1]}
    assert [c["key"] for c in data["columns"]] == [-1, -1, -1, 4]
    assert [c["cls"] for c in data["columns"]] == ["nowrap", "num", "", "nowrap"]
    with pytest.raises(ValueError):
        table.add(["too", "few"])
    with pytest.raises(ValueError):
        table.add(["a", 1, "b", "c"])                         # the sort key is missing
    out = render("{{ m.data_table(t) }}", t=table)
    assert '<table class="data sortable" id="t" data-filter="Filter">' in out
    assert '<th scope="col" class="nowrap">Name</th>' in out
    assert '<th scope="col" class="num" data-type="number">Count</th>' in out
    assert '<th scope="col" data-nosort>Notes</th><th scope="col">When</th>' in out
    assert ('<tr><th scope="row" class="nowrap">&lt;c&gt;</th><td class="num">3</td><td><strong>z</strong></td>'
            '<td class="nowrap">now</td></tr>') in out
    assert "<noscript>" not in out                               # one page: every row is in the HTML


def test_host_table_pages_and_empty_row():
    table = h.DataTable("big", [h.Column("Host", header=True)], "Filter", files="x.csv and x.json")
    for index in range(h.PAGE_ROWS + 5):
        table.add(["h%d" % index])
    out = render("{{ m.data_table(t) }}", t=table)
    assert out.count("<tr>") == h.PAGE_ROWS + 1                 # the header and the first page
    assert "h%d<" % (h.PAGE_ROWS - 1) in out and "h%d<" % h.PAGE_ROWS not in out
    assert ("<noscript><p class=\"muted\">Without JavaScript this table shows its first %d of %d rows, unsorted and "
            "unfiltered: every row is in x.csv and x.json.</p></noscript>" % (h.PAGE_ROWS, h.PAGE_ROWS + 5)) in out
    empty = render("{{ m.data_table(t) }}", t=h.DataTable("e", [h.Column("A"), h.Column("B")], "F", empty="none here"))
    assert '<tr><td colspan="2" class="empty">none here</td></tr>' in empty


def test_static_table_and_building_blocks():
    empty = render('{% call m.table([col("A"), col("B")], empty="none here") %}{% endcall %}')
    assert '<td colspan="2" class="empty">none here</td>' in empty and "sortable" not in empty
    out = render('{% call m.table([col("Name"), col("N", numeric=True, title="t<")], cls="grouped", id="x") %}'
                 '<tr class="group-start"><th scope="row" rowspan="2">grp</th><td class="num">1</td></tr>'
                 '{% endcall %}')
    assert out.startswith('<div class="table-wrap"><table class="data grouped" id="x"><thead><tr>'
                          '<th scope="col">Name</th><th scope="col" class="num" title="t&lt;" data-type="number">N</th>')
    cards = render("{{ m.cards(items) }}", items=[("Affected", 3, "affected", "hint <x>"), ("Clean", 0, "clean", None)])
    assert 'class="card tone-affected"' in cards and 'class="card tone-clean zero"' in cards
    assert "hint &lt;x&gt;" in cards
    assert '<div class="value">3</div><div class="label">Affected</div>' in cards
    sec = render('{% call m.section("T<1>", "s", intro="i") %}{{ body }}{% endcall %}', body=h.Markup("<p>b</p>"))
    assert sec == '<section id="s"><h2>T&lt;1&gt;</h2><p class="intro">i</p><p>b</p></section>'
    assert render('{% call m.details("s") %}b{% endcall %}') == \
        '<details><summary>s</summary><div class="details-body">b</div></details>'
    assert render("{{ m.dl(pairs) }}", pairs=[(h.badge("A", "clean"), "x<")]) == \
        '<dl><dt><span class="badge tone-clean">A</span></dt><dd>x&lt;</dd></dl>'


# ------------------------------------------------------------------------------ the page's data

def test_data_block_is_inert_inside_its_script_element():
    value = "</script><script>alert(1)</script>&amp; \u2028\u2029 <!-- x"
    table = h.DataTable("t", [h.Column("A")], "F")
    table.add([h.Shown(value)])                     # as if it were display text: the block escapes anyway
    text = h.data_json([table])
    assert "<" not in text and ">" not in text and "&" not in text
    assert "\u2028" not in text and "\u2029" not in text and invisible(text) == []
    assert table_rows(json.loads(text)["tables"]["t"]) == [[value]]
    data = json.loads(text)
    assert data["tags"] == list(h.TAGS) and (data["page"], data["print"]) == (h.PAGE_ROWS, h.PRINT_ROWS)


def test_page_has_one_script_its_data_and_the_hashed_assets():
    page = r.render_html(r.build_identify_report({"a": {}}, "2026-11-27T10:05:00Z"))
    parsed = parse(page)
    assert [a for t, a in parsed.tags if t == "script"] == [{"type": "application/json", "id": "divest-data"}, {}]
    assert parsed.raw["script"] == [h.SCRIPT] and parsed.raw["style"] == [h.CSS]
    assert table_rows(page_data(page)["tables"]["hosts-table"])[0][0] == "a"
    # the data comes before the content (the browser lays the page out once), the script after it
    assert page.index(b'id="divest-data"') < page.index(b"<main>") < page.index(b"<script>")


def test_csp_allows_exactly_the_asset_files():
    for name, kind in (("divest.css", "style-src"), ("divest.js", "script-src")):
        with open(os.path.join(h.ASSETS, name), "rb") as handle:
            digest = base64.b64encode(hashlib.sha256(handle.read()).digest()).decode()
        assert "%s 'sha256-%s';" % (kind, digest) in h.CSP
    assert h.CSP.startswith("default-src 'none';") and "unsafe" not in h.CSP


def test_inline_sources_refuse_closing_tags():
    with pytest.raises(ValueError):
        h.inline_sources("p{}", "x</script>")
    with pytest.raises(ValueError):
        h.inline_sources("p{}</STYLE>", "x")


# ------------------------------------------------------------------------------ rows alike

def test_rows_alike_are_built_once_and_keep_their_own_cells():
    cols = [h.Column("Host", header=True), h.Column("Status", key=0), h.Column("When", key=1)]
    plain = h.DataTable("p", cols, "F")
    alike = h.DataTable("a", cols, "F")
    calls = []

    def build(status):
        calls.append(status)
        return [None, h.badge(status, status), None], ["0 " + status, None]

    rows = [("web1", "clean", "10:00"), ("web2", "clean", "11:00"), ("web3", "affected", "10:00"),
            ("web4", "clean", "12:00"), ("web5", "affected", "13:00")]
    for name, status, when in rows:
        plain.add([name, h.badge(status, status), when], keys=["0 " + status, when])
        alike.add_like(("status", status), {0: name, 2: when, 4: when}, build, status)
    assert calls == ["clean", "affected"]                      # once per distinct like
    assert [alike.row(i) for i in range(5)] == [plain.row(i) for i in range(5)]
    assert table_rows(alike.data()) == table_rows(plain.data())
    assert len(alike) == 5 and alike.data()["cells"][1]["index"] == [0, 0, 1, 0, 1]
    # without a like (None) the row is built every time
    alike.add_like(None, {0: "web6", 2: "", 4: ""}, build, "clean")
    alike.add_like(None, {0: "web7", 2: "", 4: ""}, build, "clean")
    assert calls == ["clean", "affected", "clean", "clean"] and alike.row(6)[0] == "web7"


def test_alike_is_the_entry_but_the_named_fields_with_their_types():
    assert h.alike({"name": "a", "v": 1}) == h.alike({"name": "b", "v": 1})
    assert h.alike({"name": "a", "v": 1}) != h.alike({"name": "a", "v": True})
    assert h.alike({"name": "a", "v": 1}) != h.alike({"name": "a", "v": 1.0})
    assert h.alike({"name": "a", "v": "1"}) != h.alike({"name": "a", "v": 1})
    assert h.alike({"name": "a", "at": "10:00", "v": [1]}, ("name", "at")) == h.alike({"v": [1], "at": "11:00"},
                                                                                      ("name", "at"))
    assert h.alike({"name": "a", "v": {"x": [1, None]}}) != h.alike({"name": "a", "v": {"x": [1, False]}})
    assert h.alike({"name": "a", "v": object()}) is None           # not plain data: never alike
    entry = {"name": "a", "v": 1}
    h.alike(entry)
    assert entry == {"name": "a", "v": 1}                          # the entry is left as it is
