# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for plugin_utils/_vocabulary.py: one copy of each list, used by everything."""

from __future__ import annotations

import re

from ansible_collections.fleetsec.divest.plugins.plugin_utils import _catalog, _execute, _execute_report, _html
from ansible_collections.fleetsec.divest.plugins.plugin_utils import _outcome, _plan_report, _planner, _report
from ansible_collections.fleetsec.divest.plugins.plugin_utils import _vocabulary as v


def test_the_modules_use_the_one_copy():
    assert _catalog.ROLES is _planner.ROLES is v.ROLES and _catalog.ROLE_RANK is _planner.ROLE_RANK is v.ROLE_RANK
    assert _catalog.PLATFORMS is _planner.PLATFORMS is v.PLATFORMS and _catalog.METHODS is _planner.METHODS is v.METHODS
    assert _planner.BLOCKER_KINDS is v.BLOCKER_KINDS and _plan_report.BLOCKER_TEXT is v.BLOCKER
    assert _planner.PLANNED_STATUSES is v.PLANNED_STATUSES
    assert _outcome.STATUSES is v.OUTCOME_STATUSES and _outcome.FINAL is v.FINAL
    assert _execute.SETTLED is v.SETTLED and _execute.FAILURES is v.FAILURES
    assert _report.STATUSES is v.HOST_STATUSES and _report.STATUS_TEXT is v.HOST_STATUS and _report.CLEANED is v.VENDOR_FREE
    assert _execute_report.STATUSES is v.EXECUTE_STATUSES and _execute_report.STATUS_TEXT is v.EXECUTE_STATUS


def test_lists_agree():
    assert v.ROLE_RANK == {"protection": 0, "agent": 1, "tool": 2, "management": 3}
    assert set(v.SCAN_STATUSES) | set(v.ERROR_STATUSES) | set(v.ALERTS) | {"not_scanned"} == set(v.HOST_STATUSES)
    assert set(v.PLANNED_STATUSES) < set(v.SCAN_STATUSES)
    for subset in (v.FINAL, v.VENDOR_FREE, v.DONE, v.SETTLED, v.FAILURES):
        assert set(subset) < set(v.OUTCOME_STATUSES), subset
    # the execute report: every outcome but "running" (a host still running is unreachable), and its own two
    assert set(v.EXECUTE_STATUSES) == set(v.OUTCOME_STATUSES) - {"running"} | {"not_started", "not_targeted"}
    assert v.EXECUTE_STATUSES[0] == "unprotected" and set(v.UNTOUCHED) < set(v.EXECUTE_STATUSES)
    for words in (v.HOST_STATUS, v.EXECUTE_STATUS, v.BLOCKER):
        assert all(len(pair) == 2 and all(pair) for pair in words.values())


def test_every_status_has_its_colour():
    tones = set(re.findall(r"\.tone-([a-z_]+)[{,]", _html.CSS))
    assert set(v.HOST_STATUSES) <= tones
    assert {_execute_report.TONES[s] for s in v.EXECUTE_STATUSES} <= tones
    assert set(v.EXECUTE_STATUSES) <= tones
