# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for plugin_utils/_text.py: text safety for every format, natural sort, words for people."""

from __future__ import annotations

import gc
import json
import unicodedata

import pytest

from ansible_collections.fleetsec.divest.plugins.plugin_utils import _html as h
from ansible_collections.fleetsec.divest.plugins.plugin_utils import _text as t
from ansible_collections.fleetsec.divest.tests.unit.plugins.plugin_utils.hostile_text import IGNORABLE, invisible

HYPERLINK = '=HYPERLINK("http://x")'
DDE = "+cmd|' /C calc'!A0"
SURROGATE = "caf\udce9 \udcff\ud800"  # non-UTF-8 bytes decoded with surrogateescape + a stray surrogate


@pytest.mark.parametrize("value, expected", [
    (HYPERLINK, "'" + HYPERLINK),
    (DDE, "'" + DDE),
    ("-2+3", "'-2+3"),
    ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "' =1"),          # tab and CR become spaces; the cell is still neutralised
    ("\r=1", "' =1"),
    ("  =1", "'  =1"),         # leading spaces do not hide a formula
    ("\uff1d1+1", "'\uff1d1+1"),  # full-width equals sign
    ("kesl", "kesl"),
    ("a=b", "a=b"),
    ("", ""),
    (None, ""),
    (12, "12"),
    ("line1\nline2", "line1 line2"),
    ("bell\x07\x1b[31m", "bell\ufffd\ufffd[31m"),
    ("rtl\u202eexe.txt", "rtl\ufffdexe.txt"),
    (SURROGATE, "caf\\xe9 \\xff\\ud800"),
])
def test_csv_cell(value, expected):
    assert t.csv_cell(value) == expected


@pytest.mark.parametrize("value, expected", [
    ("plain", "plain"),
    (b"\xffab", "\\xffab"),
    ("\udc80", "\\x80"),
    ("\ud83d", "\\ud83d"),
    (None, ""),
    (3, "3"),
])
def test_text(value, expected):
    assert t.text(value) == expected
    t.text(value).encode("utf-8")


def _codepoints(predicate):
    return [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF and predicate(chr(c))]


