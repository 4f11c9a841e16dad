# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Editing the files a vendor wrote into: configuration lines, repository entries, reinstall blocks.

Pure text functions (tested on their own) plus :func:`apply_edit`, which writes a file through
the ``Host`` (atomically, keeping mode and owner, optional backup) and records a diff.

* :func:`remove_lines`: drop the lines a regular expression matches (``smb.conf``,
  ``squid.conf``); everything else stays byte for byte.
* :func:`clean_repo_text`: drop the vendor's entries from a repository file: lines of a one-line
  apt file (``*.list``, ``sources.list``), stanzas of a deb822 file (``*.sources``), sections of
  a yum/dnf/zypper file (``*.repo``); which file is which, and where they are: ``layout``. The
  caller deletes a file only when no entry is left in it, and never ``layout.NEVER_DELETE``.
* :func:`apt_preferences`, :func:`merge_exclude`, :func:`zypp_locks`: the reinstall blocks.
* :func:`drop_versionlock`, :func:`drop_versionlock_toml`, :func:`drop_zypp_lock`: a dnf/yum
  versionlock entry (dnf 4 / yum list, dnf 5 TOML) or a zypper lock on a package being
  removed, released; which entry holds which package is decided by the collector's readers.

Files are read and written as bytes decoded with ``surrogateescape``, so bytes that are not
UTF-8 survive an edit unchanged. Every write stays inside the root: the path is resolved with
``RootFS`` (links followed and re-rooted inside it, a file that does not exist yet included),
missing directories are created inside it, and the directory written into (the temporary file,
the backup, the file) is checked to be inside the root before anything is written. A file in
container storage (``layout.CONTAINER_STORAGE``), or a link leading into it, is never written: a
container's files are not the host's. A file is deleted with the residue walker's :func:`delete_entry`: a link as a link, never through a link.

