#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: linux_journal
short_description: Record on a Linux host what execute removed from it, as it happens
version_added: 0.1.0
description:
  - Execute records each removal on the host itself, in a small JSON journal, before it starts
    (V(begin)) and when it went through (V(done)). A run that is killed between two removals,
    or while a package manager is still working, leaves the journal saying which products this
    plan removed or was removing; the rerun of the same approved plan reads it (V(read)) and
    treats their absence as progress, not as drift, so it finishes the host with the same
    approval.
  - The journal lives on the host because that is where the removal happens - it survives a
    controller that was killed, a non-persistent fact cache and an AWX job whose facts were
    never saved. The controller keeps the same record in the host's C(divest_outcome) fact.
  - It holds entries for at most five plans (the most recently updated), one entry per product,
    no secret and nothing the host did not already have (product ids, package names, times).
    The file is written atomically, mode 0600, in a directory of mode 0700 owned by root.
author:
  - fleetsec.divest developers (@fleetsec)
options:
  digest:
    description: The approved plan's digest the entries belong to.
    type: str
    required: true
  event:
    description:
      - V(read) returns the plan's entries; V(begin) notes that the removal of a product starts;
        V(done) notes that it went through. A product already V(done) stays V(done) on V(begin).
    type: str
    choices: [read, begin, done]
    default: read
  run_id:
    description: The execute run (recorded with V(begin) and V(done)).
    type: str
  vendor:
    description: The vendor's catalog id (required with V(begin) and V(done)).
    type: str
  product:
    description: The product's catalog id (required with V(begin) and V(done)).
    type: str
  version:
    description: The product's version as planned (recorded).
    type: str
  from_state:
    description: The product's state as planned, V(installed) or V(residual) (recorded).
    type: str
  packages:
    description: The packages removed (recorded with V(done)).
    type: list
    elements: str
    default: []
  path:
    description: The journal file.
    type: path
    default: /var/lib/fleetsec-divest/journal.json
attributes:
  check_mode:
    support: full
    details: V(read) reads as usual; V(begin) and V(done) report the change they would make and write nothing.
  diff_mode:
    support: none
  platform:
    support: full
    platforms: posix
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
notes:
  - An unreadable or malformed journal is reported as a warning and read as empty (it is
    replaced on the next write); nothing else is ever deleted.
seealso:
  - module: fleetsec.divest.linux_remove
  - module: fleetsec.divest.execute_outcome
"""

EXAMPLES = r"""
- name: What this plan removed here in earlier runs
  fleetsec.divest.linux_journal:
    digest: "{{ divest_plan_digest }}"
  register: journal

- name: Note that the removal of kesl starts
  fleetsec.divest.linux_journal:
    digest: "{{ divest_plan_digest }}"
    event: begin
    run_id: 9be8e5eaa984
    vendor: kaspersky
    product: kesl
"""

RETURN = r"""
journal:
  description:
    - The journal as it stands for O(digest) - C(plans) maps the digest to C(products),
      C({"vendor/product" - {state, run_id, at, packages, version, from_state}}), C(state) being
      V(removing) or V(removed).
  returned: always
  type: dict
  sample:
    plans:
      "sha256:5f0c...":
        products:
          kaspersky/klnagent: {state: removed, run_id: 9be8e5eaa984, at: "2026-12-30T10:01:10Z", packages: [klnagent64]}
          kaspersky/ksc64: {state: removing, run_id: 9be8e5eaa984, at: "2026-12-30T10:01:40Z"}
path:
  description: The journal file.
  returned: always
  type: str
"""

import errno
import json
import os
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.fleetsec.divest.plugins.module_utils._linux.host import atomic_write

MAX_BYTES = 1024 * 1024
MAX_PLANS = 5
SCHEMA = 1


def utc_now():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def load(path):
    """``(journal, warning)``: the journal in ``path`` (empty when missing) and why it was not
    usable, if it was not."""
    empty = {"schema": SCHEMA, "plans": {}}
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return empty, None
        return empty, "cannot read the journal %s: %s" % (path, exc.strerror or exc)
    with os.fdopen(fd, "rb") as handle:
        data = handle.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        return empty, "the journal %s is larger than %d bytes: ignored" % (path, MAX_BYTES)
    try:
        journal = json.loads(data.decode("utf-8"))
    except ValueError as exc:
        return empty, "the journal %s is not valid JSON (%s): ignored" % (path, exc)
    if not isinstance(journal, dict) or not isinstance(journal.get("plans"), dict):
        return empty, "the journal %s is not a fleetsec.divest journal: ignored" % path
    plans = {}
    for digest, plan in journal["plans"].items():
        if isinstance(plan, dict) and isinstance(plan.get("products"), dict):
            plans[digest] = plan
    return {"schema": SCHEMA, "plans": plans}, None


def record(journal, digest, event, key, entry, now):
    """The journal with ``event`` for product ``key`` of plan ``digest``; True when it changed."""
    plan = journal["plans"].setdefault(digest, {"products": {}})
    products = plan["products"]
    old = products.get(key)
    if event == "begin" and isinstance(old, dict) and old.get("state") == "removed":
        return False
    new = dict(entry, state="removing" if event == "begin" else "removed", at=now)
    if isinstance(old, dict) and {k: v for k, v in old.items() if k != "at"} == {k: v for k, v in new.items() if k != "at"}:
        return False
    products[key] = new
    plan["updated_at"] = now
    if len(journal["plans"]) > MAX_PLANS:
        keep = sorted(journal["plans"], key=lambda d: journal["plans"][d].get("updated_at") or "", reverse=True)
        journal["plans"] = dict((d, journal["plans"][d]) for d in keep[:MAX_PLANS])
    return True


def main():
    module = AnsibleModule(
        argument_spec=dict(
            digest=dict(type="str", required=True),
            event=dict(type="str", default="read", choices=["read", "begin", "done"]),
            run_id=dict(type="str"),
            vendor=dict(type="str"),
            product=dict(type="str"),
            version=dict(type="str"),
            from_state=dict(type="str"),
            packages=dict(type="list", elements="str", default=[]),
            path=dict(type="path", default="/var/lib/fleetsec-divest/journal.json"),
        ),
        required_if=[("event", "begin", ("vendor", "product")), ("event", "done", ("vendor", "product"))],
        supports_check_mode=True,
    )
    params = module.params
    path = params["path"]
    journal, warning = load(path)
    if warning:
        module.warn(warning)
    changed = False
    if params["event"] != "read":
        entry = {"run_id": params["run_id"]}
        for key in ("version", "from_state"):
            if params[key] is not None:
                entry[key] = params[key]
        if params["event"] == "done":
            entry["packages"] = params["packages"]
        key = "%s/%s" % (params["vendor"], params["product"])
        changed = record(journal, params["digest"], params["event"], key, entry, utc_now())
        if changed and not module.check_mode:
            directory = os.path.dirname(path)
            try:
                if not os.path.isdir(directory):
                    os.makedirs(directory, 0o700)
                atomic_write(path, json.dumps(journal, sort_keys=True, indent=1).encode("utf-8"), 0o600)
            except OSError as exc:
                module.fail_json(msg="cannot write the journal %s: %s" % (path, exc.strerror or exc), path=path)
    plan = journal["plans"].get(params["digest"])
    module.exit_json(changed=changed, path=path, journal={"plans": {params["digest"]: plan} if plan else {}})


if __name__ == "__main__":
    main()
