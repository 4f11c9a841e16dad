# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Operator-facing variables as an AWX survey, ``-e`` or an inventory give them, typed by a spec.

An AWX survey answers with text (``text``, ``textarea``, ``password``, ``multiplechoice``), an
integer (``integer``, ``float``) or a list (``multiselect``): never with a mapping or a list of
mappings. ``-e key=value`` gives text too. The roles' variables are typed (lists, mappings,
lists of mappings, integers, booleans), and text where a list is meant is the classic failure:
a loop over a text walks its characters (one freshclam ``PrivateMirror`` line per character),
``dict2items`` of a text fails, and whether Jinja turns JSON text into data depends on the
ansible-core version (2.18 does, 2.19 and later do not).

:func:`coerce` takes a value and the option's spec, as ``meta/argument_specs.yml`` writes it
(``type``, ``elements``, ``options``, ``choices``, ``no_log``), and returns the typed value:

* a list: a list as it is, or text - JSON text of a list (``["a", "b"]``), else one item per
  line or comma-separated (``a, b``). A list of mappings (``elements: dict``, or ``type: list``
  with ``options``) takes JSON text, or one mapping per line with its fields in the order of
  the spec's ``options``, separated by ``|`` (the last field keeps any further ``|``);
* a mapping: a mapping as it is, or text - JSON text of an object, else ``key=value`` pairs
  separated by commas or new lines;
* an integer, a number: the number, or its text (``"10"``); never a boolean;
* a boolean: ``true``/``false`` and their usual spellings (``yes``, ``no``, ``on``, ``off``,
  ``1``, ``0``), in any case;
* text: text; a number or a date is written as text (a YAML date ``2026-12-31``); a list or a
  mapping is refused;
* ``raw``: unchanged, except JSON text of an object, which becomes the mapping.

Empty text (an unanswered survey question) is an empty list or mapping. A value that fits none
of these raises :class:`SurveyError`, whose message names the variable (``divest_waves``,
``divest_exceptions[1].expires``), says what is accepted and shows what was given, except for
``no_log`` options, whose value is never shown.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Mapping

__all__ = ["SurveyError", "coerce", "coerce_options", "describe"]

TRUE = frozenset(("true", "yes", "on", "y", "t", "1"))
FALSE = frozenset(("false", "no", "off", "n", "f", "0"))
_INTEGER = re.compile(r"^[+-]?\d+$")
_SPLIT = re.compile(r"[\r\n,]+")
_PAIRS = re.compile(r"[\r\n,]+")


class SurveyError(ValueError):
    """A value that cannot be read as its spec says; the message names the variable."""


def describe(spec):
    """What a value of ``spec`` may be, in words (for messages and documentation)."""
    kind = spec.get("type", "str")
    if kind == "list":
        fields = list((spec.get("options") or {}).keys())
        if _elements(spec) == "dict" and fields:
            return ("a list of mappings (YAML, JSON text of the list, or one per line as %s)"
                    % " | ".join(fields))
        return "a list (YAML, JSON text, or text with one item per line or comma-separated)"
    if kind == "dict":
        return "a mapping (YAML, JSON text of an object, or key=value pairs separated by commas or new lines)"
    return {"int": "an integer", "float": "a number", "bool": "true or false", "str": "text",
            "path": "a path (text)", "raw": "a value"}.get(kind, "of type %s" % kind)


def _elements(spec):
    return spec.get("elements") or ("dict" if spec.get("options") else "raw")


def _show(value, spec):
    if spec.get("no_log"):
        return "a value of type %s (not shown: no_log)" % type(value).__name__
    text = repr(value)
    return text if len(text) <= 100 else text[:97] + "..."


def _fail(name, spec, value, what=None):
    """The error saying that ``value`` is not what ``spec`` wants (raise it)."""
    return SurveyError("%s must be %s, got %s" % (name, what or describe(spec), _show(value, spec)))


def _json(name, spec, text, wanted):
    try:
        data = json.loads(text)
    except ValueError as exc:
        detail = "" if spec.get("no_log") else " (%s)" % exc
        raise SurveyError("%s looks like JSON text but is not valid JSON%s; it must be %s"
                          % (name, detail, describe(spec)))
    if not isinstance(data, wanted):
        raise _fail(name, spec, data)
    return data


def _is_text(value):
    return isinstance(value, str)


def _empty(value):
    return value is None or (_is_text(value) and not value.strip())


