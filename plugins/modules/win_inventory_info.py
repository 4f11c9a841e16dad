#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file only documents the module; the code is win_inventory_info.ps1 beside it.

DOCUMENTATION = r"""
---
module: win_inventory_info
short_description: Gather a raw inventory of a vendor's traces on a Windows host
version_added: 0.1.0
description:
  - Collects, on a Windows host, the signals the catalog describes (Uninstall entries, services,
    drivers, Security Center products, registry keys, files and folders, processes, root
    certificates) and returns them as a raw inventory in the schema of C(docs/raw-inventory.md).
  - It gathers only and decides nothing. The options are a pre-filter that keeps the payload
    small; the matcher on the controller decides what a signal means. Normally the
    M(fleetsec.divest.vendor_facts) action builds the options from the catalog and calls this
    module, so you rarely call it yourself.
  - Uninstall entries are read from C(HKLM) in both registry views (64-bit and WOW6432Node,
    opened explicitly, so a 32-bit host process sees the same) and from every loaded user hive
    under C(HKEY_USERS).
  - Every section is collected in its own error handler. A section that fails is named in
    RV(inventory.errors) and the module still succeeds. Every CIM query waits at most 30
    seconds, so a hung WMI provider fails its section, not the task. Where the namespace
    C(root\SecurityCenter2) does not exist (Windows Server), C(security_center) is listed in
    RV(inventory.skipped); the product type is not looked at, because Windows 10/11 Enterprise
    multi-session reports the server product type and has Security Center.
  - The module is not signed. Where WDAC or AppLocker enforce PowerShell Constrained Language
    Mode it cannot run; see C(docs/windows.md) for what an administrator does about it.
  - 'Patterns follow the collection rule: a plain string is an exact name, compared without case;
    C(re:<expr>) is a .NET regular expression that must match the whole value, without case.
    For O(publishers) and O(certificates) the pattern is searched: a plain string is a substring,
    a regular expression may match anywhere. Write regular expressions in the subset Python and
    .NET share (no C((?P<name>...)) groups); a pattern .NET cannot compile in the form it is used in is ignored and
    reported in RV(inventory.errors) under section V(query).'
  - Everything read from the host is treated as data, as the Linux collector
    M(fleetsec.divest.linux_inventory_info) does. Registry values of an unexpected type are converted
    (C(REG_DWORD) to its decimal text, C(REG_MULTI_SZ) joined by spaces, C(REG_BINARY) to V(null)),
    control characters other than tab are escaped as C(\xNN), a string longer than 512
    characters is cut and marked C(...[truncated]), and a section returns at most 1000 items.
    Both caps are reported in RV(inventory.errors), which holds at most 100 entries. Nothing read
    is expanded or run.
  - Needs no O(ignore:become). Run as an administrator (the usual WinRM or SSH login) to read
    other users' loaded hives and the paths of every process.
options:
  display_names:
    description:
      - Patterns for the C(DisplayName) of Uninstall entries.
      - An entry is returned when its C(DisplayName) matches one of these or its C(Publisher)
        matches one of O(publishers).
    type: list
    elements: str
    default: []
  publishers:
    description:
      - Patterns searched in the C(Publisher) of Uninstall entries (free text, case ignored).
    type: list
    elements: str
    default: []
  services:
    description:
      - Patterns for the C(Name) or C(DisplayName) of Win32 services (C(Win32_Service)).
    type: list
    elements: str
    default: []
  drivers:
    description:
      - Patterns for the C(Name) or C(DisplayName) of kernel and file-system drivers
        (C(Win32_SystemDriver)).
    type: list
    elements: str
    default: []
  processes:
    description:
      - Patterns for the names of running processes, extension included (V(avp.exe)).
    type: list
    elements: str
    default: []
  security_center:
    description:
      - Patterns for the C(displayName) of C(root/SecurityCenter2) C(AntiVirusProduct) rows.
      - Ignored on Windows Server, which has no Security Center.
    type: list
    elements: str
    default: []
  registry_keys:
    description:
      - Registry key paths to test, such as V(HKLM:\\SOFTWARE\\KasperskyLab). The existing ones
        are returned.
      - The hive is written C(HKLM:), C(HKLM), C(HKEY_LOCAL_MACHINE), C(HKU), C(HKCR) or C(HKCU).
        Keys are opened in the 64-bit view, so name C(SOFTWARE\WOW6432Node\...) explicitly for
        the 32-bit node.
      - A path component may contain C(*) and C(?) wildcards; each existing key is then
        returned under its real name.
    type: list
    elements: str
    default: []
  paths:
    description:
      - Absolute file or folder paths to test. Environment variables (V(%ProgramData%)) are
        expanded as a 64-bit process sees them, and PowerShell wildcards (C(*), C(?), C([...]))
        are allowed.
    type: list
    elements: str
    default: []
  certificates:
    description:
      - Patterns searched in the subject and the issuer of the certificates in the
        C(LocalMachine\Root) store.
    type: list
    elements: str
    default: []
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: The module only reads; it returns the same inventory with and without check mode.
  diff_mode:
    support: none
    details: The module never changes the host, so there is nothing to diff.
  platform:
    platforms: windows
    support: full
notes:
  - The module is read-only and always reports no change.
  - It runs under Windows PowerShell 5.1 over WinRM, PSRP or SSH (C(ansible_shell_type=powershell)).
    The CIM cmdlets are used, with C(Get-WmiObject) as the fallback where they do not exist.
  - See C(docs/windows.md) in the collection for how the Windows side works and what to check
    on a real host.
seealso:
  - module: fleetsec.divest.vendor_facts
  - module: ansible.windows.win_service_info
  - module: ansible.windows.win_package
author:
  - fleetsec.divest developers (@fleetsec)
"""

