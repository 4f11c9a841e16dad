# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""run_forked: jobs on several CPUs, results in order, a child's failure raised here."""

from __future__ import annotations

import os

import pytest

from ansible_collections.fleetsec.divest.plugins.plugin_utils._fork import collect, run_forked, spawn


def test_results_come_back_in_the_jobs_order_from_other_processes():
    parent = os.getpid()
    results = run_forked([lambda n=n: (n, os.getpid() != parent) for n in range(4)])
    assert [r[0] for r in results] == [0, 1, 2, 3]
    assert [r[1] for r in results] == [False, True, True, True]     # the first here, the others forked


def test_a_job_that_fails_in_its_child_is_run_again_here_and_raises_here():
    parent = os.getpid()

    def flaky():
        if os.getpid() != parent:
            raise MemoryError("child ran out")
        return "done here"
    assert run_forked([lambda: 1, flaky]) == [1, "done here"]

    def broken():
        raise ValueError("bad host entry")
    with pytest.raises(ValueError, match="bad host entry"):
        run_forked([lambda: 1, broken])


def test_a_child_killed_half_way_has_its_job_run_again():
    parent = os.getpid()

    def dies():
        if os.getpid() != parent:
            os._exit(9)                          # as a child killed by the OOM killer
        return "again"
    assert run_forked([lambda: 0, dies]) == [0, "again"]


def test_the_children_are_waited_for_when_the_first_job_fails():
    marker = []

    def first():
        raise RuntimeError("first")
    with pytest.raises(RuntimeError):
        run_forked([first, lambda: marker.append(1)])
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)               # no child left behind


def test_spawn_reports_a_failure_with_its_words_and_status():
    pid, read_fd = spawn(lambda: 1 / 0, lambda value: b"", lambda exc: type(exc).__name__.encode())
    assert collect(pid, read_fd) == (b"ZeroDivisionError", 256)
