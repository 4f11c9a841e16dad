# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# The module is written in PowerShell (win_defender_info.ps1); this file holds its documentation.

DOCUMENTATION = r"""
module: win_defender_info
short_description: Read the state of Microsoft Defender Antivirus on a Windows host
version_added: 0.1.0
description:
  - Reads what the role M(fleetsec.divest.defender) needs to judge Microsoft Defender Antivirus, and
    decides nothing - the C(fleetsec.divest.defender_assess) filter does.
  - The operating system (product type, build, Enterprise multi-session) from the registry; on
    Windows Server whether the Defender feature is installed (C(Get-WindowsFeature), the
    ServerManager module that M(ansible.windows.win_feature) uses); the C(WinDefend) service
    (C(Win32_Service)); C(MSFT_MpComputerStatus) in C(root/Microsoft/Windows/Defender) (what
    C(Get-MpComputerStatus) shows); the policy values that turn Defender off or into passive mode;
    the C(AntiVirusProduct) rows of C(root/SecurityCenter2); and whether Windows waits for a restart.
  - Every section is read in its own C(try)/C(catch) - a section that fails keeps its unknown values
    (V(null)) and adds an entry to RV(errors); the module itself does not fail for it.
options: {}
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: The module only reads; it returns the same with and without check mode.
  diff_mode:
    support: none
    details: The module never changes the host, so there is nothing to diff.
  platform:
    platforms: windows
    support: full
notes:
  - The module is read-only and always reports no change.
  - It runs under Windows PowerShell 5.1. Every CIM query waits at most 30 seconds; a query that hits
    the limit fails its section only.
  - Never run on a real Windows host by the authors - checked with a tree-sitter parse and test
    doubles (C(docs/defender.md)).
seealso:
  - module: fleetsec.divest.win_inventory_info
  - module: ansible.windows.win_feature
  - module: ansible.windows.win_service_info
  - name: Get-MpComputerStatus
    description: The cmdlet whose fields RV(status) holds.
    link: https://learn.microsoft.com/powershell/module/defender/get-mpcomputerstatus
author:
  - fleetsec.divest developers (@fleetsec)
"""

EXAMPLES = r"""
- name: Read Defender's state
  fleetsec.divest.win_defender_info:
  register: defender

- name: Judge it as the defender role does
  ansible.builtin.debug:
    msg: "{{ (defender | fleetsec.divest.defender_assess('active', 3)).reason }}"
"""

RETURN = r"""
os:
  description: The operating system, from the registry.
  returned: always
  type: dict
  contains:
    server:
      description:
        - V(true) on Windows Server (ProductType 2 or 3), V(false) on clients - Windows 10/11 Enterprise
          multi-session included, although its ProductType is 3; V(null) when unreadable.
      type: bool
      sample: false
    build:
      description: The build number (C(CurrentBuildNumber)); 14393 is Windows Server 2016.
      type: int
      sample: 22631
    product_type:
      description: 1 workstation, 2 domain controller, 3 server (also Enterprise multi-session).
      type: int
      sample: 1
    multi_session:
      description: Whether the EditionID is C(ServerRdsh) or C(EnterpriseMultiSession).
      type: bool
      sample: false
feature:
  description: The Defender feature (Windows Server only).
  returned: always
  type: dict
  contains:
    name:
      description: V(Windows-Defender), V(Windows-Defender-Features) on Server 2016 (build 14393), V(null) on clients.
      type: str
      sample: Windows-Defender
    installed:
      description: Whether the feature is installed; V(null) on clients or when unreadable.
      type: bool
      sample: true
service:
  description: The C(WinDefend) service.
  returned: always
  type: dict
  contains:
    name:
      description: Always V(WinDefend).
      type: str
      sample: WinDefend
    exists:
      description: Whether the service exists; V(null) when unreadable.
      type: bool
      sample: true
    start_mode:
      description: V(auto), V(manual), V(disabled) (C(Win32_Service.StartMode) in lower case), or V(null).
      type: str
      sample: auto
    state:
      description: V(running), V(stopped) or another C(Win32_Service.State) in lower case, or V(null).
      type: str
      sample: running
status:
  description:
    - C(MSFT_MpComputerStatus), the fields of C(Get-MpComputerStatus) the role uses; a field this
      platform version does not have is V(null).
    - V(null) when it could not be read (see RV(errors)), for example where Defender is not installed.
  returned: always
  type: dict
  contains:
    AMServiceEnabled:
      description: The antimalware service is enabled.
      type: bool
    AntivirusEnabled:
      description: Antivirus is enabled.
      type: bool
    RealTimeProtectionEnabled:
      description: Real-time protection is on.
      type: bool
    AMRunningMode:
      description: V(Normal), V(Passive Mode), V(EDR Block Mode) ...
      type: str
      sample: Normal
    AntivirusSignatureAge:
      description: Age of the antivirus signatures, in days.
      type: int
      sample: 0
    AntivirusSignatureVersion:
      description: Version of the antivirus signatures.
      type: str
      sample: 1.421.1544.0
    AntivirusSignatureLastUpdated:
      description: When the signatures were last updated, ISO 8601 in UTC.
      type: str
      sample: '2026-11-27T06:12:40Z'
    DefenderSignaturesOutOfDate:
      description: Defender considers its signatures out of date.
      type: bool
    IsTamperProtected:
      description: Tamper protection is on (Windows then ignores changes to Defender's settings made outside Windows Security or the management tool).
      type: bool
    AMProductVersion:
      description: The antimalware platform version.
      type: str
      sample: 4.18.24090.11
policy:
  description: Policy values (HKLM, 64-bit view) as numbers; V(null) when the value does not exist.
  returned: always
  type: dict
  contains:
    ForceDefenderPassiveMode:
      description: C(SOFTWARE\Policies\Microsoft\Windows Advanced Threat Protection\ForceDefenderPassiveMode).
      type: int
    DisableAntiSpyware:
      description: C(SOFTWARE\Policies\Microsoft\Windows Defender\DisableAntiSpyware).
      type: int
    DisableRealtimeMonitoring:
      description: C(SOFTWARE\Policies\Microsoft\Windows Defender\Real-Time Protection\DisableRealtimeMonitoring).
      type: int
security_center:
  description:
    - Every C(AntiVirusProduct) row of C(root/SecurityCenter2), C({name, product_state}).
    - V(null) where the namespace does not exist (Windows Server) or could not be read (see RV(errors));
      Windows 10/11 Enterprise multi-session has it.
  returned: always
  type: list
  elements: dict
  sample: [{name: Windows Defender, product_state: 397568}]
reboot_pending:
  description: Whether Windows waits for a restart, and which signs say so.
  returned: always
  type: dict
  contains:
    pending:
      description: Any of RV(reboot_pending.sources).
      type: bool
      sample: false
    sources:
      description:
        - V(component_based_servicing) (the C(Component Based Servicing\RebootPending) key),
          V(windows_update) (C(WindowsUpdate\Auto Update\RebootRequired)),
          V(pending_file_rename_operations) (C(Session Manager) C(PendingFileRenameOperations) not empty).
      type: list
      elements: str
      sample: []
errors:
  description: Sections that could not be read, C({section, message}); the other sections are still valid.
  returned: always
  type: list
  elements: dict
  sample: [{section: status, message: the namespace root\Microsoft\Windows\Defender does not exist (Defender is not installed)}]
"""
