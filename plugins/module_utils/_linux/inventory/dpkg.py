# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read dpkg's database (``var/lib/dpkg/status``, see ``layout``) without dpkg.

Fast on purpose: a host with 2,500 packages has a ~3 MB status file, and the collector's
budget is a few tens of milliseconds. The file is read once as bytes and split into
paragraphs; only Package (and Maintainer when the query has maintainer patterns) is looked
at with C-speed ``find`` before a paragraph is known to match, and only matching paragraphs
have their Status, Version and Architecture extracted and decoded. Paragraphs whose field
names are not in dpkg's own spelling fall back to a slow, tolerant line parser.

Hostile or broken input is data: bytes that are not UTF-8 decode with U+FFFD, CRLF line
ends, stray continuation lines, missing fields, a truncated last paragraph and binary
garbage never raise; paragraphs that cannot be a package are counted as malformed.

The ``updates/`` journal (entries dpkg wrote after its last checkpoint, for example when a
maintainer script was interrupted) is applied on top of ``status``, as dpkg does.

A package on hold (``apt-mark hold``, ``dpkg --set-selections``: the first word of Status is
``hold``) carries ``hold: "apt-mark"``; the key is absent otherwise.

Private to the collection: runs on managed nodes, standard library only, Python 3.6+.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

__all__ = ["parse_status", "parse_database", "PRESENT_STATES", "ALL_STATES", "HOLD"]

# dpkg's package states (the third word of Status). ``not-installed`` is never returned;
# ``config-files`` is residue; every other state means files of the package are on disk.
PRESENT_STATES = frozenset([
    "installed", "unpacked", "half-installed", "half-configured",
    "triggers-awaited", "triggers-pending", "config-files",
])
ALL_STATES = PRESENT_STATES | frozenset(["not-installed"])
_STATE_BYTES = dict((state.encode("ascii"), state) for state in ALL_STATES)
#: The ``hold`` value of a package whose selection (the first word of Status) is ``hold``.
HOLD = "apt-mark"

_FIELDS = (b"package", b"status", b"version", b"architecture", b"maintainer")


def _decode(value):
    return value.decode("utf-8", "replace") if value is not None else None


def _field(para, key):
    """Value of a single-line field in dpkg's spelling; ``key`` is ``b"\\nName:"``."""
    if para.startswith(key[1:]):
        start = len(key) - 1
    else:
        at = para.find(key)
        if at < 0:
            return None
        start = at + len(key)
    end = para.find(b"\n", start)
    if end < 0:
        end = len(para)
    return para[start:end].strip()


def _slow_fields(para):
    """Tolerant parse: field names in any case, whitespace before the colon."""
    found = {}
    for line in para.split(b"\n"):
        if not line or line[:1] in (b" ", b"\t"):
            continue  # a continuation line belongs to the previous field
        name, sep, value = line.partition(b":")
        if not sep:
            continue
        name = name.strip().lower()
        if name in _FIELDS and name not in found:
            found[name] = value.strip()
    return found


class _Filter(object):
    __slots__ = ("names", "maintainers")

    def __init__(self, names, maintainers):
        self.names = names if names else None
        self.maintainers = maintainers if maintainers else None

    def __call__(self, name, maintainer_bytes):
        if self.names is not None and self.names.match(name) is not None:
            return True
        if self.maintainers is not None and maintainer_bytes is not None:
            return self.maintainers.match(_decode(maintainer_bytes)) is not None
        return False


def _record(name, status, version, arch, maintainer, held):
    record = {
        "name": name,
        "version": _decode(version) or None,
        "arch": _decode(arch) or None,
        "manager": "dpkg",
        "status": status,
        "maintainer": _decode(maintainer) or None,
    }
    if held:
        record["hold"] = HOLD
    return record


def _state(status_value):
    """``(state, held)`` of a Status value ("want flag state"); state None when unusable."""
    if status_value is None:
        return None, False
    words = status_value.split()
    if len(words) != 3:
        return None, False
    return _STATE_BYTES.get(words[2]), words[0] == b"hold"


def _paragraphs(data):
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n")
    for para in data.split(b"\n\n"):
        if para[:1] == b"\n":
            para = para.lstrip(b"\n")
        if para:
            yield para


def _parse(data, wanted, keep_absent):
    """Yield ``(key, record_or_None)`` for matching paragraphs; count malformed ones.

    ``record`` is None for a matching paragraph that is ``not-installed`` (it still matters
    when it overrides an older entry from the journal). Returns a list and the count.
    """
    out = []
    malformed = 0
    for para in _paragraphs(data):
        pkg = _field(para, b"\nPackage:")
        if pkg is not None:
            maintainer = _field(para, b"\nMaintainer:") if wanted.maintainers is not None else None
            fields = None
        else:
            fields = _slow_fields(para)
            pkg = fields.get(b"package")
            maintainer = fields.get(b"maintainer")
        if not pkg:
            malformed += 1
            continue
        name = _decode(pkg)
        if not keep_absent and not wanted(name, maintainer):
            continue
        if fields is None:
            status = _field(para, b"\nStatus:")
            arch = _field(para, b"\nArchitecture:")
            version = _field(para, b"\nVersion:")
            if maintainer is None:
                maintainer = _field(para, b"\nMaintainer:")
            if status is None or arch is None or version is None:
                fields = _slow_fields(para)  # rare: a broken or oddly spelled paragraph
        if fields is not None:
            status = fields.get(b"status")
            arch = fields.get(b"architecture")
            version = fields.get(b"version")
            if maintainer is None:
                maintainer = fields.get(b"maintainer")
        state, held = _state(status)
        if state is None:
            malformed += 1
            continue
        key = (name, _decode(arch) or None)
        if keep_absent and not wanted(name, maintainer):
            out.append((key, False))
            continue
        if state == "not-installed":
            out.append((key, None))
            continue
        out.append((key, _record(name, state, version, arch, maintainer, held)))
    return out, malformed


def parse_database(data, names=None, maintainers=None, journal=()):
    """Packages of a dpkg status file and its journal that match the query.

    ``data``: the status file's bytes. ``names``: a ``PatternSet`` matched against Package;
    ``maintainers``: a ``PatternSet`` searched in Maintainer (an item is returned when either
    matches). ``journal``: bytes of the ``updates/`` files, oldest first.

    Returns ``(records, malformed, journal_malformed)``: raw-inventory package dicts in file
    order (multi-arch instances are separate items), the number of paragraphs of ``data``
    that were ignored because they had no Package or no usable Status, and that number for
    each journal file (a list as long as ``journal``), so a broken journal is not blamed on
    the status file.
    """
    wanted = _Filter(names, maintainers)
    if wanted.names is None and wanted.maintainers is None:
        return [], 0, [0] * len(journal)
    parsed, malformed = _parse(data, wanted, keep_absent=False)
    merged = {}
    for key, record in parsed:
        if key not in merged:  # the first paragraph wins, as in a consistent status file
            merged[key] = record
    journal_malformed = []
    for chunk in journal:
        entries, bad = _parse(chunk, wanted, keep_absent=True)
        journal_malformed.append(bad)
        for key, record in entries:
            if record is False:  # the package no longer matches (say, a new Maintainer)
                merged.pop(key, None)
            else:
                merged[key] = record
    return [record for record in merged.values() if record is not None], malformed, journal_malformed


def parse_status(data, names=None, maintainers=None, journal=()):
    """``parse_database`` with one malformed count: ``(records, malformed)``."""
    records, malformed, journal_malformed = parse_database(data, names, maintainers, journal)
    return records, malformed + sum(journal_malformed)