Private to the collection: runs on managed nodes, standard library only, Python 3.6+.
"""

from __future__ import absolute_import, division, print_function

import errno
import os
import re
import stat

from ansible_collections.fleetsec.divest.plugins.module_utils._linux.holds import (
    glob_match,
    is_glob,
    parse_versionlock_toml,
    parse_zypp_locks,
    rpm_spellings,
    zypp_lock_applies,
)
from ansible_collections.fleetsec.divest.plugins.module_utils._linux.host import RemovalError
from ansible_collections.fleetsec.divest.plugins.module_utils._linux.layout import container_storage
from ansible_collections.fleetsec.divest.plugins.module_utils._linux.removal.paths import UnsafePath, delete_entry

__metaclass__ = type

__all__ = ["remove_lines", "clean_repo_text", "apt_preferences", "merge_exclude", "zypp_locks", "read_text",
           "apply_edit", "MAX_FILE", "drop_versionlock", "drop_versionlock_toml", "drop_zypp_lock", "write_path"]

MAX_FILE = 8 * 1024 * 1024


def _decode(data):
    return data.decode("utf-8", "surrogateescape")


def _encode(text):
    return text.encode("utf-8", "surrogateescape")


def read_text(host, inner):
    """``(text, hostpath)`` of a regular file inside the root, or ``(None, hostpath)`` when it is
    missing. Symbolic links are followed inside the root. Raises RemovalError otherwise."""
    try:
        hostpath = host.fs.host_path(inner)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return None, None
        raise RemovalError("cannot resolve %s: %s" % (inner, exc.strerror or exc))
    try:
        info = os.stat(hostpath)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return None, hostpath
        raise RemovalError("cannot read %s: %s" % (inner, exc.strerror or exc))
    if not stat.S_ISREG(info.st_mode):
        raise RemovalError("%s is not a regular file" % inner)
    if info.st_size > MAX_FILE:
        raise RemovalError("%s is larger than %d bytes: not edited" % (inner, MAX_FILE))
    try:
        data, dummy = host.fs.read_bytes(inner)
    except OSError as exc:
        raise RemovalError("cannot read %s: %s" % (inner, exc.strerror or exc))
    return _decode(data), hostpath


def remove_lines(text, regexps):
    """``(new_text, removed)``: ``text`` without the lines any of ``regexps`` matches
    (``re.search`` on each line without its line break)."""
    compiled = []
    for expr in regexps:
        try:
            compiled.append(re.compile(expr))
        except re.error as exc:
            raise RemovalError("invalid regular expression %r: %s" % (expr, exc))
    kept, removed = [], []
    for line in text.splitlines(True):
        bare = line.rstrip("\r\n")
        if any(regex.search(bare) for regex in compiled):
            removed.append(bare)
        else:
            kept.append(line)
    return "".join(kept), removed


def _is_entry(line):
    stripped = line.strip()
    return bool(stripped) and stripped[0] not in "#;"


def _blocks(lines, fmt):
    """Split a file into blocks: deb822 stanzas (each with its trailing blank line) or INI
    sections (a preamble, then one block per ``[section]``). Each block is a list of lines."""
    blocks = [[]]
    for line in lines:
        if fmt == "deb822":
            blocks[-1].append(line)
            if not line.strip():
                blocks.append([])
            continue
        if line.lstrip().startswith("["):
            blocks.append([])
        blocks[-1].append(line)
    return [b for b in blocks if b]


def clean_repo_text(text, fmt, matches):
    """``(new_text, removed, entries_left)``. ``matches(line) -> bool`` says whether a line is
    the vendor's. ``removed`` lists the entry lines (or first lines of stanzas/sections) taken
    out; ``entries_left`` counts the entries that stay."""
    lines = text.splitlines(True)
    removed = []
    if fmt == "list":
        kept = []
        left = 0
        for line in lines:
            if _is_entry(line) and matches(line.strip()):
                removed.append(line.rstrip("\r\n"))
                continue
            if _is_entry(line):
                left += 1
            kept.append(line)
        return "".join(kept), removed, left
    kept = []
    left = 0
    for block in _blocks(lines, fmt):
        entries = [line for line in block if _is_entry(line)]
        is_section = fmt == "ini" and block[0].lstrip().startswith("[")
        if fmt == "ini" and not is_section:
            kept.extend(block)  # the preamble before the first section
            continue
        if entries and any(matches(line.strip()) for line in entries):
            removed.append(entries[0].rstrip("\r\n"))
            continue
        if entries:
            left += 1
        kept.extend(block)
    out = "".join(kept)
    if fmt == "deb822":
        out = re.sub(r"\n{3,}", "\n\n", out)
    return out, removed, left


# ------------------------------------------------------------------------------ reinstall blocks

HEADER = "# Managed by fleetsec.divest: block reinstallation of %s packages (BOD 17-01)."


def apt_preferences(vendor, packages):
    """The apt preferences file pinning ``packages`` (every architecture) to priority -1."""
    names = []
    for name in sorted(set(packages)):
        names.extend([name, name + ":any"])
    return "\n".join([
        HEADER % vendor,
        "# Explicit version requests (apt-get install pkg=1.2) and dpkg -i bypass a pin.",
        "Explanation: fleetsec.divest removed these %s packages; do not install them again." % vendor,
        "Package: %s" % " ".join(names),
        "Pin: release *",
        "Pin-Priority: -1",
        "",
    ])


_KEY = re.compile(r"^(\s*)(excludepkgs|exclude)(\s*=\s*)(.*?)(\s*)$", re.IGNORECASE)


def merge_exclude(text, packages, present=True, key="excludepkgs"):
    """``(new_text, before_values, after_values)``: the ``[main]`` section of a dnf/yum
    configuration with ``packages`` added to (removed from) its exclude list, other values kept.

    The existing ``excludepkgs=`` or ``exclude=`` line is updated in place (dnf reads both);
    when there is none, ``key`` is added at the end of ``[main]`` (a missing ``[main]`` is
    created). A list that becomes empty loses its line."""
    lines = (text or "").splitlines(True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    section = None
    main_end = None
    found = None
    for index, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            if section == "main":
                main_end = index
            section = stripped[1:-1].strip().lower()
            continue
        if section == "main":
            match = _KEY.match(line.rstrip("\r\n"))
            if match and found is None:
                found = (index, match)
    if section == "main" and main_end is None:
        main_end = len(lines)
    wanted = sorted(set(packages))
    if found is not None:
        index, match = found
        raw = match.group(4)
        sep = ", " if "," in raw else " "
        values = [v for v in re.split(r"[,\s]+", raw) if v]
        before = list(values)
        if present:
            values += [p for p in wanted if p not in values]
        else:
            values = [v for v in values if v not in wanted]
        if values == before:
            return "".join(lines), before, values
        if values:
            lines[index] = "%s%s%s%s\n" % (match.group(1), match.group(2), match.group(3), sep.join(values))
        else:
            del lines[index]
        return "".join(lines), before, values
    if not present or not wanted:
        return "".join(lines), [], []
    new_line = "%s=%s\n" % (key, " ".join(wanted))
    if main_end is None:
        lines = ["[main]\n", new_line] + (["\n"] if lines else []) + lines
    else:
        # after the last non-blank line of [main]
        insert = main_end
        while insert > 0 and not lines[insert - 1].strip():
            insert -= 1
        lines.insert(insert, new_line)
    return "".join(lines), [], wanted


def _lock_blocks(text):
    blocks, current = [], []
    for line in (text or "").splitlines(True):
        if not line.strip():
            if current:
                blocks.append(current)
                current = []
            continue
        current.append(line)
    if current:
        blocks.append(current)
    return blocks


def _lock_fields(block):
    """``{attribute: last value}`` of one lock block, read by the holds reader."""
    locks = parse_zypp_locks(_encode("".join(block)))
    return dict((key, values[-1]) for key, values in locks[0].items() if values) if locks else {}


def zypp_locks(text, vendor, packages, present=True):
    """``(new_text, before_names, after_names)``: ``/etc/zypp/locks`` with one package lock per
    name of ``packages`` (added or removed); other locks kept."""
    wanted = sorted(set(packages))
    blocks = _lock_blocks(text)
    locked = []
    kept = []
    for block in blocks:
        fields = _lock_fields(block)
        name = fields.get("solvable_name")
        if fields.get("type", "package") == "package" and name in wanted:
            if name not in locked:
                locked.append(name)
            if not present:
                continue
        kept.append(block)
    before = sorted(locked)
    if present:
        for name in wanted:
            if name not in locked:
                kept.append(["# %s\n" % (HEADER % vendor)[2:], "type: package\n", "match_type: exact\n",
                             "case_sensitive: on\n", "solvable_name: %s\n" % name])
        after = wanted
    else:
        after = []
    new = "\n".join("".join(block) for block in kept)
    if before == after:
        return text or "", before, after
    return new, before, after


# ------------------------------------------------------------------------------------ holds
# Which entries hold which package is decided by the collector's own readers (``holds``), so
# that what the scan reports as held is exactly what a removal releases. A host's regular
# expression is never run.

def drop_versionlock(text, name, version=None, arch=None):
    """``(new_text, removed, wider)``: a dnf 4 / yum versionlock.list without the lock entries
    that name this installed package alone - a literal spelling of it (``kesl``,
    ``kesl-0:12.1.0-1508.x86_64``, ``0:kesl-12.1.0-1508.x86_64`` ...) or one whose only glob is
    the arch (``kesl-0:12.1.0-1508.*``, what ``dnf versionlock add`` writes). ``wider`` lists the
    other glob entries that cover it (``kes*``: they may cover other packages, so they stay).
    Comments, exclusions (``!``) and other entries stay byte for byte."""
    spellings = rpm_spellings(name, version, arch)
    kept, removed, wider = [], [], []
    for line in (text or "").splitlines(True):
        spec = line.strip()
        if spec and spec[0] not in "#!":
            bare = spec[:-2] if spec.endswith(".*") else spec
            if not is_glob(bare) and bare in spellings:
                removed.append(line.rstrip("\r\n"))
                continue
            if is_glob(spec) and any(glob_match(spec, spelling) for spelling in spellings):
                wider.append(spec)
        kept.append(line)
    return "".join(kept), removed, wider


def _toml_tables(text):
    """dnf 5's versionlock.toml cut into a preamble and one piece per ``[[packages]]`` table
    (with its conditions and the comments just above it)."""
    pieces = [[]]
    for line in (text or "").splitlines(True):
        if line.strip().replace(" ", "") == "[[packages]]":
            previous = pieces[-1]
            above = []
            while previous and (not previous[-1].strip() or previous[-1].lstrip().startswith("#")):
                above.insert(0, previous.pop())
            pieces.append(above)
        pieces[-1].append(line)
    return ["".join(piece) for piece in pieces]


def drop_versionlock_toml(text, name):
    """``(new_text, removed, wider)``: dnf 5's ``versionlock.toml`` without the ``[[packages]]``
    entries that lock exactly ``name`` (an entry whose conditions are all ``!=`` is an exclude
    and stays); ``wider`` lists glob names that cover it (they stay)."""
    pieces = _toml_tables(text)
    kept, removed, wider = pieces[:1], [], []
    for piece in pieces[1:]:
        entries = parse_versionlock_toml(_encode(piece))
        if entries:
            entry, comparators = entries[0]
            locks = not (comparators and all(op == "!=" for op in comparators))
            if locks and entry == name:
                removed.append(entry)
                continue
            if locks and is_glob(entry) and glob_match(entry, name):
                wider.append(entry)
        kept.append(piece)
    return "".join(kept), removed, wider


def drop_zypp_lock(text, name, arch=None):
    """``(new_text, released, wider, unknown)``: ``/etc/zypp/locks`` without the package locks
    on exactly ``name`` (``solvable_name: kesl`` matched exactly, or as a glob without a
    wildcard; ``released`` counts them). ``wider`` lists the locks that cover it and possibly
    other packages (a wildcard, a substring - libzypp's default -, a word); ``unknown`` those
    that cannot be told without running zypper (a regular expression, a complex lock). Both
    stay: releasing them would unlock more than the package being removed."""
    kept, released, wider, unknown = [], 0, [], []
    for block in _lock_blocks(text):
        parsed = parse_zypp_locks(_encode("".join(block)))
        if not parsed:
            kept.append(block)
            continue
        lock = parsed[0]
        applies = zypp_lock_applies(lock, name, arch)
        names = lock.get("solvable_name") or lock.get("query_string") or ["?"]
        if applies is None:
            unknown.append(names[0])
        elif applies:
            how = (lock.get("match_type") or ["substring"])[-1].lower()
            only = len(names) == 1 and not lock.get("query_string") and not is_glob(names[0])
            if only and how in ("exact", "glob"):
                released += 1
                continue
            wider.append(names[0])
        kept.append(block)
    if not released:
        return text or "", 0, wider, unknown
    return "\n".join("".join(block) for block in kept), released, wider, unknown


# ---------------------------------------------------------------------------------- writing

def _inside_root(host, inner, hostpath):
    """Refuse a host path whose directory is not inside the root (a link swapped in, or one the
    resolution could not see); the root ``/`` holds everything."""
    if host.root == "/":
        return
    real = os.path.realpath(os.path.dirname(hostpath))
    if real != host.root and not real.startswith(host.root + "/"):
        raise RemovalError("refusing to write %s: it would land in %s, outside the root %s"
                           % (inner, real, host.shown_root), refused=True, path=inner)


def write_path(host, inner, create=False):
    """The host path where ``inner`` is written: resolved inside the root (links re-rooted,
    a missing file or directory too), its directory checked to be inside the root. With
    ``create``, missing directories are made (inside the root) and checked again."""
    try:
        resolved, missing = host.fs.resolve_new(inner)
    except OSError as exc:
        raise RemovalError("cannot resolve %s: %s" % (inner, exc.strerror or exc))
    hostpath = host.fs.host(resolved)
    _inside_root(host, inner, hostpath)
    storage = container_storage(inner) or container_storage(resolved)
    if storage:
        raise RemovalError("refusing to write %s: it %s container storage (%s); a container's files are never edited"
                           % (inner, "lies in" if container_storage(inner) else "leads into", storage),
                           refused=True, path=inner)
    if create and missing:
        try:
            os.makedirs(os.path.dirname(hostpath), 0o755)
        except OSError as exc:
            if exc.errno != errno.EEXIST:
                raise RemovalError("cannot create the directory of %s: %s" % (inner, exc.strerror or exc))
        _inside_root(host, inner, hostpath)
    return hostpath


def _delete(host, inner, check_mode):
    try:
        return delete_entry(host, inner, check_mode=check_mode)
    except UnsafePath as exc:
        raise RemovalError("refusing to delete %s: %s" % (inner, exc), refused=True, path=inner)
    except OSError as exc:
        raise RemovalError("cannot delete %s: %s" % (inner, exc.strerror or exc))


def apply_edit(host, record, step, inner, before, after, backup=False, create_mode=0o644, delete=False,
               action="edit", **details):
    """Write ``after`` to ``inner`` (or delete the file, a link as a link, when ``delete``)
    unless nothing changes; record the step and the diff. Returns True when something changed
    (or would). Every write stays inside the root (see the module docstring); what the guards
    refuse raises ``RemovalError`` with ``details["refused"]`` set, before anything changed."""
    if not delete and before == after:
        return False
    if delete:
        _delete(host, inner, check_mode=True)  # refuses what may not be deleted, in check mode too
        hostpath = host.fs.host_path(inner) if before is not None else None
    else:
        hostpath = write_path(host, inner)
    record.diff(before or "", "" if delete else after, inner,
                "%s (deleted)" % inner if delete else inner)
    if host.check_mode:
        record.step(step, "delete" if delete else action, inner, **details)
        return True
    backup_path = None
    try:
        if backup and before is not None:
            backup_path = host.backup(hostpath)
        if delete:
            _delete(host, inner, check_mode=False)
        else:
            hostpath = write_path(host, inner, create=True)
            host.write(hostpath, _encode(after), create_mode)
    except OSError as exc:
        raise RemovalError("cannot %s %s: %s" % ("delete" if delete else "write", inner, exc.strerror or exc))
    record.step(step, "delete" if delete else action, inner, backup=backup_path, **details)
    return True
