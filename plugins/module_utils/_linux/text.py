# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Text read from a host, made safe to return: one rule for the collector and the removal.

The rule (:func:`clean_text`): a value read from a host (a name, a line of a file, a link target,
a command's message) is returned as valid UTF-8 (bytes decoded as UTF-8 with U+FFFD for what is
not, lone surrogates left by undecodable file names or command output replaced the same way),
with its control characters other than tab escaped as ``\\xNN``, and at most ``limit``
characters long: a cut is marked with ``TRUNCATED``. A host that may be compromised can then
neither break the result's JSON nor forge lines in a log or a report.

Text the removal edits (a repository file, a lock file) is not cleaned: it is written back byte
for byte (see ``removal.files``); only what is *returned* about it is.

Private to the collection: runs on managed nodes, standard library only, Python 3.6+.
"""

from __future__ import absolute_import, division, print_function

import re

__metaclass__ = type

__all__ = ["clean_text", "first_lines", "MAX_TEXT", "TRUNCATED"]

#: Characters a returned value keeps by default (the collector's cap per string).
MAX_TEXT = 512
#: What marks a value that was cut.
TRUNCATED = "...[truncated]"

_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f]")


def _escape_control(match):
    return "\\x%02x" % ord(match.group(0))


def clean_text(value, limit=MAX_TEXT):
    """Return ``(text, truncated)``: ``value`` cleaned by the rule of this module.

    Accepts bytes, str and None (returned as is); anything else is turned into str first.
    """
    if value is None:
        return None, False
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    elif not isinstance(value, str):
        value = str(value)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        try:
            value = value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        except UnicodeEncodeError:
            value = value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    truncated = len(value) > limit
    if truncated:
        value = value[:limit]
    if _CONTROL.search(value):
        value = _CONTROL.sub(_escape_control, value)
    if truncated:
        value += TRUNCATED
    return value, truncated


def first_lines(text, limit=1500, skip=(), count=None):
    """A command's output as one line of a message: its non-empty lines (the first ``count`` of
    them; all by default) stripped and joined with `` / ``, cleaned by :func:`clean_text` with
    ``limit``. Lines containing one of ``skip`` (progress chatter) are left out."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    lines = []
    for line in (text or "").splitlines():
        line = line.strip()
        if line and not any(s in line for s in skip):
            lines.append(line)
            if count is not None and len(lines) >= count:
                break
    return clean_text(" / ".join(lines), limit)[0]
