# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Text and plain data safety, natural sort and words for people: the one set of functions
every part of the controller uses on values that came from a managed host.

Controller side (plugin_utils), standard library only, pure functions. The planner, the
execute gate and outcome, and the three reports (identify, plan, execute; JSON, YAML, CSV,
Markdown, HTML) all import them from here.

Every string that came from a managed host is hostile: it may carry HTML, Markdown,
spreadsheet formulas, control, invisible or bidi characters, lone surrogates (non-UTF-8
bytes decoded with ``surrogateescape``) or be megabytes long.

* :func:`text` makes any value a ``str`` that encodes to UTF-8 (surrogates as ``\\xNN``);
  :func:`to_jsonable` / :func:`to_jsonable_fast` make any value plain JSON data.
* JSON keeps values in full; :func:`escape_invisible` writes invisible characters of
  serialised JSON as ``\\uXXXX`` escapes (the parsed value is the same); :func:`json_bytes`
  is the layout of the reports' JSON files.
* HTML, CSV and Markdown show values through :func:`clean_text`: surrogates as ``\\xNN``,
  line breaks and tabs as spaces, other control characters and every invisible character
  (:data:`INVISIBLE_RANGES`: zero-width, bidi, BOM, tags, fillers ...) as a visible U+FFFD,
  values longer than a limit cut with a ``[\u2026 N more characters]`` marker (:func:`clip`).
  CSV (:func:`csv_cell`, :func:`csv_bytes`) prefixes with ``'`` a cell that a spreadsheet
  would read as a formula, also after leading Unicode spaces; Markdown (:func:`md_code`) puts
  each value in a code span, where no renderer finds markup. HTML escaping is the page
  layer's (``_html``).
* :func:`natural_key` sorts ``web2`` before ``web10``; :func:`fmt_time`, :func:`plural` and
  :func:`platform_text` are the words the reports use for times, counts and platforms.
