# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file holds the documentation; the work is done by the action plugin of the same name.

DOCUMENTATION = r"""
module: win_remove
short_description: Remove one vendor product from a Windows host with msiexec, as the plan says
version_added: 0.1.0
author:
  - fleetsec.divest developers (@fleetsec)
description:
  - Uninstalls B(one) product of an approved plan from a Windows host - C(msiexec /x) for each
    of the MSI product codes the scan found (C(product_codes) of O(removal), taken from the
    Uninstall key names, never hard-coded), in their order, through
    M(ansible.windows.win_package) (C(provider=msi), C(state=absent)), which runs
    C(msiexec /x {code} /L*V <log> /qn /norestart) followed by the recipe's properties.
  - B(Properties) - the recipe's C(properties) first (C(REBOOT=ReallySuppress)); when
    O(password) is given and the recipe has C(password_properties), the login property (when
    the recipe names one - O(login), default C(KLAdmin)) and the password property. Kaspersky
    Endpoint Security takes C(KLLOGIN) and C(KLPASSWD) (support.kaspersky.com/keswin/12.9/en-US/299679.htm
    documents them for repair; jl-oclinux/SecWinBatchMode uses them to uninstall); the Network
    Agent takes C(KLUNINSTPASSWD), the password as the hex of its UTF-16LE bytes
    (C(encoding=utf16le-hex), jl-oclinux/SecWinBatchMode). Values with spaces or double quotes
    are quoted the way msiexec reads them (C(NAME="va""lue")). A password with a control
    character or NUL is refused. A password for a product whose recipe names no msiexec
    property for it is not passed, with a warning.
  - B(Exit codes) (learn.microsoft.com/windows/win32/msi/error-codes) - C(0) removed; C(3010)
    and C(1641) removed, a restart is required; C(1605) and the recipe's C(absent_codes) - the
    product is not installed; the recipe's C(success_codes) removed; C(1618) (another
    installation is in progress) is retried O(retries) times, O(retry_delay) seconds apart;
    anything else (C(1603) fatal error, C(1602), C(1619), C(1620), C(1639) ...) fails the task.
    win_package finding no installed product with that code is C(absent) too.
  - The first failure stops the product - the remaining codes are not attempted. The message
    names the product, the code, the exit code and its meaning, then the last error lines of the
    verbose MSI log, as in C(kes - msiexec /x {code} ended with exit code 1603 (fatal error during
    installation) - <log lines>) (with colons where this shows dashes).
  - B(Secrets) - O(password) is C(no_log). The win_package call always runs with C(no_log) when
    a password is passed (else the host's Application event log records its arguments). Its
    C(invocation) is dropped, and every text returned (win_package's message, output, log
    lines) has the password and its encoded forms replaced by C(********). When a password is
    given, no MSI log is kept on the host (the verbose log records the command line, and the
    product's MSI may not hide the property); win_package still returns it on a failure. Set
    C(no_log) on the task as well when a password is given.
  - Windows only. Run it as an administrator. Removes nothing else - residue is
    M(fleetsec.divest.win_cleanup)'s, after a new scan.
options:
  vendor:
    description: The vendor of the product (the plan action's C(vendor)).
    type: str
    required: true
  product:
    description: The product's catalog id (the plan action's C(product)), used in messages and log file names.
    type: str
    required: true
  removal:
    description:
      - The plan action's C(removal) - the catalog recipe with the product codes the scan found.
      - Keys used - C(method) (must be V(msi)), C(product_codes), C(properties), C(password)
        (V(none), V(optional), V(required)), C(password_properties) (C(login), C(password),
        C(encoding)), C(success_codes), C(absent_codes), C(reboot) (see C(docs/catalog.md)).
    type: dict
    required: true
  password:
    description:
      - The uninstall password (from vault or an AWX credential). Required when C(password) of
        O(removal) is V(required).
    type: str
  login:
    description:
      - The login for the recipe's login property. Default C(KLAdmin), and only when a password
        is given and the recipe names a login property.
    type: str
  retries:
    description: How many times an exit code 1618 (another installation in progress) is retried.
    type: int
    default: 3
  retry_delay:
    description: Seconds between two attempts after an exit code 1618.
    type: int
    default: 30
  log_dir:
    description:
      - Folder on the host for the verbose MSI logs, one per product code
        (C(divest-msi-<product>-<code>.log)). Not used when a password is given.
    type: str
    default: C:\Windows\Temp
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  action:
    support: full
    description: Runs as an action plugin on the controller, which calls M(ansible.windows.win_package) on the host.
  async:
    support: none
    description: Not supported.
  check_mode:
    support: full
    details: >-
      Runs win_package in check mode for each product code (the password is not sent) and
      returns whether msiexec would run (C(result) V(would_remove) or V(absent)); changes nothing.
  diff_mode:
    support: none
  platform:
    support: full
    platforms: windows
requirements:
  - ansible.windows (M(ansible.windows.win_package)) on the controller.
seealso:
  - module: fleetsec.divest.win_cleanup
  - module: fleetsec.divest.vendor_facts
  - module: ansible.windows.win_package
notes:
  - Order - remove the protection products before the Network Agent, and the management
    products last; the plan's order already does (community practice, jl-oclinux/SecWinBatchMode).
  - If the uninstall is password-protected and no password is known, use a remote uninstall
    task of Kaspersky Security Center or kavremover; neither is automated here (kavremover has
    no documented silent mode).
  - Kernel drivers stay loaded until a restart - C(reboot_required) says when one is due.
"""

