# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test helper: read a report page (HTML bytes or text) the way the tests look at it.

* :func:`parse`: every start tag with its attributes, the text of the ``<style>`` and of the
  executable ``<script>`` elements (``raw``), and of the ``<script type="application/json">``
  data blocks (``data``);
* :func:`page_data`: the page's data block (the rows of its host tables), parsed;
* :func:`table_rows`: the rows of a host table's data, row by row;
* :func:`table_text`: the text of every row of a host table, as the page shows it.
"""

from __future__ import annotations

import html.parser
import json

from ansible_collections.fleetsec.divest.plugins.plugin_utils import _html


class Elements(html.parser.HTMLParser):
    """Collect start tags with their attributes, and the text of <script>/<style> elements."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags = []
        self.raw = {"script": [], "style": []}
        self.data = []
        self._in = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag == "script" and attrs.get("type") == "application/json":
            self._in = self.data
        elif tag in self.raw:
            self._in = self.raw[tag]
        else:
            return
        self._in.append("")

    def handle_endtag(self, tag):
        self._in = None

    def handle_data(self, data):
        if self._in is not None:
            self._in[-1] += data


def parse(page):
    parser = Elements()
    parser.feed(page.decode("utf-8") if isinstance(page, bytes) else page)
    parser.close()
    return parser


def page_data(page):
    """The page's data block, parsed (``{"tags": [...], "tables": {id: {columns, count, cells, shared, empty}}}``)."""
    blocks = parse(page).data
    assert len(blocks) == 1, "a page has one data block"
    return json.loads(blocks[0])


def table_rows(table):
    """``[[cell, ..., sort key, ...], ...]``: the rows of a host table's data (``page_data(...)["tables"][id]``),
    cells as :class:`_html.Node` trees or text, the way the page script reads them."""
    columns = []
    for column in table["cells"]:
        if isinstance(column, list):
            columns.append(column)
        else:
            assert len(column["index"]) == table["count"]
            columns.append([column["values"][number] for number in column["index"]])
    assert all(len(column) == table["count"] for column in columns)
    return [list(_nodes(row)) for row in zip(*columns)] if columns else []


def table_text(page, table_id):
    """``[[cell text, ...], ...]``: the rows of host table ``table_id``, in the page's order."""
    table = page_data(page)["tables"][table_id]
    shared = [_html.Node(node) if isinstance(node, list) else node for node in _nodes(table["shared"])]
    count = len(table["columns"])
    return [[_html.node_text(cell, shared) for cell in row[:count]] for row in table_rows(table)]


def _nodes(values):
    """JSON arrays back to :class:`_html.Node` trees."""
    out = []
    for value in values:
        if isinstance(value, list):
            out.append(_html.Node(_nodes(value)))
        else:
            out.append(value)
    return out
