# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file only documents the module: the work is done on the controller by the action plugin
# plugins/action/removal_plan.py.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: removal_plan
short_description: Plan the removal of a banned vendor's products across the fleet (BOD 17-01 day 60)
version_added: 0.1.0
author:
  - fleetsec.divest developers (@fleetsec)
description:
  - Builds the removal plan for a set of hosts from their C(divest) facts (set by
    M(fleetsec.divest.vendor_facts)) and a policy, and writes it on the controller as
    C(divest-plan.json), C(divest-plan.yml), C(divest-plan.md) and one self-contained C(divest-plan.html) page (the
    document an agency can hand in as its day-60 plan).
  - "Every affected or residual host the policy selects lands in exactly one wave: a canary
    wave, then waves by size, by percentage or by inventory group; Security Center
    Administration Servers (hosts with a C(management) product) go in the last wave. Clean
    hosts are listed as clean; hosts without findings, or with findings older than
    O(policy.max_age), are listed as not scanned."
  - "Per host, the actions follow the removal recipe: install the replacement antivirus
    (ClamAV on Linux, Microsoft Defender on Windows), remove each product (protection, then
    agent, tools, management; C(removal.order) breaks ties), clean up leftovers, block
    reinstallation, verify. Each removal carries the finding's recipe, so execute never needs
    the catalog."
  - Anything a machine cannot decide is a blocker on the host (unknown product, manual step,
    uninstall password required but not configured, no replacement without a waiver,
    exception in force, incomplete scan). A blocked host keeps its wave; execute leaves it
    alone.
  - The plan carries a digest, C(sha256:<hex>), computed over its canonical JSON without
    C(digest) and C(generated_at), with every host's entry committed through a hash tree, so
    that one host's part can be checked against the digest alone (C(docs/plan.md), section Digest).
    The same input gives the same digest; execute acts only on a plan whose digest the
    operator passes in.
  - "Vendor-wide knowledge comes from the catalogs (O(catalogs)) and goes into every Linux
    host's actions, so the digest covers it: the vendor's own directories (residue outside them
    is refused unless a recipe marks a file as the vendor's), its repository patterns, and every
    package name the catalog knows (the reinstall block covers them all)."
  - Runs on the controller only and never contacts a managed host; use it once per play
    (C(run_once) or a play on C(localhost)). Facts are read from the fact caches in Python,
    so the cost is linear in the number of hosts.
  - See C(docs/plan.md) in the collection for the document, the digest rule and the policy.
options:
  hosts:
    description:
      - Inventory names of the hosts to plan, for example C(groups['linux']).
      - A name the inventory does not know is listed as not scanned.
      - Give exactly one of O(hosts) or O(pattern).
    type: list
    elements: str
  pattern:
    description:
      - An inventory host pattern (V(all), V(linux:&prod), V(web*)); the hosts it matches are
        planned, as with C(query('inventory_hostnames', pattern\)) (C(--limit) does not apply).
      - Resolved by the action from the inventory, which is much faster at fleet scale than
        passing a list of 10,000 names through templating.
      - Give exactly one of O(hosts) or O(pattern).
    type: str
  policy:
    description:
      - The plan policy. Recorded in the plan (it is part of the digest). Only whether an
        uninstall password is configured is ever given, never a password.
      - These suboptions are the action's argument spec (types, defaults, choices, one kind of
        wave); an invalid policy fails the task with a message naming the key, before any
        host is read.
    type: dict
    default: {}
    suboptions:
      max_age:
        description:
          - Findings older than this are not used; such hosts are listed as not scanned.
          - A duration such as V(24h), V(7d), V(1d12h) (units C(s), C(m), C(h), C(d), C(w)) or
            seconds. Empty or V(0) means no limit.
        type: raw
      scan:
        description:
          - Whether the playbook scanned hosts without fresh findings first. Recorded only.
        type: bool
        default: true
      directive_start:
        description:
          - Day 0 of the directive (a date, V(2026-10-01)). The plan shows day 30
            (identify), day 60 (plan) and day 90 (begin removal).
        type: str
      replacement:
        description:
          - Replacement antivirus per platform, installed and healthy before anything is removed.
          - V(none) leaves the host without a replacement and is a blocker unless
            O(policy.replacement_waiver) gives a reason.
        type: dict
        suboptions:
          linux:
            description:
              - The replacement on Linux hosts (any case; null means V(none)).
            type: str
            choices: [clamav, none]
            default: clamav
          windows:
            description:
              - The replacement on Windows hosts (any case; null means V(none)).
            type: str
            choices: [defender, none]
            default: defender
      replacement_waiver:
        description:
          - A reason (text) that allows O(policy.replacement=none) on every platform, or a
            mapping of platform (V(linux), V(windows)) to reason.
        type: raw
      waves:
        description:
          - C(canary), then at most one of C(size), C(percent) or C(by_group) (they are mutually
            exclusive). Without any of them the remaining hosts form one wave. Management
            servers always come last.
        type: dict
        default: {}
        suboptions:
          canary:
            description:
              - Number of hosts in the first wave, taken in turn from each platform among hosts
                without blockers. V(0) for no canary wave.
            type: int
            default: 0
          size:
            description:
              - Hosts per wave (at least 1).
            type: int
          percent:
            description:
              - Share of the remaining hosts per wave (rounded up), a number above 0 and at most
                100 or a text such as V(12.5%).
            type: raw
          by_group:
            description:
              - Inventory groups, one wave each in this order, then the remaining hosts. A list
                (a text is refused, not split at commas); each group once.
            type: list
            elements: str
      exceptions:
        description:
          - Hosts held back. In force until the end of the expiry day (UTC), an exception is a
            blocker on the host; an expired one is ignored and noted.
        type: list
        elements: dict
        default: []
        suboptions:
          host:
            description:
              - Inventory name of the host.
            type: str
            required: true
          reason:
            description:
              - Why the host is held back (shown in the plan).
            type: str
            required: true
          expires:
            description:
              - The last day of the exception, a date (V(2026-12-31)).
            type: str
            required: true
      selector:
        description:
          - A JMESPath expression evaluated for every affected, residual or unknown-status
            host against C(host), C(groups), C(status), C(platform) (C(system),
            C(distribution), C(version)), C(findings) and C(scanned_at). A truthy result
            plans the host; otherwise it is listed as not selected.
          - "Examples: V(contains(groups, 'prod')), V(platform.system == 'Linux'),
            V(length(findings[?product == 'kesl']\\) > `0`)."
          - Text only (a number is refused, not turned into an expression).
        type: str
      passwords:
        description:
          - Whether an uninstall password is configured, per V(vendor) or V(vendor/product)
            (the product key wins), as a mapping to booleans or a list of the keys that have
            one. Any other value only counts as "configured"; it is never copied.
        type: raw
  dest:
    description:
      - Directory on the controller to write the files to. Created when missing.
      - A relative path is relative to the current directory of C(ansible-playbook).
    type: path
    default: divest-reports
  formats:
    description:
      - The files to write, named C(plan.<format>) in O(dest).
    type: list
    elements: str
    choices: [json, yml, html, md]
    default: [json, yml, html, md]
  catalogs:
    description:
      - Vendor catalogs, by shipped name (V(kaspersky)) or path, the same as identify used.
        The plan takes from them what execute needs of each vendor as a whole (its directories,
        repository patterns and package names); a catalog that cannot be loaded stops the run.
    type: list
    elements: str
    default: [kaspersky]
  store_host_facts:
    description:
      - Store each planned host's part of the plan as its C(divest_plan) fact in the configured
        fact cache, in this one task - the host's entry (C(wave), C(actions), C(expect),
        C(blockers) ...) with C(digest) and C(proof), the hash-tree path that lets execute check
        the part against the approved digest without the plan file. AWX and the jsonfile cache
        keep it for execute. A part that did not change is not rewritten.
      - With the non-persistent C(memory) cache nothing is stored and a warning says so.
    type: bool
    default: false
  mode:
    description:
      - V(plan) builds and writes the plan.
      - V(stale) only returns RV(stale_hosts), the hosts without findings or with findings
        older than O(policy.max_age), with the same rule the plan uses. Nothing is written.
      - V(auto) returns RV(stale_hosts) too, and builds and writes the plan at once when none
        of them is to be scanned (there are none, or O(policy.scan) is V(false)); RV(planned)
        says whether it did. The plan playbook uses it so that the fleet's facts are read once
        when every finding is fresh.
    type: str
    choices: [plan, stale, auto]
    default: plan
  return_plan:
    description:
      - Return the whole plan document as RV(plan). Turn it off for large fleets when the files
        are enough.
    type: bool
    default: true
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
attributes:
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
    details:
      - Set C(run_once) to V(true), or run it in a play on C(localhost).
  check_mode:
    support: full
    details:
      - Builds the plan and returns it with its digest and RV(changed) (whether a file or a
        host fact would change), but writes no file and stores no fact. Identify returns real
        findings under C(--check), so the digest is the one a real run would produce, unless
        the scan results change in between.
  diff_mode:
    support: full
    details:
      - Shows one line per host (wave, products, blockers) of the previous C(divest-plan.json) and of
        the new plan.
  platform:
    support: full
    platforms: all
    details:
      - Runs on the controller only; the managed hosts can be Linux or Windows.
