# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet reports: build report documents from host facts and write them as JSON, CSV and HTML.

Controller side only (plugin_utils), standard library only, no Ansible imports: everything
here is a pure function of its arguments, so the action plugin, filters and tests share it.

The module has three layers:

1. **Text safety** (:func:`text`, :func:`clean_text`, :func:`clip`, :func:`esc`,
   :func:`csv_cell`, :func:`md_code`, :func:`escape_invisible`, :func:`to_jsonable`): the one
   set of functions every renderer (identify, plan, execute; JSON, YAML, CSV, Markdown, HTML)
   uses. Every string that came from a managed host is hostile: it may carry HTML, Markdown,
   spreadsheet formulas, control, invisible or bidi characters, lone surrogates (non-UTF-8
   bytes decoded with ``surrogateescape``) or be megabytes long.

   * JSON keeps values in full; lone surrogates are rewritten (as ``\\xNN`` text) so the
     file is valid UTF-8, and invisible characters are written as ``\\uXXXX`` escapes (the
     parsed value is the same).
   * HTML, CSV and Markdown show values through :func:`clean_text`: surrogates as ``\\xNN``,
     line breaks and tabs as spaces, other control characters and every invisible character
     (:data:`INVISIBLE_RANGES`: zero-width, bidi, BOM, tags, fillers ...) as a visible U+FFFD,
     values longer than a limit cut with a ``[… N more characters]`` marker. HTML then
     escapes ``& < > " '`` (text and attributes alike); CSV prefixes with ``'`` a cell that a
     spreadsheet would read as a formula, also after leading Unicode spaces; Markdown puts
     each value in a code span, where no renderer finds markup.

2. **Page toolkit** (:class:`Markup`, :func:`tag`, :func:`section`, :func:`table`,
   :func:`sortable_table`, :func:`cards`, :func:`badge`, :func:`details`, :func:`page`,
   :func:`csv_bytes`). Generic building blocks for the identify, plan and execute reports:
   one self-contained HTML page (inline CSS and JS, a Content-Security-Policy that allows
   exactly those by their sha256 hashes, nothing loaded from anywhere), tables that sort when
   a header is clicked and stay plain tables without JavaScript, ``<details>`` for per-row
   evidence, print styles. Content is composed as :class:`Markup` (trusted, already escaped
   HTML); anything else passed to the toolkit is escaped, so forgetting to escape is not a
   way to inject markup.

3. **Reports**: :func:`build_identify_report` turns ``{host: hostvars}`` into the identify
   document; :func:`render_json`, :func:`render_csv`, :func:`render_html` turn a document
   into bytes; :func:`write_json`, :func:`write_csv`, :func:`write_html` and
   :func:`write_reports` write them atomically (temporary file + ``os.replace``, mode 0644,
   directory created). :func:`compact_summary` gives the few hundred bytes meant for
   ``set_stats``.