* :func:`gc_paused` runs a report's build or render with the cyclic garbage collector paused.
"""

from __future__ import annotations

import csv
import datetime
import functools
import gc
import io
import json
import math
import re
from collections.abc import Mapping

__all__ = [
    "FIELD_LIMIT", "REPLACEMENT", "INVISIBLE", "INVISIBLE_RANGES",
    "text", "opt_text", "clip", "clean_text", "escape_invisible", "csv_cell", "csv_bytes", "csv_cells", "csv_fragment",
    "csv_header", "md_code",
    "to_jsonable", "to_jsonable_fast", "json_bytes", "get", "natural_key", "fmt_time", "plural", "platform_text",
    "gc_paused",
]

#: Default length cap for values shown in HTML, CSV and Markdown (the JSON keeps everything).
FIELD_LIMIT = 512


# --------------------------------------------------------------------------------------------
# Text
# --------------------------------------------------------------------------------------------

_SURROGATES = re.compile("[\ud800-\udfff]")

#: Characters a reader cannot see, or that change how the text around them is shown: every
#: format character (Unicode category Cf: zero-width space, joiners and word joiner, soft
#: hyphen, bidi marks, embeddings, overrides and isolates, BOM / ZWNBSP, the Mongolian vowel
#: separator, interlinear annotation, tag characters ...) and every other default-ignorable code
#: point (combining grapheme joiner, Hangul fillers, variation selectors ...), Unicode 15.
#: tests/unit/plugins/plugin_utils/test_text.py checks that every Cf character of the running
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


def opt_text(value):
    """:func:`text` of ``value``, ``None`` kept as ``None``."""
    return None if value is None else text(value)


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


# --------------------------------------------------------------------------------------------
# Formats: CSV cells and files, Markdown code spans, the reports' JSON
# --------------------------------------------------------------------------------------------

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
        writer.writerow(csv_cells(row))
    return buf.getvalue().encode("utf-8")


def csv_cells(row):
    """The cells :func:`csv_bytes` writes for ``row`` (values, or ``(value, limit)`` tuples)."""
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
    return cells


def csv_fragment(row):
    """Part of a line of :func:`csv_bytes`: the cells of ``row`` (:func:`csv_cells`) exactly as
    its writer writes them (each quoted, quotes doubled, comma-separated, no line end). Lines put
    together from fragments joined by ``,`` and ended by ``\r\n`` are the writer's bytes: a
    renderer can make the fragment of a part that many rows repeat once."""
    return ",".join(['"%s"' % cell.replace('"', '""') for cell in csv_cells(row)])


def csv_header(header):
    """The first line of :func:`csv_bytes` (``header``: the column names), with its line end."""
    return ",".join(['"%s"' % str(name).replace('"', '""') for name in header]) + "\r\n"


# json.dumps() with these arguments, without building an encoder for each host
_COMPACT = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(", ", ": ")).encode


def _json_text(document):
    # Top-level keys indented; a top-level list (the hosts) has one compact element per line:
    # readable, grep-friendly, and fast (json's C encoder only runs without indent).
    if not isinstance(document, dict):
        return json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False)
    lines = []
    for key, value in document.items():
        head = "  %s: " % json.dumps(text(key), ensure_ascii=False)
        if isinstance(value, list) and value:
            items = ",\n".join("    " + _COMPACT(item) for item in value)
            lines.append("%s[\n%s\n  ]" % (head, items))
        else:
            body = json.dumps(value, indent=2, ensure_ascii=False, allow_nan=False)
            lines.append(head + body.replace("\n", "\n  "))
    return "{\n%s\n}" % ",\n".join(lines) if lines else "{}"


def json_bytes(document):
    """The document as UTF-8 JSON bytes (values in full).

    Top-level keys are indented; each element of a top-level list (each host) is written
    compactly on a line of its own. Invisible characters are written as ``\\uXXXX`` escapes
    (:func:`escape_invisible`): the parsed values are complete and unchanged.
    """
    try:
        return (escape_invisible(_json_text(document)) + "\n").encode("utf-8")
    except (TypeError, ValueError, UnicodeEncodeError):
        return (escape_invisible(_json_text(to_jsonable(document))) + "\n").encode("utf-8")


# --------------------------------------------------------------------------------------------
# Plain data
# --------------------------------------------------------------------------------------------

def get(mapping, key, default=None):
    """``mapping.get(key, default)`` for any value: ``default`` when ``mapping`` is not a
    mapping, or is a lazy one (hostvars) that fails to resolve the key."""
    if mapping.__class__ is dict:  # the common case: facts from a cache are plain data
        return mapping.get(key, default)
    if isinstance(mapping, Mapping):
        try:
            return mapping.get(key, default)
        except Exception:  # pylint: disable=broad-exception-caught
            return default
    return default


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


def gc_paused(function):
    """Decorator: ``function`` runs with Python's cyclic garbage collector paused (turned back on
    after it, when it was on).

    Building or rendering a fleet's report allocates millions of small lists and dicts, none of
    them in a reference cycle (reference counting frees them all); with the collector on, its
    passes walk every container of the process (an ansible-playbook worker holds the whole
    inventory), which took more than half of the time of a 100,000-host page."""
    @functools.wraps(function)
    def paused(*args, **kwargs):
        enabled = gc.isenabled()
        gc.disable()
        try:
            return function(*args, **kwargs)
        finally:
            if enabled:
                gc.enable()
    return paused


# --------------------------------------------------------------------------------------------
# Sorting and words for people
# --------------------------------------------------------------------------------------------

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


_TIME = re.compile(r"^(\d{4}-\d\d-\d\d)T(\d\d:\d\d)(:\d\d(\.\d+)?)?(Z|[+-]00:?00)$")


def fmt_time(value, fmt=None):
    """``2026-11-27T10:00:00Z`` -> ``2026-11-27 10:00 UTC`` for people (UTC times only).

    ``None`` and ``""`` give ``""``; any other value is shown as ``fmt(value, 80)`` (default:
    :func:`text` of it, unchanged)."""
    if value is None or value == "":
        return ""
    match = _TIME.match(value) if isinstance(value, str) else None
    if match:
        return "%s %s UTC" % (match.group(1), match.group(2))
    return text(value) if fmt is None else fmt(value, 80)


def plural(count, word, plural_word=None):
    """``1 host``, ``2 hosts`` (``plural_word``: the plural when it is not ``word + "s"``)."""
    return "%d %s" % (count, word if count == 1 else (plural_word or word + "s"))


def platform_text(plat, with_system=False, fmt=None):
    """``debian 12``; with ``with_system``: ``debian 12 (Linux)`` unless the name already says
    it. Each part goes through ``fmt(part, 80)`` (default: :func:`text`); ``""`` without a platform."""
    if not plat:
        return ""
    show = text if fmt is None else (lambda part: fmt(part, 80))
    system = text(plat.get("system"))
    label = " ".join(show(p) for p in (plat.get("distribution") or system, plat.get("version")) if p)
    if with_system and system and system.casefold() not in label.casefold():
        label = "%s (%s)" % (label, system)
    return label