notes:
  - Plan files are controller artifacts. Under AWX they disappear with the job unless
    O(dest) is on persistent storage; the digest and the counts are kept by publishing
    RV(summary) with M(ansible.builtin.set_stats), and each host's part by O(store_host_facts).
  - The host parts are written to the fact cache directly. Do not update the same hosts'
    facts later in the same playbook run (for example with C(gather_facts)) or the fact cache
    may write back an older copy without C(divest_plan); the plan playbook plans last.
  - With AWX job slicing, each slice would plan only its own hosts; run the plan job without
    slicing.
seealso:
  - module: fleetsec.divest.vendor_facts
  - module: fleetsec.divest.report
  - module: ansible.builtin.set_stats
"""

EXAMPLES = r"""
- name: Plan the removal on every host of the inventory
  fleetsec.divest.removal_plan:
    pattern: all
    dest: divest-reports
    policy:
      max_age: 7d
      directive_start: "2026-10-01"
      waves: {canary: 2, percent: 25}
      exceptions:
        - {host: lab-db1, reason: "vendor support contract until the migration", expires: "2026-12-31"}
    store_host_facts: true
    return_plan: false
  run_once: true
  register: divest_plan

- name: Keep the digest and the counts as an AWX job artifact
  ansible.builtin.set_stats:
    data:
      divest_plan: "{{ divest_plan.summary }}"
  run_once: true

