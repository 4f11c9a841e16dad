# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file only documents the module: the work is done on the controller by the action plugin
# plugins/action/report.py.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: report
short_description: Write the fleet report (JSON, CSV, HTML) from the hosts' divest facts
version_added: 0.1.0
author:
  - fleetsec.divest developers (@fleetsec)
description:
  - Builds one report for a set of hosts from their C(divest) facts (set by
    M(fleetsec.divest.vendor_facts)) and writes it on the controller as JSON (for machines),
    CSV (for spreadsheets and agency reporting) and one self-contained HTML page (for people).
  - Runs on the controller only and never contacts the managed hosts. Use it with
    the C(run_once) keyword set to V(true). It reads the facts of every host listed in O(hosts) from C(hostvars) in
    Python, so its cost is linear in the number of hosts.
  - Every host appears in the report. A host with the fact has the status of its scan
    (V(clean), V(affected), V(residual), V(unknown)); a host with the O(scan_result) variable
    (registered by the identify role's scan task) saying the host was unreachable or its scan failed is
    V(unreachable) or V(failed); a host with neither is V(not_scanned).
  - Values reported by hosts are treated as hostile. HTML output is escaped, CSV cells that a
    spreadsheet would read as a formula are prefixed with C('), control and bidi characters
    are replaced, and values longer than 512 characters are shortened in HTML and CSV (the
    JSON file keeps every value in full).
  - The files are written atomically with mode C(0644); the directory is created when
    missing. A file whose content would not change is left alone; when only the generation
    time would differ, nothing is rewritten and RV(changed) is V(false).
  - See C(docs/reports.md) in the collection for the content of each file.
options:
  phase:
    description:
      - Which report to write. Files are named C(divest-<phase>.<format>) in O(dest).
      - V(identify) - the fleet's findings (BOD 17-01 day 30), from each host's C(divest) fact.
      - V(execute) - before and after of the removal (day 90 on) - what the approved plan expected
        on each host and what happened (its C(divest_outcome) fact, written by the execute role),
        with counts toward the directive. Needs O(gate). In check mode the files are named
        C(divest-execute-check.<format>), so that a dry run never replaces the report of a real
        one. See C(docs/execute.md).
    type: str
    choices: [identify, execute]
    default: identify
  dest:
    description:
      - Directory on the controller to write the files to. Created when missing.
      - A relative path is relative to the current working directory of C(ansible-playbook)
        (in AWX, the project directory of the job).
      - The roles pass C(divest_report_dir), default C(divest-reports).
    type: path
    required: true
  hosts:
    description:
      - The hosts to report on.
      - Defaults to C(ansible_play_hosts_all), every host of the play, including the ones that
        failed or were unreachable.
      - A name the inventory does not know is reported as V(not_scanned).
      - Mutually exclusive with O(pattern).
    type: list
    elements: str
  pattern:
    description:
      - The hosts to report on, as an inventory pattern (V(all), V(linux:&prod)), resolved in the
        inventory without C(--limit), as the plan resolves its hosts. The report-only playbook
        (C(fleetsec.divest.report)) rebuilds the fleet report this way from the fact cache, in a
        play on C(localhost) that contacts no host.
      - Mutually exclusive with O(hosts).
    type: str
  formats:
    description:
      - The files to write.
    type: list
    elements: str
    choices: [json, csv, html]
    default: [json, csv, html]
  fact:
    description:
      - Name of the host fact holding the scan result. Read from C(ansible_facts[fact]), or
        from a host variable of that name when the facts do not have it.
    type: str
    default: divest
  scan_result:
    description:
      - Name of the host variable that records why a host has no scan result.
      - Either the result the scan task registered (the identify role registers
        C(divest_scan) with C(ignore_unreachable); C(unreachable) or C(failed) in it make the
        host V(unreachable) or V(failed)), or a dictionary with C(kind) (V(unreachable) or
        V(failed)) and C(message).
    type: str
    default: divest_scan
  gate:
    description:
      - Execute report only - the name of the variable holding the result of
        M(fleetsec.divest.plan_gate) (registered in the gate play). Its hosts (in wave order,
        then the targeted hosts that are not in the plan) are the report's hosts unless O(hosts)
        is given.
    type: str
    default: divest_gate
  stats:
    description:
      - Also publish RV(summary) as a custom statistic under this name, exactly as
        M(ansible.builtin.set_stats) with C(per_host=false) would (AWX workflows read it as an
        artifact), without a task of its own. Not published when omitted.
    type: str
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
      - Set the C(run_once) keyword to V(true) so that the report is written once per play.
  check_mode:
    support: full
    details:
      - Reports are controller artifacts, not changes to managed hosts, so they are written
        in check mode too and describe what the scan found (identify returns real findings
        under C(--check)). RV(changed) says whether a file's content changed.
  diff_mode:
    support: none
  platform:
    support: full
    platforms: all
    details:
      - Runs on the controller only; the managed hosts can be Linux or Windows.
notes:
  - Reports are files on the controller. Under AWX or Automation Platform they disappear with
    the job's execution environment; publish RV(summary) with M(ansible.builtin.set_stats) to
    keep the counts as a job artifact, and keep the facts in the fact cache.
  - With AWX job slicing each slice writes the report of its own hosts.
seealso:
  - module: fleetsec.divest.vendor_facts
  - module: fleetsec.divest.plan_gate
  - module: ansible.builtin.set_stats
"""

EXAMPLES = r"""
- name: Write the identify report of every host of the play
  fleetsec.divest.report:
    phase: identify
    dest: "{{ divest_report_dir | default('divest-reports') }}"
  run_once: true
  register: divest_report

- name: Same, and publish the counts as an AWX job artifact (set_stats) in the same task
  fleetsec.divest.report:
    phase: identify
    dest: divest-reports
    stats: divest_identify
  run_once: true

- name: Write the execute report from the gate's result (in the play after the execute play)
  fleetsec.divest.report:
    phase: execute
    dest: divest-reports
    gate: divest_gate
    stats: divest_execute
  run_once: true

- name: Only the CSV, for the hosts of one group
  fleetsec.divest.report:
    dest: /srv/reports/bod-17-01
    hosts: "{{ groups['windows'] }}"
    formats: [csv]
  run_once: true
"""

RETURN = r"""
files:
  description: Path of each file written (or already up to date), by format.
  returned: success
  type: dict
  sample:
    json: /home/ops/divest-reports/divest-identify.json
    csv: /home/ops/divest-reports/divest-identify.csv
    html: /home/ops/divest-reports/divest-identify.html
summary:
  description:
    - Compact counts, small enough for M(ansible.builtin.set_stats).
    - For the execute report - C(report), C(generated_at), C(digest), C(run_id), C(check_mode),
      C(hosts), C(status) (hosts by outcome), C(vendor_free), C(still_affected), C(not_in_plan),
      C(stopped_after); the keys below that only the identify report has are absent.
    - C(status) has every status with its number of hosts; C(products) has the number of hosts
      carrying each product, keyed C(vendor/product) (at most 50, most frequent first;
      C(products_truncated) is set when some were left out).
    - C(generated_at) is when the report content was produced; it stays the same while the
      content does not change.
  returned: success
  type: dict
  contains:
    report:
      description: The report written (V(identify), V(execute), V(execute-check)).
      type: str
      sample: identify
    generated_at:
      description: UTC time the report content was produced, ISO 8601.
      type: str
      sample: "2026-11-27T10:05:00Z"
    hosts:
      description: Number of hosts in the report.
      type: int
      sample: 120
    status:
      description: Number of hosts by status.
      type: dict
      sample: {affected: 12, residual: 3, unknown: 1, failed: 1, unreachable: 2, not_scanned: 0, clean: 101}
    products:
      description: Number of hosts carrying each product, keyed C(vendor/product).
      type: dict
      sample: {kaspersky/kesl: 9, kaspersky/kes_win: 3, kaspersky/leftovers: 3}
    products_truncated:
      description: Present and V(true) when more than 50 products were found.
      type: bool
      returned: when products were left out
      sample: true
changed:
  description: Whether the content of at least one file changed.
  returned: always
  type: bool
  sample: false
"""
