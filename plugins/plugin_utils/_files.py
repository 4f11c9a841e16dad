# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Writing documents to files on the controller: atomically, only when their bytes change, and
keeping ``generated_at`` while the content stays the same.

Controller side (plugin_utils), standard library only. The plan action and the report action
(identify, execute) write their files through :func:`write_files` (or :func:`write_reports`, which
also names the files), one batch of formats at a time (a report of 2,000 hosts or more: each batch
in a process of its own, at the same time):

1. the ``generated_at`` of the files already on disk is read from their heads (JSON, YAML,
   HTML ``<meta>``, the Markdown comment);
2. if the content is unchanged, the document keeps that earlier time, so the files stay
   byte-identical and nothing is rewritten. "Unchanged" means: for a document with a content
   digest that leaves the time out (the plan), the files carry the same digest; for any other
   document, rendering it with the earlier time gives exactly the bytes on disk, every file;
3. every file whose bytes differ is written with :func:`write_bytes_atomic` (temporary file
   beside it, ``fsync``, ``os.replace``, mode 0644, directory created).
"""

from __future__ import annotations

import html
import os
import re

from ansible_collections.fleetsec.divest.plugins.module_utils._atomic import atomic_write
from ansible_collections.fleetsec.divest.plugins.plugin_utils._fork import run_forked

__all__ = ["ReportWriteError", "write_bytes_atomic", "differs", "previous_head", "Prepared", "write_files", "parallel_for",
           "report_filenames", "write_reports", "REPORT_FORMATS"]

#: Formats of the identify and execute reports, in the order they are written.
REPORT_FORMATS = ("json", "csv", "html")
#: Bytes read from the start of a file to find its ``generated_at`` and digest.
HEAD_BYTES = 8192

_DIGEST = r"(sha256:[0-9a-f]{64})"
#: Per file format: (digest, generated_at) patterns of the head of a file we wrote.
_HEAD = {
    "json": (re.compile(r'^  "digest": "%s",?$' % _DIGEST, re.M), re.compile(r'^  "generated_at": "([^"\\]*)",?$', re.M)),
    "yml": (re.compile(r'^digest: "?%s"?$' % _DIGEST, re.M), re.compile(r'^generated_at: "?([^"\n]*)"?$', re.M)),
    "html": (re.compile(r'<meta name="divest-plan-digest" content="%s">' % _DIGEST),
             re.compile(r'<meta name="divest-generated-at" content="([^"]*)">')),
    "md": (re.compile(r"^<!-- divest-plan digest=%s generated_at=\S+ -->$" % _DIGEST, re.M),
           re.compile(r"^<!-- divest-plan digest=\S+ generated_at=(\S+) -->$", re.M)),
}


class ReportWriteError(Exception):
    """A file could not be written; the message names the path and the reason."""


def differs(path, data):
    """Whether the file at ``path`` does not hold exactly ``data`` (missing or unreadable: it does)."""
    try:
        with open(path, "rb") as handle:
            return handle.read(len(data) + 1) != data
    except OSError:
        return True


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
    if not differs(path, data):
        return False
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as exc:
        reason = "a file with that name exists" if isinstance(exc, FileExistsError) else (exc.strerror or exc)
        raise ReportWriteError("cannot create directory %s: %s" % (directory, reason))
    try:
        atomic_write(path, data, mode)
    except OSError as exc:
        raise ReportWriteError("cannot write %s: %s" % (path, exc.strerror or exc))
    return True


def previous_head(files, with_digest=False):
    """``{"generated_at", "digest"}`` of the document already on disk, from the head of the first
    of ``files`` (``{format: path}``) that says (with ``with_digest``: that gives both); the
    values are ``None`` when no file does. CSV files carry neither."""
    for fmt, path in files.items():
        patterns = _HEAD.get(fmt)
        if patterns is None:
            continue
        try:
            with open(path, "rb") as handle:
                head = handle.read(HEAD_BYTES).decode("utf-8", "replace")
        except OSError:
            continue
        digest, when = (pattern.search(head) for pattern in patterns)
        if when is None or (with_digest and digest is None):
            continue
        moment = html.unescape(when.group(1)) if fmt == "html" else when.group(1)
        return {"generated_at": moment, "digest": digest.group(1) if digest else None}
    return {"generated_at": None, "digest": None}


class Prepared(object):
    """What :func:`write_files` decided: the ``document`` published (with the ``generated_at`` its
    files carry), the formats whose files ``changed`` (sorted) and the ``previous`` head found on
    disk (:func:`previous_head`)."""

    __slots__ = ("files", "document", "changed", "previous")

    def __init__(self, files, document, previous, changed):
        self.files = files
        self.document = document
        self.previous = previous
        self.changed = changed


#: ``write_files(parallel=...)`` from this many hosts on: forking costs more than it saves below.
PARALLEL_HOSTS = 2000


def parallel_for(hosts):
    """Whether a document of ``hosts`` hosts is rendered in parallel (:func:`write_files`)."""
    return hosts >= PARALLEL_HOSTS


def _forked(jobs):
    """:func:`_fork.run_forked` when this machine has more than one CPU, else one job after the
    other (a fleet's files are rendered on several CPUs)."""
    if (os.cpu_count() or 1) < 2:
        return [job() for job in jobs]
    return run_forked(jobs)


def write_files(files, document, render, digest=None, batches=None, check=False, parallel=False):
    """Decide what to write for ``document`` to ``files`` (``{format: path}``) and write it
    (steps 1-3 above), rendering and writing a batch of formats at a time, so that the bytes of
    only one batch are in memory at once (the files of a fleet-wide plan or report are tens of
    megabytes each). The document passed in is not modified.

    ``render(document, formats)`` returns ``{format: bytes}`` for the ``formats`` asked;
    ``batches``: lists of formats rendered together (default: one batch per format); ``check``:
    decide, write nothing. A document without ``digest``
    whose earlier rendering differs is known to have changed at its first differing file.
    ``parallel``: each batch is rendered and written by a process of its own at the same time
    (:func:`_forked`; the same files); its bytes are then in memory with those of the other batches.
    Returns :class:`Prepared`. Raises :class:`ReportWriteError`."""
    batches = [list(batch) for batch in (batches or [[fmt] for fmt in files])]
    previous = previous_head(files, with_digest=digest is not None)
    earlier = previous["generated_at"]
    run = _forked if parallel else (lambda jobs: [job() for job in jobs])

    def write(doc, batch):
        """Render ``batch`` of ``doc``; write the files whose bytes differ; the formats written."""
        written = []
        for fmt, data in render(doc, batch).items():
            if differs(files[fmt], data):
                written.append(fmt)
                if not check:
                    write_bytes_atomic(files[fmt], data)
        return written

    todo = batches
    changed = []
    if earlier and earlier != document.get("generated_at"):
        candidate = dict(document, generated_at=earlier)
        if digest is not None:
            if previous["digest"] == digest:
                document = candidate
        else:
            def compare(batch):
                """``None`` when the files of ``batch`` hold ``candidate``; else the formats written
                for ``document`` (the content changed: every file gets the new time)."""
                if all(not differs(files[fmt], data) for fmt, data in render(candidate, batch).items()):
                    return None
                return write(document, batch)
            if parallel:
                results = run([lambda batch=batch: compare(batch) for batch in batches])
                if all(result is None for result in results):
                    return Prepared(files, candidate, previous, changed=[])
                todo = [batch for batch, result in zip(batches, results) if result is None]
                changed = [fmt for result in results if result for fmt in result]
            elif all(not differs(files[fmt], data) for batch in batches
                     for fmt, data in render(candidate, batch).items()):
                return Prepared(files, candidate, previous, changed=[])
    for written in run([lambda batch=batch: write(document, batch) for batch in todo]):
        changed.extend(written)
    return Prepared(files, document, previous, changed=sorted(changed))


def report_filenames(dest, report, formats=REPORT_FORMATS):
    """``{format: path}`` of a report's files: ``<dest>/divest-<report>.<format>``."""
    return {fmt: os.path.join(dest, "divest-%s.%s" % (report, fmt)) for fmt in formats}


def write_reports(dest, document, formats, renderers):
    """Write ``document`` in ``formats`` under ``dest``; return ``(files, changed, document)``.

    Files are ``<dest>/divest-<report>.<format>`` (``report``: the document's); ``renderers``
    maps a format to a ``document -> bytes`` function. Idempotent (:func:`write_files`): when the
    files on disk hold the same report except for ``generated_at``, they are left alone and
    the returned document carries the earlier ``generated_at`` (``changed`` is ``False``).
    Raises :class:`ReportWriteError`.
    """
    files = report_filenames(os.path.abspath(dest), document.get("report", "report"), formats)
    hosts = document.get("hosts")
    prepared = write_files(files, document, lambda doc, batch: {fmt: renderers[fmt](doc) for fmt in batch},
                           parallel=parallel_for(len(hosts) if isinstance(hosts, (list, dict)) else 0))
    return files, bool(prepared.changed), prepared.document