- name: One wave per group, Windows desktops only, KES protected by a password
  fleetsec.divest.removal_plan:
    hosts: "{{ groups['windows'] }}"
    policy:
      waves: {canary: 1, by_group: [desktops_pilot, desktops]}
      selector: "contains(groups, 'desktops') || contains(groups, 'desktops_pilot')"
      passwords: {kaspersky/kes: true}
  run_once: true

- name: Which hosts need a fresh scan before planning?
  fleetsec.divest.removal_plan:
    pattern: all
    policy: {max_age: 24h}
    mode: stale
  run_once: true
  register: divest_stale
"""

RETURN = r"""
digest:
  description: The plan's digest; pass it to execute to approve the plan.
  returned: when the plan was built
  type: str
  sample: "sha256:9f2c5d0e6b0b4e8f3c1c1e5d1c7d2a3f4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e"
summary:
  description:
    - Compact counts, small enough for M(ansible.builtin.set_stats).
  returned: when the plan was built
  type: dict
  contains:
    digest:
      description: The plan's digest.
      type: str
    generated_at:
      description: When the plan content was produced (UTC); unchanged while the digest is.
      type: str
      sample: "2026-11-28T12:00:00Z"
    hosts:
      description: Host counts (C(total), C(planned), C(ready), C(blocked), C(clean),
        C(not_selected), C(not_scanned)).
      type: dict
      sample: {total: 1200, planned: 140, ready: 131, blocked: 9, clean: 1050, not_selected: 0, not_scanned: 10}
    waves:
      description: Hosts per wave, in wave order (at most 50; C(waves_truncated) counts the rest).
      type: dict
      sample: {canary: 2, wave-1: 35, wave-2: 35, wave-3: 35, wave-4: 31, management: 2}
    blockers:
      description: Hosts per blocker kind (kinds with at least one host).
      type: dict
      sample: {not_scanned: 10, password_required: 7, exception: 2}
    exceptions:
      description: Exceptions C(in_force) and C(expired).
      type: dict
      sample: {in_force: 2, expired: 1}
    products:
      description: Planned hosts per product, keyed C(vendor/product) (at most 50).
      type: dict
      sample: {kaspersky/kesl: 120, kaspersky/klnagent: 118, kaspersky/ksc64: 2}
files:
  description: Path of each plan file, by format (written, up to date, or in check mode would be written).
  returned: when the plan was built
  type: dict
  sample:
    json: /home/ops/divest-reports/divest-plan.json
    yml: /home/ops/divest-reports/divest-plan.yml
    html: /home/ops/divest-reports/divest-plan.html
    md: /home/ops/divest-reports/divest-plan.md
changed_files:
  description: Files whose content changed (in check mode, would change).
  returned: when the plan was built
  type: list
  elements: str
host_facts:
  description: What O(store_host_facts) did. C(stored) parts written, C(unchanged) parts already
    there, C(cache) the fact cache plugin; C(skipped) says why nothing was stored.
  returned: when O(store_host_facts=true)
  type: dict
  sample: {stored: 140, unchanged: 0, cache: ansible.builtin.jsonfile}
plan:
  description:
    - The plan document (C(docs/plan.md)) - C(schema), C(kind), C(digest), C(generated_at),
      C(directive), C(policy), C(summary), C(waves), C(hosts), C(clean), C(not_selected),
      C(not_scanned), C(exceptions), C(notes).
  returned: when the plan was built and O(return_plan=true)
  type: dict
stale_hosts:
  description: Hosts without findings or with findings older than O(policy.max_age), natural order.
  returned: mode is stale or auto
  type: list
  elements: str
  sample: [web10, web11]
hosts:
  description: Number of hosts looked at.
  returned: mode is stale or auto
  type: int
  sample: 1200
fresh:
  description: Number of hosts with fresh findings.
  returned: mode is stale or auto
  type: int
  sample: 1198
planned:
  description: Whether the plan was built and written (always V(true) in mode V(plan)).
  returned: always
  type: bool
changed:
  description: Whether a plan file or a host's C(divest_plan) fact changed (in check mode, would change).
  returned: always
  type: bool
"""