EXAMPLES = r"""
- name: Remove each product of this host's part of the plan
  fleetsec.divest.win_remove:
    vendor: "{{ item.vendor }}"
    product: "{{ item.product }}"
    removal: "{{ item.removal }}"
    password: "{{ divest_uninstall_passwords[item.vendor ~ '/' ~ item.product]
                  | default(divest_uninstall_passwords[item.vendor]) | default(omit) }}"
  loop: "{{ divest_part.actions | selectattr('action', 'equalto', 'remove') | list }}"
  loop_control:
    label: "{{ item.product }}"
  no_log: "{{ divest_uninstall_passwords | length > 0 }}"
  register: divest_removed

- name: Remove the Network Agent without a password, waiting longer for a busy installer
  fleetsec.divest.win_remove:
    vendor: kaspersky
    product: klnagent-win
    removal:
      method: msi
      product_codes: ["{1A7B331A-ABBE-4230-995E-BCD99C5A18CF}"]
      properties: {REBOOT: ReallySuppress}
      password: optional
      password_properties: {password: KLUNINSTPASSWD, encoding: utf16le-hex}
      reboot: false
    retries: 10
    retry_delay: 60
"""

RETURN = r"""
vendor:
  description: The vendor, as given.
  returned: success or failure after the arguments were checked
  type: str
  sample: kaspersky
product:
  description: The product, as given.
  returned: success or failure after the arguments were checked
  type: str
  sample: kes
codes:
  description:
    - One entry per product code attempted, in order - C(product_code); C(rc), the msiexec exit
      code (V(null) when nothing ran); C(result) - V(removed), V(reboot_required), V(absent),
      V(failed), or in check mode V(would_remove); C(meaning), one line for a known exit code;
      C(attempts), how many times msiexec ran (1618 retried); on a failure C(log_errors), the
      last error lines of the MSI log, secrets masked.
  returned: success or failure after the arguments were checked
  type: list
  elements: dict
  sample:
    - {product_code: "{9A017278-F7F4-4DF9-A482-0B97B70DD7ED}", rc: 3010, result: reboot_required,
       meaning: a restart is required to complete the removal, attempts: 1}
removed:
  description: Whether the product is gone (every code removed or absent); in check mode, whether it would be.
  returned: success or failure after the arguments were checked
  type: bool
  sample: true
reboot_required:
  description: An exit code 3010 or 1641, or the recipe says a restart completes the removal (C(reboot)) and something was removed.
  returned: success or failure after the arguments were checked
  type: bool
  sample: true
counts:
  description: C(msi) - how many product codes were uninstalled (would be, in check mode).
  returned: success or failure after the arguments were checked
  type: dict
  sample: {msi: 1}
arguments:
  description: The msiexec properties passed, the password as C(********).
  returned: success or failure after the arguments were checked
  type: list
  elements: str
  sample: [REBOOT=ReallySuppress, KLLOGIN=KLAdmin, KLPASSWD=********]
msg:
  description: What was done, or why it failed (secrets masked).
  returned: always
  type: str
  sample: "kes: msiexec /x {9A017278-F7F4-4DF9-A482-0B97B70DD7ED} ended with exit code 1603 (fatal error during installation): ..."
"""
