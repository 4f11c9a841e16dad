# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Glue between ``AnsibleModule`` and the Linux helpers, the same for the collector and the
removal modules: a ``Host`` whose commands run through ``run_command`` (argv only, C locale,
non-interactive) and whose files are replaced with ``atomic_move`` (keeps SELinux contexts), and
the ``exit_json`` / ``fail_json`` of a result.

Private to the collection: runs on managed nodes, standard library only, Python 3.6+.
"""

from __future__ import absolute_import, division, print_function

import os
import tempfile

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.fleetsec.divest.plugins.module_utils._linux.host import C_ENV, Host, OptionError, RemovalError

__metaclass__ = type

__all__ = ["module_host", "finish", "failure", "run_module"]


def run_module(argument_spec, work):
    """The whole ``main()`` of a Linux module: parse the options (check mode supported), build
    the ``Host`` for option ``root`` (added here when the spec has none; the removal modules
    document it with the ``fleetsec.divest.linux_root`` fragment), call
    ``work(host, params) -> result`` and exit with it. An ``OptionError`` (a bad ``root``, a bad
    query) fails the task naming the option; a ``RemovalError`` fails it with what was done until
    then."""
    spec = dict(argument_spec)
    spec.setdefault("root", dict(type="path", default="/"))
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    try:
        host = module_host(module, module.params["root"])
        result = work(host, module.params)
    except OptionError as exc:
        module.fail_json(msg=str(exc), option=exc.option)
    except RemovalError as exc:
        failure(module, exc)
    finish(module, result)


def module_host(module, root="/"):
    """The ``Host`` of ``root`` for this module run."""
    def run(argv, data=None):
        return module.run_command(argv, environ_update=C_ENV, data=data, binary_data=data is not None,
                                  expand_user_and_vars=False, handle_exceptions=False)

    def which(name):
        return module.get_bin_path(name)  # PATH, then /sbin, /usr/sbin, /usr/local/sbin

    def write(path, data, mode=None):
        exists = os.path.exists(path)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".%s." % os.path.basename(path),
                                   suffix=".divest")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            if not exists:
                os.chmod(tmp, 0o644 if mode is None else mode)
            module.atomic_move(tmp, path, unsafe_writes=False)
            tmp = None
        finally:
            if tmp is not None and os.path.exists(tmp):
                os.unlink(tmp)

    def backup(path):
        return module.backup_local(path)

    return Host(root=root, run=run, which=which, check_mode=module.check_mode, write=write, backup=backup)


def _diff(result, module):
    diffs = result.pop("diffs", [])
    if module._diff and diffs:
        result["diff"] = diffs
    warnings = result.pop("warnings_list", [])
    for text in warnings:
        module.warn(text)


def finish(module, result):
    _diff(result, module)
    module.exit_json(**result)


def failure(module, exc):
    details = dict(exc.details)
    _diff(details, module)
    details.pop("changed", None)
    changed = any(s.get("changed") for s in details.get("steps", [])) and not module.check_mode
    module.fail_json(msg=exc.msg, changed=changed, **details)
