# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Argument specs on the controller: ansible-core's ``ArgumentSpecValidator``, with messages that
name each option by its path, the way a user writes it.

The actions validate their arguments with :func:`validate` (``plugin_utils._action``), and the
planner the plan policy (``_planner.POLICY_SPEC``), so a rule such as "``waves.size`` is an
integer" is said once, in a spec, and the message reads ``waves.size must be an integer, got
'ten'`` rather than ``argument 'size' is of type str found in 'waves'. and we were unable to
convert to int: ...``.

The validator reports its errors as text only. :func:`validate` recognises the messages it
words itself (the same from ansible-core 2.16 to 2.21: a wrong type, a value outside the
choices, a missing, unknown or conflicting option) and reads the option's spec and the value
given by their path; any other message is kept as the validator wrote it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.errors import UnsupportedError

__all__ = ["ArgumentError", "validate"]


class ArgumentError(ValueError):
    """Arguments that do not match their spec; ``messages``: one message per problem, each
    naming the option by its path."""

    def __init__(self, messages):
        super().__init__("; ".join(messages))
        self.messages = list(messages)


#: What a value of each built-in type is, in a message ("must be ...").
TYPES = {"str": "text", "int": "an integer", "float": "a number", "bool": "true or false", "list": "a list",
         "dict": "a mapping", "path": "a path", "raw": "a value", "json": "JSON text", "jsonarg": "JSON text",
         "bytes": "a size in bytes", "bits": "a size in bits"}
ELEMENTS = {"str": "texts", "int": "integers", "float": "numbers", "bool": "booleans", "list": "lists",
            "dict": "mappings", "path": "paths"}

_CONTEXT = r"(?: found in (?P<context>\w+(?: -> \w+)*))?"
# (kind, expression, flags): compiled when a message is reworded (``re`` caches them), never
# while importing: every action of every host imports this module, and most validate cleanly.
_MESSAGES = (
    ("type", r"^argument '(?P<key>\w+)' is of type .+?(?: found in '(?P<context>\w+(?: -> \w+)*)'\.)? "
             r"and we were unable to convert to (?P<wanted>[^:]+): ", re.S),
    ("elements", r"^Elements value for option '(?P<key>\w+)'(?: found in '(?P<context>\w+(?: -> \w+)*)')? "
                 r"is of type .+? and we were unable to convert to (?P<wanted>[^:]+): ", re.S),
    ("choice", r"^value of (?P<key>\w+) must be one (?:or more )?of: .*?" + _CONTEXT + "$", re.S),
    ("exclusive", r"^parameters are mutually exclusive: (?P<keys>[\w|, ]+?)" + _CONTEXT + "$", 0),
    ("required", r"^missing required arguments: (?P<keys>[\w, ]+?)" + _CONTEXT + "$", 0),
    ("one_of", r"^one of the following is required: (?P<keys>[\w, ]+?)" + _CONTEXT + "$", 0),
    ("together", r"^parameters are required together: (?P<keys>[\w, ]+?)" + _CONTEXT + "$", 0),
)
_MISSING = object()


def validate(spec, params, nouns=None, **rules):
    """``params`` validated against ``spec`` (values converted to their type, defaults set), as
    ansible-core's ``ArgumentSpecValidator(spec, **rules)`` does it; ``rules``: its
    ``mutually_exclusive``, ``required_together``, ``required_one_of``, ``required_if`` and
    ``required_by``. ``params`` itself is not changed.

    Raises :class:`ArgumentError` with every problem found. ``nouns`` names the keys of a
    mapping in the message about an unknown one: ``{(): "policy key", ("replacement",):
    "platform"}`` gives "unknown policy key 'wave'" and "replacement: unknown platform 'mac'";
    the default is "option" at the top and "key" below.
    """
    result = ArgumentSpecValidator(spec, **rules).validate(params)
    # unknown names are worded from their set (below); an error the validator words twice,
    # once alone and once inside a longer message, is said once
    texts = [str(e) for e in result.errors if not isinstance(e, UnsupportedError)]
    texts = [t for t in texts if not any(t != other and t in other for other in texts)]
    messages = []
    for text in texts:
        message = _message(text, spec, params)
        if message not in messages:
            messages.append(message)
    messages.extend(_unknown(result.unsupported_parameters, spec, nouns or {}))
    if messages:
        raise ArgumentError(messages)
    return result.validated_parameters


def _message(text, spec, params):
    for kind, expression, flags in _MESSAGES:
        found = re.match(expression, text, flags)
        if found is None:
            continue
        context = tuple(found.group("context").split(" -> ")) if found.group("context") else ()
        if kind in ("type", "elements", "choice"):
            path = context + (found.group("key"),)
            option = _option(spec, path)
            if option is None:
                return text
            got = _value(params, path)
            got = "" if got is _MISSING else ", got %s" % _show(got)
            if kind == "choice":
                return "%s must be one of %s%s" % (_path(path), ", ".join(str(c) for c in option.get("choices") or ()), got)
            wanted = found.group("wanted").strip()
            if kind == "elements":
                return "%s must be a list of %s%s" % (_path(path), ELEMENTS.get(wanted, "%s values" % wanted), got)
            return "%s must be %s%s" % (_path(path), TYPES.get(wanted, "of type %s" % wanted), got)
        where = "%s: " % _path(context) if context else ""
        if kind == "exclusive":
            out = []
            for group in found.group("keys").split(", "):
                names = group.split("|")
                given = _value(params, context)
                given = [n for n in names if n in given] if isinstance(given, Mapping) else []
                out.append("%suse only one of %s%s" % (where, _either(names), " (got %s)" % ", ".join(given) if given else ""))
            return "; ".join(out)
        names = found.group("keys").split(", ")
        if kind == "required":
            return "; ".join("%s is required" % _path(context + (name,)) for name in names)
        if kind == "one_of":
            return "%sgive one of %s" % (where, _either(names))
        return "%sgive %s together" % (where, " and ".join(names))
    return text


def _unknown(names, spec, nouns):
    """Messages for the unknown option names the validator found (``name`` or ``(parent, ..., name)``)."""
    by_parent = {}
    for item in names:
        path = tuple(item) if isinstance(item, tuple) else (item,)
        by_parent.setdefault(path[:-1], []).append(path[-1])
    out = []
    for parent in sorted(by_parent, key=lambda p: (len(p), p)):
        keys = sorted(by_parent[parent], key=str)
        noun = nouns.get(parent, "key" if parent else "option")
        known = spec if not parent else (_option(spec, parent) or {}).get("options") or {}
        out.append("%sunknown %s %s (expected %s)" % (
            "%s: " % _path(parent) if parent else "", noun if len(keys) == 1 else noun + "s",
            ", ".join(_show(k) for k in keys), ", ".join(known) or "nothing"))
    return out


def _option(spec, path):
    """The spec of the option at ``path`` (``("waves", "size")``), or None."""
    option = None
    for key in path:
        if not isinstance(spec, Mapping) or key not in spec:
            return None
        option = spec[key]
        spec = option.get("options")
    return option


def _value(params, path):
    """What the user gave at ``path``, or ``_MISSING`` (through mappings only: an item of a list of
    mappings has no name in the validator's messages)."""
    for key in path:
        if not isinstance(params, Mapping) or key not in params:
            return _MISSING
        params = params[key]
    return params


def _path(path):
    return ".".join(str(p) for p in path)


def _either(names):
    return names[0] if len(names) == 1 else "%s or %s" % (", ".join(names[:-1]), names[-1])


def _show(value, limit=100):
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."