EXAMPLES = r"""
- name: Look for Kaspersky traces (vendor_facts normally builds this query from the catalog)
  fleetsec.divest.win_inventory_info:
    display_names:
      - 're:Kaspersky.*'
      - 're:.*Kaspersky Security Center.*'
    publishers:
      - 're:kaspersky|касперск'
    services: ['re:AVP(\d+(\.\d+)*)?', klnagent, KAVFS, KAVFSGT, kavfsslp, CSAdminServer]
    drivers: ['re:kl.*', kneps]
    processes: [avp.exe, avpui.exe, klnagent.exe, kavfs.exe]
    security_center: ['re:Kaspersky.*']
    registry_keys:
      - 'HKLM:\SOFTWARE\KasperskyLab'
      - 'HKLM:\SOFTWARE\WOW6432Node\KasperskyLab'
      - 'HKLM:\SYSTEM\CurrentControlSet\Services\kl*'
    paths:
      - '%ProgramFiles(x86)%\Kaspersky Lab'
      - '%ProgramData%\Kaspersky Lab'
      - '%SystemRoot%\System32\drivers\kl*.sys'
    certificates: [Kaspersky]
  register: raw

- name: Show what was found and what could not be read
  ansible.builtin.debug:
    msg:
      - "{{ raw.inventory.uninstall | map(attribute='DisplayName') | list }}"
      - "{{ raw.inventory.errors }}"
      - "{{ raw.inventory.skipped }}"
"""

