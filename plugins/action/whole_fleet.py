# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for fleetsec.divest.whole_fleet: refuse one slice of a sliced AWX job for the
phases that must see the whole fleet (plan, execute, the report-only playbook)."""

from __future__ import annotations

from ansible.errors import AnsibleActionFail

from ansible_collections.fleetsec.divest.plugins.plugin_utils import _awx
from ansible_collections.fleetsec.divest.plugins.plugin_utils._action import ActionModuleBase


class ActionModule(ActionModuleBase):

    ARGUMENT_SPEC = dict(phase=dict(type="str", required=True, choices=list(_awx.WHY)))

    def run_action(self, args, task_vars, result):
        found = _awx.job_slice(task_vars)
        if found is not None:
            raise AnsibleActionFail(_awx.slice_message(args["phase"], found))
        result.update(changed=False, sliced=False,
                      msg="%s sees the whole inventory (not a slice of a sliced AWX job)" % args["phase"])
