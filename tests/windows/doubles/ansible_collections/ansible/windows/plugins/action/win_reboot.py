# -*- coding: utf-8 -*-
# TEST DOUBLE of the ansible.windows.win_reboot action (fleetsec.divest tests/windows): never
# shipped. Like the real plugin it is an action; it calls the module double win_reboot (which
# changes the host's JSON state under the task's environment) instead of restarting anything.
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_native
from ansible.module_utils.common.validation import check_type_float, check_type_str
from ansible.plugins.action import ActionBase


def _positive_float(val):
    value = check_type_float(val)
    return 0 if value < 0 else value


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset((
        'boot_time_command', 'connect_timeout', 'connect_timeout_sec', 'msg', 'post_reboot_delay',
        'post_reboot_delay_sec', 'pre_reboot_delay', 'pre_reboot_delay_sec', 'reboot_timeout',
        'reboot_timeout_sec', 'shutdown_timeout', 'shutdown_timeout_sec', 'test_command',
    ))

    def run(self, tmp=None, task_vars=None):
        self._supports_check_mode = True
        self._supports_async = True
        if self._task.check_mode:
            return {'changed': True, 'elapsed': 0, 'rebooted': True}
        task_vars = task_vars or {}
        super(ActionModule, self).run(tmp, task_vars)

        parameters = {}
        for names, check in [
            (['boot_time_command'], check_type_str),
            (['connect_timeout', 'connect_timeout_sec'], _positive_float),
            (['msg'], check_type_str),
            (['post_reboot_delay', 'post_reboot_delay_sec'], _positive_float),
            (['pre_reboot_delay', 'pre_reboot_delay_sec'], _positive_float),
            (['reboot_timeout', 'reboot_timeout_sec'], _positive_float),
            (['test_command'], check_type_str),
        ]:
            value = next((self._task.args.get(name) for name in names if self._task.args.get(name)), None)
            if value is not None:
                try:
                    value = check(value)
                except TypeError as e:
                    raise AnsibleError("Invalid value given for '%s': %s." % (names[0], to_native(e)))
                if names[0] == 'pre_reboot_delay' and value < 2:
                    continue
                parameters[names[0]] = value

        start = time.time()
        outcome = self._execute_module(module_name='ansible.windows.win_reboot', module_args=parameters,
                                       task_vars=task_vars)
        if outcome.get('failed'):
            return {'changed': False, 'elapsed': 0, 'rebooted': False, 'failed': True,
                    'msg': "double: %s" % outcome.get('msg')}
        result = {'changed': True, 'elapsed': int(time.time() - start), 'failed': False, 'unreachable': False,
                  'rebooted': True}
        if outcome.get('double_lost'):
            timeout = parameters.get('reboot_timeout', 600)
            result['failed'] = True
            result['msg'] = "Timed out waiting for last boot time check (timeout=%s)" % (timeout,)
        return result
