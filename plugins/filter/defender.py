# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: defender_assess
short_description: Judge whether Microsoft Defender Antivirus is ready to take over, or protects the host
version_added: 0.1.0
author:
  - fleetsec.divest developers (@fleetsec)
description:
  - Turns a M(fleetsec.divest.win_defender_info) result into a verdict for one stage of the role
    C(fleetsec.divest.defender); the rules are in C(plugins/plugin_utils/_defender.py) of the collection.
  - Stage V(ready) - the vendor's product is still there (on Windows 10/11 Defender is then in
    disabled mode, which is normal). Healthy when the engine can take over - on Windows Server
    the Defender feature installed (and no restart pending for it), the C(WinDefend) service
    present and not disabled, the status readable and the signatures no older than the limit.
  - Stage V(active) - healthy when C(AMServiceEnabled), C(AntivirusEnabled) and
    C(RealTimeProtectionEnabled) are true, the running mode is C(Normal) (where reported), the
    signatures are no older than the limit and, where Security Center exists (clients), it lists
    an enabled Defender entry (C(productState) middle byte C(0x10) or C(0x11)).
  - The reason is one line that names every cause (disabled, passive, forced passive by policy,
    signatures N days old, service missing, feature not installed, restart needed, tamper
    protection refusing a change, another antivirus still registered ...).
positional: stage, max_signature_age_days
options:
  _input:
    description: The registered result of M(fleetsec.divest.win_defender_info).
    type: dict
    required: true
  stage:
    description: V(ready) or V(active).
    type: str
    choices: [ready, active]
    default: active
  max_signature_age_days:
    description: The oldest signatures accepted, in days (C(AntivirusSignatureAge)).
    type: int
    default: 3
  reboot_required:
    description: The Defender feature was just installed and M(ansible.windows.win_feature) said a restart is required.
    type: bool
    default: false
  failures:
    description: Remediation steps that failed, C([{step, message}]), named in the reason when the host is not healthy.
    type: list
    elements: dict
    default: []
  eicar:
    description:
      - Stage V(active) - the outcome of the optional EICAR proof, C({detected, detail}); V(null) when not tried.
      - C(detected=false) makes the host not healthy.
    type: dict
  settings:
    description:
      - The role's settings C({install_feature, reenable, update_source}). When given, the result
        also has C(steps) - the needed remediation steps the role runs with them.
    type: dict
"""

EXAMPLES = r"""
- name: Read Defender's state
  fleetsec.divest.win_defender_info:
  register: defender_info

- name: Fail unless Defender protects the host
  ansible.builtin.assert:
    that: verdict.healthy
    fail_msg: "{{ verdict.reason }}"
  vars:
    verdict: "{{ defender_info | fleetsec.divest.defender_assess('active', 3) }}"

- name: Which steps the role would run before the vendor's product is removed
  ansible.builtin.debug:
    msg: >-
      {{ (defender_info | fleetsec.divest.defender_assess('ready', 3,
          settings={'install_feature': true, 'reenable': true, 'update_source': 'default'})).steps }}
"""

RETURN = r"""
_value:
  description: The verdict, recorded by the role as the host fact C(divest_replacement_health).
  type: dict
  contains:
    product:
      description: Always V(defender).
      type: str
    stage:
      description: The stage judged.
      type: str
    healthy:
      description: Ready to take over (V(ready)) or protecting the host (V(active)).
      type: bool
    checked:
      description: V(false) when the input holds no state at all.
      type: bool
    reason:
      description: One line saying why.
      type: str
    version:
      description: C(AMProductVersion), the antimalware platform version.
      type: str
    signatures:
      description: C({version, age_days}).
      type: dict
    running_mode:
      description: C(AMRunningMode) (V(Normal), V(Passive Mode) ...).
      type: str
    tamper_protected:
      description: C(IsTamperProtected).
      type: bool
    security_center:
      description: Whether Security Center lists an enabled Defender entry; V(null) where it does not exist (Windows Server).
      type: bool
    passive_mode_forced:
      description: The C(ForceDefenderPassiveMode) policy value, V(null) when not set.
      type: int
    reboot_needed:
      description: Windows must restart before Defender can run (a feature just installed).
      type: bool
    remediation:
      description:
        - The steps still needed, in order, from V(install_feature), V(reboot), V(clear_passive_mode),
          V(clear_policy), V(start_service), V(update_signatures), V(enable_realtime).
      type: list
      elements: str
    eicar:
      description: Whether the EICAR test file was removed; V(null) when not tried.
      type: bool
    steps:
      description: Only with O(settings) - the steps of RV(_value.remediation) the role runs (never V(reboot)).
      type: list
      elements: str
"""

from ansible.errors import AnsibleFilterError

# ansible-core loads every filter file of the collection in each worker process (one per host
# and task) to find one filter by name: the logic is imported when this filter is called.


def defender_assess(info, stage="active", max_signature_age_days=3, reboot_required=False, failures=None,
                    eicar=None, settings=None):
    from ansible_collections.fleetsec.divest.plugins.plugin_utils import _defender

    if not isinstance(info, dict):
        raise AnsibleFilterError("defender_assess: the input must be a win_defender_info result (a mapping)")
    try:
        result = _defender.assess(info, stage, max_signature_age_days, bool(reboot_required), eicar)
    except ValueError as error:
        raise AnsibleFilterError("defender_assess: %s" % error)
    result = _defender.with_step_failures(result, failures or [])
    if settings is not None:
        if not isinstance(settings, dict):
            raise AnsibleFilterError("defender_assess: settings must be a mapping")
        result["steps"] = _defender.runnable(result["remediation"], **_settings(settings))
    return result


def _settings(settings):
    out = {}
    for name in ("install_feature", "reenable"):
        if name in settings:
            out[name] = settings[name] not in (False, 0, "false", "False", "no")
    if "update_source" in settings:
        out["update_source"] = str(settings["update_source"])
    return out


class FilterModule(object):
    def filters(self):
        return {"defender_assess": defender_assess}
