# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file only documents the module: the work is done on the controller by the action plugin
# plugins/action/whole_fleet.py.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: whole_fleet
short_description: Refuse one slice of a sliced AWX job where a phase must see the whole fleet
version_added: 0.1.0
author:
  - fleetsec.divest developers (@fleetsec)
description:
  - AWX (Automation Controller) runs a job template with Job Slicing above 1 as a workflow of
    jobs, each with an inventory holding one slice of the hosts. Identify works per host and may
    be sliced; a plan, an execute run and the report-only playbook must see the whole fleet.
  - FAILS with one message, before anything is done, when this run is one slice of a sliced job
    template; otherwise returns RV(sliced=false) and changes nothing.
  - AWX passes no variable naming the slice (C(job_slice_number) only chooses the inventory's
    hosts). A slice is recognised by AWX's job variables - a job launched by a workflow
    (C(awx_job_launch_type=workflow)) whose workflow job has the job template's name
    (C(awx_workflow_job_name) equal to C(awx_job_template_name)), which is how AWX creates the
    workflow of a sliced template; the C(tower_*) names are read too. A workflow template of
    your own with exactly the job template's name is refused the same way - rename one of them.
  - Outside AWX (no such variables) it never fails.
  - Runs on the controller only and never contacts a managed host. The plan, execute and report
    playbooks run it first, on C(localhost).
options:
  phase:
    description: The phase that must see the whole fleet; it words the message.
    type: str
    required: true
    choices: [plan, execute, report]
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
attributes:
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
    details: Use it in a play on C(localhost).
  check_mode:
    support: full
    details: Changes nothing in either mode; a slice is refused in check mode too.
  diff_mode:
    support: none
  platform:
    support: full
    platforms: all
seealso:
  - name: AWX job slicing
    description: How AWX slices a job template into a workflow of jobs.
    link: https://docs.ansible.com/automation-controller/latest/html/userguide/job_slices.html
"""

EXAMPLES = r"""
- name: Refuse a sliced plan job
  fleetsec.divest.whole_fleet:
    phase: plan
"""

RETURN = r"""
sliced:
  description: Always V(false) when the task succeeds (a slice fails it).
  returned: success
  type: bool
  sample: false
msg:
  description: What was checked.
  returned: success
  type: str
"""
