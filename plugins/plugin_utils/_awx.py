# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a run can tell about the AWX (Automation Controller) job it is part of.

Job slicing. AWX passes no variable that says a job is a slice: ``job_slice_number`` and
``job_slice_count`` only choose which hosts the job's inventory holds (AWX's
``awx/main/tasks/jobs.py``, ``build_inventory`` -> ``Inventory.get_script_data``), and the
``job_slice`` number a slice's workflow node carries is not handed to a root node's job as an
extra variable (``awx/main/models/workflow.py``, ``get_job_kwargs``). What a slice does get is
AWX's job variables (``awx_*`` and the older ``tower_*``, ``awx_meta_vars``): AWX runs a sliced
job template as a workflow job that it creates from the template, so with the template's name
(``awx/main/models/jobs.py``, ``JobTemplate.create_unified_job``), and each slice is a job of
that workflow launched by it. So a job whose ``awx_workflow_job_name`` is its
``awx_job_template_name`` and whose launch type is ``workflow`` is taken as a slice. A workflow
template of one's own with exactly the job template's name looks the same: the message says so.
"""

from __future__ import annotations

__all__ = ["PREFIXES", "in_job", "job_slice", "slice_message"]

#: AWX sets every job variable under both prefixes.
PREFIXES = ("awx", "tower")

#: Why each phase must see the whole fleet, and what was left undone.
WHY = {
    "plan": ("a plan must see the whole fleet (every affected host in exactly one wave, one digest "
             "for all of them)", "Nothing was planned."),
    "execute": ("execute runs the approved plan's waves in order across the whole fleet (canary first, "
                "failure limits per wave) and reports on every host of the plan", "Nothing was done."),
    "report": ("the fleet report must count every host; a slice would replace it with the slice's hosts only",
               "Nothing was written."),
}


def in_job(task_vars):
    """Whether this run is an AWX job (AWX passes its job variables as extra variables)."""
    return any(task_vars.get(prefix + "_job_id") not in (None, "") for prefix in PREFIXES)


def job_slice(task_vars):
    """``{"template": name, "workflow_job_id": id}`` when the run looks like one slice of a sliced
    AWX job template (see the module's documentation), else ``None``."""
    for prefix in PREFIXES:
        workflow = task_vars.get(prefix + "_workflow_job_name")
        template = task_vars.get(prefix + "_job_template_name")
        launch = task_vars.get(prefix + "_job_launch_type")
        if isinstance(workflow, str) and workflow and workflow == template and launch == "workflow":
            return {"template": template, "workflow_job_id": task_vars.get(prefix + "_workflow_job_id")}
    return None


def slice_message(phase, found):
    """The one message refusing ``phase`` (plan, execute, report) in the slice ``found``."""
    why, undone = WHY[phase]
    return ("This %s job is one slice of the sliced AWX job template %r (workflow job %s): it sees only the "
            "hosts of its slice, and %s. Set Job Slicing to 1 on this job template (only identify may be "
            "sliced). AWX runs a sliced template as a workflow "
            "named after the template; if this is a workflow template of your own with the same name, rename "
            "one of them. %s" % (phase, found["template"], found.get("workflow_job_id") or "?", why, undone))
