# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test helper: find the characters a reader cannot see, from the Unicode database.

Independent of the code under test (``_text.INVISIBLE_RANGES``), so that a test of a
rendered file checks what a person would see, not the implementation against itself.
"""

from __future__ import annotations

import unicodedata

#: Default ignorable code points that Unicode does not file under Cf (they are Mn or Lo, and
#: ``str.isprintable()`` is true for them): combining grapheme joiner, Hangul and Khmer fillers,
#: Mongolian free variation selectors, variation selectors. They show nothing.
IGNORABLE = ("\u034f\u115f\u1160\u17b4\u17b5\u180b\u180c\u180d\u180f\u3164\ufe00\ufe0f\uffa0"
             "\U000e0100\U000e01ef")


def invisible(text):
    """The characters of ``text`` that a reader cannot see or that reorder what is around them:
    controls other than tab and line ends, format characters (Cf: zero-width, bidi, BOM, tags
    ...), line and paragraph separators, and :data:`IGNORABLE`. Sorted; empty when none."""
    found = set()
    for char in set(text):
        category = unicodedata.category(char)
        if category in ("Cf", "Zl", "Zp") or (category == "Cc" and char not in "\t\n\r") or char in IGNORABLE:
            found.add(char)
    return sorted(found)
