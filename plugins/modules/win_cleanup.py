# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file holds the documentation; the work is done by the action plugin of the same name.

DOCUMENTATION = r"""
module: win_cleanup
short_description: Delete what removed vendor products left behind on a Windows host
version_added: 0.1.0
author:
  - fleetsec.divest developers (@fleetsec)
description:
  - After M(fleetsec.divest.win_remove) succeeded and a new scan (M(fleetsec.divest.vendor_facts))
    ran, deletes the services, registry keys, folders and files that the scan still attributes
    to the removed products (O(removed)) - the C(evidence) of their findings in O(facts), and
    nothing else. Services first (M(ansible.windows.win_service), C(state=absent)), then
    registry keys (M(ansible.windows.win_regedit), C(state=absent), C(delete_key=true)), then
    folders and files (M(ansible.windows.win_file), C(state=absent)), each sorted by name.
  - B(Refused, never deleted) (listed in RV(refused) with the reason) - a path that is a link or
    junction, or whose link state could not be read (self-defence); a drive root, a path fewer
    than 3 components deep, anything under the Windows folder or Microsoft's folders, a shared
    folder (C(Program Files\Common Files), a user profile and its standard folders); a name the
    facts shortened; a registry key outside C(HKLM:\SOFTWARE[\WOW6432Node]\<vendor key>) (a key
    whose name contains the vendor's name) and C(HKLM:\SYSTEM\CurrentControlSet\Services\<name>);
    a protected service (C(WinDefend), C(MsMpSvc), C(wscsvc), C(Sense), C(mpssvc), C(WinRM) ...);
    Uninstall entries, processes, Security Center entries and certificates.
  - B(Kernel drivers are never deleted), nor their service keys - a class filter driver removed by
    hand can leave the host without keyboard or mouse (the vendor's manual-cleanup notes warn to
    keep C(klmouflt); pastebin.com/5iJLsXJP). A driver still loaded is listed in RV(needs_reboot).
  - A module failure on one item is recorded and the rest go on; the task fails only when
    something it decided to delete could not be deleted (RV(failures), named in the message).
  - Windows only. Run it as an administrator.
options:
  facts:
    description:
      - The post-removal C(divest) facts (C(ansible_facts.divest) of a new
        M(fleetsec.divest.vendor_facts) run). A registered vendor_facts result is taken too.
    type: dict
    required: true
  removed:
    description:
      - The products whose removal succeeded, each C({vendor, product}); only their evidence is
        deleted. The vendor-wide C(leftovers) finding is cleaned only when named here, or with O(leftovers).
    type: list
    elements: dict
    required: true
  leftovers:
    description:
      - Also clean the vendor-wide C(leftovers) finding of every vendor in O(removed) (its root
        registry keys and folders). The catalog's leftovers explain a host only when no product of
        the vendor is found, so this deletes nothing while a product of the vendor is still there.
    type: bool
    default: false
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  action:
    support: full
    description: Runs as an action plugin on the controller, which calls the ansible.windows modules on the host.
  async:
    support: none
    description: Not supported.
  check_mode:
    support: full
    details: The same modules run in check mode; RV(deleted) lists what would be deleted.
  diff_mode:
    support: none
  platform:
    support: full
    platforms: windows
requirements:
  - ansible.windows on the controller.
seealso:
  - module: fleetsec.divest.win_remove
  - module: fleetsec.divest.vendor_facts
  - module: ansible.windows.win_file
  - module: ansible.windows.win_regedit
  - module: ansible.windows.win_service
"""

EXAMPLES = r"""
- name: Scan again after the removal
  fleetsec.divest.vendor_facts:
  register: divest_after

- name: Delete what the removed products left behind
  fleetsec.divest.win_cleanup:
    facts: "{{ divest_after.ansible_facts.divest }}"
    # win_remove's results: only vendor and product of each are read
    removed: "{{ divest_removed.results | selectattr('removed', 'defined') | selectattr('removed') | list }}"
"""

RETURN = r"""
deleted:
  description: What was deleted (would be, in check mode), each C(kind) (V(service), V(registry_key), V(path)) and C(name).
  returned: always
  type: list
  elements: dict
  sample:
    - {kind: service, name: AVP21.18}
    - {kind: registry_key, name: 'HKLM:\SOFTWARE\WOW6432Node\KasperskyLab\protected\KES'}
    - {kind: path, name: 'C:\Program Files (x86)\Kaspersky Lab\KES'}
refused:
  description: Evidence of the removed products that was not deleted, each C(kind), C(name) and C(reason).
  returned: always
  type: list
  elements: dict
  sample:
    - {kind: path, name: 'C:\ProgramData\Kaspersky Lab\KES.12.6', reason: 'a link or junction to D:\data: cleanup never deletes through one'}
needs_reboot:
  description: Kernel drivers of the removed products still loaded, each C(kind) (V(driver)), C(name) and C(state).
  returned: always
  type: list
  elements: dict
  sample:
    - {kind: driver, name: klif, state: running}
failures:
  description: Items that could not be deleted, each C(kind), C(name) and C(error) (the module's message).
  returned: failure
  type: list
  elements: dict
counts:
  description: C(residue) - how many items were deleted (would be, in check mode).
  returned: always
  type: dict
  sample: {residue: 3}
msg:
  description: A summary, or which items could not be deleted.
  returned: always
  type: str
  sample: deleted 3 item(s), 1 driver(s) stay loaded until a restart
"""
