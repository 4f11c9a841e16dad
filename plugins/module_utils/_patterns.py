# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Name patterns, one rule for the catalog, the collectors' query and the matcher.

* a plain string is an exact name;
* ``re:<expr>`` is a regular expression that must match the whole name (``fullmatch``);
* ``ignore_case`` folds case (Windows names, free-text fields);
* ``search`` looks for the pattern anywhere in the value (free-text fields such as a package
  maintainer or a repository line); a plain string is then a case-folded substring.

Private to the collection: this file runs on managed nodes too, so it uses the standard
library only and stays importable on every Python ansible-core supports there.
"""

from __future__ import absolute_import, division, print_function

import re

__metaclass__ = type

__all__ = ["Pattern", "PatternSet", "PatternError", "has_magic"]

PREFIX = "re:"

_MAGIC = frozenset("*?[")


def has_magic(component):
    """True when a path or path component is a shell glob (``*``, ``?`` or ``[``): catalog paths
    may be globs (``/etc/opt/kaspersky/kesl*``), expanded on the host."""
    return any(char in _MAGIC for char in component)


class PatternError(ValueError):
    """A pattern that cannot be compiled; the message names it."""


def _compiled(text, flags, search):
    try:
        compiled = re.compile(text[len(PREFIX):], flags)
    except re.error as exc:
        raise PatternError("invalid regular expression %r: %s" % (text, exc))
    return compiled.search if search else compiled.fullmatch


class Pattern(object):
    """One pattern. ``lazy`` compiles a regular expression when it is first used instead of
    now: for patterns known to compile (a catalog whose patterns were compiled by an earlier
    load), so that a process matching a few names does not compile them all."""

    __slots__ = ("text", "_exact", "_regex", "_pending")

    def __init__(self, text, ignore_case=False, search=False, lazy=False):
        if not isinstance(text, str) or not text:
            raise PatternError("a pattern must be a non-empty string, got %r" % (text,))
        self.text = text
        flags = re.IGNORECASE if (ignore_case or search) else 0
        self._exact = None
        self._regex = None
        self._pending = None
        if text.startswith(PREFIX):
            if lazy:
                self._pending = (flags, search)
            else:
                self._regex = _compiled(text, flags, search)
        elif search:
            needle = text.casefold()
            self._regex = lambda value, _n=needle: _n in value.casefold()
        elif ignore_case:
            self._exact = text.casefold()
            self._regex = lambda value, _e=self._exact: value.casefold() == _e
        else:
            self._exact = text

    def matches(self, value):
        if not isinstance(value, str):
            return False
        if self._pending is not None:
            self._regex = _compiled(self.text, *self._pending)
            self._pending = None
        if self._exact is not None and self._regex is None:
            return value == self._exact
        return bool(self._regex(value))

    def __repr__(self):
        return "Pattern(%r)" % self.text


class PatternSet(object):
    """Several patterns; ``match`` returns the first that matches a value, or None.

    Exact names are looked up in a set, so a long list of package names costs one hash
    lookup per value, not one comparison per name.
    """

    __slots__ = ("_ignore_case", "_exact", "_others")

    def __init__(self, texts=(), ignore_case=False, search=False, lazy=False):
        self._ignore_case = ignore_case and not search
        self._exact = {}
        self._others = []
        for text in texts or ():
            pattern = Pattern(text, ignore_case=ignore_case, search=search, lazy=lazy)
            if not search and not text.startswith(PREFIX):
                key = text.casefold() if ignore_case else text
                self._exact.setdefault(key, pattern)
            else:
                self._others.append(pattern)

    def __bool__(self):
        return bool(self._exact or self._others)

    __nonzero__ = __bool__

    def match(self, value):
        if not isinstance(value, str):
            return None
        if self._exact:
            hit = self._exact.get(value.casefold() if self._ignore_case else value)
            if hit is not None:
                return hit
        for pattern in self._others:
            if pattern.matches(value):
                return pattern
        return None
