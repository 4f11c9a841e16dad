# -*- coding: utf-8 -*-
# TEST DOUBLE of ansible.windows.win_package (fleetsec.divest tests/windows): never shipped.
# It answers from the host's JSON state (module_utils/_windouble.py) instead of running msiexec.
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: win_package
short_description: TEST DOUBLE of ansible.windows.win_package (uninstall by product code)
description:
  - Test double, never shipped. Models C(state=absent) with O(product_id) against the host's
    JSON state (password properties, queued exit codes, reboot codes, the verbose MSI log).
  - The options are the real module's.
options:
  arguments: {type: raw, description: Arguments passed to msiexec.}
  chdir: {type: path, description: Working directory.}
  checksum: {type: str, description: Checksum of the package.}
  checksum_algorithm: {type: str, default: sha1, choices: [md5, sha1, sha256, sha384, sha512], description: Checksum algorithm.}
  verify_signature: {type: bool, default: false, description: Check the Authenticode signature.}
  creates_path: {type: path, description: Path that marks the package installed.}
  creates_service: {type: str, description: Service that marks the package installed.}
  creates_version: {type: str, description: Version of creates_path.}
  expected_return_code: {type: list, elements: int, default: [0, 3010], description: Return codes that mean success.}
  log_path: {type: path, description: Verbose MSI log file.}
  path: {type: str, description: Package path or URL.}
  product_id: {type: str, description: The product code.}
  provider: {type: str, default: auto, choices: [auto, msi, msix, msp, registry], description: Provider.}
  state: {type: str, default: present, choices: [absent, present], description: State.}
  wait_for_children: {type: bool, default: false, description: Wait for child processes.}
