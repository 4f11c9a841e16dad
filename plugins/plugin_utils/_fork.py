# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Work on several CPUs in forked child processes (controller side, standard library only).

Used where a fleet's work is CPU-bound: reading and reducing the hosts' facts
(``_hostfacts.map_hosts``), rendering a report's formats (``_files.write_files``).
"""

from __future__ import annotations

import os

__all__ = ["run_forked", "spawn", "collect"]


def spawn(job, encode, failure):
    """Fork a child process that runs ``job()`` and writes ``encode(result)`` (bytes) to a pipe,
    or, when it raises, ``failure(exception)`` and exits with status 1; it leaves with
    ``os._exit`` (no cleanup of the parent's state). Returns ``(pid, read_fd)`` for :func:`collect`."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        code = 0
        try:
            os.close(read_fd)
            try:
                data = encode(job())
            except BaseException as exc:  # pylint: disable=broad-exception-caught  # told to the parent
                data, code = failure(exc), 1
            with os.fdopen(write_fd, "wb") as pipe:
                pipe.write(data)
        finally:
            os._exit(code)
    os.close(write_fd)
    return pid, read_fd


def collect(pid, read_fd):
    """``(bytes the child wrote, its exit status)``, once it has exited."""
    with os.fdopen(read_fd, "rb") as pipe:
        data = pipe.read()
    dummy, status = os.waitpid(pid, 0)
    return data, status


def run_forked(jobs):
    """``[job() for job in jobs]``: the first job in this process, each other one at the same time
    in a forked child process that sends its result back pickled. A job returns picklable data
    and does not depend on the others. A child that fails, or whose result cannot be read (killed
    half-way), has its job run again here, so that its error, if any, is raised here. Without
    ``fork``, or with one job: one after the other, here.

    Forking is safe where this is used: the actions run in Ansible's worker process, which has a
    single thread; the children only read, compute and write their own files, and leave with
    ``os._exit`` (no cleanup of the parent's state). They share the parent's pages and copy only
    those they change."""
    if len(jobs) < 2 or not hasattr(os, "fork"):
        return [job() for job in jobs]
    import pickle
    children = [(spawn(job, lambda value: pickle.dumps(("ok", value), protocol=pickle.HIGHEST_PROTOCOL),
                       lambda exc: pickle.dumps(("failed", None))), job) for job in jobs[1:]]
    done = []
    try:
        results = [jobs[0]()]
    finally:
        # the children are always waited for, even when this process' own job failed
        for (pid, read_fd), job in children:
            data, dummy = collect(pid, read_fd)
            try:
                status, value = pickle.loads(data)
            except Exception:  # pylint: disable=broad-exception-caught  # a child killed half-way
                status, value = "failed", None
            done.append((status, value, job))
    return results + [value if status == "ok" else job() for status, value, job in done]
