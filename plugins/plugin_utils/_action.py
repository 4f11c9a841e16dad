# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The base of the collection's action plugins (the idea of community.crypto's ``ActionModuleBase``).

An action declares its arguments as an argument spec (``ARGUMENT_SPEC``, with the rules
between them: ``MUTUALLY_EXCLUSIVE`` ...) and implements :meth:`ActionModuleBase.run_action`.
The base

* validates the task's arguments against the spec with ansible-core's
  ``ArgumentSpecValidator`` before anything else, in check mode too, and fails the task with
  one ``AnsibleActionFail`` that names every wrong option by its path
  (``policy.waves.size must be an integer, got 'ten'``, see ``_argspec``);
* types the options listed in ``SURVEY_TEXT`` from text (an AWX survey's answer, ``-e``) by
  their own spec first, so a role hands such a variable over as it is;
* checks the options listed in ``HOST_LISTS`` (lists of inventory host names, possibly
  10,000s long) itself: the generic validator deep-copies and converts every item;
* warns, with the action's ``RUN_ONCE`` text, when an action that works for the whole fleet
  in one task runs for every host of the play;
* runs on the controller only unless the action says ``_requires_connection = True``, and
  supports check mode (:attr:`check_mode`; each action decides what it means).
"""

from __future__ import annotations

import abc

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.fleetsec.divest.plugins.plugin_utils import _argspec
from ansible_collections.fleetsec.divest.plugins.plugin_utils._text import gc_paused

__all__ = ["ActionModuleBase", "host_names"]

display = Display()


def host_names(value, name="hosts"):
    """A list of inventory host names (``None`` when not given) from a list of texts or one
    comma-separated text; anything else raises ``AnsibleActionFail``."""
    if value is None:
        return None
    if isinstance(value, str):
        return [h.strip() for h in value.split(",") if h.strip()]
    if not isinstance(value, (list, tuple)) or not all(isinstance(h, str) for h in value):
        raise AnsibleActionFail("%s must be a list of inventory host names" % name)
    return [str(h) for h in value]


class ActionModuleBase(ActionBase):
    """Validated arguments, the run-once warning, then :meth:`run_action`."""

    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True

    #: The arguments, as ``ArgumentSpecValidator`` takes them (the module's documentation
    #: describes the same options).
    ARGUMENT_SPEC = {}
    MUTUALLY_EXCLUSIVE = None
    REQUIRED_TOGETHER = None
    REQUIRED_ONE_OF = None
    REQUIRED_IF = None
    REQUIRED_BY = None
    #: Options that are lists of inventory host names, checked by :func:`host_names` (not in
    #: ``ARGUMENT_SPEC``).
    HOST_LISTS = ()
    #: The warning when the action, which does the work of the whole fleet in one task, runs
    #: for every host (``None``: a per-host action).
    RUN_ONCE = None
    #: Options that also take what an AWX survey or ``-e`` gives as text (JSON text, one item
    #: per line or comma-separated ...), typed by their own spec (``_survey.coerce``) before the
    #: validation: a role passes such a variable as it is, with no filter templated per host.
    SURVEY_TEXT = ()
    #: Whether the cyclic garbage collector is paused while the action runs: an action that reads
    #: a whole fleet's facts allocates millions of objects that all stay alive until its files are
    #: written, which the collector would scan over and over (a third of the plan's run time at
    #: 10,000 hosts) and could free none of.
    PAUSE_GC = False

    def run(self, tmp=None, task_vars=None):
        if self.PAUSE_GC:
            return gc_paused(self._run)(tmp, task_vars)
        return self._run(tmp, task_vars)

    def _run(self, tmp, task_vars):
        task_vars = {} if task_vars is None else task_vars
        result = super(ActionModuleBase, self).run(tmp, task_vars)
        del tmp
        args = self.arguments()
        if self.RUN_ONCE and not getattr(self._task, "run_once", True):
            display.warning(self.RUN_ONCE)
        self.run_action(args, task_vars, result)
        return result

    @property
    def check_mode(self):
        return bool(self._task.check_mode)

    def arguments(self):
        """The task's arguments, validated (types converted, defaults set)."""
        params = dict(self._task.args)
        lists = {name: params.pop(name, None) for name in self.HOST_LISTS}
        for name in self.SURVEY_TEXT:
            if isinstance(params.get(name), str):
                # imported when a survey's text is typed (every worker of a fleet task imports this base)
                from ansible_collections.fleetsec.divest.plugins.plugin_utils import _survey  # pylint: disable=import-outside-toplevel
                try:
                    params[name] = _survey.coerce(params[name], self.ARGUMENT_SPEC[name], name)
                except _survey.SurveyError as exc:
                    raise AnsibleActionFail("invalid arguments: %s" % exc)
        try:
            args = _argspec.validate(self.ARGUMENT_SPEC, params, mutually_exclusive=self.MUTUALLY_EXCLUSIVE,
                                     required_together=self.REQUIRED_TOGETHER, required_one_of=self.REQUIRED_ONE_OF,
                                     required_if=self.REQUIRED_IF, required_by=self.REQUIRED_BY)
        except _argspec.ArgumentError as exc:
            raise AnsibleActionFail("invalid arguments: %s" % exc)
        for name, value in lists.items():
            args[name] = host_names(value, name)
        return args

    @abc.abstractmethod
    def run_action(self, args, task_vars, result):
        """Do the work: ``args`` validated, ``result`` the task result to fill in (raise
        ``AnsibleActionFail`` to fail the task)."""
