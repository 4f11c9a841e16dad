# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The HTML layer of the report pages (identify, plan, execute): Jinja templates, one CSS file,
one JS file, and host tables that stay fast at 100,000 hosts.

Controller side (plugin_utils). The page assets live in ``_pages/`` beside this file:

* ``page.html.j2``: the document every page extends (head, Content-Security-Policy, header,
  footer, the data block, the script); ``macros.html.j2``: sections, cards, tables, definition
  lists, details; ``identify.html.j2``, ``plan.html.j2``, ``execute.html.j2``: the pages;
* ``divest.css`` and ``divest.js``: inlined into every page; the page's Content-Security-Policy
  allows exactly these two by their sha256 hashes (:data:`CSP`) and nothing else.

Templates are rendered with autoescaping, strict undefined and a ``finalize`` that makes every
``{{ value }}`` display text first (:func:`esc`: ``clean_text`` then ``& < > " '`` escaped), so a
value from a host can never become markup, and an invisible character never reaches the page.
Line breaks and the indentation that follows them in a template's text are not part of the page
(:class:`CompactLoader`): the page's HTML has no whitespace between tags but what a template
writes on one line.

**Host tables** (:class:`DataTable`): a report's document is already built when it is rendered
(the rule "no Jinja loop over hostvars" is about reading facts), but a table of 100,000 rows is
too much for a browser to lay out. Their rows are therefore small trees of elements (:func:`el`:
``[tag, class, child ...]``, text children already display text) embedded in the page as JSON
(``<script type="application/json" id="divest-data">``, ``<`` ``>`` ``&`` U+2028/2029 and every
invisible character escaped), which ``divest.js`` renders a page of rows at a time, with sorting
and filtering over all rows. The data is stored by column: each column's distinct cells once,
and per row the number of its cell (:meth:`DataTable.data`). The first page of rows is also
rendered here (:func:`node_html`), so a small fleet shows every row without JavaScript, and a
larger one its first rows and a pointer to the JSON and CSV files; the script keeps those rows
until the reader sorts, filters or pages. Parts of cells that many rows share (the same
findings, the same plan steps) are stored once (:meth:`DataTable.share`), and rows of hosts
that are alike but for their name are built once (:meth:`DataTable.add_like`, :func:`alike`).
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import marshal
import os
import re

import jinja2
from markupsafe import Markup

from ansible_collections.fleetsec.divest.plugins.plugin_utils._text import (
    FIELD_LIMIT,
    clean_text,
    escape_invisible,
    fmt_time,
    plural,
    text,
)

__all__ = ["ASSETS", "CSS", "SCRIPT", "CSP", "PAGE_ROWS", "PRINT_ROWS", "TAGS", "Markup", "esc", "Node", "Shown",
           "shown", "el", "badge", "status_badge", "cell", "node_html", "node_text", "Column", "DataTable", "alike",
           "data_json",
           "inline_sources", "render_page", "ENVIRONMENT"]

#: The directory of the templates, the CSS file and the JS file.
ASSETS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_pages")
#: Rows of a host table shown at a time (and rendered into the page for readers without JavaScript).
PAGE_ROWS = 200
#: At most this many rows of a host table are printed (those that match its filter).
PRINT_ROWS = 5000
#: Elements a table cell may hold (:func:`el`); the page script builds no other.
TAGS = ("span", "strong", "code", "div", "p", "ul", "ol", "li", "details", "summary", "h3", "dl", "dt", "dd")
_TAGS = frozenset(TAGS)
_CLASS = re.compile(r"^[A-Za-z0-9_ -]*$")


def esc(value, limit=FIELD_LIMIT):
    """``value`` as HTML text or a double-quoted attribute value: :class:`Markup` passes
    unchanged; anything else goes through ``clean_text`` (``limit`` characters at most) and
    ``html.escape`` (``& < > " '``)."""
    if hasattr(value, "__html__"):
        return Markup(value.__html__())
    return Markup(html.escape(clean_text(value, limit), quote=True))


# ------------------------------------------------------------------------------ element trees

class Shown(str):
    """Display text (already through ``clean_text``, with its own limit): :func:`el` keeps it as it is."""

    __slots__ = ()


def shown(value, limit):
    """``value`` as display text of at most ``limit`` characters (``None``: no cap) for :func:`el`."""
    return Shown(clean_text(value, limit))


class Node(list):
    """One element of a table cell: ``[tag, class, child ...]``; a child is display text or a
    ``Node``. A shared cell is ``["@", index]`` (:meth:`DataTable.share`). Serialises as a JSON
    array; in a template it renders as escaped HTML (``__html__``)."""

    __slots__ = ()

    def __html__(self):
        return node_html(self)


def cell(value):
    """A table cell: a :class:`Node` or :class:`Shown` text as it is, ``None`` as ``""``, a
    number as it is, anything else as display text (``clean_text``, :data:`FIELD_LIMIT`)."""
    kind = value.__class__
    if kind is Node or kind is Shown:
        return value
    if value is None:
        return ""
    if kind is int or kind is float:
        return value
    if hasattr(value, "__html__"):
        raise TypeError("markup cannot be a table cell: build it with el()")
    return clean_text(value, FIELD_LIMIT)


def _children(out, children):
    for child in children:
        kind = child.__class__
        if kind is str:
            out.append(clean_text(child, FIELD_LIMIT))
        elif kind is Node or kind is Shown:
            out.append(child)
        elif child is None:
            continue
        elif isinstance(child, (list, tuple)):
            _children(out, child)
        elif hasattr(child, "__html__"):
            raise TypeError("markup cannot be a table cell's child: build it with el()")
        else:
            out.append(clean_text(child, FIELD_LIMIT))


def el(tag, cls=None, *children):
    """An element for a table cell (:class:`Node`): ``tag`` from :data:`TAGS` (``""``: no
    element, only its children, as one cell holding several elements), CSS classes
    ``cls``, then children: text (through ``clean_text``, :data:`FIELD_LIMIT` characters; use
    :func:`shown` for another limit), numbers, other elements, lists of them; ``None`` is left out."""
    if tag not in _TAGS and tag != "":
        raise ValueError("element %r is not allowed in a table cell" % (tag,))
    if cls and not _CLASS.match(cls):
        raise ValueError("invalid class %r" % (cls,))
    out = Node((tag, cls or ""))
    _children(out, children)
    return out


def badge(label, tone=None):
    """A small coloured label; ``tone`` is a CSS tone name (a status such as ``affected``)."""
    return el("span", "badge tone-%s" % tone if tone else "badge", label)


def status_badge(status, words):
    """The badge of ``status`` in its tone: its label from ``words`` (``{status: (label,
    meaning)}``, a ``_vocabulary`` table), else the status with spaces for underscores."""
    return badge(words[status][0] if status in words else text(status).replace("_", " "), status)


def node_html(node, shared=()):
    """A cell (display text or :class:`Node`) as escaped HTML; ``shared``: the table's shared cells."""
    if node.__class__ is not Node:
        return html.escape(node if isinstance(node, str) else str(node), quote=True)
    if node[0] == "@":
        return node_html(shared[node[1]], shared)
    inner = "".join(node_html(child, shared) for child in node[2:])
    if not node[0]:
        return inner
    return "<%s%s>%s</%s>" % (node[0], ' class="%s"' % node[1] if node[1] else "", inner, node[0])


def node_text(node, shared=()):
    """The text of a cell, as the page shows it (``textContent``)."""
    if node.__class__ is not Node:
        return node if isinstance(node, str) else str(node)
    if node[0] == "@":
        return node_text(shared[node[1]], shared)
    return "".join(node_text(child, shared) for child in node[2:])


# ------------------------------------------------------------------------------ host tables

class Column(object):
    """A table column (host tables and the templates' static tables alike).

    ``label``: header text. ``numeric``: right-aligned, sorted as a number. ``sortable``:
    whether clicking the header sorts (host tables). ``cls``: CSS class of the header and the
    cells; ``cells``: class of the cells only (default ``cls``). ``title``: tooltip of the
    header. ``header``: the cells are row headers (``<th scope="row">``). ``key``: the cells
    sort by the row's sort key number ``key`` (:meth:`DataTable.add`) instead of their text.
    """

    __slots__ = ("label", "numeric", "sortable", "cls", "cells", "title", "header", "key")

    def __init__(self, label, numeric=False, sortable=True, cls=None, cells=None, title=None, header=False,
                 key=None):
        self.label = label
        self.numeric = numeric
        self.sortable = sortable
        self.cls = cls
        self.cells = cells if cells is not None else cls
        self.title = title
        self.header = header
        self.key = key

    @property
    def head_class(self):
        """The class attribute of the header cell, or ``None``."""
        return " ".join(c for c in ("num" if self.numeric else None, self.cls) if c) or None

    @property
    def cell_class(self):
        """The class attribute of the body cells, or ``None``."""
        return " ".join(c for c in ("num" if self.numeric else None, self.cells) if c) or None


def _freeze(node):
    """A :class:`Node` tree as nested tuples (a key of equal cells); text and numbers keep their type."""
    return tuple(_freeze(child) if child.__class__ is Node else
                 (child if child.__class__ is str or child.__class__ is Shown else (child.__class__, child))
                 for child in node)


class DataTable(object):
    """A host table: rendered by the page script from the page's data, a page of rows at a time.

    ``id_``: the table's id (and its key in the data). ``columns``: :class:`Column` objects.
    ``filter_placeholder``: the text of the filter box. ``empty``: the one row shown when there
    is no row. ``files``: what the ``<noscript>`` line names as the complete copies. Add rows
    with :meth:`add`; the template macro ``data_table`` renders the table.

    The rows are stored by column (:meth:`data`): each column holds its distinct cells once and,
    per row, the number of the row's cell among them (a column whose cells are all different
    texts, such as the host names, holds its texts in row order). At 100,000 hosts a page's data
    is then a few numbers per host, which a browser parses in a fraction of the time it takes
    to parse a tree of elements per host.
    """

    #: Rows per page (the first page is rendered into the page itself).
    page_rows = PAGE_ROWS

    def __init__(self, id_, columns, filter_placeholder, empty="Nothing to show.", files=""):
        self.id = id_
        self.columns = list(columns)
        self.filter = filter_placeholder
        self.empty = empty
        self.files = files
        self.count = 0
        self.shared = []
        self._index = {}
        self._keys = max([c.key for c in self.columns if c.key is not None] or [-1]) + 1
        width = len(self.columns) + self._keys
        self._values = [[] for dummy in range(width)]  # per column: its distinct cells
        self._seen = [{} for dummy in range(width)]    # per column: {cell key: number among _values}
        self._cells = [[] for dummy in range(width)]   # per column: per row, the number of its cell
        self._like = {}                                # add_like: {like: the numbers of its first row}

    def __len__(self):
        return self.count

    def _put(self, column, value):
        kind = value.__class__
        if kind is str or kind is Shown:
            key = value
        elif kind is Node:
            key = ("@", value[1]) if value[0] == "@" else _freeze(value)
        else:
            key = (kind, value)
        seen = self._seen[column]
        number = seen.get(key)
        if number is None:
            number = seen[key] = len(self._values[column])
            self._values[column].append(value)
        self._cells[column].append(number)

    def add(self, cells, keys=()):
        """Add a row: one cell per column (display text, a number or :func:`el` elements), then the
        row's sort keys (text, for the columns with ``key``)."""
        width = len(self.columns)
        if len(cells) != width:
            raise ValueError("a row of %s has %d cells for %d columns" % (self.id, len(cells), width))
        if len(keys) != self._keys:
            raise ValueError("a row of %s has %d sort keys for %d" % (self.id, len(keys), self._keys))
        put = self._put
        for column, value in enumerate(cells):
            put(column, cell(value))
        for offset, key in enumerate(keys):
            put(width + offset, clean_text(key, None))
        self.count += 1

    def add_like(self, like, own, build, *args):
        """Add a row whose cells rows alike share: ``build(*args)`` returns the row's ``(cells,
        keys)`` as :meth:`add` takes them, and is called once per distinct hashable ``like``
        (``None``: every time; :func:`alike` makes one from a host's entry); ``own``:
        ``{position: value}``, the cells that are this row's own (such as its host name), by
        column number, then the sort keys after the columns: they replace what ``build`` returned
        there. ``like`` must say everything else the row depends on."""
        width = len(self.columns)
        numbers = self._like.get(like) if like is not None else None
        if numbers is None:
            cells, keys = build(*args)
            cells, keys = list(cells), list(keys)
            for position, value in own.items():
                if position < width:
                    cells[position] = value
                else:
                    keys[position - width] = value
            self.add(cells, keys)
            if like is not None:
                self._like[like] = [column[-1] for column in self._cells]
            return
        for position, column in enumerate(self._cells):
            if position in own:
                value = own[position]
                self._put(position, cell(value) if position < width else clean_text(value, None))
            else:
                column.append(numbers[position])
        self.count += 1

    def row(self, index):
        """Row ``index`` (in the order of :meth:`add`): its cells, then its sort keys."""
        return [values[cells[index]] for values, cells in zip(self._values, self._cells)]

    def share(self, key, build, *args):
        """A cell many rows share: ``build(*args)`` is called once per distinct hashable ``key``
        and stored once in the page; the cell is a reference to it (``None`` as key: not shared)."""
        if key is None:
            return build(*args)
        try:
            index = self._index[key]
        except KeyError:
            node = build(*args)  # which may share cells of its own first
            index = self._index[key] = len(self.shared)
            self.shared.append(node)
        except TypeError:  # an unhashable key (hand-made data): not shared
            return build(*args)
        return Node(("@", index))

    def data(self):
        """What the page script needs of the table (plain JSON data): ``columns``, ``count`` (rows),
        ``cells`` (per column, then per sort key: ``{"values": [distinct cells], "index": [per row,
        the number of its cell]}``, or the list of the row's texts when they all differ),
        ``shared`` (:meth:`share`), ``empty``."""
        cells = []
        for values, numbers in zip(self._values, self._cells):
            if len(values) == self.count and all(v.__class__ is str or v.__class__ is Shown for v in values):
                cells.append(values)  # all different texts: numbers is 0, 1, 2 ...
            else:
                cells.append({"values": values, "index": numbers})
        return {
            "columns": [{"header": c.header, "numeric": c.numeric, "cls": c.cell_class or "",
                         "key": -1 if c.key is None else len(self.columns) + c.key} for c in self.columns],
            "count": self.count,
            "cells": cells,
            "shared": self.shared,
            "empty": self.empty,
        }

    def row_html(self, row):
        """One row (:meth:`row`) as HTML, as the page script renders it."""
        out = ["<tr>"]
        for column, value in zip(self.columns, row):
            name = "th" if column.header else "td"
            attrs = ' scope="row"' if column.header else ""
            if column.cell_class:
                attrs += ' class="%s"' % column.cell_class
            out.append("<%s%s>%s</%s>" % (name, attrs, node_html(value, self.shared), name))
        out.append("</tr>")
        return "".join(out)

    def first_rows(self):
        """The first :data:`PAGE_ROWS` rows as HTML (:class:`Markup`), or the ``empty`` row."""
        if not self.count:
            return Markup('<tr><td colspan="%d" class="empty">%s</td></tr>' % (len(self.columns), esc(self.empty)))
        return Markup("".join(self.row_html(self.row(index)) for index in range(min(self.count, PAGE_ROWS))))

    @property
    def paged(self):
        """Whether the table has more rows than one page."""
        return self.count > PAGE_ROWS


def alike(entry, besides=("name",)):
    """A key of the rows (:meth:`DataTable.add_like`) of entries that are equal but for the fields
    ``besides``: the rest of ``entry`` (a mapping of plain data) as bytes (``marshal`` format 2:
    equal data, equal bytes; ``1``, ``1.0`` and ``true`` differ), or ``None`` when it is not
    plain data."""
    same = dict(entry)
    for field in besides:
        same.pop(field, None)
    try:
        return marshal.dumps(same, 2)
    except ValueError:
        return None


def data_json(tables):
    """The page's data block: ``{"tags": [...], "page": PAGE_ROWS, "print": PRINT_ROWS, "tables":
    {id: table data}}`` as JSON text that
    is safe inside ``<script type="application/json">``: ``<``, ``>`` and ``&`` are written as
    ``\\u003c`` ... (so no ``</script>`` can end it), U+2028, U+2029 and every invisible
    character as ``\\uXXXX`` escapes (the parsed values are the same)."""
    data = {"tags": TAGS, "page": PAGE_ROWS, "print": PRINT_ROWS, "tables": {t.id: t.data() for t in tables}}
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    text = text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
    return Markup(escape_invisible(text))


# ------------------------------------------------------------------------------ pages

def _read(name):
    with open(os.path.join(ASSETS, name), "r", encoding="utf-8") as handle:
        return handle.read()


def _sha256_source(content):
    digest = hashlib.sha256(content.encode("utf-8")).digest()
    return "'sha256-%s'" % base64.b64encode(digest).decode("ascii")


def inline_sources(css, script):
    """The Content-Security-Policy of a page whose only style is ``css`` and only script is
    ``script`` (inline): allowed by their sha256 hashes, nothing else (no external resource, no
    other script or style, no inline ``style=`` attribute or event handler, no form target, no
    ``<base>``). Raises ``ValueError`` when either could close its element early."""
    if "</style" in css.lower() or "</script" in script.lower():
        raise ValueError("inline CSS/JS must not contain a closing tag")
    return ("default-src 'none'; style-src %s; script-src %s; img-src data:; "
            "base-uri 'none'; form-action 'none'" % (_sha256_source(css), _sha256_source(script)))


#: The pages' style sheet, script and the Content-Security-Policy that allows exactly them.
CSS = _read("divest.css")
SCRIPT = _read("divest.js")
CSP = inline_sources(CSS, SCRIPT)


class CompactLoader(jinja2.FileSystemLoader):
    """Loads the templates of :data:`ASSETS` with each line break in their text, and the
    indentation after it, left out (tags and expressions are kept as written): templates are
    written one element per line, pages carry no whitespace between tags that a template did
    not write on one line."""

    _PARTS = re.compile(r"({%.*?%}|{{.*?}}|{#.*?#})", re.S)
    _BREAK = re.compile(r"\n[ \t]*")

    def get_source(self, environment, template):
        source, filename, uptodate = super(CompactLoader, self).get_source(environment, template)
        parts = self._PARTS.split(source)
        parts[::2] = [self._BREAK.sub("", part) for part in parts[::2]]
        return "".join(parts), filename, uptodate


def _finalize(value):
    """Every ``{{ value }}`` of a template: markup as it is, anything else as :func:`esc` of it
    (``None`` as nothing)."""
    if value is None:
        return Markup("")
    return esc(value)


def _bytecode_cache():
    """Jinja's per-user bytecode cache (a private directory in the temporary folder, checked by
    Jinja for its owner and mode), so that a run does not compile the page templates again: about
    25 ms of every identify run. Pages render the same without it (a folder that is not safe)."""
    try:
        return jinja2.FileSystemBytecodeCache()
    except (OSError, RuntimeError):
        return None


ENVIRONMENT = jinja2.Environment(
    loader=CompactLoader(ASSETS),
    bytecode_cache=_bytecode_cache(),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    finalize=_finalize,
    trim_blocks=True,
    lstrip_blocks=True,
)
ENVIRONMENT.globals.update(badge=badge, col=Column, el=el, fmt_time=fmt_time, plural=plural, shown=shown)


def render_page(template, title, meta, tables=(), **context):
    """Render the page ``template`` (UTF-8 bytes). ``title``: the ``<title>``; ``meta``: extra
    ``{name: content}`` ``<meta>`` tags (machine-readable facts about the page, such as
    ``divest-generated-at``); ``tables``: its :class:`DataTable` objects (their rows go in the
    page's data block); ``context``: the template's variables."""
    page = ENVIRONMENT.get_template(template).render(
        title=title, meta=list(meta.items()), csp=CSP, css=Markup(CSS), script=Markup(SCRIPT),
        data=data_json(tables) if tables else None, **context)
    return page.encode("utf-8")