def _to_list(value, name, spec):
    if isinstance(value, (list, tuple)):
        return list(value)
    if _empty(value):
        return []
    if not _is_text(value):
        raise _fail(name, spec, value)
    text = value.strip()
    if text.startswith("["):
        return _json(name, spec, text, list)
    if _elements(spec) == "dict":
        if text.startswith("{"):
            return [_json(name, spec, text, dict)]
        fields = list((spec.get("options") or {}).keys())
        if not fields:
            raise _fail(name, spec, value)
        rows = []
        for line in text.splitlines():
            if not line.strip():
                continue
            parts = [p.strip() for p in line.split("|", len(fields) - 1)]
            if len(parts) != len(fields):
                raise SurveyError("%s: each line must give %s separated by |, got %s"
                                  % (name, " | ".join(fields), _show(line.strip(), spec)))
            rows.append(dict(zip(fields, parts)))
        return rows
    return [part.strip() for part in _SPLIT.split(text) if part.strip()]


def _to_dict(value, name, spec):
    if isinstance(value, Mapping):
        return dict(value)
    if _empty(value):
        return {}
    if not _is_text(value):
        raise _fail(name, spec, value)
    text = value.strip()
    if text.startswith("{"):
        return _json(name, spec, text, dict)
    out = {}
    for pair in _PAIRS.split(text):
        if not pair.strip():
            continue
        key, sep, item = pair.partition("=")
        if not sep or not key.strip():
            raise SurveyError("%s must be %s; %s is not a key=value pair"
                              % (name, describe(spec), _show(pair.strip(), spec)))
        out[key.strip()] = item.strip()
    return out


def _to_int(value, name, spec):
    if isinstance(value, bool):
        raise _fail(name, spec, value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if _is_text(value) and _INTEGER.match(value.strip()):
        return int(value.strip())
    raise _fail(name, spec, value)


def _to_float(value, name, spec):
    if isinstance(value, bool):
        raise _fail(name, spec, value)
    if isinstance(value, (int, float)):
        return value
    if _is_text(value):
        try:
            return float(value.strip())
        except ValueError:
            pass
    raise _fail(name, spec, value)


def _to_bool(value, name, spec):
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if _is_text(value):
        word = value.strip().lower()
        if word in TRUE:
            return True
        if word in FALSE:
            return False
    raise _fail(name, spec, value, "true or false (yes/no, on/off, 1/0)")


def _to_str(value, name, spec):
    if value is None:
        return ""
    if _is_text(value):
        return value
    if isinstance(value, bool):
        # a YAML 'yes' or 'no' meant as text: say so rather than write "True"
        raise _fail(name, spec, value, "text (quote it in YAML)")
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    raise _fail(name, spec, value)


def _to_raw(value, name, spec):
    if _is_text(value) and value.strip().startswith("{"):
        try:
            data = json.loads(value)
        except ValueError:
            return value
        return data if isinstance(data, dict) else value
    return value


_SCALARS = {"int": _to_int, "float": _to_float, "bool": _to_bool, "str": _to_str, "path": _to_str, "raw": _to_raw}


def _choices(value, name, spec):
    choices = spec.get("choices")
    if choices and value not in choices:
        raise SurveyError("%s must be one of %s, got %s" % (name, ", ".join(str(c) for c in choices), _show(value, spec)))
    return value


def coerce(value, spec, name):
    """``value`` typed as the option ``spec`` says (see the module's documentation); raises
    :class:`SurveyError` naming ``name``."""
    kind = spec.get("type", "str")
    if kind == "list":
        items = _to_list(value, name, spec)
        element = dict(spec.get("options") and {"options": spec["options"]} or {})
        element["type"] = _elements(spec)
        if spec.get("choices"):
            element["choices"] = spec["choices"]
        if spec.get("no_log"):
            element["no_log"] = True
        return [coerce(item, element, "%s[%d]" % (name, index)) for index, item in enumerate(items)]
    if kind == "dict":
        data = _to_dict(value, name, spec)
        if spec.get("options"):
            data = coerce_options(spec["options"], data, name + ".", no_log=spec.get("no_log", False))
        return data
    convert = _SCALARS.get(kind)
    if convert is None:
        raise SurveyError("%s: the spec's type %r is not one a survey can give" % (name, kind))
    if kind in ("int", "float", "bool") and _empty(value):
        raise _fail(name, spec, value)
    return _choices(convert(value, name, spec), name, spec)


def coerce_options(options, values, prefix="", no_log=False):
    """A mapping of ``values`` typed by ``options`` (``{name: spec}``): each given option
    coerced, a missing one left out unless it is ``required`` (an error); a name that is not an
    option is an error. ``prefix`` goes before each name in messages."""
    unknown = sorted(str(k) for k in values if k not in options)
    if unknown:
        raise SurveyError("%sunknown key%s %s (expected %s)" % (
            prefix, "s" if len(unknown) > 1 else "", ", ".join(repr(k) for k in unknown), ", ".join(options)))
    out = {}
    for key, spec in options.items():
        if no_log and not spec.get("no_log"):
            spec = dict(spec, no_log=True)
        if key not in values or values[key] is None:
            if spec.get("required"):
                raise SurveyError("%s%s is required" % (prefix, key))
            if key in values:
                out[key] = values[key]
            continue
        out[key] = coerce(values[key], spec, prefix + key)
    return out
