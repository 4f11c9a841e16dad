# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action behind ``fleetsec.divest.win_remove`` (documentation: plugins/modules/win_remove.py).

Removes one product of the plan from a Windows host: ``msiexec /x`` for each of its product
codes, through ``ansible.windows.win_package``. The decisions (msiexec arguments, what an exit
code means, which log lines explain a failure, redaction) are ``plugin_utils._winremove``'s.

The password travels only in win_package's ``arguments``: that module call always runs with
``_ansible_no_log`` (else Ansible.Basic writes its arguments to the host's Application event
log), its ``invocation`` is dropped, every text of the result is redacted, and no MSI log is
kept on the host when a password is given (the verbose log records the command line).
"""

from __future__ import annotations

import time

from ansible.errors import AnsibleActionFail

from ansible_collections.fleetsec.divest.plugins.plugin_utils import _winremove as wr
from ansible_collections.fleetsec.divest.plugins.plugin_utils._action import ActionModuleBase
from ansible_collections.fleetsec.divest.plugins.plugin_utils._text import text

MODULE = "ansible.windows.win_package"
#: What is kept of win_package's answer (the rest, ``invocation`` first, is dropped).
KEPT = ("rc", "changed", "failed", "reboot_required", "msg")


def _ran(answer):
    """Whether win_package's answer carries msiexec's exit code: msiexec ran (changed), or it
    failed on an exit code it did not expect (then it returns stdout, stderr and the log); a
    module failure before msiexec ran has rc 0 and none of them."""
    rc = answer.get("rc")
    return isinstance(rc, int) and not isinstance(rc, bool) and bool(
        answer.get("changed") or "log" in answer or "stdout" in answer)


class ActionModule(ActionModuleBase):
    _requires_connection = True

    ARGUMENT_SPEC = {
        "vendor": {"type": "str", "required": True},
        "product": {"type": "str", "required": True},
        "removal": {"type": "dict", "required": True},
        "password": {"type": "str", "no_log": True},
        "login": {"type": "str"},
        "retries": {"type": "int", "default": 3},
        "retry_delay": {"type": "int", "default": 30},
        "log_dir": {"type": "str", "default": "C:\\Windows\\Temp"},
    }

    _no_log_module = False
    _secrets = frozenset()

    def _update_module_args(self, module_name, module_args, task_vars, *args, **kwargs):
        super(ActionModule, self)._update_module_args(module_name, module_args, task_vars, *args, **kwargs)
        if self._no_log_module:
            module_args["_ansible_no_log"] = True

    def _call(self, module_args, task_vars, secret):
        self._no_log_module = secret
        try:
            return self._execute_module(module_name=MODULE, module_args=module_args, task_vars=task_vars)
        finally:
            self._no_log_module = False

    def run_action(self, args, task_vars, result):
        self._secrets = frozenset(s for s in (args.get("password"),) if s)
        try:
            self._remove(args, task_vars, result)
        except AnsibleActionFail as exc:
            raise AnsibleActionFail(wr.redact(text(exc.message), self._secrets))
        finally:
            # Whatever happened, nothing returned carries the password (nor its encoded forms).
            cleaned = wr.redact(dict(result), self._secrets)
            result.clear()
            result.update(cleaned)

    def _remove(self, args, task_vars, result):
        vendor, product, removal = args["vendor"], args["product"], args["removal"]
        if args["retries"] < 0 or args["retry_delay"] < 0:
            raise AnsibleActionFail("retries and retry_delay must not be negative")
        if removal.get("method") != "msi":
            raise AnsibleActionFail("%s: the removal method is %r, not msi: win_remove uninstalls MSI products only"
                                    % (product, removal.get("method")))
        codes = removal.get("product_codes")
        if not isinstance(codes, list) or not codes or not all(isinstance(c, str) and c for c in codes):
            raise AnsibleActionFail("%s: the removal has no product_codes (the plan's remove action carries them)"
                                    % product)
        try:
            msi = wr.msi_properties(removal, password=args.get("password"), login=args.get("login"))
        except wr.RemovalError as exc:
            raise AnsibleActionFail("%s: %s" % (product, exc))
        secrets = self._secrets = msi.secrets | self._secrets
        secret = bool(msi.secrets)
        result.update({"changed": False, "vendor": vendor, "product": product, "codes": [], "removed": False,
                       "reboot_required": False, "counts": {"msi": 0}, "arguments": list(msi.shown)})
        if msi.notes:
            result["warnings"] = list(msi.notes)
        if self.check_mode:
            self._predict(codes, removal, task_vars, result, secrets)
            return

        failure = None
        for code in codes:
            log_path = None if secret else wr.msi_path(args["log_dir"], product, code)
            module_args = wr.package_args(code, msi.args, log_path, removal=removal)
            entry, answer = self._uninstall(code, module_args, removal, args, task_vars, secret, secrets)
            result["codes"].append(entry)
            if entry["result"] in ("removed", "reboot_required"):
                result["changed"] = True
                result["counts"]["msi"] += 1
            if entry["result"] == "reboot_required":
                result["reboot_required"] = True
            if answer.get("unreachable"):
                result["unreachable"] = True
            if entry["result"] == "failed":
                failure = (code, entry, answer)
                break
        if removal.get("reboot") is True and result["changed"]:
            result["reboot_required"] = True
        if failure is not None:
            code, entry, answer = failure
            left = len(codes) - len(result["codes"])
            result["failed"] = True
            result["msg"] = self._failure(product, code, entry, answer, secrets) + (
                " (%d more product code(s) not attempted)" % left if left else "")
            return
        result["removed"] = True
        done = [e for e in result["codes"] if e["result"] != "absent"]
        result["msg"] = ("%s: removed (%s)%s" % (product, ", ".join("%s exit code %s" % (e["product_code"], e["rc"])
                                                                    for e in done),
                                                 "; a restart completes the removal" if result["reboot_required"] else "")
                         if done else "%s: not installed (nothing to remove)" % product)

    def _uninstall(self, code, module_args, removal, args, task_vars, secret, secrets):
        """Run msiexec /x for one code, 1618 retried; -> (codes entry, last answer redacted)."""
        attempts = 0
        while True:
            attempts += 1
            answer = wr.redact(self._call(dict(module_args), task_vars, secret), secrets)
            answer.pop("invocation", None)
            rc = answer.get("rc")
            if answer.get("unreachable"):
                outcome, meaning = "failed", None
            elif not answer.get("failed") and not answer.get("changed"):
                # win_package found no such product (it sets rc 0 even when nothing ran).
                outcome, meaning, rc = "absent", "the product is not installed", None
            elif _ran(answer):
                outcome, meaning = wr.classify(rc, removal)
            else:
                outcome, meaning = "failed", None
            if outcome == "retry" and attempts <= args["retries"]:
                time.sleep(args["retry_delay"])
                continue
            if outcome == "retry":
                outcome = "failed"
            entry = {"product_code": code, "rc": rc, "result": outcome, "meaning": meaning, "attempts": attempts}
            if outcome == "failed":
                entry["log_errors"] = wr.msi_log_errors(answer.get("log") or "", secrets)
            return entry, answer

    def _failure(self, product, code, entry, answer, secrets):
        if _ran(answer):
            msg = "%s: msiexec /x %s ended with exit code %s%s" % (
                product, code, entry["rc"], " (%s)" % entry["meaning"] if entry["meaning"] else "")
            if entry["attempts"] > 1:
                msg += " after %d attempts" % entry["attempts"]
            lines = entry.get("log_errors") or []
            if not lines:
                extra = [wr.clipped(answer.get(k)) for k in ("stderr", "stdout") if answer.get(k)]
                lines = [line for line in extra if line.strip()]
            return msg + (": %s" % " | ".join(lines) if lines else "")
        message = wr.redact(text(answer.get("msg") or "no message"), secrets)
        return "%s: %s %s failed: %s" % (product, MODULE, code, wr.clipped(message))

    def _predict(self, codes, removal, task_vars, result, secrets):
        """Check mode: win_package in check mode tells whether each code is installed. The
        password is not sent (nothing runs)."""
        for code in codes:
            answer = wr.redact(self._call(wr.package_args(code, None, None, removal=removal), task_vars, False),
                               secrets)
            answer.pop("invocation", None)
            if answer.get("failed") or answer.get("unreachable"):
                result["codes"].append({"product_code": code, "rc": None, "result": "failed", "meaning": None,
                                        "attempts": 0})
                result["failed"] = True
                if answer.get("unreachable"):
                    result["unreachable"] = True
                result["msg"] = "%s: %s %s failed in check mode: %s" % (
                    result["product"], MODULE, code, wr.clipped(answer.get("msg") or "no message"))
                return
            would = bool(answer.get("changed"))
            result["codes"].append({"product_code": code, "rc": None, "result": "would_remove" if would else "absent",
                                    "meaning": "msiexec /x would run" if would else "the product is not installed",
                                    "attempts": 0})
            if would:
                result["changed"] = True
                result["counts"]["msi"] += 1
        result["removed"] = True
        result["reboot_required"] = bool(result["changed"] and removal.get("reboot") is True)
        result["msg"] = ("%s: would remove %d product code(s)" % (result["product"], result["counts"]["msi"])
                         if result["changed"] else "%s: not installed (nothing to remove)" % result["product"])
