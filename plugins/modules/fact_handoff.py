# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file only documents the module: the work is done on the controller by the action plugin
# plugins/action/fact_handoff.py.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: fact_handoff
short_description: Carry findings, plan parts and outcomes between AWX jobs
version_added: 0.1.0
author:
  - fleetsec.divest developers (@fleetsec)
description:
  - AWX (Automation Controller) hands host facts from job to job through the jsonfile fact cache
    - it writes each host's stored facts as C(<fact cache dir>/<host>) before a job and reads the
    same files back after it. ansible-core 2.19 and later name the plugin's files
    C(s1_<host>) instead (ansible/ansible#85874), so without this step facts travel in neither
    direction. And AWX stores no facts for a job sliced into more than one slice
    (ansible/awx#13863).
  - O(step=start), before the job's work - each host with AWX's C(<host>) file and no entry of the
    plugin gets that file's facts (ansible-core 2.19+ only); with O(store), each host whose stored
    findings are newer than its cached ones gets them.
  - O(step=finish), after the job's work - with O(store), each host's findings are written to the
    store; in an AWX job (C(awx_job_id) set), each host's facts are written back under AWX's naming,
    AWX's facts with this job's over them (ansible-core 2.19+ only).
  - FAILS with one message when O(phase=identify), this job is one slice of a sliced AWX job
    template and no O(store) is set - the slice's findings would be lost.
  - Runs on the controller only and never contacts a managed host. The playbooks run it on
    C(localhost) with C(run_once).
options:
  step:
    description: C(start) before the job's work, C(finish) after it.
    type: str
    required: true
    choices: [start, finish]
  phase:
    description: The playbook it runs in.
    type: str
    required: true
    choices: [identify, plan, execute, report]
  hosts:
    description: The hosts to hand over (inventory host names); default all hosts of O(pattern).
    type: list
    elements: str
  pattern:
    description: Inventory host pattern of the hosts, when O(hosts) is not given.
    type: str
    default: all
  store:
    description:
      - Directory of the findings store, on a persistent path (V(""), the default - none). Each
        host's findings are kept as C(<store>/<host>.json).
    type: str
    default: ""
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
    details: Use it with C(run_once).
  check_mode:
    support: full
    details: Hands the facts over in check mode too (identify returns real findings under check mode).
  diff_mode:
    support: none
  platform:
    support: full
    platforms: all
seealso:
  - name: AWX fact caching
    description: How AWX stores facts between jobs.
    link: https://docs.ansible.com/automation-controller/latest/html/userguide/job_templates.html#fact-caching
"""

EXAMPLES = r"""
- name: Take AWX's stored facts in (first task of a play on localhost)
  fleetsec.divest.fact_handoff:
    step: start
    phase: plan
    store: /srv/divest/findings
  run_once: true
"""

RETURN = r"""
hosts:
  description: How many hosts were considered.
  returned: success
  type: int
naming:
  description: V(prefixed) when ansible-core's file names differ from AWX's (2.19+), V(awx) when they are the same, V(none) for a cache that is not jsonfile.
  returned: success
  type: str
loaded:
  description: Hosts whose facts were taken from AWX's files.
  returned: success
  type: int
saved:
  description: Hosts whose facts were written back under AWX's naming.
  returned: success
  type: int
store_loaded:
  description: Hosts whose findings were taken from the store.
  returned: success
  type: int
store_saved:
  description: Hosts whose findings were written to the store.
  returned: success
  type: int
unreadable:
  description:
    - Files that could not be read at the start step (not JSON, not an object, no findings mapping), each with the
      host and why; their hosts' facts were not taken in from them, so they count as never scanned (the plan scans
      them again, execute refuses them). A warning names them too. The files are left as they are.
  returned: success
  type: list
  elements: dict
  contains:
    host:
      description: The host.
      type: str
    source:
      description: V(awx) for AWX's fact file, V(store) for the findings store.
      type: str
    reason:
      description: Why it could not be read.
      type: str
  sample: [{"host": "web1", "source": "awx", "reason": "Unterminated string starting at: line 1 column 24 (char 23)"}]
sliced:
  description: Whether this job is one slice of a sliced AWX job template.
  returned: success
  type: bool
msg:
  description: What was handed over.
  returned: success
  type: str
"""