RETURN = r"""
inventory:
  description:
    - The raw inventory, in the schema of C(docs/raw-inventory.md) (Windows sections). Every
      section is a list and may be empty; only items that match the options are returned.
    - Windows' own property names are kept (C(DisplayName), C(PathName), C(productState) ...).
  returned: always
  type: dict
  contains:
    schema:
      description: Version of the raw inventory schema.
      type: int
      sample: 1
    platform:
      description: The scanned system.
      type: dict
      contains:
        system:
          description: Always V(Windows).
          type: str
          sample: Windows
        distribution:
          description: C(Win32_OperatingSystem.Caption).
          type: str
          sample: Microsoft Windows 11 Enterprise
        version:
          description: C(Win32_OperatingSystem.Version).
          type: str
          sample: 10.0.22631
        product_type:
          description:
            - V(workstation), V(server) or V(domain_controller) from Windows' ProductType, as Windows reports it;
              V(null) when unknown.
            - Windows 10/11 Enterprise multi-session reports V(server); the controller tells it apart by RV(inventory.platform.edition_id).
          type: str
          sample: workstation
        edition_id:
          description: The registry's C(EditionID) (for example V(Enterprise), V(ServerStandard), V(ServerRdsh) for Enterprise multi-session).
          type: str
          sample: Enterprise
        build:
          description:
            - The build number (C(Win32_OperatingSystem.BuildNumber), else the registry's C(CurrentBuildNumber) or C(CurrentBuild),
              64-bit view). Windows 11 is build 22000 or later, whatever the registry's C(ProductName) says.
          type: str
          sample: '22631'
    live:
      description: Always V(true) (the running system was scanned).
      type: bool
      sample: true
    skipped:
      description: Sections deliberately not collected, such as C(security_center) where C(root\SecurityCenter2) does not exist (Windows Server).
      type: list
      elements: dict
      sample: [{section: security_center, reason: the namespace root\SecurityCenter2 does not exist on this host}]
    errors:
      description:
        - Sections that failed or were partly unreadable; the rest of the inventory is still valid.
        - Every CIM query waits at most 30 seconds; a query that hits the limit fails its section only.
        - A regular expression .NET cannot build, in the form it is used in (anchored at both ends for name options),
          is left out with an entry of section V(query); the other patterns still run.
      type: list
      elements: dict
      sample: [{section: security_center, message: Invalid namespace}]
    uninstall:
      description:
        - Uninstall entries whose C(DisplayName) or C(Publisher) matched.
        - C(key) is the subkey name (the MSI product code for Windows Installer entries), C(hive)
          is V(HKLM) or V(HKU), C(view) is V(64) for the native node and V(32) for WOW6432Node.
        - Values are as stored (environment variables not expanded); a missing value is V(null),
          a missing C(WindowsInstaller) is V(false).
      type: list
      elements: dict
      sample:
        - key: '{9A017278-F7F4-4DF9-A482-0B97B70DD7ED}'
          hive: HKLM
          view: '32'
          DisplayName: Kaspersky Endpoint Security for Windows
          DisplayVersion: 12.6.0.438
          Publisher: AO Kaspersky Lab
          UninstallString: MsiExec.exe /X{9A017278-F7F4-4DF9-A482-0B97B70DD7ED}
          QuietUninstallString: null
          InstallLocation: C:\Program Files (x86)\Kaspersky Lab\KES\
          WindowsInstaller: true
    services:
      description: Win32 services whose C(Name) or C(DisplayName) matched (C(Name), C(DisplayName), C(PathName), C(State), C(StartMode)).
      type: list
      elements: dict
      sample:
        - Name: AVP21.18
          DisplayName: Kaspersky Endpoint Security Service
          PathName: '"C:\Program Files (x86)\Kaspersky Lab\KES\avp.exe" -r'
          State: Running
          StartMode: Auto
    drivers:
      description: Kernel and file-system drivers whose C(Name) or C(DisplayName) matched, with the same keys as RV(inventory.services).
      type: list
      elements: dict
      sample:
        - Name: klif
          DisplayName: Kaspersky Lab Driver
          PathName: C:\Windows\system32\DRIVERS\klif.sys
          State: Running
          StartMode: Boot
    security_center:
      description: C(root/SecurityCenter2) C(AntiVirusProduct) rows whose C(displayName) matched (C(displayName), C(productState), C(pathToSignedProductExe)).
      type: list
      elements: dict
      sample:
        - displayName: Kaspersky Endpoint Security for Windows
          productState: 266240
          pathToSignedProductExe: C:\Program Files (x86)\Kaspersky Lab\KES\avpui.exe
    registry_keys:
      description: Registry keys of the query that exist (C(path)).
      type: list
      elements: dict
      sample: [{path: 'HKLM:\SOFTWARE\WOW6432Node\KasperskyLab'}]
    paths:
      description:
        - Files and folders of the query that exist.
        - C(type) is V(directory), V(file), V(link) (symbolic link or junction, C(target) then holds
          its target) or V(other); C(pattern) is the query entry that found the path.
        - C(error) is V(null), or why the link type or target could not be read (a security product's
          self-defence); the path is still returned, with C(type) from the directory listing.
      type: list
      elements: dict
      sample:
        - path: C:\ProgramData\Kaspersky Lab
          type: directory
          target: null
          pattern: '%ProgramData%\Kaspersky Lab'
          error: null
    processes:
      description: Running processes whose name (extension included) matched; C(path) is V(null) when Windows does not tell.
      type: list
      elements: dict
      sample: [{name: avp.exe, pid: 3120, path: null}]
    certificates:
      description: Certificates in C(LocalMachine\Root) whose subject or issuer matched.
      type: list
      elements: dict
      sample:
        - store: LocalMachine\Root
          thumbprint: 0123456789ABCDEF0123456789ABCDEF01234567
          subject: CN=Kaspersky Anti-Virus Personal Root Certificate, O=AO Kaspersky Lab
          issuer: CN=Kaspersky Anti-Virus Personal Root Certificate, O=AO Kaspersky Lab
"""