All work is linear in the number of hosts (plus sorting).
"""

from __future__ import annotations

import base64
import csv
import datetime
import hashlib
import html
import io
import json
import math
import os
import re
import tempfile
from collections.abc import Mapping

__all__ = [
    # text safety
    "text", "clean_text", "clip", "esc", "csv_cell", "md_code", "escape_invisible", "to_jsonable",
    "to_jsonable_fast", "natural_key", "INVISIBLE", "INVISIBLE_RANGES",
    # toolkit
    "Markup", "Column", "Cell", "tag", "join", "section", "table", "sortable_table", "cards",
    "badge", "details", "page", "csv_bytes", "write_bytes_atomic", "ReportWriteError",
    # identify report
    "SCHEMA", "STATUSES", "SCAN_STATUSES", "ERROR_STATUSES", "ALERTS", "CLEANED", "STATUS_TEXT", "CSV_COLUMNS",
    "build_identify_report", "host_entry", "evidence_text", "compact_summary",
    "render_json", "render_csv", "render_html", "write_json", "write_csv", "write_html",
    "write_reports", "report_filenames", "previous_generated_at",
]

#: 2: execute outcomes; the ``unprotected`` and ``reappearance`` statuses, ``alerts``, ``execute``.
SCHEMA = 2

#: Every status a host can have in a report, most urgent first (the order of cards, of the
#: ``by_status`` counts and of the default host table sort).
STATUSES = ("unprotected", "reappearance", "affected", "residual", "unknown", "failed", "unreachable",
            "not_scanned", "clean")
#: Statuses a scan (``ansible_facts.divest.status``) can report.
SCAN_STATUSES = ("affected", "residual", "unknown", "clean")
#: Statuses set from the identify role's ``divest_scan`` fact (``kind``).
ERROR_STATUSES = ("unreachable", "failed")
#: What the execute outcome and the scan say together of a host that execute cleaned, most
#: urgent first; an alert is the host's status, whatever the scan or the error says.
ALERTS = ("unprotected", "reappearance")
#: Outcome statuses of an execute run that cleaned a host (with ``check_mode`` false).
CLEANED = ("removed", "already_clean", "unprotected")
_RANK = {status: rank for rank, status in enumerate(STATUSES)}

STATUS_TEXT = {
    "unprotected": ("Unprotected",
                    "Cleaned by execute, and no healthy replacement antivirus: nothing protects the host."),
    "reappearance": ("Reappeared",
                     "Cleaned by execute, and the vendor's software is back (BOD 17-01 forbids its use)."),
    "affected": ("Affected", "A vendor product is installed."),
    "residual": ("Residual", "Only leftovers of a vendor product remain."),
    "unknown": ("Unknown", "Scanned, but a source needed to call the host clean could not be read."),
    "failed": ("Failed", "The scan failed on the host."),
    "unreachable": ("Unreachable", "The host could not be contacted."),
    "not_scanned": ("Not scanned", "The host was in the play but has no scan result."),
    "clean": ("Clean", "No product and no leftovers found."),
}

#: Column order of the identify CSV (one row per host and finding). Columns are only ever
#: added at the end, so spreadsheets built on the earlier ones keep working.
CSV_COLUMNS = (
    "host", "status", "system", "distribution", "os_version", "vendor", "product",
    "product_name", "product_version", "state", "evidence", "scanned_at", "error",
    "alerts", "scan_status", "execute_status", "execute_finished_at", "execute_digest", "execute_reason",
    "replacement", "replacement_healthy",
)

#: Default length caps for values shown in HTML and CSV (the JSON keeps everything).
FIELD_LIMIT = 512
EVIDENCE_LIMIT = 4096
#: At most this many evidence items per finding are listed in the HTML page.
HTML_EVIDENCE_ITEMS = 100


# --------------------------------------------------------------------------------------------
# Text safety
# --------------------------------------------------------------------------------------------

_SURROGATES = re.compile("[\ud800-\udfff]")

#: Characters a reader cannot see, or that change how the text around them is shown: every
#: format character (Unicode category Cf: zero-width space, joiners and word joiner, soft
#: hyphen, bidi marks, embeddings, overrides and isolates, BOM / ZWNBSP, the Mongolian vowel
#: separator, interlinear annotation, tag characters ...) and every other default-ignorable code
#: point (combining grapheme joiner, Hangul fillers, variation selectors ...), Unicode 15.
#: tests/unit/plugins/plugin_utils/test_report.py checks that every Cf character of the running
#: Python is here.
INVISIBLE_RANGES = (
    (0x00AD, 0x00AD), (0x034F, 0x034F), (0x0600, 0x0605), (0x061C, 0x061C), (0x06DD, 0x06DD),
    (0x070F, 0x070F), (0x0890, 0x0891), (0x08E2, 0x08E2), (0x115F, 0x1160), (0x17B4, 0x17B5),
    (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x206F), (0x3164, 0x3164),
    (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF), (0xFFA0, 0xFFA0), (0xFFF0, 0xFFFB), (0x110BD, 0x110BD),
    (0x110CD, 0x110CD), (0x13430, 0x1343F), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A), (0xE0000, 0xE0FFF),
)
_INVISIBLE_CLASS = "".join("%s-%s" % (re.escape(chr(a)), re.escape(chr(b))) for a, b in INVISIBLE_RANGES)
#: What :func:`escape_invisible` writes as escapes in JSON and YAML text: DEL, C1 controls, line
#: and paragraph separators and :data:`INVISIBLE_RANGES`. (C0 controls are escaped by the
#: serialisers themselves.)
INVISIBLE = re.compile("[\x7f-\x9f\u2028\u2029%s]" % _INVISIBLE_CLASS)
# Anything clean_text() changes: controls, separators, surrogates, invisible characters.
_DIRTY = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff%s]" % _INVISIBLE_CLASS)
REPLACEMENT = "\ufffd"


def _display_table():
    table = dict.fromkeys(range(0x20), REPLACEMENT)
    table.update(dict.fromkeys(range(0x7F, 0xA0), REPLACEMENT))
    for first, last in INVISIBLE_RANGES:
        table.update(dict.fromkeys(range(first, last + 1), REPLACEMENT))
    # Line breaks and tabs separate words: a space keeps them apart.
    table.update(dict.fromkeys(map(ord, "\t\n\r\v\f\x85\u2028\u2029"), " "))
    return table


_DISPLAY = _display_table()


def _surrogate_repr(match):
    code = ord(match.group(0))
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8, decoded with surrogateescape
        return "\\x%02x" % (code - 0xDC00)
    return "\\u%04x" % code


def text(value):
    """Return ``value`` as a ``str`` that encodes to UTF-8.

    ``None`` becomes ``""``; bytes are decoded as UTF-8 with undecodable bytes shown as
    ``\\xNN``; lone surrogates (what ``surrogateescape`` makes of non-UTF-8 bytes) are shown
    as ``\\xNN`` too, other surrogates as ``\\uNNNN``. ``str`` subclasses (tagged or "unsafe"
    strings) become plain ``str``. Nothing else is changed: use :func:`clean_text` for display.
    """
    if value.__class__ is str and value.isascii():  # the fast, common case
        return value
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    value = str.__str__(value) if isinstance(value, str) else str(value)
    if not value.isascii() and _SURROGATES.search(value):
        value = _SURROGATES.sub(_surrogate_repr, value)
    return value


def clip(value, limit):
    """Cut ``value`` (a str) to ``limit`` characters plus a visible marker saying how much went."""
    if limit is not None and len(value) > limit:
        return "%s[\u2026 %d more characters]" % (value[:limit], len(value) - limit)
    return value


def clean_text(value, limit=FIELD_LIMIT):
    """Return ``value`` as display-safe text for HTML, CSV or Markdown (not yet escaped).

    Applies :func:`text`, turns tabs and line breaks (also U+0085, U+2028, U+2029) into
    spaces, replaces every other control character and every invisible character
    (:data:`INVISIBLE_RANGES`: zero-width characters, bidi controls, BOMs, tag characters,
    fillers, variation selectors ...) with a visible U+FFFD, then cuts to ``limit`` characters
    (``None``: no cap) with a ``[… N more characters]`` marker. What remains is text a
    reader sees as it is: nothing hidden, nothing reordered.
    """
    if value.__class__ is str and (value.isascii() and value.isprintable() or not _DIRTY.search(value)):
        return value if limit is None or len(value) <= limit else clip(value, limit)
    return clip(text(value).translate(_DISPLAY), limit)


def _escape_json_char(match):
    code = ord(match.group(0))
    if code > 0xFFFF:
        code -= 0x10000
        return "\\u%04x\\u%04x" % (0xD800 + (code >> 10), 0xDC00 + (code & 0x3FF))
    return "\\u%04x" % code


def escape_invisible(json_text):
    """Return serialised JSON with every :data:`INVISIBLE` character written as a ``\\uXXXX``
    escape (a surrogate pair above U+FFFF).

    Parsing gives exactly the same values: outside its strings JSON text holds only ASCII
    structure, so every such character is inside a string, where the escape means the
    character itself. The file no longer hides or reorders text in an editor, a terminal or
    a code review (zero-width characters, bidi overrides, line separators).
    """
    if json_text.isascii() and "\x7f" not in json_text:
        return json_text
    return INVISIBLE.sub(_escape_json_char, json_text)


class Markup(str):
    """A ``str`` of trusted, already escaped HTML.

    The toolkit escapes every plain ``str`` it is given and inserts ``Markup`` as it is. Make
    ``Markup`` only with the toolkit functions (:func:`esc`, :func:`tag`, :func:`join` …) or
    from constant strings written in this code, never from host data.
    """

    __slots__ = ()

    def __html__(self):
        return self


def esc(value, limit=FIELD_LIMIT):
    """Escape ``value`` for HTML text or a double-quoted attribute and return :class:`Markup`.

    ``Markup`` passes unchanged; anything else goes through :func:`clean_text` (``limit``
    characters at most) and :func:`html.escape` with ``quote=True``.
    """
    if isinstance(value, Markup):
        return value
    return Markup(html.escape(clean_text(value, limit), quote=True))


#: First characters that make a spreadsheet read a cell as a formula: ``= + - @``, tab, CR,
#: LF, and their compatibility forms (the full-width, small, superscript and subscript
#: characters whose NFKC form is one of ``= + - @``, which some importers normalise) and
#: U+2212 MINUS SIGN.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n",
                  "\uff1d", "\uff0b", "\uff0d", "\uff20", "\ufe66", "\ufe62", "\ufe63", "\ufe6b",
                  "\u207c", "\u208c", "\u207a", "\u208a", "\ufb29", "\u2212")
# What spreadsheet programs skip before they look for a formula: any Unicode whitespace
# (also no-break, ideographic and other spaces), and the U+FFFD that clean_text() left in
# place of an invisible character.
_CSV_LEADING = re.compile("[\\s\ufffd]+")


def csv_cell(value, limit=FIELD_LIMIT):
    """Return ``value`` as a CSV cell that a spreadsheet shows as text, never runs.

    :func:`clean_text` first (so no tab, CR, LF or invisible character remains), then a cell
    whose first character, after any leading whitespace (U+0020, U+00A0, U+3000 and every
    other Unicode space) and U+FFFD, is ``=``, ``+``, ``-``, ``@`` or one of their
    compatibility forms (full-width ``\uff1d``, small ``\ufe66``, superscript ``\u207c`` ...
    and U+2212) gets a leading ``'``: the OWASP recommendation against formula (CSV)
    injection. All cells are text; the writer also quotes every cell.
    """
    value = clean_text(value, limit)
    head = value[:1]
    if head and not head.isalnum():
        lead = _CSV_LEADING.match(value)
        if (value[lead.end():] if lead else value).startswith(_FORMULA_START):
            value = "'" + value
    return value


_BACKTICKS = re.compile("`+")


def md_code(value, limit=FIELD_LIMIT, cell=True):
    """Return ``value`` as a Markdown code span: text that no Markdown renderer turns into
    anything else.

    Inside a code span CommonMark and GitHub Flavored Markdown interpret nothing: no
    emphasis, link, autolink (``<...>``, ``http://``, ``www.``, e-mail), HTML, entity or
    backslash escape; and the post-processing of hosting platforms (``@mentions``, ``#123``
    references, ``:emoji:``, bare-URL linkifiers) skips code. The value goes through
    :func:`clean_text` (one line, nothing invisible, at most ``limit`` characters), loses
    leading and trailing whitespace, and is fenced with one backtick more than its longest
    run of backticks (padded with a space when it starts or ends with one). The span always
    starts with a backtick and closes on the same line, so it can never open a code fence or
    any other block. ``cell=True`` (a table cell) writes ``|`` as ``\\|``, which GFM tables
    read as a pipe inside the cell; leave it ``False`` outside tables. Empty values give
    ``""``.
    """
    value = clean_text(value, limit).strip()
    if not value:
        return ""
    fence = "`"
    if "`" in value:
        fence = "`" * (max(len(run) for run in _BACKTICKS.findall(value)) + 1)
        if value[0] == "`" or value[-1] == "`":
            value = " %s " % value
    if cell and "|" in value:
        value = value.replace("|", "\\|")
    return "%s%s%s" % (fence, value, fence)


def to_jsonable(value, _depth=0):
    """Deep-copy ``value`` into plain JSON types (dict with str keys, list, str, int, float,
    bool, None).

    Strings go through :func:`text` (full length is kept); tuples and sets become lists; dates
    become ISO 8601 text; non-finite floats and unknown objects become strings; nesting deeper
    than 64 levels is replaced by its ``repr``. The result always serialises with
    ``json.dumps(allow_nan=False)`` and encodes to UTF-8.
    """
    kind = type(value)  # exact types first: facts from a cache are plain data
    if kind is str:
        return value if value.isascii() else text(value)
    if kind is dict or kind is list:
        if _depth > 64:
            return text(repr(value))
        if kind is list:
            return [to_jsonable(v, _depth + 1) for v in value]
        return {(k if k.__class__ is str and k.isascii() else text(k)): to_jsonable(v, _depth + 1)
                for k, v in value.items()}
    if value is None or value is True or value is False:
        return value
    if isinstance(value, str):
        return text(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else str(value)
    if _depth > 64:
        return text(repr(value))
    if isinstance(value, Mapping):
        return {text(k): to_jsonable(v, _depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v, _depth + 1) for v in value]
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    return text(value)


def to_jsonable_fast(value):
    """:func:`to_jsonable`, through the C JSON codec when ``value`` is plain JSON data already
    (the usual case for facts read from a fact cache): about five times faster."""
    try:
        dumped = json.dumps(value, ensure_ascii=False, allow_nan=False)
        dumped.encode("utf-8")  # a lone surrogate fails here: to_jsonable() shows it as \xNN
    except (TypeError, ValueError, UnicodeEncodeError, RecursionError):
        return to_jsonable(value)
    return json.loads(dumped)


_DIGITS = re.compile(r"(\d+)")


def natural_key(value):
    """Sort key that orders ``web2`` before ``web10`` and ``12.1.0.9`` before ``12.1.0.10``.

    Case-insensitive, ties broken by the exact text; ``None`` sorts after every string.
    Numbers are compared by value without ``int()`` (safe for absurdly long digit runs).
    """
    if value is None:
        return (1, (), "")
    value = text(value)
    parts = _DIGITS.split(value.casefold())
    key = []
    for index, part in enumerate(parts):
        if index % 2:
            digits = part.lstrip("0") or "0"
            key.append((len(digits), digits, len(part)))
        else:
            key.append((0, part, 0))
    return (0, tuple(key), value)


# --------------------------------------------------------------------------------------------
# Page toolkit
# --------------------------------------------------------------------------------------------

_NAME = re.compile(r"^[a-z][a-z0-9]*$")
_ATTR = re.compile(r"^[a-z][a-z0-9_-]*$")
_VOID = frozenset(("br", "hr", "img", "input", "meta", "link", "col", "wbr"))


_CHECKED_NAMES = set()
_CHECKED_ATTRS = set()
_ATTR_NAMES = {}


def _attr_name(key):
    attr = _ATTR_NAMES[key] = key.rstrip("_").replace("_", "-")
    return attr


def _check_attr(attr):
    if not _ATTR.match(attr) or attr == "style" or attr.startswith("on"):
        raise ValueError("attribute %r is not allowed" % (attr,))
    _CHECKED_ATTRS.add(attr)


def join(parts, sep=""):
    """Join pieces of content into :class:`Markup`; plain strings among them are escaped."""
    sep = esc(sep, None)
    return Markup(sep.join(esc(part, FIELD_LIMIT) for part in parts))


def _content(content):
    if content is None:
        return Markup("")
    if isinstance(content, (list, tuple)):
        return join(content)
    return esc(content)


def tag(name, content=None, attrs=None, **kwattrs):
    """Return one HTML element as :class:`Markup`.

    ``name`` is a lower-case tag name. ``content`` is :class:`Markup`, a plain value (escaped)
    or a list of either. Attributes are keyword arguments: a trailing ``_`` is dropped
    (``class_``), other ``_`` become ``-`` (``data_sort`` -> ``data-sort``); attributes whose
    names clash with the parameters (``name``, ``content``) go in the ``attrs`` mapping,
    written as they are, before the keyword ones. ``None`` and
    ``False`` omit the attribute, ``True`` writes it bare; values are always escaped and
    double-quoted. Inline ``style`` attributes and ``on*`` handlers are refused: the page's
    Content-Security-Policy would block them anyway.
    """
    if name not in _CHECKED_NAMES:
        if not _NAME.match(name):
            raise ValueError("invalid tag name %r" % (name,))
        _CHECKED_NAMES.add(name)
    out = ["<", name]
    pairs = list(attrs.items()) if attrs else []
    pairs.extend((_ATTR_NAMES.get(key) or _attr_name(key), value) for key, value in kwattrs.items())
    for attr, value in pairs:
        if value is None or value is False:
            continue
        if attr not in _CHECKED_ATTRS:
            _check_attr(attr)
        if value is True:
            out.append(" " + attr)
        else:
            out.append(' %s="%s"' % (attr, esc(value, None)))
    out.append(">")
    if name in _VOID:
        return Markup("".join(out))
    out.append(_content(content))
    out.append("</%s>" % name)
    return Markup("".join(out))


class Column(object):
    """A table column.

    ``label``: header text. ``numeric``: right-aligned, sorted as a number. ``sortable``:
    whether clicking the header sorts (sortable tables only). ``cls``: extra CSS class for
    the header and the cells. ``title``: tooltip for the header.
    """

    __slots__ = ("label", "numeric", "sortable", "cls", "title")

    def __init__(self, label, numeric=False, sortable=True, cls=None, title=None):
        self.label = label
        self.numeric = numeric
        self.sortable = sortable
        self.cls = cls
        self.title = title


class Cell(object):
    """A table cell with more than text.

    ``content``: :class:`Markup`, a plain value (escaped) or a list of either. ``sort``: the
    value a sortable table sorts this cell by (written to ``data-sort``; default: the cell's
    text). ``cls``: CSS class. ``rowspan``: rows this cell spans (plain tables only; sortable
    tables must not use it). ``header``: render as ``<th scope="row">``.
    """

    __slots__ = ("content", "sort", "cls", "rowspan", "header")

    def __init__(self, content, sort=None, cls=None, rowspan=None, header=False):
        self.content = content
        self.sort = sort
        self.cls = cls
        self.rowspan = rowspan
        self.header = header


def _classes(*names):
    names = [n for n in names if n]
    return " ".join(names) if names else None


def table(columns, rows, caption=None, cls=None, sortable=False, filter_placeholder=None,
          empty="Nothing to show.", id_=None):
    """Return a ``<table>`` as :class:`Markup`.

    ``columns``: :class:`Column` objects or plain labels. ``rows``: an iterable of rows; a row
    is a list of cells (:class:`Cell`, :class:`Markup` or plain values), or a tuple
    ``(cells, row_class)`` to give the ``<tr>`` a CSS class (``group-start`` draws a
    separator above the row). With ``sortable=True`` the page script turns each
    sortable header into a button that sorts the body rows (numbers numerically, text in
    natural order, by ``data-sort`` when a cell has one); without JavaScript it is a plain
    table in the order given. ``filter_placeholder`` adds a search box (JavaScript only) that
    hides rows not containing the typed text. An empty ``rows`` renders one row saying
    ``empty``.
    """
    columns = [c if isinstance(c, Column) else Column(c) for c in columns]
    out = []
    attrs = {"class_": _classes("data", "sortable" if sortable else None, cls), "id": id_}
    if filter_placeholder:
        attrs["data_filter"] = filter_placeholder
    head = []
    for col in columns:
        th_cls = _classes("num" if col.numeric else None, col.cls)
        head.append(tag(
            "th", col.label, scope="col", class_=th_cls, title=col.title,
            data_type="number" if col.numeric else None,
            data_nosort=True if (sortable and not col.sortable) else None,
        ))
    out.append(tag("thead", tag("tr", head)))
    # Cells are formatted directly (not with tag()): this loop runs once per cell of a
    # 10,000-host table. The class attribute of each column is computed once.
    col_cls = [_classes("num" if col.numeric else None, col.cls) for col in columns]
    plain_td = ["<td>" if c is None else '<td class="%s">' % c for c in col_cls]
    ncols = len(columns)
    body = []
    count = 0
    spans = [0] * ncols  # rows still covered by a rowspan, per column
    spanning = False
    for row in rows:
        row_cls = None
        if isinstance(row, tuple):
            row, row_cls = row
        if spanning:
            covered = [n > 0 for n in spans]
            spans = [n - 1 if n > 0 else 0 for n in spans]
            spanning = any(spans)
        else:
            covered = None
        cells = ["<tr>" if row_cls is None else '<tr class="%s">' % esc(row_cls, None)]
        index = -1
        for cell in row:
            index += 1
            if covered is not None:
                while index < ncols and covered[index]:
                    index += 1
            if index >= ncols:
                raise ValueError("a table row has more cells than the table has columns")
            if isinstance(cell, Cell):
                if cell.rowspan and cell.rowspan > 1:
                    spans[index] = cell.rowspan - 1
                    spanning = True
                name = "th" if cell.header else "td"
                attrs_ = [name]
                if cell.header:
                    attrs_.append(' scope="row"')
                classes = _classes(col_cls[index], cell.cls)
                if classes:
                    attrs_.append(' class="%s"' % esc(classes, None))
                if cell.sort is not None:
                    attrs_.append(' data-sort="%s"' % esc(cell.sort, None))
                if cell.rowspan:
                    attrs_.append(' rowspan="%d"' % int(cell.rowspan))
                cells.append("<%s>%s</%s>" % ("".join(attrs_), _content(cell.content), name))
            else:
                cells.append("%s%s</td>" % (plain_td[index], _content(cell)))
        cells.append("</tr>")
        body.append("".join(cells))
        count += 1
    if not count:
        body.append(tag("tr", tag("td", empty, colspan=len(columns), class_="empty")))
    out.append(Markup("<tbody>%s</tbody>" % "".join(body)))
    if caption is not None:
        out.insert(0, tag("caption", caption))
    return tag("div", tag("table", Markup("".join(out)), **attrs), class_="table-wrap")


def sortable_table(columns, rows, **kwargs):
    """:func:`table` with ``sortable=True`` (click a header to sort; plain table without JS)."""
    kwargs["sortable"] = True
    return table(columns, rows, **kwargs)


def section(title, body, id_=None, intro=None):
    """Return a ``<section>`` with an ``<h2>`` heading, an optional intro paragraph and ``body``."""
    parts = [tag("h2", title)]
    if intro is not None:
        parts.append(tag("p", intro, class_="intro"))
    parts.append(_content(body))
    return tag("section", parts, id=id_)


def badge(label, tone=None):
    """A small coloured label; ``tone`` is a CSS tone name (a status such as ``affected``)."""
    return tag("span", label, class_=_classes("badge", "tone-%s" % tone if tone else None))


def cards(items):
    """Summary cards: ``items`` is a list of ``(label, value, tone, hint)`` tuples.

    ``tone`` picks the colour (a status name, or ``None`` for neutral); ``hint`` is a short
    explanation under the label (may be ``None``). Cards whose value is 0 are shown muted.
    """
    out = []
    for label, value, tone, hint in items:
        parts = [tag("div", value, class_="value"), tag("div", label, class_="label")]
        if hint:
            parts.append(tag("div", hint, class_="hint"))
        out.append(tag("div", parts, class_=_classes(
            "card", "tone-%s" % tone if tone else "tone-neutral", "zero" if value == 0 else None)))
    return tag("div", out, class_="cards")


def details(summary, body, open_=False):
    """A ``<details>`` disclosure: ``summary`` always visible, ``body`` on click (opened for
    printing by the page script)."""
    return tag("details", [tag("summary", summary), tag("div", body, class_="details-body")],
               open=bool(open_))


def definition_list(pairs):
    """A ``<dl>`` from ``(term, description)`` pairs."""
    out = []
    for term, desc in pairs:
        out.append(tag("dt", term))
        out.append(tag("dd", desc))
    return tag("dl", out)


BASE_CSS = """
:root{color-scheme:light;--fg:#1d2433;--muted:#5b6475;--line:#d9dee7;--head:#f3f5f8;
--accent:#1f4e8c;--stripe:#fafbfc;--neutral:#1f4e8c;--neutral-bg:#f4f7fb;
--affected:#b42318;--affected-bg:#fef3f2;--residual:#b54708;--residual-bg:#fffaeb;
--unknown:#6941c6;--unknown-bg:#f5f3ff;--failed:#c01574;--failed-bg:#fdf2fa;
--unreachable:#3e4c63;--unreachable-bg:#eef1f5;--not_scanned:#5b6475;--not_scanned-bg:#f7f8fa;
--clean:#067647;--clean-bg:#ecfdf3;--unprotected:#912018;--unprotected-bg:#fee4e2;
--reappearance:#c4320a;--reappearance-bg:#fff4ed}
*{box-sizing:border-box}
html{background:#fff}
body{margin:0;color:var(--fg);font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,
"Noto Sans","Liberation Sans","DejaVu Sans",Arial,sans-serif}
main{max-width:1280px;margin:0 auto;padding:28px 28px 48px}
header.report{border-bottom:3px solid var(--accent);padding-bottom:14px;margin-bottom:8px}
.kicker{margin:0;color:var(--accent);font-size:.86em;font-weight:700;letter-spacing:.08em;
text-transform:uppercase}
h1{margin:4px 0 6px;font-size:2em;line-height:1.2}
h2{margin:34px 0 8px;padding-bottom:4px;font-size:1.36em;border-bottom:1px solid var(--line)}
h3{margin:10px 0 4px;font-size:1em}
.meta{margin:0;color:var(--muted)}
.meta span+span::before{content:"\\00b7";margin:0 8px;color:var(--line)}
.intro{margin:0 0 10px;color:var(--muted);max-width:80ch}
.banner{margin:12px 0 0;padding:12px 16px;border-radius:8px;border:1px solid var(--tone);
background:var(--tone-bg);font-size:1.07em}
.banner strong{color:var(--tone)}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(128px,1fr));gap:10px;
margin:14px 0 4px}
.card{padding:10px 12px;border:1px solid var(--line);border-top:5px solid var(--tone);
border-radius:8px;background:var(--tone-bg);break-inside:avoid}
.card .value{font-size:2.15em;font-weight:700;line-height:1.1;color:var(--tone);
font-variant-numeric:tabular-nums}
.card .label{font-weight:600}
.card .hint{margin-top:2px;color:var(--muted);font-size:.82em;line-height:1.35}
.card.zero{background:#fff;border-top-color:var(--line)}
.card.zero .value{color:var(--muted)}
.tone-neutral{--tone:var(--neutral);--tone-bg:var(--neutral-bg)}
.tone-affected{--tone:var(--affected);--tone-bg:var(--affected-bg)}
.tone-residual{--tone:var(--residual);--tone-bg:var(--residual-bg)}
.tone-unknown{--tone:var(--unknown);--tone-bg:var(--unknown-bg)}
.tone-failed{--tone:var(--failed);--tone-bg:var(--failed-bg)}
.tone-unreachable{--tone:var(--unreachable);--tone-bg:var(--unreachable-bg)}
.tone-not_scanned{--tone:var(--not_scanned);--tone-bg:var(--not_scanned-bg)}
.tone-clean{--tone:var(--clean);--tone-bg:var(--clean-bg)}
.tone-unprotected{--tone:var(--unprotected);--tone-bg:var(--unprotected-bg)}
.tone-reappearance{--tone:var(--reappearance);--tone-bg:var(--reappearance-bg)}
.table-wrap{overflow-x:auto}
table.data{width:100%;margin:6px 0 14px;border-collapse:collapse;
font-variant-numeric:tabular-nums}
table.data caption{padding:4px 0;color:var(--muted);text-align:left}
table.data th,table.data td{padding:6px 10px;border-bottom:1px solid var(--line);
text-align:left;vertical-align:top;overflow-wrap:anywhere}
table.data thead th{background:var(--head);border-bottom:2px solid var(--line);
font-weight:600;white-space:nowrap}
table.data tbody tr:nth-child(even){background:var(--stripe)}
table.data.grouped tbody tr{background:none}
table.data tbody th{font-weight:600}
table.data .num{text-align:right;white-space:nowrap}
table.data td.empty{color:var(--muted);font-style:italic}
table.data th button{padding:0;border:0;background:none;color:inherit;font:inherit;
cursor:pointer}
table.data th button::after{content:"\\2195";margin-left:4px;color:#9aa3b2;font-size:.8em}
table.data th[aria-sort=ascending] button::after{content:"\\25b2";color:var(--accent)}
table.data th[aria-sort=descending] button::after{content:"\\25bc";color:var(--accent)}
table.data th button:focus-visible{outline:2px solid var(--accent);outline-offset:2px}
.group-start td,.group-start th{border-top:2px solid var(--line)}
.badge{display:inline-block;padding:1px 9px;border:1px solid var(--tone);border-radius:999px;
background:var(--tone-bg);color:var(--tone);font-size:.86em;font-weight:600;white-space:nowrap}
code,.mono{font:.86em/1.4 ui-monospace,"SFMono-Regular","DejaVu Sans Mono",Menlo,Consolas,
"Liberation Mono",monospace}
code{padding:0 4px;border-radius:3px;background:#eef1f5}
.muted{color:var(--muted)}
.nowrap{white-space:nowrap}
ul.plain{margin:0;padding:0;list-style:none}
details summary{color:var(--accent);cursor:pointer;white-space:nowrap}
.details-body{margin:6px 0 2px;padding:8px 10px;border-left:3px solid var(--line);
background:#fff}
.details-body ul{margin:2px 0 8px;padding-left:18px}
.details-body p{margin:2px 0 6px}
dl{display:grid;grid-template-columns:max-content 1fr;gap:6px 16px;margin:8px 0}
dt{font-weight:600}
dd{margin:0}
.toolbar{display:flex;flex-wrap:wrap;gap:10px;align-items:center;margin:8px 0 2px}
.toolbar input{min-width:360px;padding:6px 10px;border:1px solid var(--line);
border-radius:6px;font:inherit}
.toolbar button{padding:5px 12px;border:1px solid var(--line);border-radius:6px;
background:var(--head);font:inherit;cursor:pointer}
.toolbar .count{color:var(--muted)}
footer{margin-top:40px;padding-top:10px;border-top:1px solid var(--line);color:var(--muted);
font-size:.86em}
@media print{
@page{margin:14mm 12mm}
body{font-size:10.5px}
main{max-width:none;padding:0}
.toolbar{display:none}
h2{break-after:avoid}
table.data thead{display:table-header-group}
table.data tr{break-inside:avoid}
table.data th button::after{content:none}
details summary{color:inherit}
.table-wrap{overflow:visible}
.card,.banner{-webkit-print-color-adjust:exact;print-color-adjust:exact}
}
"""

BASE_SCRIPT = """
(function () {
  'use strict';
  document.documentElement.classList.add('js');
  var collator = new Intl.Collator(undefined, {numeric: true, sensitivity: 'base'});
  function sortValue(cell, numeric) {
    if (!cell) { return numeric ? -Infinity : ''; }
    var raw = cell.hasAttribute('data-sort') ? cell.getAttribute('data-sort') : cell.textContent;
    if (!numeric) { return raw.trim(); }
    var number = parseFloat(raw);
    return isNaN(number) ? -Infinity : number;
  }
  function sortBy(table, header, index) {
    var body = table.tBodies[0];
    if (!body) { return; }
    var numeric = header.getAttribute('data-type') === 'number';
    var direction = header.getAttribute('aria-sort') === 'ascending' ? -1 : 1;
    var keyed = Array.prototype.map.call(body.rows, function (row, position) {
      return {row: row, position: position, value: sortValue(row.cells[index], numeric)};
    });
    keyed.sort(function (a, b) {
      var order = numeric ? (a.value < b.value ? -1 : (a.value > b.value ? 1 : 0))
                          : collator.compare(a.value, b.value);
      return order * direction || a.position - b.position;
    });
    var fragment = document.createDocumentFragment();
    keyed.forEach(function (item) { fragment.appendChild(item.row); });
    body.appendChild(fragment);
    Array.prototype.forEach.call(header.parentNode.cells, function (other) {
      if (other !== header && other.hasAttribute('aria-sort')) { other.setAttribute('aria-sort', 'none'); }
    });
    header.setAttribute('aria-sort', direction === 1 ? 'ascending' : 'descending');
  }
  Array.prototype.forEach.call(document.querySelectorAll('table.sortable'), function (table) {
    var head = table.tHead && table.tHead.rows[0];
    if (!head) { return; }
    Array.prototype.forEach.call(head.cells, function (header, index) {
      if (header.hasAttribute('data-nosort')) { return; }
      var button = document.createElement('button');
      button.type = 'button';
      button.title = 'Sort by this column';
      while (header.firstChild) { button.appendChild(header.firstChild); }
      header.appendChild(button);
      header.setAttribute('aria-sort', 'none');
      button.addEventListener('click', function () { sortBy(table, header, index); });
    });
  });
  Array.prototype.forEach.call(document.querySelectorAll('table[data-filter]'), function (table) {
    var body = table.tBodies[0];
    if (!body) { return; }
    var rows = Array.prototype.map.call(body.rows, function (row) {
      return {row: row, text: row.textContent.toLowerCase()};
    });
    var bar = document.createElement('div');
    bar.className = 'toolbar';
    var input = document.createElement('input');
    input.type = 'search';
    input.placeholder = table.getAttribute('data-filter');
    input.setAttribute('aria-label', table.getAttribute('data-filter'));
    var count = document.createElement('span');
    count.className = 'count';
    var toggle = document.createElement('button');
    toggle.type = 'button';
    toggle.textContent = 'Expand all details';
    var expanded = false;
    function update() {
      var query = input.value.trim().toLowerCase();
      var shown = 0;
      rows.forEach(function (item) {
        var hide = query !== '' && item.text.indexOf(query) === -1;
        item.row.hidden = hide;
        if (!hide) { shown += 1; }
      });
      count.textContent = 'Showing ' + shown + ' of ' + rows.length;
    }
    var timer = null;
    input.addEventListener('input', function () {
      if (timer) { clearTimeout(timer); }
      timer = setTimeout(update, rows.length > 2000 ? 150 : 0);
    });
    toggle.addEventListener('click', function () {
      expanded = !expanded;
      Array.prototype.forEach.call(table.querySelectorAll('details'), function (item) { item.open = expanded; });
      toggle.textContent = expanded ? 'Collapse all details' : 'Expand all details';
    });
    bar.appendChild(input);
    bar.appendChild(toggle);
    bar.appendChild(count);
    var wrap = table.parentNode;
    wrap.parentNode.insertBefore(bar, wrap);
    update();
  });
  var openedForPrint = [];
  window.addEventListener('beforeprint', function () {
    Array.prototype.forEach.call(document.querySelectorAll('details:not([open])'), function (item) {
      item.open = true;
      openedForPrint.push(item);
    });
  });
  window.addEventListener('afterprint', function () {
    openedForPrint.forEach(function (item) { item.open = false; });
    openedForPrint = [];
  });
}());
"""


def _sha256_source(content):
    digest = hashlib.sha256(content.encode("utf-8")).digest()
    return "'sha256-%s'" % base64.b64encode(digest).decode("ascii")


def page(title, body, header=None, footer=None, css=BASE_CSS, script=BASE_SCRIPT, meta=None,
         lang="en"):
    """Return a complete, self-contained HTML document as ``str``.

    ``title``: the ``<title>`` (plain text, escaped). ``header``, ``body``, ``footer``:
    content (:class:`Markup` or plain values) placed in ``<header class="report">``,
    ``<main>`` and ``<footer>``. ``meta``: extra ``{name: content}`` ``<meta>`` tags (machine
    readable facts about the page, e.g. ``generated-at``).

    The page has one inline ``<style>`` (``css``) and one inline ``<script>`` (``script``,
    placed at the end of the body) and a Content-Security-Policy ``<meta>`` that allows those
    two by their sha256 hashes and nothing else: no external resource, no other script or
    style, no inline ``style=`` attribute or event handler, no form target, no ``<base>``. The
    script only enhances the page (sortable tables, row filter, expand/collapse, details opened
    for printing): without JavaScript the page shows the same data as plain tables.
    """
    if "</style" in css.lower() or "</script" in script.lower():
        raise ValueError("inline CSS/JS must not contain a closing tag")
    csp = ("default-src 'none'; style-src %s; script-src %s; img-src data:; "
           "base-uri 'none'; form-action 'none'" % (_sha256_source(css), _sha256_source(script)))
    head = [
        Markup('<meta charset="utf-8">'),
        tag("meta", attrs={"http-equiv": "Content-Security-Policy", "content": csp}),
        tag("meta", attrs={"name": "viewport", "content": "width=device-width, initial-scale=1"}),
        tag("meta", attrs={"name": "referrer", "content": "no-referrer"}),
        tag("meta", attrs={"name": "color-scheme", "content": "light"}),
    ]
    for name, content in (meta or {}).items():
        head.append(tag("meta", attrs={"name": name, "content": content}))
    head.append(tag("title", title))
    head.append(Markup("<style>%s</style>" % css))
    parts = [
        "<!DOCTYPE html>\n",
        '<html lang="%s">' % esc(lang),
        "<head>", "".join(head), "</head>",
        "<body><main>",
        tag("header", header, class_="report") if header is not None else "",
        _content(body),
        tag("footer", footer) if footer is not None else "",
        "</main>",
        "<script>%s</script>" % script,
        "</body></html>\n",
    ]
    return "".join(parts)


def csv_bytes(header, rows):
    """Return CSV as UTF-8 bytes (no BOM, CRLF line ends, every cell quoted).

    ``header``: column names (constants, written as they are). ``rows``: iterables of values;
    each value goes through :func:`csv_cell` (control characters replaced, length capped,
    formula prefixes neutralised). Pass a ``(value, limit)`` tuple to use another cap than
    the default for one cell.
    """
    buf = io.StringIO()
    writer = csv.writer(buf, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(list(header))
    for row in rows:
        cells = []
        for value in row:
            # Fast path, the bulk of a fleet's cells: short printable ASCII that starts with a
            # letter or digit (or is empty) is what csv_cell() would return unchanged.
            if value.__class__ is str and value.isascii() and value.isprintable() and len(value) <= FIELD_LIMIT \
                    and (not value or value[0].isalnum()):
                cells.append(value)
            elif value is None:
                cells.append("")
            elif isinstance(value, tuple):
                cells.append(csv_cell(value[0], value[1]))
            else:
                cells.append(csv_cell(value))
        writer.writerow(cells)
    return buf.getvalue().encode("utf-8")


class ReportWriteError(Exception):
    """A report file could not be written; the message names the path and the reason."""


def write_bytes_atomic(path, data, mode=0o644):
    """Write ``data`` to ``path`` atomically; return ``True`` when the content changed.

    Creates the parent directory, leaves an existing file alone when it already holds exactly
    ``data``, otherwise writes a temporary file next to it, sets ``mode``, syncs it and
    renames it over ``path`` (``os.replace``), so readers see the old or the new file, never a
    half-written one. Raises :class:`ReportWriteError` with a readable message.
    """
    path = os.path.abspath(path)
    directory = os.path.dirname(path)
    if os.path.isdir(path):
        raise ReportWriteError("cannot write %s: it is a directory" % path)
    try:
        with open(path, "rb") as handle:
            if handle.read(len(data) + 1) == data:
                return False
    except OSError:
        pass  # missing or unreadable: (re)write it, errors are reported below
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as exc:
        reason = "a file with that name exists" if isinstance(exc, FileExistsError) else (exc.strerror or exc)
        raise ReportWriteError("cannot create directory %s: %s" % (directory, reason))
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".%s." % os.path.basename(path), suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        raise ReportWriteError("cannot write %s: %s" % (path, exc.strerror or exc))
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
    return True


# --------------------------------------------------------------------------------------------
# Identify report: the document
# --------------------------------------------------------------------------------------------

def _get(mapping, key, default=None):
    if mapping.__class__ is dict:  # the common case: facts from a cache are plain data
        return mapping.get(key, default)
    if isinstance(mapping, Mapping):
        try:
            return mapping.get(key, default)
        except Exception:  # a lazy mapping (hostvars) that fails to resolve one key
            return default
    return default


def _host_fact(hostvars, fact, facts=None):
    """The host's ``fact``: ``ansible_facts[fact]`` first, then a top-level variable.
    ``facts``: the host's ``ansible_facts`` when the caller has them already."""
    if facts is None:
        facts = _get(hostvars, "ansible_facts")
    value = _get(facts, fact)
    if value is None:
        value = _get(hostvars, fact)
    return value


def _platform(value):
    if not isinstance(value, Mapping):
        return None
    return {
        "system": _opt_text(value.get("system")),
        "distribution": _opt_text(value.get("distribution")),
        "version": _opt_text(value.get("version")),
    }


def _opt_text(value):
    return None if value is None else text(value)


def _error(value):
    """Why a host has no usable scan: from the registered result of the scan task (an
    Ansible task result: ``unreachable`` / ``failed`` with ``msg``; a successful result means
    no error), or from a ``{kind, message}`` mapping. ``None`` when there is no error."""
    if value is None or value is False or value == "" or value == {}:
        return None
    if isinstance(value, Mapping) and "kind" not in value:
        if value.get("unreachable"):
            return {"kind": "unreachable", "message": text(value.get("msg") or "host unreachable")}
        if value.get("failed"):
            return {"kind": "failed", "message": text(value.get("msg") or "scan failed")}
        if "message" not in value and "msg" not in value:
            return None  # a successful task result
    if isinstance(value, Mapping):
        kind = text(value.get("kind")) or "failed"
        message = value.get("message")
        if message is None:
            message = value.get("msg")
        return {"kind": kind if kind in ERROR_STATUSES else "failed", "message": text(message)}
    return {"kind": "failed", "message": text(value)}


def _parse_time(value):
    """An ISO 8601 time as an aware datetime (UTC when no offset is given), else ``None``."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.timezone.utc)


_OUTCOME_KEYS = ("status", "reason", "digest", "run_id", "finished_at", "check_mode")


def _execute_outcome(value):
    """The part of a host's ``divest_outcome`` the identify report shows, or ``None``.

    ``{status, reason, digest, run_id, finished_at, check_mode, cleaned, replacement}``:
    ``cleaned`` is true for an outcome of a real run (``check_mode`` false) whose status is
    one of :data:`CLEANED`; ``replacement`` is the outcome's replacement mapping, or ``None``
    (no replacement: waived)."""
    if not isinstance(value, Mapping):
        return None
    out = {key: to_jsonable(_get(value, key)) for key in _OUTCOME_KEYS}
    out["check_mode"] = bool(out["check_mode"])
    out["cleaned"] = not out["check_mode"] and out["status"] in CLEANED
    replacement = _get(value, "replacement")
    out["replacement"] = to_jsonable(replacement) if isinstance(replacement, Mapping) else None
    return out


def _alerts(outcome, status, findings, scanned_at):
    """The :data:`ALERTS` of a host from its execute ``outcome`` (:func:`_execute_outcome`) and
    its (last known) scan: ``status`` (``None``: no usable scan), ``findings``, ``scanned_at``.

    * ``reappearance``: execute cleaned the host and a scan made since says ``affected`` or
      ``residual``.
    * ``unprotected``: the outcome says ``unprotected``, or execute cleaned the host and its
      replacement is a mapping with ``healthy: false`` (``null`` is a waived replacement); and
      no scan made since shows an installed vendor product.

    A scan older than the outcome's ``finished_at`` predates the cleaning and says nothing
    about the host since; one whose time or the outcome's is unknown counts as newer.
    """
    if outcome is None:
        return []
    scan_time, done = _parse_time(scanned_at), _parse_time(outcome.get("finished_at"))
    current = status is not None and not (scan_time and done and scan_time < done)
    installed = current and (status == "affected" or any(
        finding.get("state") == "installed" for finding in findings))
    replacement = outcome.get("replacement")
    unhealthy = isinstance(replacement, dict) and replacement.get("healthy") is False
    alerts = []
    if (outcome.get("status") == "unprotected" or (outcome["cleaned"] and unhealthy)) and not installed:
        alerts.append("unprotected")
    if outcome["cleaned"] and current and status in ("affected", "residual"):
        alerts.append("reappearance")
    return alerts


def host_entry(name, hostvars, fact="divest", scan_result="divest_scan", outcome="divest_outcome"):
    """Return the report entry of one host from its variables.

    ``hostvars``: the host's variables (``hostvars[name]``: a mapping with ``ansible_facts``,
    or any mapping; ``None`` when the host is unknown). The entry is::

        {name, status, platform, scanned_at, findings, scan, error, execute, alerts[, last_status]}

    * ``status`` is the scan's status (clean / affected / residual / unknown) when the host
      has the ``fact``; ``unreachable`` / ``failed`` when it has ``scan_result`` (this wins
      over a fact left in the fact cache by an earlier run: its findings stay listed as the
      last known ones); ``not_scanned`` when it has neither.
    * ``execute``: what the host's execute ``outcome`` (``divest_outcome``, in ``ansible_facts``
      or a top-level variable) says (:func:`_execute_outcome`), or ``None``. ``alerts``: the
      :data:`ALERTS` it raises with the scan (:func:`_alerts`); the first one is the host's
      ``status``, whatever the scan or the error says: an unprotected host or one where the
      vendor came back is never reported clean (nor only unreachable).
    * ``last_status``: the scan's own status, when ``status`` is another one (an error or an
      alert).
    * A fact that is not a mapping, or an unexpected ``status``, gives ``unknown`` with a
      ``scan.errors`` entry saying why.
    * Values are plain JSON types; strings are complete (see :func:`to_jsonable`).
    """
    facts = _get(hostvars, "ansible_facts")
    data = _host_fact(hostvars, fact, facts)
    error = _error(_get(hostvars, scan_result))
    entry = {
        "name": text(name),
        "status": "not_scanned",
        "platform": None,
        "scanned_at": None,
        "findings": [],
        "scan": None,
        "error": error,
        "execute": _execute_outcome(_host_fact(hostvars, outcome, facts)),
        "alerts": [],
    }
    status = None
    if data is not None:
        if isinstance(data, Mapping):
            status = text(data.get("status"))
            scan = to_jsonable(data.get("scan")) if isinstance(data.get("scan"), Mapping) else {}
            findings = data.get("findings")
            findings = to_jsonable(findings) if isinstance(findings, (list, tuple)) else []
            entry["findings"] = [f for f in findings if isinstance(f, dict)]
            entry["platform"] = _platform(data.get("platform"))
            entry["scanned_at"] = _opt_text(data.get("scanned_at"))
            if status not in SCAN_STATUSES:
                scan.setdefault("errors", [])
                if isinstance(scan["errors"], list):
                    scan["errors"].append({"section": "report",
                                           "message": "unexpected status %r in the %s fact" % (status, fact)})
                status = "unknown"
            entry["scan"] = scan
        else:
            status = "unknown"
            entry["scan"] = {"errors": [{"section": "report",
                                         "message": "the %s fact is not a mapping" % fact}]}
        entry["status"] = status
    if error is not None:
        entry["status"] = error["kind"]
    elif hostvars is None:
        entry["error"] = {"kind": "not_scanned", "message": "host not found in the inventory"}
    if entry["execute"] is not None:
        entry["alerts"] = _alerts(entry["execute"], status, entry["findings"], entry["scanned_at"])
        if entry["alerts"]:
            entry["status"] = entry["alerts"][0]
    if status is not None and entry["status"] != status:
        entry["last_status"] = status
    return entry


def build_identify_report(hosts, generated_at, fact="divest", scan_result="divest_scan",
                          title="Identify report", outcome="divest_outcome"):
    """Return the identify report document for ``hosts``.

    ``hosts``: mapping ``{host name: hostvars-like mapping or None}`` (every host of the play,
    ``None`` for a name the inventory does not know). ``generated_at``: ISO 8601 string.
    ``outcome``: the host variable with the execute outcome (see :func:`host_entry`).

    The document (all plain JSON types)::

        schema: 2
        report: identify
        title, generated_at, fact
        summary:
          hosts: N
          by_status: {unprotected, reappearance, affected, residual, unknown, failed,
                      unreachable, not_scanned, clean}
          alerts: {unprotected, reappearance}                 # hosts with each alert
          by_product: [{vendor, product, name, hosts, installed, residual,
                        versions: [{version, hosts}]}]       # hosts carrying the product
          by_platform: [{system, distribution, version, hosts, by_status}]
        hosts: [host_entry ...]                               # natural order of names

    A host counts once per product (``installed`` if any of its findings for the product is
    installed, else ``residual``) and once per distinct version of it.
    """
    if isinstance(hosts, Mapping):
        items = hosts.items()
    else:
        items = hosts
    entries = [host_entry(name, hv, fact, scan_result, outcome) for name, hv in items]
    entries.sort(key=lambda e: natural_key(e["name"]))

    by_status = dict.fromkeys(STATUSES, 0)
    alerts = dict.fromkeys(ALERTS, 0)
    products = {}
    platforms = {}
    for entry in entries:
        by_status[entry["status"]] += 1
        for alert in entry["alerts"]:
            alerts[alert] += 1
        plat = entry["platform"] or {}
        pkey = (plat.get("system"), plat.get("distribution"), plat.get("version"))
        prow = platforms.get(pkey)
        if prow is None:
            prow = platforms[pkey] = {
                "system": pkey[0], "distribution": pkey[1], "version": pkey[2], "hosts": 0,
                "by_status": dict.fromkeys(STATUSES, 0),
            }
        prow["hosts"] += 1
        prow["by_status"][entry["status"]] += 1

        host_products = {}
        for finding in entry["findings"]:
            key = (text(finding.get("vendor")), text(finding.get("product")))
            state = text(finding.get("state"))
            version = finding.get("version")
            version = None if version in (None, "") else text(version)
            seen = host_products.get(key)
            if seen is None:
                seen = host_products[key] = {"installed": False, "versions": set()}
                prod = products.get(key)
                if prod is None:
                    prod = products[key] = {
                        "vendor": key[0], "product": key[1], "name": None,
                        "hosts": 0, "installed": 0, "residual": 0, "versions": {},
                    }
                if prod["name"] is None and finding.get("name"):
                    prod["name"] = text(finding.get("name"))
            if state == "installed":
                seen["installed"] = True
            seen["versions"].add(version)
        for key, seen in host_products.items():
            prod = products[key]
            prod["hosts"] += 1
            prod["installed" if seen["installed"] else "residual"] += 1
            for version in seen["versions"]:
                prod["versions"][version] = prod["versions"].get(version, 0) + 1

    by_product = []
    for key in sorted(products, key=lambda k: (natural_key(k[0]), natural_key(k[1]))):
        prod = products[key]
        versions = sorted(prod["versions"].items(), key=lambda item: natural_key(item[0]))
        prod["versions"] = [{"version": v, "hosts": n} for v, n in versions]
        by_product.append(prod)
    by_platform = [platforms[k] for k in sorted(
        platforms, key=lambda k: tuple(natural_key(part) for part in k))]

    return {
        "schema": SCHEMA,
        "report": "identify",
        "title": text(title),
        "generated_at": text(generated_at),
        "fact": text(fact),
        "summary": {
            "hosts": len(entries),
            "by_status": by_status,
            "alerts": alerts,
            "by_product": by_product,
            "by_platform": by_platform,
        },
        "hosts": entries,
    }


def compact_summary(document, max_products=50):
    """A small dict for ``set_stats`` (a few hundred bytes): report, generated_at, hosts,
    ``status`` (every status with its count), ``alerts`` (hosts per alert: unprotected,
    reappearance) and ``products`` (``"vendor/product": hosts``,
    at most ``max_products`` entries, most frequent first; ``products_truncated`` says when
    some were left out)."""
    summary = document.get("summary", {})
    prods = sorted(summary.get("by_product", []), key=lambda p: (-p["hosts"], p["vendor"], p["product"]))
    out = {
        "report": document.get("report"),
        "generated_at": document.get("generated_at"),
        "hosts": summary.get("hosts", 0),
        "status": dict(summary.get("by_status", {})),
        "alerts": dict(summary.get("alerts", {})),
        "products": {"%s/%s" % (p["vendor"], p["product"]): p["hosts"] for p in prods[:max_products]},
    }
    if len(prods) > max_products:
        out["products_truncated"] = True
    return out


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------

_EVIDENCE_DETAIL_KEYS = ("version", "state", "status")


def evidence_text(item, limit=FIELD_LIMIT):
    """Compact one-line text of one evidence item: ``kind name [version] [state] [status]``.

    ``status: installed`` of a package is left out (it is the normal case);
    e.g. ``package kesl 12.1.0-1508``, ``service kesl running``,
    ``package kesl-gui 12.1.0-1508 config-files``. Not escaped; each part capped at ``limit``.
    """
    if not isinstance(item, Mapping):
        return clean_text(item, limit)
    parts = [clean_text(item.get("kind") or "?", limit), clean_text(item.get("name"), limit)]
    for key in _EVIDENCE_DETAIL_KEYS:
        value = item.get(key)
        if value is None or value == "":
            continue
        if key == "status" and value == "installed":
            continue
        parts.append(clean_text(value, limit))
    return " ".join(p for p in parts if p)


def _evidence_list(finding):
    evidence = finding.get("evidence")
    return evidence if isinstance(evidence, list) else []


def _host_error_text(entry):
    error = entry.get("error")
    if error:
        return "%s: %s" % (error.get("kind"), error.get("message"))
    scan = entry.get("scan") or {}
    errors = scan.get("errors") if isinstance(scan, dict) else None
    if isinstance(errors, list) and errors:
        return "; ".join("%s: %s" % (text(_get(e, "section")), text(_get(e, "message")))
                         if isinstance(e, Mapping) else text(e) for e in errors)
    return ""


def _json_text(document):
    # Top-level keys indented; a top-level list (the hosts) has one compact element per line:
    # readable, grep-friendly, and fast (json's C encoder only runs without indent).
    if not isinstance(document, dict):
        return json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False)
    compact = {"ensure_ascii": False, "allow_nan": False, "separators": (", ", ": ")}
    lines = []
    for key, value in document.items():
        head = "  %s: " % json.dumps(text(key), ensure_ascii=False)
        if isinstance(value, list) and value:
            items = ",\n".join("    " + json.dumps(item, **compact) for item in value)
            lines.append("%s[\n%s\n  ]" % (head, items))
        else:
            body = json.dumps(value, indent=2, ensure_ascii=False, allow_nan=False)
            lines.append(head + body.replace("\n", "\n  "))
    return "{\n%s\n}" % ",\n".join(lines) if lines else "{}"


def render_json(document):
    """The document as UTF-8 JSON bytes (values in full).

    Top-level keys are indented; each element of a top-level list (each host) is written
    compactly on a line of its own. Invisible characters are written as ``\\uXXXX`` escapes
    (:func:`escape_invisible`): the parsed values are complete and unchanged.
    """
    try:
        return (escape_invisible(_json_text(document)) + "\n").encode("utf-8")
    except (TypeError, ValueError, UnicodeEncodeError):
        return (escape_invisible(_json_text(to_jsonable(document))) + "\n").encode("utf-8")


def _healthy_text(replacement):
    healthy = replacement.get("healthy") if isinstance(replacement, Mapping) else None
    return "" if healthy is None else ("yes" if healthy is True else "no")


def _csv_execute(entry):
    """The columns after ``error``: alerts, the scan's status, the execute outcome."""
    status = entry.get("status")
    scan_status = entry.get("last_status") or (status if status in SCAN_STATUSES else "")
    outcome = entry.get("execute")
    if not isinstance(outcome, Mapping):
        return ["; ".join(entry.get("alerts") or []), scan_status, "", "", "", "", "", ""]
    replacement = outcome.get("replacement")
    return ["; ".join(entry.get("alerts") or []), scan_status, outcome.get("status"), outcome.get("finished_at"),
            outcome.get("digest"), (outcome.get("reason"), 2048),
            replacement.get("product") if isinstance(replacement, Mapping) else "", _healthy_text(replacement)]


def _csv_rows(document):
    for entry in document.get("hosts", []):
        plat = entry.get("platform") or {}
        base = [entry.get("name"), entry.get("status"), plat.get("system"),
                plat.get("distribution"), plat.get("version")]
        tail = [entry.get("scanned_at"), _host_error_text(entry)] + _csv_execute(entry)
        findings = entry.get("findings") or []
        if not findings:
            yield base + [""] * 6 + tail
            continue
        for finding in findings:
            evidence = "; ".join(evidence_text(e) for e in _evidence_list(finding))
            yield base + [
                finding.get("vendor"), finding.get("product"), finding.get("name"),
                finding.get("version"), finding.get("state"), (evidence, EVIDENCE_LIMIT),
            ] + tail


def render_csv(document):
    """The identify CSV (columns :data:`CSV_COLUMNS`) as UTF-8 bytes: one row per host and
    finding, one row with empty product columns for a host without findings."""
    return csv_bytes(CSV_COLUMNS, _csv_rows(document))


def _fmt_time(value):
    """``2026-11-27T10:00:00Z`` -> ``2026-11-27 10:00 UTC`` for people; other text unchanged."""
    value = text(value)
    match = re.match(r"^(\d{4}-\d\d-\d\d)T(\d\d:\d\d)(:\d\d(\.\d+)?)?(Z|[+-]00:?00)$", value)
    if match:
        return "%s %s UTC" % (match.group(1), match.group(2))
    return value


_BADGES = {}


def _status_badge(status):
    markup = _BADGES.get(status)
    if markup is None:
        markup = badge(STATUS_TEXT.get(status, (status, ""))[0], status)
        if status in STATUS_TEXT:
            _BADGES[status] = markup
    return markup


def _plural(count, word, plural=None):
    return "%d %s" % (count, word if count == 1 else (plural or word + "s"))


def _platform_text(plat, with_system=False):
    """``debian 12``; with ``with_system``: ``debian 12 (Linux)`` unless the name already says it."""
    if not plat:
        return ""
    system = text(plat.get("system"))
    label = " ".join(text(p) for p in (plat.get("distribution") or system, plat.get("version")) if p)
    if with_system and system and system.casefold() not in label.casefold():
        label = "%s (%s)" % (label, system)
    return label


def _memo(cache, key, function, value):
    try:
        return cache[key]
    except KeyError:
        result = cache[key] = esc(function(value))
        return result
    except TypeError:  # unhashable key
        return esc(function(value))


def _platform_key(plat):
    if not isinstance(plat, dict):
        return None
    return (plat.get("system"), plat.get("distribution"), plat.get("version"))


def _finding_html(finding):
    name = finding.get("name") or finding.get("product") or "?"
    head = [esc(name), " ", tag("code", finding.get("product"))]
    sub = []
    if finding.get("version"):
        sub.append("version %s" % clean_text(finding.get("version")))
    if finding.get("state"):
        sub.append(clean_text(finding.get("state")))
    if finding.get("vendor"):
        sub.append("vendor %s" % clean_text(finding.get("vendor")))
    parts = [tag("h3", head)]
    if sub:
        parts.append(tag("p", " \u00b7 ".join(sub), class_="muted"))
    removal = finding.get("removal")
    if isinstance(removal, Mapping) and removal:
        rem = ["removal: %s" % clean_text(removal.get("method") or "?")]
        if removal.get("reboot"):
            rem.append("reboot needed")
        password = removal.get("password")
        if password and password != "none":
            rem.append("password: %s" % clean_text(password))
        parts.append(tag("p", " \u00b7 ".join(rem), class_="muted"))
    items = []
    evidence = _evidence_list(finding)
    for item in evidence[:HTML_EVIDENCE_ITEMS]:
        if isinstance(item, Mapping):
            extra = ["%s %s" % (clean_text(k, 64), clean_text(v)) for k, v in item.items()
                     if k not in ("kind", "name") and v not in (None, "") and not isinstance(v, (dict, list))]
            items.append(tag("li", [tag("code", item.get("kind") or "?"), " ", esc(item.get("name")),
                                    (" " if extra else ""),
                                    tag("span", " \u00b7 ".join(extra), class_="muted") if extra else ""]))
        else:
            items.append(tag("li", item))
    if len(evidence) > HTML_EVIDENCE_ITEMS:
        items.append(tag("li", "\u2026 and %d more evidence items (see the JSON report)"
                         % (len(evidence) - HTML_EVIDENCE_ITEMS), class_="muted"))
    if items:
        parts.append(tag("ul", items))
    return parts


def _short_digest(digest):
    """``sha256:0123456789ab`` (12 hex digits: enough to tell plans apart on a page)."""
    digest = clean_text(digest, 200)
    algorithm, sep, value = digest.partition(":")
    return "%s:%s" % (algorithm, value[:12]) if sep and len(value) > 12 else digest


def _replacement_text(replacement):
    """``clamav 1.4.3: NOT healthy (clamd is not running)`` for people; ``""`` without one."""
    if not isinstance(replacement, Mapping):
        return ""
    name = " ".join(clean_text(replacement.get(key), 120) for key in ("product", "version") if replacement.get(key))
    healthy = replacement.get("healthy")
    state = "healthy" if healthy is True else ("NOT healthy" if healthy is False else "health not checked")
    reason = replacement.get("reason")
    return "%s: %s%s" % (name or "replacement", state, (" (%s)" % clean_text(reason, 600)) if reason else "")


def _execute_line(outcome):
    """One muted line under a host's status: what execute last did there, when, for which plan."""
    status = clean_text(outcome.get("status"), 40).replace("_", " ")
    parts = ["execute%s: %s" % (" (check mode)" if outcome.get("check_mode") else "", status)]
    if outcome.get("finished_at"):
        parts.append(_fmt_time(outcome["finished_at"]))
    if outcome.get("digest"):
        parts.append("plan %s" % _short_digest(outcome["digest"]))
    return tag("div", " \u00b7 ".join(parts), class_="muted")


def _alert_html(entry, alert):
    outcome = entry["execute"]
    when = _fmt_time(outcome.get("finished_at")) if outcome.get("finished_at") else "a date not recorded"
    if alert == "unprotected":
        replacement = _replacement_text(outcome.get("replacement"))
        text_ = ("Execute cleaned this host (%s, %s) and no healthy replacement antivirus protects it%s."
                 % (clean_text(outcome.get("status"), 40), when,
                    (": " + replacement) if replacement else ""))
    else:
        text_ = ("Execute cleaned this host (%s, %s); the scan of %s finds the vendor's software again. "
                 "BOD 17-01 forbids its use: remove it again and find out how it came back."
                 % (clean_text(outcome.get("status"), 40), when,
                    _fmt_time(entry.get("scanned_at")) if entry.get("scanned_at") else "an unknown date"))
    return tag("p", [_status_badge(alert), " ", text_])


def _outcome_key(outcome):
    """What the page shows of an outcome, hashable (the hosts of one run share it), or ``None``."""
    replacement = outcome.get("replacement")
    key = tuple(outcome.get(k) for k in _OUTCOME_KEYS) + (
        tuple(sorted(replacement.items())) if isinstance(replacement, dict) else replacement,)
    try:
        hash(key)
    except TypeError:  # a list somewhere in a hand-made outcome
        return None
    return key


def _cached(cache, key, function, value):
    if key is None:
        return function(value)
    try:
        return cache[key]
    except KeyError:
        result = cache[key] = function(value)
        return result


def _execute_html(outcome):
    """The execute outcome in a host's details: status, time, plan digest, run, reason, replacement."""
    rows = [("Outcome", clean_text(outcome.get("status"), 40) + (" (check mode)" if outcome.get("check_mode") else "")),
            ("Finished", _fmt_time(outcome.get("finished_at")) if outcome.get("finished_at") else "\u2014"),
            ("Plan digest", tag("code", outcome.get("digest") or "?")),
            ("Run", tag("code", outcome.get("run_id") or "?")),
            ("Reason", esc(outcome.get("reason") or "\u2014", 2048)),
            ("Replacement", _replacement_text(outcome.get("replacement")) or "none (waived or not recorded)")]
    return join([tag("p", tag("strong", "Execute outcome")), definition_list(rows)])


def _host_details(entry, cache=None):
    """The host's ``<details>`` (alerts, error, findings, scan notes, execute outcome), or
    ``None`` when there is nothing to show. ``cache``: memo of the execute outcome's markup."""
    parts = []
    outcome = entry.get("execute") if isinstance(entry.get("execute"), Mapping) else None
    outcome_key = _outcome_key(outcome) if outcome is not None else None
    for alert in entry.get("alerts") or []:
        parts.append(_alert_html(entry, alert))
    error = entry.get("error")
    if error:
        parts.append(tag("p", [tag("strong", "%s: " % STATUS_TEXT.get(error.get("kind"), (error.get("kind"),))[0]),
                               esc(error.get("message"), 2048)]))
    if entry.get("last_status"):
        parts.append(tag("p", "%s scan (%s): %s.%s"
                         % ("Last known" if error else "Last", _fmt_time(entry.get("scanned_at")) or "time unknown",
                            STATUS_TEXT.get(entry["last_status"], (entry["last_status"],))[0],
                            " The findings below are from that scan." if entry.get("findings") else ""),
                         class_="muted"))
    for finding in entry.get("findings") or []:
        parts.extend(_finding_html(finding))
    scan = entry.get("scan") or {}
    if isinstance(scan, Mapping):
        for key, label in (("errors", "Scan errors"), ("skipped", "Skipped")):
            values = scan.get(key)
            if isinstance(values, list) and values:
                lis = []
                for item in values[:HTML_EVIDENCE_ITEMS]:
                    if isinstance(item, Mapping):
                        lis.append(tag("li", [tag("code", item.get("section") or "?"), " ",
                                              esc(item.get("message") or item.get("reason"))]))
                    else:
                        lis.append(tag("li", item))
                parts.append(tag("p", tag("strong", label)))
                parts.append(tag("ul", lis))
    if outcome is not None:
        parts.append(_cached(cache if cache is not None else {}, ("details",) + outcome_key if outcome_key else None,
                             _execute_html, outcome))
    if not parts:
        return None
    findings = entry.get("findings") or []
    evidence = sum(len(_evidence_list(f)) for f in findings)
    if findings:
        summary = "%s, %s" % (_plural(len(findings), "finding"), _plural(evidence, "evidence item"))
    elif entry.get("alerts"):
        summary = "Why"
    elif error:
        summary = "Error"
    elif outcome is not None and not entry.get("scan"):
        summary = "Execute outcome"
    else:
        summary = "Scan notes"
    return details(summary, parts)


def _banner(document):
    summary = document["summary"]
    counts = summary["by_status"]
    alerts = summary.get("alerts") or {}
    total = summary["hosts"]
    if total == 0:
        return tag("p", "No hosts were in the play.", class_="banner tone-neutral")
    # A host where the vendor came back carries its software too (its scan says which way).
    back = [e.get("last_status") for e in document["hosts"] if e["status"] == "reappearance"]
    installed = counts["affected"] + back.count("affected")
    leftovers = counts["residual"] + back.count("residual")
    vendor_hosts = installed + leftovers
    unsure = counts["unknown"] + counts["failed"] + counts["unreachable"] + counts["not_scanned"]
    parts = []
    if alerts.get("unprotected"):
        parts += [tag("strong", "%s unprotected" % _plural(alerts["unprotected"], "host")),
                  ": cleaned by execute, with no healthy replacement antivirus. "]
    if alerts.get("reappearance"):
        parts += [tag("strong", "Vendor software is back on %s" % _plural(alerts["reappearance"], "host")),
                  " that execute cleaned (BOD 17-01 forbids its use). "]
    tone = "unprotected" if parts else None
    if vendor_hosts:
        parts += [tag("strong", "%s of %d carry vendor software" % (_plural(vendor_hosts, "host"), total)),
                  " (%d with an installed product, %d with leftovers only)." % (installed, leftovers)]
        tone = tone or "affected"
    elif unsure or parts:
        parts.append(tag("strong", "No vendor software found on the hosts that were scanned."))
        tone = tone or "unknown"
    else:
        return tag("p", [tag("strong", "All %s scanned clean." % _plural(total, "host"))],
                   class_="banner tone-clean")
    if unsure:
        parts.append(" %s could not be confirmed clean (unknown, failed, unreachable or not scanned)."
                     % _plural(unsure, "host"))
    return tag("p", parts, class_="banner tone-%s" % tone)


def render_html(document):
    """The identify report as one self-contained HTML page (UTF-8 bytes)."""
    summary = document["summary"]
    counts = summary["by_status"]
    generated = _fmt_time(document.get("generated_at"))

    header = [
        tag("p", "fleetsec.divest \u00b7 BOD 17-01 step 1: identify", class_="kicker"),
        tag("h1", document.get("title") or "Identify report"),
        tag("p", [tag("span", "Generated %s" % generated),
                  tag("span", _plural(summary["hosts"], "host")),
                  tag("span", ["Source fact ", tag("code", document.get("fact"))]),
                  tag("span", "Report schema %s" % document.get("schema"))], class_="meta"),
    ]

    body = []
    status_cards = [("Hosts", summary["hosts"], None, "in the play")]
    for status in STATUSES:
        label, hint = STATUS_TEXT[status]
        status_cards.append((label, counts[status], status, hint))
    body.append(section("Summary", [_banner(document), cards(status_cards)], id_="summary"))

    # Products x versions.
    rows = []
    for prod in summary["by_product"]:
        versions = prod["versions"] or [{"version": None, "hosts": prod["hosts"]}]
        label = [tag("strong", prod["name"] or prod["product"]), " ", tag("code", prod["product"]),
                 tag("div", "%s \u00b7 %s \u00b7 %d installed, %d residual"
                     % (clean_text(prod["vendor"]), _plural(prod["hosts"], "host"),
                        prod["installed"], prod["residual"]), class_="muted")]
        for index, version in enumerate(versions):
            cells = []
            if index == 0:
                cells.append(Cell(label, rowspan=len(versions) if len(versions) > 1 else None, header=True))
            cells.append(Cell(version["version"] if version["version"] is not None
                              else Markup('<span class="muted">unknown</span>')))
            cells.append(version["hosts"])
            rows.append((cells, "group-start" if index == 0 else None))
    body.append(section(
        "Products and versions",
        table([Column("Product"), Column("Version"), Column("Hosts", numeric=True)], rows,
              empty="No vendor product was found on any scanned host.", cls="grouped"),
        id_="products",
        intro="Each vendor product found, with the number of hosts per version. A host counts "
              "once per product; \u201cresidual\u201d hosts only have leftovers of it."))

    # Platforms.
    prow = []
    for plat in summary["by_platform"]:
        by = plat["by_status"]
        alerted = sum(by[s] for s in ALERTS)
        label = _platform_text(plat, with_system=True)
        prow.append([Cell(label or Markup('<span class="muted">no scan result</span>'), header=True),
                     plat["hosts"], alerted, by["affected"], by["residual"],
                     plat["hosts"] - alerted - by["affected"] - by["residual"] - by["clean"], by["clean"]])
    body.append(section(
        "Platforms",
        table([Column("Platform"), Column("Hosts", numeric=True),
               Column("Unprotected or reappeared", numeric=True, title="cleaned by execute, now unprotected "
                      "or carrying the vendor again"),
               Column("Affected", numeric=True), Column("Residual", numeric=True),
               Column("Not confirmed", numeric=True, title="unknown, failed, unreachable or not scanned"),
               Column("Clean", numeric=True)], prow),
        id_="platforms"))

    # Hosts.
    hosts = sorted(document["hosts"], key=lambda e: (_RANK.get(e["status"], len(STATUSES)),
                                                     natural_key(e["name"])))
    hrows = []
    times = {}
    platforms = {}
    outcomes = {}
    no_details = Markup('<span class="muted">\u2014</span>')
    for entry in hosts:
        findings = entry.get("findings") or []
        products = []
        for finding in findings:
            line = [tag("span", finding.get("name") or finding.get("product"))]
            if finding.get("version"):
                line.append(tag("span", " %s" % clean_text(finding.get("version")), class_="mono"))
            if finding.get("state") and finding.get("state") != "installed":
                line.append(tag("span", " (%s)" % clean_text(finding.get("state")), class_="muted"))
            products.append(tag("li", line))
        outcome = entry.get("execute")
        if not products and entry["status"] == "unprotected":
            replacement = _replacement_text(outcome.get("replacement"))
            why = ("replacement " + replacement) if replacement else clean_text(outcome.get("reason"), 160)
            products.append(tag("li", "no vendor product; %s" % why if why else "no vendor product", class_="muted"))
        elif not products and entry.get("error"):
            products.append(tag("li", clean_text(entry["error"].get("message"), 160), class_="muted"))
        elif not products and entry["status"] == "unknown":
            products.append(tag("li", "incomplete scan: %s" % clean_text(_host_error_text(entry), 160),
                                class_="muted"))
        status_cell = [_status_badge(alert) for alert in entry.get("alerts") or ()] or [_status_badge(entry["status"])]
        if entry.get("last_status"):
            status_cell.append(tag("div", "last scan: %s" % STATUS_TEXT.get(entry["last_status"], (entry["last_status"],))[0],
                                   class_="muted"))
        if entry.get("error") and entry.get("alerts"):
            kind = entry["error"].get("kind")
            status_cell.append(tag("div", "now: %s" % STATUS_TEXT.get(kind, (kind,))[0], class_="muted"))
        if isinstance(outcome, Mapping):
            key = _outcome_key(outcome)
            status_cell.append(_cached(outcomes, ("line",) + key if key else None, _execute_line, outcome))
        hrows.append([
            Cell(entry["name"], header=True),
            Cell(status_cell, sort="%d %s" % (_RANK.get(entry["status"], 9), entry["status"])),
            _memo(platforms, _platform_key(entry.get("platform")), _platform_text, entry.get("platform")),
            Cell(tag("ul", products, class_="plain") if products else "", sort=str(len(findings))),
            Cell(_memo(times, entry.get("scanned_at"), _fmt_time, entry.get("scanned_at"))
                 if entry.get("scanned_at") else "", sort=entry.get("scanned_at") or "", cls="nowrap"),
            _host_details(entry, outcomes) or no_details,
        ])
    body.append(section(
        "Hosts",
        sortable_table([Column("Host", cls="nowrap"), Column("Status"), Column("Platform"), Column("Products found"),
                        Column("Scanned at"), Column("Evidence", sortable=False)],
                       hrows, filter_placeholder="Filter hosts (name, status, product, evidence\u2026)",
                       id_="hosts-table"),
        id_="hosts",
        intro="Most urgent first, then by name. Click a column header to sort; open "
              "\u201cEvidence\u201d to see why a host is flagged."))

    legend = definition_list([(_status_badge(s), STATUS_TEXT[s][1]) for s in STATUSES])
    body.append(section("How to read this report", [
        legend,
        tag("p", "Values reported by hosts are shown as text only. Line breaks and control "
                 "characters are replaced, and values longer than %d characters are shortened "
                 "here; the JSON report keeps them in full." % FIELD_LIMIT, class_="muted"),
    ], id_="legend"))

    footer = tag("p", "Generated by fleetsec.divest (report schema %s) at %s from the %s fact of "
                 "each host. Machine-readable copies: JSON and CSV files of the same name."
                 % (document.get("schema"), generated, clean_text(document.get("fact"))))
    meta = {"generator": "fleetsec.divest report", "divest-report": document.get("report"),
            "divest-generated-at": document.get("generated_at")}
    title = "%s \u2014 %s" % (document.get("title") or "Identify report", generated)
    return page(title, body, header=header, footer=footer, meta=meta).encode("utf-8")


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------

RENDERERS = {"json": render_json, "csv": render_csv, "html": render_html}
FORMATS = ("json", "csv", "html")


def write_json(path, document):
    """Write the document as JSON to ``path`` (atomic, 0644); ``True`` when the file changed."""
    return write_bytes_atomic(path, render_json(document))


def write_csv(path, document):
    """Write the identify CSV to ``path`` (atomic, 0644); ``True`` when the file changed."""
    return write_bytes_atomic(path, render_csv(document))


def write_html(path, document):
    """Write the HTML page to ``path`` (atomic, 0644); ``True`` when the file changed."""
    return write_bytes_atomic(path, render_html(document))


def report_filenames(dest, report, formats=FORMATS):
    """``{format: path}`` of a report's files: ``<dest>/divest-<report>.<format>``."""
    return {fmt: os.path.join(dest, "divest-%s.%s" % (report, fmt)) for fmt in formats}


_META_GENERATED = re.compile(rb'<meta name="divest-generated-at" content="([^"]*)"')


def previous_generated_at(files):
    """``generated_at`` of the report already on disk (from its JSON, else its HTML), or None."""
    path = files.get("json")
    if path:
        try:
            with open(path, "rb") as handle:
                value = json.loads(handle.read().decode("utf-8")).get("generated_at")
                if isinstance(value, str):
                    return value
        except (OSError, ValueError, AttributeError):
            pass
    path = files.get("html")
    if path:
        try:
            with open(path, "rb") as handle:
                match = _META_GENERATED.search(handle.read(4096))
                if match:
                    return html.unescape(match.group(1).decode("utf-8", "replace"))
        except OSError:
            pass
    return None


def _unchanged(files, rendered):
    for fmt, path in files.items():
        try:
            with open(path, "rb") as handle:
                if handle.read(len(rendered[fmt]) + 1) != rendered[fmt]:
                    return False
        except OSError:
            return False
    return True


def write_reports(dest, document, formats=FORMATS, renderers=None):
    """Write ``document`` in ``formats`` under ``dest``; return ``(files, changed, document)``.

    Idempotent: when the files on disk hold the same report except for ``generated_at``, they
    are left alone and the returned document carries the earlier ``generated_at`` (so
    ``changed`` is ``False`` and ``generated_at`` says since when the content is what it is).
    Otherwise every file whose bytes differ is rewritten atomically. ``renderers`` maps a
    format to a ``document -> bytes`` function (default: the identify renderers).
    Raises :class:`ReportWriteError`.
    """
    renderers = renderers or RENDERERS
    files = report_filenames(os.path.abspath(dest), document.get("report", "report"), formats)
    previous = previous_generated_at(files)
    if previous and previous != document.get("generated_at"):
        candidate = dict(document, generated_at=previous)
        rendered = {fmt: renderers[fmt](candidate) for fmt in formats}
        if _unchanged(files, rendered):
            return files, False, candidate
    rendered = {fmt: renderers[fmt](document) for fmt in formats}
    changed = False
    for fmt in formats:
        changed = write_bytes_atomic(files[fmt], rendered[fmt]) or changed
    return files, changed, document
