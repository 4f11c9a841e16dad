# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The win_remove and win_cleanup actions driven with a fake ``_execute_module`` that answers
the way ansible.windows' modules do (win_package.ps1 3.x: ``rc`` is set to 0 before anything
runs, an exit code outside ``expected_return_code`` fails the module with ``stdout``,
``stderr``, the MSI ``log`` and a message quoting the whole command line; ``invocation`` echoes
the arguments)."""

from __future__ import annotations

import json

import pytest

from ansible.errors import AnsibleActionFail

from ansible_collections.fleetsec.divest.plugins.action import win_cleanup as action_cleanup
from ansible_collections.fleetsec.divest.plugins.action import win_remove as action_remove
from ansible_collections.fleetsec.divest.plugins.plugin_utils import _winremove as wr

KES_CODE = "{9A017278-F7F4-4DF9-A482-0B97B70DD7ED}"
AGENT_CODE = "{1A7B331A-ABBE-4230-995E-BCD99C5A18CF}"
KES = {"method": "msi", "order": 10, "properties": {"REBOOT": "ReallySuppress"}, "password": "optional",
       "password_properties": {"login": "KLLOGIN", "password": "KLPASSWD"}, "success_codes": [0, 1641, 3010],
       "absent_codes": [1605], "reboot": True, "product_codes": [KES_CODE]}
AGENT = {"method": "msi", "order": 50, "properties": {"REBOOT": "ReallySuppress"}, "password": "optional",
         "password_properties": {"password": "KLUNINSTPASSWD", "encoding": "utf16le-hex"},
         "success_codes": [0, 1641, 3010], "absent_codes": [1605], "reboot": False, "product_codes": [AGENT_CODE]}
PASSWORD = "Pa55 word!"
HEX = PASSWORD.encode("utf-16-le").hex()
LOG_1603 = "\r\n".join([
    "=== Verbose logging started: 27/11/2026  10:12:01  Build type: SHIP UNICODE 5.00.10011.00 ===",
    'MSI (s) (C8:34) [10:12:01:100]: Command Line: REBOOT=ReallySuppress KLLOGIN=KLAdmin KLPASSWD="Pa55 word!"',
    "KLCA: CheckUninstallPassword failed: the password is not valid",
    "CustomAction KLCheckUninstallPassword returned actual error code 1603 (note this may not be 100% accurate "
    "if translation happened inside sandbox)",
    "Action ended 10:12:02: KLCheckUninstallPassword. Return value 3.",
    "Property(S): KLPASSWD = Pa55 word!",
    "MSI (s) (C8:34) [10:12:03:000]: Product: Kaspersky Endpoint Security for Windows -- Removal failed.",
])


def package_answer(rc, module_args, log=None):
    """What win_package returns for one msiexec run that ended with ``rc``."""
    command = "C:\\Windows\\System32\\msiexec.exe /x %s /L*V %s /qn /norestart %s" % (
        module_args["product_id"], module_args.get("log_path", "C:\\Users\\ansible\\AppData\\Local\\Temp\\msiexec.log"),
        module_args.get("arguments", ""))
    answer = {"rc": rc, "reboot_required": rc == 3010, "invocation": {"module_args": dict(module_args)}}
    if rc in module_args["expected_return_code"]:
        answer.update(changed=True, failed=False)
    else:
        answer.update(changed=False, failed=True, stdout="", stderr="", log=log or "",
                      msg="unexpected rc from '%s': see rc, stdout, and stderr for more details" % command)
    return answer


class FakeHost(object):
    """Answers win_package / win_file / win_regedit / win_service calls from a script: per key
    (product code, path, key or service name) a list of answers, the last one repeated; an
    answer is an exit code (int), ``"absent"`` (not installed), ``"error"`` (a module failure
    echoing its arguments), ``"unreachable"``, or a dict returned as it is."""

    def __init__(self, script=None):
        self.script = script or {}
        self.calls = []
        self.sent = []

    def __call__(self, action):
        def execute_module(module_name=None, module_args=None, task_vars=None, **kwargs):
            wire = dict(module_args)
            action._update_module_args(module_name, wire, task_vars or {})
            self.sent.append((module_name, wire))
            self.calls.append((module_name, dict(module_args), action._task.check_mode))
            key = module_args.get("product_id") or module_args.get("path") or module_args.get("name")
            steps = self.script.get(key, [0])
            step = steps.pop(0) if len(steps) > 1 else steps[0]
            if isinstance(step, dict):
                return json.loads(json.dumps(step))
            if step == "unreachable":
                return {"unreachable": True, "msg": "Failed to connect to the host via winrm"}
            if step == "error":
                return {"failed": True, "rc": 0, "changed": False,
                        "msg": "Exception calling \"Start\": cannot run %r" % module_args,
                        "exception": "at <ScriptBlock>: %s" % module_args,
                        "invocation": {"module_args": dict(module_args)}}
            if module_name != "ansible.windows.win_package":
                return {"changed": step != "absent" and not action._task.check_mode or step == 0,
                        "invocation": {"module_args": dict(module_args)}}
            if step == "absent":
                return {"changed": False, "rc": 0, "reboot_required": False,
                        "invocation": {"module_args": dict(module_args)}}
            if action._task.check_mode:
                return {"changed": True, "rc": 0, "reboot_required": False}
            return package_answer(step, module_args, log=LOG_1603 if step == 1603 else None)
        return execute_module


@pytest.fixture
def sleeps(monkeypatch):
    slept = []
    monkeypatch.setattr(action_remove.time, "sleep", slept.append)
    return slept


def run(make_action, module, args, host, check_mode=False):
    action = make_action(module, args, check_mode=check_mode, shell_family="powershell")
    action._task.no_log = False
    action._execute_module = host(action)
    return action.run(task_vars={})


def remove(make_action, host, removal=None, check_mode=False, **args):
    removal = KES if removal is None else removal
    return run(make_action, action_remove, dict({"vendor": "kaspersky", "product": "kes", "removal": removal}, **args),
               host, check_mode=check_mode)


def assert_no_secret(result, host=None):
    shown = json.dumps(result)
    for secret in (PASSWORD, HEX, PASSWORD.replace(" ", ""), 'Pa55 word!"'):
        assert secret not in shown and secret.upper() not in shown
    if host is not None:  # every call that carried the password ran with no_log on the host
        for module, wire in host.sent:
            if PASSWORD in str(wire.get("arguments")) or HEX in str(wire.get("arguments")):
                assert wire["_ansible_no_log"] is True, module


# ------------------------------------------------------------------------------- win_remove

@pytest.mark.parametrize("rc, result, changed, reboot, meaning", [
    (0, "removed", True, True, "the action completed successfully"),
    (3010, "reboot_required", True, True, "a restart is required to complete the removal"),
    (1641, "reboot_required", True, True, "the installer has started a restart"),
    (1605, "absent", False, False, "this action is only valid for products that are currently installed"),
    ("absent", "absent", False, False, "the product is not installed"),
])
def test_remove_outcomes(make_action, sleeps, rc, result, changed, reboot, meaning):
    host = FakeHost({KES_CODE: [rc]})
    out = remove(make_action, host)
    assert out.get("failed") is None and out["changed"] is changed and out["removed"] is True
    assert out["reboot_required"] is reboot  # KES's recipe: reboot: true once something was removed
    assert out["codes"] == [{"product_code": KES_CODE, "rc": None if rc == "absent" else rc, "result": result,
                             "meaning": meaning, "attempts": 1}]
    assert out["counts"] == {"msi": 1 if changed else 0} and out["vendor"] == "kaspersky" and out["product"] == "kes"
    assert out["arguments"] == ["REBOOT=ReallySuppress"] and sleeps == []
    ((module, sent, check),) = host.calls
    assert module == "ansible.windows.win_package" and check is False
    assert sent == {"product_id": KES_CODE, "state": "absent", "provider": "msi", "arguments": "REBOOT=ReallySuppress",
                    "expected_return_code": [0, 1605, 1618, 1641, 3010],
                    "log_path": "C:\\Windows\\Temp\\divest-msi-kes-9A017278-F7F4-4DF9-A482-0B97B70DD7ED.log"}
    assert "invocation" not in out


def test_remove_the_agent_reboot_only_when_msiexec_says_so(make_action, sleeps):
    out = run(make_action, action_remove, {"vendor": "kaspersky", "product": "klnagent-win", "removal": AGENT},
              FakeHost({AGENT_CODE: [0]}))
    assert out["removed"] is True and out["reboot_required"] is False and out["msg"].startswith("klnagent-win: removed")


def test_wrong_password_1603_fails_with_the_log_lines_and_no_secret(make_action, sleeps):
    host = FakeHost({KES_CODE: [1603]})
    out = remove(make_action, host, password=PASSWORD)
    assert out["failed"] is True and out["removed"] is False and out["changed"] is False
    assert out["msg"] == (
        "kes: msiexec /x %s ended with exit code 1603 (fatal error during installation): "
        "KLCA: CheckUninstallPassword failed: the password is not valid | CustomAction KLCheckUninstallPassword "
        "returned actual error code 1603 (note this may not be 100%% accurate if translation happened inside "
        "sandbox) | Action ended 10:12:02: KLCheckUninstallPassword. Return value 3. | Product: Kaspersky Endpoint "
        "Security for Windows -- Removal failed." % KES_CODE)
    assert out["codes"][0]["result"] == "failed" and out["codes"][0]["rc"] == 1603
    assert out["arguments"] == ["REBOOT=ReallySuppress", "KLLOGIN=KLAdmin", "KLPASSWD=********"]
    ((dummy, sent, dummy2),) = host.calls
    assert sent["arguments"] == 'REBOOT=ReallySuppress KLLOGIN=KLAdmin KLPASSWD="Pa55 word!"'
    assert "log_path" not in sent  # the verbose log would keep the password on the host
    assert_no_secret(out, host)


def test_the_agent_password_goes_hex_encoded_and_comes_back_masked(make_action, sleeps):
    host = FakeHost({AGENT_CODE: [1603]})
    out = run(make_action, action_remove, {"vendor": "kaspersky", "product": "klnagent-win", "removal": AGENT,
                                           "password": PASSWORD}, host)
    ((dummy, sent, dummy2),) = host.calls
    assert sent["arguments"] == "REBOOT=ReallySuppress KLUNINSTPASSWD=" + HEX
    assert out["failed"] is True and out["arguments"] == ["REBOOT=ReallySuppress", "KLUNINSTPASSWD=********"]
    assert_no_secret(out, host)


def test_a_right_password_removes(make_action, sleeps):
    host = FakeHost({KES_CODE: [0]})
    out = remove(make_action, host, password=PASSWORD, login="secadmin")
    assert out["removed"] is True and out["changed"] is True
    assert host.calls[0][1]["arguments"] == 'REBOOT=ReallySuppress KLLOGIN=secadmin KLPASSWD="Pa55 word!"'
    assert_no_secret(out, host)


def test_no_password_for_a_recipe_that_requires_one(make_action):
    host = FakeHost()
    with pytest.raises(AnsibleActionFail, match="kes: the recipe needs an uninstall password"):
        remove(make_action, host, removal=dict(KES, password="required"))
    assert host.calls == []


def test_a_password_with_a_control_character_is_refused_before_anything_runs(make_action):
    host = FakeHost()
    with pytest.raises(AnsibleActionFail) as info:
        remove(make_action, host, password="Pa55\x00word")
    assert "control character" in str(info.value) and "Pa55" not in str(info.value) and host.calls == []


def test_1618_is_retried_then_removed(make_action, sleeps):
    host = FakeHost({KES_CODE: [1618, 1618, 0]})
    out = remove(make_action, host, retry_delay=7)
    assert out["codes"] == [{"product_code": KES_CODE, "rc": 0, "result": "removed",
                             "meaning": "the action completed successfully", "attempts": 3}]
    assert sleeps == [7, 7] and out["removed"] is True


def test_1618_forever_fails_after_the_retries(make_action, sleeps):
    host = FakeHost({KES_CODE: [1618]})
    out = remove(make_action, host, retries=2, retry_delay=5)
    assert sleeps == [5, 5] and len(host.calls) == 3 and out["failed"] is True
    assert out["msg"] == ("kes: msiexec /x %s ended with exit code 1618 (another installation is already in "
                          "progress) after 3 attempts" % KES_CODE)


def test_a_module_failure_echoing_the_password_is_masked(make_action, sleeps):
    host = FakeHost({KES_CODE: ["error"]})
    out = remove(make_action, host, password=PASSWORD)
    assert out["failed"] is True and out["codes"][0]["result"] == "failed" and out["codes"][0]["rc"] == 0
    assert out["msg"].startswith("kes: ansible.windows.win_package %s failed: Exception calling" % KES_CODE)
    assert "********" in out["msg"]
    assert_no_secret(out, host)


def test_the_first_failure_stops_the_product(make_action, sleeps):
    removal = dict(KES, product_codes=[KES_CODE, AGENT_CODE, "{00000000-0000-0000-0000-000000000001}"])
    host = FakeHost({KES_CODE: [0], AGENT_CODE: [1603]})
    out = remove(make_action, host, removal=removal)
    assert [c["result"] for c in out["codes"]] == ["removed", "failed"] and len(host.calls) == 2
    assert out["failed"] is True and out["changed"] is True and out["counts"] == {"msi": 1}
    assert out["msg"].endswith("(1 more product code(s) not attempted)")


def test_an_unreachable_host_fails_the_product(make_action, sleeps):
    out = remove(make_action, FakeHost({KES_CODE: ["unreachable"]}))
    assert out["failed"] is True and out["unreachable"] is True and "Failed to connect" in out["msg"]


@pytest.mark.parametrize("removal, message", [
    (dict(KES, method="manual"), "not msi"),
    (dict(KES, product_codes=[]), "no product_codes"),
    ({k: v for k, v in KES.items() if k != "product_codes"}, "no product_codes"),
])
def test_what_is_not_an_msi_removal_is_refused(make_action, removal, message):
    with pytest.raises(AnsibleActionFail, match=message):
        remove(make_action, FakeHost(), removal=removal)


def test_check_mode_predicts_without_sending_the_password(make_action, sleeps):
    removal = dict(KES, product_codes=[KES_CODE, AGENT_CODE])
    host = FakeHost({KES_CODE: [0], AGENT_CODE: ["absent"]})
    out = remove(make_action, host, removal=removal, check_mode=True, password=PASSWORD)
    assert out["changed"] is True and out["removed"] is True and out["reboot_required"] is True
    assert [c["result"] for c in out["codes"]] == ["would_remove", "absent"] and out["counts"] == {"msi": 1}
    assert all(check for dummy, dummy2, check in host.calls) and all("arguments" not in sent for dummy3, sent, dummy4 in host.calls)
    assert out["msg"] == "kes: would remove 1 product code(s)"
    assert_no_secret(out, host)


def test_a_password_the_recipe_cannot_pass_is_left_out_with_a_warning(make_action, sleeps):
    host = FakeHost({KES_CODE: [0]})
    recipe = dict(KES, password_properties=None)
    out = remove(make_action, host, removal=recipe, password=PASSWORD)
    assert host.calls[0][1]["arguments"] == "REBOOT=ReallySuppress" and "not passed" in out["warnings"][0]
    assert_no_secret(out, host)


# ------------------------------------------------------------------------------- win_cleanup

def facts(*findings):
    return {"schema": 1, "status": "residual", "findings": list(findings)}


def finding(product, evidence):
    return {"vendor": "kaspersky", "product": product, "name": product, "state": "residual", "evidence": evidence}


AFTER = facts(
    finding("kes", [{"kind": "service", "name": "AVP21.18", "state": "stopped"},
                    {"kind": "registry_key", "name": "HKLM:\\SOFTWARE\\WOW6432Node\\KasperskyLab\\protected\\KES"},
                    {"kind": "path", "name": "C:\\Program Files (x86)\\Kaspersky Lab\\KES"},
                    {"kind": "path", "name": "C:\\ProgramData\\Kaspersky Lab\\KES.12.6", "target": "D:\\data"},
                    {"kind": "driver", "name": "klif", "state": "running"}]),
    finding("klnagent-win", [{"kind": "service", "name": "klnagent", "state": "running"}]),
)


def cleanup(make_action, host, check_mode=False, removed=({"vendor": "kaspersky", "product": "kes"},), after=None):
    after = AFTER if after is None else after
    return run(make_action, action_cleanup, {"facts": after, "removed": list(removed)}, host, check_mode=check_mode)


def test_cleanup_deletes_the_removed_products_residue_in_order(make_action):
    host = FakeHost()
    out = cleanup(make_action, host)
    assert [(m, a) for m, a, dummy in host.calls] == [
        ("ansible.windows.win_service", {"name": "AVP21.18", "state": "absent"}),
        ("ansible.windows.win_regedit", {"path": "HKLM:\\SOFTWARE\\WOW6432Node\\KasperskyLab\\protected\\KES",
                                         "state": "absent", "delete_key": True}),
        ("ansible.windows.win_file", {"path": "C:\\Program Files (x86)\\Kaspersky Lab\\KES", "state": "absent"}),
    ]
    assert out["changed"] is True and out["counts"] == {"residue": 3} and out.get("failed") is None
    assert out["deleted"] == [{"kind": "service", "name": "AVP21.18"},
                              {"kind": "registry_key", "name": "HKLM:\\SOFTWARE\\WOW6432Node\\KasperskyLab\\protected\\KES"},
                              {"kind": "path", "name": "C:\\Program Files (x86)\\Kaspersky Lab\\KES"}]
    assert out["refused"] == [{"kind": "path", "name": "C:\\ProgramData\\Kaspersky Lab\\KES.12.6",
                               "reason": "a link or junction to D:\\data: cleanup never deletes through one"}]
    assert out["needs_reboot"] == [{"kind": "driver", "name": "klif", "state": "running"}]
    assert out["msg"] == "deleted 3 item(s), refused 1, 1 driver(s) stay loaded until a restart"


def test_cleanup_goes_on_after_a_failure_and_fails_naming_it(make_action):
    host = FakeHost({"HKLM:\\SOFTWARE\\WOW6432Node\\KasperskyLab\\protected\\KES": [
        {"failed": True, "msg": "failed to delete registry key: access denied"}]})
    out = cleanup(make_action, host)
    assert len(host.calls) == 3 and out["failed"] is True and out["counts"] == {"residue": 2}
    assert out["failures"] == [{"kind": "registry_key", "name": "HKLM:\\SOFTWARE\\WOW6432Node\\KasperskyLab\\protected\\KES",
                                "error": "failed to delete registry key: access denied"}]
    assert out["msg"] == ("could not delete 1 item(s): registry_key HKLM:\\SOFTWARE\\WOW6432Node\\KasperskyLab\\protected"
                          "\\KES (failed to delete registry key: access denied)")


def test_cleanup_check_mode_predicts_only(make_action):
    host = FakeHost()
    out = cleanup(make_action, host, check_mode=True)
    assert all(check for dummy, dummy2, check in host.calls) and len(host.calls) == 3
    assert out["changed"] is True and out["msg"].startswith("would delete 3 item(s)")


def test_cleanup_of_nothing_changes_nothing(make_action):
    host = FakeHost({"AVP21.18": ["absent"], "HKLM:\\SOFTWARE\\WOW6432Node\\KasperskyLab\\protected\\KES": ["absent"],
                     "C:\\Program Files (x86)\\Kaspersky Lab\\KES": ["absent"]})
    out = cleanup(make_action, host)
    assert out["changed"] is False and out["deleted"] == [] and out["counts"] == {"residue": 0}
    out = cleanup(make_action, FakeHost(), removed=[], after={"ansible_facts": {"divest": AFTER}})
    assert out["changed"] is False and out["refused"] == [] and out["msg"] == "deleted 0 item(s)"


def test_cleanup_stops_calling_an_unreachable_host(make_action):
    out = cleanup(make_action, FakeHost({"AVP21.18": ["unreachable"]}))
    assert out["failed"] is True and out["unreachable"] is True and len(out["failures"]) == 3
    assert out["failures"][1]["error"] == "not attempted: the host could not be reached"


# ------------------------------------------------------------------------------- contract

def test_the_builders_use_options_the_installed_ansible_windows_documents():
    """Each builder's arguments are options of its module in the ansible.windows installed with
    the collection (the documentation ansible-doc shows), with allowed values."""
    import yaml
    from ansible.plugins.loader import module_loader

    samples = {"ansible.windows.win_package": wr.package_args(KES_CODE, ["REBOOT=ReallySuppress"], "C:\\x.log", KES),
               "ansible.windows.win_file": wr.file_args("C:\\a\\b\\c"),
               "ansible.windows.win_regedit": wr.regedit_args("HKLM:\\SOFTWARE\\KasperskyLab"),
               "ansible.windows.win_service": wr.service_args("AVP21.18")}
    for module, builder in wr.MODULE_BUILDERS:
        found = module_loader.find_plugin_with_context(module)
        if not found.resolved:
            pytest.skip("ansible.windows is not installed here")
        source = open(found.plugin_resolved_path.rsplit(".", 1)[0] + ".py", encoding="utf-8").read()
        namespace = {}
        exec(compile(source, module, "exec"), namespace)  # the module's .py holds only its documentation
        options = yaml.safe_load(namespace["DOCUMENTATION"])["options"]
        for name, value in samples[module].items():
            assert name in options, (module, name)
            choices = options[name].get("choices")
            if choices:
                assert value in choices, (module, name, value)
