# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: role_var
short_description: Type a role variable given by an AWX survey, -e or an inventory, by the role's argument spec
version_added: 0.1.0
author:
  - fleetsec.divest developers (@fleetsec)
description:
  - An AWX survey answers with text, integers or a list (multiple select), never with a mapping or a
    list of mappings, and C(-e key=value) gives text. This filter reads the variable's spec in the
    role's C(meta/argument_specs.yml) and returns the value with that type, so that the roles
    work with what a survey gives.
  - A list takes a list, JSON text of a list, or text with one item per line or comma-separated.
    A list of mappings takes JSON text, or one mapping per line with its fields in the spec's
    order separated by C(|) (for example C(web1 | 2026-12-31 | change freeze)).
  - A mapping takes a mapping, JSON text of an object, or C(key=value) pairs separated by commas
    or new lines. An integer takes its text (C("10")); a boolean C(true)/C(false), C(yes)/C(no),
    C(on)/C(off), C(1)/C(0). Empty text is an empty list or mapping. Choices are checked.
  - Anything else fails with a message that names the variable and says what it accepts; the
    value of a C(no_log) option is never shown.
  - The rules are in C(plugins/plugin_utils/_survey.py) of the collection; C(docs/awx.md) lists
    the survey type to use for each variable.
positional: role, name
options:
  _input:
    description: The variable's value as given.
    type: raw
    required: true
  role:
    description: The collection's role whose C(meta/argument_specs.yml) documents the variable (V(identify), V(plan), V(execute), V(clamav)).
    type: str
    required: true
  name:
    description: The variable's name, as in the argument spec (the C(main) entry point first, then the others).
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Write one PrivateMirror line per mirror, even when a survey gave "m1.example, m2.example"
  ansible.builtin.template:
    src: freshclam.conf.j2
    dest: /etc/clamav/freshclam.conf
    mode: "0644"
  vars:
    mirrors: "{{ divest_clamav_private_mirrors | fleetsec.divest.role_var('clamav', 'divest_clamav_private_mirrors') }}"
"""

RETURN = r"""
_value:
  description: The value with the type of the variable's spec.
  type: raw
"""

import functools
import os

import yaml

from ansible.errors import AnsibleFilterError

# ansible-core loads every filter file of the collection in each worker process (one per host
# and task) to find one filter by name: the logic is imported when this filter is called.

ROLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "roles")


@functools.lru_cache(maxsize=None)
def role_options(role):
    """``{name: spec}`` of every option of the collection role ``role`` (the ``main`` entry point
    first, then the others in file order)."""
    if not isinstance(role, str) or not role or os.sep in role or role.startswith("."):
        raise AnsibleFilterError("role_var: unknown role %r" % (role,))
    path = os.path.join(ROLES, role, "meta", "argument_specs.yml")
    try:
        with open(path, encoding="utf-8") as handle:
            specs = (yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}).get("argument_specs") or {}
    except OSError:
        raise AnsibleFilterError("role_var: the collection has no role %r (no %s)" % (role, path))
    options = {}
    for entry in sorted(specs, key=lambda e: e != "main"):
        for name, spec in (specs[entry].get("options") or {}).items():
            options.setdefault(name, spec)
    return options


def role_var(value, role, name):
    from ansible_collections.fleetsec.divest.plugins.plugin_utils._survey import SurveyError, coerce

    spec = role_options(role).get(name)
    if spec is None:
        raise AnsibleFilterError("role_var: role %s documents no variable %r in meta/argument_specs.yml" % (role, name))
    try:
        return coerce(value, spec, name)
    except SurveyError as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule(object):
    def filters(self):
        return {"role_var": role_var}