author: [fleetsec.divest developers (test double)]
"""

RETURN = r"""
rc: {description: Return code of msiexec (0 when nothing ran)., returned: always, type: int}
reboot_required: {description: Whether rc was 3010., returned: always, type: bool}
log: {description: The MSI log, when msiexec returned an unexpected code., returned: failure, type: str}
stdout: {description: msiexec stdout on failure., returned: failure, type: str}
stderr: {description: msiexec stderr on failure., returned: failure, type: str}
"""

import re

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.ansible.windows.plugins.module_utils import _windouble as wd

WEB_OPTIONS = dict(
    url_method=dict(type="str"), follow_redirects=dict(type="str", choices=["all", "none", "safe"]),
    headers=dict(type="dict"), http_agent=dict(type="str"), maximum_redirection=dict(type="int"),
    url_timeout=dict(type="int"), validate_certs=dict(type="bool"), client_cert=dict(type="str"),
    client_cert_password=dict(type="str", no_log=True), force_basic_auth=dict(type="bool"),
    url_username=dict(type="str"), url_password=dict(type="str", no_log=True),
    use_default_credential=dict(type="bool"), use_proxy=dict(type="bool"), proxy_url=dict(type="str"),
    proxy_username=dict(type="str"), proxy_password=dict(type="str", no_log=True),
    proxy_use_default_credential=dict(type="bool"),
)

MSI_ERRORS = {
    1603: "Fatal error during installation.",
    1618: "Another installation is already in progress. Complete that installation before proceeding with this install.",
    1605: "This action is only valid for products that are currently installed.",
}


def properties(text):
    """msiexec PROPERTY=value pairs of the argument text (upper-cased names)."""
    found = {}
    for match in re.finditer(r'(?<![\w/])([A-Za-z_][\w.]*)=("([^"]*)"|(\S*))', text or ""):
        found[match.group(1).upper()] = match.group(3) if match.group(3) is not None else match.group(4)
    return found


def password_ok(product, props):
    password = product.get("password")
    if not password:
        return True, None
    if product.get("password_property") == "KLUNINSTPASSWD":
        expected = password.encode("utf-16-le").hex()
        given = props.get("KLUNINSTPASSWD")
        if given is None:
            return False, "KLUNINSTPASSWD is missing"
        return given.lower() == expected, "the uninstall password (KLUNINSTPASSWD) is wrong"
    given = props.get("KLPASSWD")
    if given is None:
        return False, "KLPASSWD is missing"
    if given != password:
        return False, "the password (KLPASSWD) is wrong"
    login = product.get("login")
    if login and props.get("KLLOGIN") != login:
        return False, "KLLOGIN is missing or wrong"
    return True, None


def msi_log(code, product, rc, reason):
    name = product.get("DisplayName", code)
    lines = [
        "=== Verbose logging started: 01.01.2025  10:00:00  Build type: SHIP UNICODE 5.00.10011.00  Calling process: C:\\Windows\\system32\\msiexec.exe ===",
        "MSI (c) (A0:B4) [10:00:00:001]: Resetting cached policy values",
        "MSI (s) (C8:D0) [10:00:01:100]: Product: %s -- Removal started." % name,
    ]
    if rc == 1618:
        lines.append("MSI (c) (A0:B4) [10:00:00:010]: Note: 1: 1618 %s" % MSI_ERRORS[1618])
    elif rc in (0, 1641, 3010):
        lines.append("MSI (s) (C8:D0) [10:00:02:200]: Product: %s -- Removal completed successfully." % name)
    elif reason is None:
        lines += [
            "MSI (s) (C8:D0) [10:00:02:200]: Product: %s -- %s" % (name, MSI_ERRORS.get(rc, "Error %d." % rc)),
            "Action ended 10:00:02: INSTALL. Return value 3.",
        ]
    else:
        lines += [
            "Action start 10:00:01: CheckUninstallPassword.",
            "CustomAction CheckUninstallPassword returned actual error code 1603 (note this may not be 100% accurate if translation happened inside sandbox)",
            "MSI (s) (C8:D0) [10:00:02:200]: Product: %s -- Error 27300. Uninstallation password is incorrect or not specified (%s)." % (name, reason),
            "Action ended 10:00:02: CheckUninstallPassword. Return value 3.",
            "Action ended 10:00:02: INSTALL. Return value 3.",
            "MSI (s) (C8:D0) [10:00:02:300]: Product: %s -- Removal failed." % name,
        ]
    lines += [
        "MSI (s) (C8:D0) [10:00:02:400]: Windows Installer removed the product. Product Name: %s. Product Version: %s. "
        "Product Language: 1033. Manufacturer: %s. Removal success or error status: %d." % (
            name, product.get("DisplayVersion"), product.get("Publisher"), rc),
        "=== Logging stopped: 01.01.2025  10:00:02 ===",
    ]
    return "\r\n".join(lines) + "\r\n"


def handler(state, module):
    params = module.params
    if params["state"] != "absent" or not params["product_id"]:
        raise wd.DoubleError("double: win_package models state=absent with product_id only")
    code = params["product_id"]
    products = state.setdefault("products", {})
    stored = next((key for key in products if key.lower() == code.lower()), None)
    result = {"rc": 0, "reboot_required": False}
    if stored is None:
        return dict(result, changed=False)
    if module.check_mode:
        return dict(result, changed=True)
    product = products[stored]
    arguments = wd.join_arguments(params["arguments"]) or ""
    log_path = params["log_path"] or "C:\\Windows\\TEMP\\ansible-moduletmp\\msiexec.log"
    command = '"C:\\Windows\\System32\\msiexec.exe" /x %s /L*V "%s" /qn /norestart' % (stored, log_path)
    if arguments:
        command += " " + wd.redact_text(arguments)
    queue = product.get("exit_codes") or []
    rc = queue.pop(0) if queue else None
    product["exit_codes"] = queue
    reason = None
    if rc is None or rc in (0, 1641, 3010):
        ok, reason = password_ok(product, properties(arguments))
        if not ok:
            rc = 1603
        elif rc is None:
            rc = 3010 if product.get("reboot") else 0
    if rc in (0, 1641, 3010):
        wd.remove_product(state, stored)
        if rc in (1641, 3010):
            wd.note_reboot(state, "pending_file_rename_operations")
    if rc not in params["expected_return_code"]:
        log = msi_log(stored, product, rc, reason)
        if params["log_path"]:
            state.setdefault("paths", {})[params["log_path"]] = {"type": "file"}
            state.setdefault("files", {})[params["log_path"]] = log
        raise wd.ModuleFail("unexpected rc from '%s': see rc, stdout, and stderr for more details" % command,
                            rc=rc, stdout="", stderr="", log=log, reboot_required=False, changed=False)
    # The real module sets failed=false itself: Ansible would take an rc of 3010 for a failure.
    return dict(changed=True, rc=rc, reboot_required=rc == 3010, failed=False)


def main():
    spec = dict(
        arguments=dict(type="raw"),
        chdir=dict(type="path"),
        checksum=dict(type="str"),
        checksum_algorithm=dict(type="str", default="sha1", choices=["md5", "sha1", "sha256", "sha384", "sha512"]),
        verify_signature=dict(type="bool", default=False),
        creates_path=dict(type="path"),
        creates_service=dict(type="str"),
        creates_version=dict(type="str"),
        expected_return_code=dict(type="list", elements="int", default=[0, 3010]),
        log_path=dict(type="path"),
        path=dict(type="str"),
        product_id=dict(type="str"),
        provider=dict(type="str", default="auto", choices=["auto", "msi", "msix", "msp", "registry"]),
        state=dict(type="str", default="present", choices=["absent", "present"]),
        wait_for_children=dict(type="bool", default=False),
    )
    spec.update(WEB_OPTIONS)
    module = AnsibleModule(
        argument_spec=spec,
        required_by={"creates_version": "creates_path"},
        required_if=[("state", "present", ("path",)), ("state", "absent", ("path", "product_id"), True)],
        supports_check_mode=True,
    )
    wd.run_module(module, "ansible.windows.win_package", handler)


if __name__ == "__main__":
    main()
