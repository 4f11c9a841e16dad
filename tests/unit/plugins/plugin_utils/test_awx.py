# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A slice of a sliced AWX job template, as AWX's job variables show it (plugin_utils/_awx.py)."""

from __future__ import annotations

import pytest

from ansible_collections.fleetsec.divest.plugins.plugin_utils import _awx

SLICE = {"awx_job_launch_type": "workflow", "awx_workflow_job_name": "Divest plan",
         "awx_job_template_name": "Divest plan", "awx_workflow_job_id": 77}


@pytest.mark.parametrize("task_vars, sliced", [
    ({}, False),                                                              # the CLI
    ({"awx_job_launch_type": "manual", "awx_job_template_name": "Divest plan"}, False),  # a plain AWX job
    (SLICE, True),
    ({k.replace("awx_", "tower_"): v for k, v in SLICE.items()}, True),      # the older names
    (dict(SLICE, awx_workflow_job_name="Divest BOD 17-01"), False),          # a node of the operator's workflow
    (dict(SLICE, awx_job_launch_type="scheduled"), False),
    (dict(SLICE, awx_workflow_job_name=""), False),
])
def test_a_slice_is_recognised_by_the_workflow_named_after_the_template(task_vars, sliced):
    found = _awx.job_slice(task_vars)
    assert (found is not None) is sliced
    if sliced:
        assert found == {"template": "Divest plan", "workflow_job_id": 77}


@pytest.mark.parametrize("phase, undone", [("plan", "Nothing was planned."), ("execute", "Nothing was done."),
                                           ("report", "Nothing was written.")])
def test_the_message_names_the_template_and_the_fix(phase, undone):
    text = _awx.slice_message(phase, _awx.job_slice(SLICE))
    assert text.startswith("This %s job is one slice of the sliced AWX job template 'Divest plan' (workflow job 77)"
                           % phase)
    assert "Set Job Slicing to 1" in text and text.endswith(undone)
