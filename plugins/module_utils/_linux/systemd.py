# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Asking systemd about service units: one ``systemctl show`` command line and one reader of its
output, for the collector (the states it reports) and the removal (what it stops and disables).
Which names may be asked about is ``layout``'s unit-name rule.

Private to the collection: runs on managed nodes, standard library only, Python 3.6+.
"""

from __future__ import absolute_import, division, print_function

from ansible_collections.fleetsec.divest.plugins.module_utils._linux.layout import SERVICE_SUFFIX

__metaclass__ = type

__all__ = ["show_argv", "parse_show", "PROPERTIES"]

#: The properties asked for, one block per unit (``Id`` ties a block to its unit).
PROPERTIES = ("Id", "LoadState", "ActiveState", "UnitFileState")


def show_argv(systemctl, names):
    """``systemctl show`` of the services ``names`` (base names that pass ``layout.is_unit_name``),
    with ``--`` before them so that no name is ever read as an option."""
    return ([systemctl, "show", "--no-pager"] + ["--property=%s" % prop for prop in PROPERTIES] + ["--"]
            + [name + SERVICE_SUFFIX for name in names])


def parse_show(out, count):
    """The blocks of ``systemctl show`` output (one per unit, in argument order) as dicts, or None
    when there are not ``count`` of them."""
    if isinstance(out, bytes):
        out = out.decode("utf-8", "replace")
    blocks = []
    for block in out.replace("\r\n", "\n").strip("\n").split("\n\n"):
        props = {}
        for line in block.split("\n"):
            key, sep, value = line.partition("=")
            if sep:
                props[key.strip()] = value.strip()
        blocks.append(props)
    if not out.strip():
        blocks = []
    if len(blocks) != count:
        return None
    return blocks