def test_every_control_and_format_character_is_made_visible():
    """Every Cc and Cf character of this Python's Unicode database, and the other default
    ignorable code points, become a space (line breaks, tabs) or U+FFFD: none reaches a page,
    a CSV cell or a Markdown file."""
    hidden = _codepoints(lambda ch: unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp")) + list(IGNORABLE)
    assert all(ch.isprintable() for ch in IGNORABLE)  # so str.isprintable() alone would miss them
    out = t.clean_text("".join(hidden), None)
    assert len(out) == len(hidden)
    assert set(out) <= {" ", "\ufffd"}
    assert invisible(out) == []


@pytest.mark.parametrize("value, expected", [
    ("ke\u200bsl", "ke\ufffdsl"),                        # zero-width space
    ("k\u200ce\u200ds\u2060l\ufeff", "k\ufffde\ufffds\ufffdl\ufffd"),  # ZWNJ, ZWJ, word joiner, BOM
    ("\u180ekesl", "\ufffdkesl"),                        # Mongolian vowel separator (Cf)
    ("ke\u00adsl", "ke\ufffdsl"),                        # soft hyphen
    ("exe\u2066.txt\u2069\u200e\u200f\u061c", "exe\ufffd.txt\ufffd\ufffd\ufffd\ufffd"),  # bidi isolates, marks
    ("a\U000e0041\U000e0001b", "a\ufffd\ufffdb"),       # tag characters (hidden ASCII)
    ("\u3164\u115f", "\ufffd\ufffd"),                    # Hangul fillers: look like nothing
    ("v\ufe0f\U000e0100", "v\ufffd\ufffd"),              # variation selectors (data smuggling)
    ("a\u2028b\u2029c\x85d", "a b c d"),                 # line and paragraph separators
    ("caf\u00e9 \u00a0\u3000 \U0001f600", "caf\u00e9 \u00a0\u3000 \U0001f600"),  # visible text stays
])
def test_clean_text_shows_invisible_characters(value, expected):
    assert t.clean_text(value) == expected
    assert h.esc(value) == expected


@pytest.mark.parametrize("value", [
    "\u00a0=HYPERLINK(\"http://x\")",     # no-break space
    "\u3000+cmd|' /C calc'!A0",          # ideographic space
    "\u2002\u2003-2+3",                  # en, em space
    "\u202f\u205f\u1680@SUM(A1)",        # narrow no-break, medium mathematical, ogham space
    "\u200b=1+1",                        # zero-width space (shown as U+FFFD)
    "\ufeff\u2060=1",                    # BOM, word joiner
    "\u2028=1",                          # line separator
    " \t\u00a0\r\n=1",
    "\ufe66cmd", "\ufe62cmd", "\ufe63cmd", "\ufe6bcmd", "\u207c1", "\u208a1", "\u2212 1",  # look-alikes
])
def test_csv_formula_guard_after_unicode_spaces_and_invisible_characters(value):
    cell = t.csv_cell(value)
    assert cell.startswith("'"), cell
    assert invisible(cell) == [] and "\t" not in cell and "\n" not in cell


@pytest.mark.parametrize("value", ["kesl", "12.1", "a=b", "\u00a0kesl", "\u00e9=", "'=quoted", "\ufffdok"])
def test_csv_formula_guard_leaves_text_alone(value):
    assert t.csv_cell(value) == value


@pytest.mark.parametrize("value, cell, expected", [
    ("kesl", True, "`kesl`"),
    ("a`b", True, "``a`b``"),
    ("`x`", True, "`` `x` ``"),
    ("``", True, "``` `` ```"),
    ("a|b", True, "`a\\|b`"),
    ("a|b", False, "`a|b`"),
    ("a\\|b", True, "`a\\\\|b`"),
    ("  padded  ", True, "`padded`"),
    ("", True, ""),
    (None, True, ""),
    ("line\nbreak\u200b", True, "`line break\ufffd`"),
])
def test_md_code(value, cell, expected):
    assert t.md_code(value, cell=cell) == expected


def test_md_code_caps_length():
    assert t.md_code("x" * 20, 10) == "`%s[\u2026 10 more characters]`" % ("x" * 10)


def test_escape_invisible_keeps_the_value():
    value = {"name": "a\u202eb\u200b\U000e0041\x85\u2028\x7f\ufeff", "ok": "caf\u00e9 \U0001f600"}
    raw = json.dumps(value, ensure_ascii=False)
    safe = t.escape_invisible(raw)
    assert json.loads(safe) == value
    assert invisible(safe) == []
    assert "\\u202e" in safe and "\\udb40\\udc41" in safe and "caf\u00e9 \U0001f600" in safe
    assert t.escape_invisible('{"a": 1}') == '{"a": 1}'


@pytest.mark.parametrize("value, expected", [
    ("2026-11-27T10:00:00Z", "2026-11-27 10:00 UTC"),
    ("2026-11-27T10:00:05.123+00:00", "2026-11-27 10:00 UTC"),
    ("2026-11-27T10:00:00+02:00", "2026-11-27T10:00:00+02:00"),   # not UTC: shown as it is
    ("yesterday", "yesterday"),
    (None, ""),
    ("", ""),
])
def test_fmt_time(value, expected):
    assert t.fmt_time(value) == expected


def test_fmt_time_shows_other_values_through_fmt():
    assert t.fmt_time("x" * 100, t.clean_text) == "x" * 80 + "[\u2026 20 more characters]"
    assert t.fmt_time(5, lambda value, limit: "<%s/%d>" % (value, limit)) == "<5/80>"


def test_plural():
    assert [t.plural(n, "host") for n in (0, 1, 2)] == ["0 hosts", "1 host", "2 hosts"]
    assert t.plural(2, "entry", "entries") == "2 entries"


@pytest.mark.parametrize("plat, with_system, expected", [
    ({"system": "Linux", "distribution": "debian", "version": "12"}, False, "debian 12"),
    ({"system": "Linux", "distribution": "debian", "version": "12"}, True, "debian 12 (Linux)"),
    ({"system": "Windows", "distribution": "Microsoft Windows 11", "version": "10.0"}, True, "Microsoft Windows 11 10.0"),
    ({"system": "Linux", "distribution": None, "version": None}, True, "Linux"),
    (None, True, ""),
])
def test_platform_text(plat, with_system, expected):
    assert t.platform_text(plat, with_system) == expected


def test_get_is_safe_on_anything():
    class Lazy(dict):
        def get(self, key, default=None):
            raise RuntimeError("cannot template")
    assert t.get({"a": 1}, "a") == 1 and t.get(None, "a", 2) == 2 and t.get("text", "a") is None
    assert t.get(Lazy(a=1), "a", "fallback") == "fallback"
    assert t.opt_text(None) is None and t.opt_text(b"\xff") == "\\xff"


def test_json_bytes_layout_and_foreign_types():
    data = t.json_bytes({"report": "x", "hosts": [{"name": "a\u202e"}, {"name": "b"}], "when": {1}, "b": b"\xff"})
    assert data.decode("utf-8").splitlines() == [
        "{", '  "report": "x",', '  "hosts": [', '    {"name": "a\\u202e"},', '    {"name": "b"}', "  ],",
        '  "when": [', "    1", "  ],", '  "b": "\\\\xff"', "}"]
    assert json.loads(data) == {"report": "x", "hosts": [{"name": "a\u202e"}, {"name": "b"}], "when": [1], "b": "\\xff"}


def test_gc_paused_pauses_the_collector_and_restores_it():
    seen = []

    @t.gc_paused
    def work(fail=False):
        seen.append(gc.isenabled())
        if fail:
            raise RuntimeError("boom")
        return "done"

    was = gc.isenabled()
    try:
        gc.enable()
        assert work() == "done" and seen == [False] and gc.isenabled()
        with pytest.raises(RuntimeError):
            work(fail=True)
        assert gc.isenabled()                          # on again after an exception
        gc.disable()
        assert work() == "done" and not gc.isenabled()  # left off when it was off
    finally:
        if was:
            gc.enable()
        else:
            gc.disable()
    assert work.__name__ == "work"


def test_csv_lines_put_together_from_fragments_are_the_writers():
    header = ("a", 'b "quoted"', "c,d")
    rows = [
        ["plain", "", None, 12, 1.5, True],
        ['say "hi"', "x,y", "=SUM(A1)", " +cmd", "line\r\nbreak", "\ufeffzero\u200bwidth"],
        [("K" * 600, 100), ("short", 5), "caf\udce9", "\u00e9t\u00e9", "-1", "@at"],
    ]
    expected = t.csv_bytes(header, rows)
    lines = [t.csv_fragment(row[:2]) + "," + t.csv_fragment(row[2:]) + "\r\n" for row in rows]
    assert (t.csv_header(header) + "".join(lines)).encode("utf-8") == expected
    assert t.csv_cells(rows[0]) == ["plain", "", "", "12", "1.5", "True"]
