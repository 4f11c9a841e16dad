# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What an AWX survey, -e or an inventory gives, typed by a spec (plugin_utils/_survey.py)."""

from __future__ import annotations

import datetime

import pytest

from ansible_collections.fleetsec.divest.plugins.plugin_utils._survey import SurveyError, coerce

LIST = {"type": "list", "elements": "str"}
FORMATS = {"type": "list", "elements": "str", "choices": ["json", "csv", "html"]}
EXCEPTIONS = {"type": "list", "options": {"host": {"type": "str", "required": True},
                                          "expires": {"type": "str", "required": True},
                                          "reason": {"type": "str", "required": True}}}
DICT = {"type": "dict"}
WAVES = {"type": "dict", "options": {"canary": {"type": "int"}, "size": {"type": "int"}}}
SECRET = {"type": "dict", "no_log": True}


@pytest.mark.parametrize("spec, value, expected", [
    # lists: a list, JSON text, lines, commas (the PrivateMirror bug: never one item per character)
    (LIST, ["a", "b"], ["a", "b"]),
    (LIST, "m1.example, https://m2.example", ["m1.example", "https://m2.example"]),
    (LIST, "m1.example\nm2.example\r\n\n", ["m1.example", "m2.example"]),
    (LIST, '["kaspersky", "catalog/acme.yml"]', ["kaspersky", "catalog/acme.yml"]),
    (LIST, "kaspersky", ["kaspersky"]),
    (LIST, "", []),
    (LIST, None, []),
    (FORMATS, "json,csv", ["json", "csv"]),
    (FORMATS, ["html"], ["html"]),                                  # AWX multiselect answers with a list
    # lists of mappings: JSON text, one per line with | (the reason keeps further |), YAML dates
    (EXCEPTIONS, '[{"host": "db1", "expires": "2026-12-31", "reason": "freeze"}]',
     [{"host": "db1", "expires": "2026-12-31", "reason": "freeze"}]),
    (EXCEPTIONS, "db1 | 2026-12-31 | change freeze\n\nweb2|2027-01-15|vendor | ticket 42",
     [{"host": "db1", "expires": "2026-12-31", "reason": "change freeze"},
      {"host": "web2", "expires": "2027-01-15", "reason": "vendor | ticket 42"}]),
    (EXCEPTIONS, [{"host": "db1", "expires": datetime.date(2026, 12, 31), "reason": "x"}],
     [{"host": "db1", "expires": "2026-12-31", "reason": "x"}]),
    (EXCEPTIONS, '{"host": "db1", "expires": "2026-12-31", "reason": "x"}',
     [{"host": "db1", "expires": "2026-12-31", "reason": "x"}]),
    (EXCEPTIONS, "", []),
    # mappings: JSON text, key=value pairs (commas or lines), empty text
    (DICT, '{"canary": 1, "size": 10}', {"canary": 1, "size": 10}),
    (DICT, "canary=1, percent=25", {"canary": "1", "percent": "25"}),
    (DICT, "wave-2=25\nmanagement=0", {"wave-2": "25", "management": "0"}),
    (DICT, {"a": 1}, {"a": 1}),
    (DICT, "  ", {}),
    (WAVES, "canary=2,size=5", {"canary": 2, "size": 5}),
    (SECRET, '{"kaspersky": "s3cret"}', {"kaspersky": "s3cret"}),
    # scalars
    ({"type": "int"}, "10", 10),
    ({"type": "int"}, 10, 10),
    ({"type": "int"}, 10.0, 10),
    ({"type": "int"}, " -3 ", -3),
    ({"type": "float"}, "12.5", 12.5),
    ({"type": "bool"}, "yes", True),
    ({"type": "bool"}, "False", False),
    ({"type": "bool"}, 0, False),
    ({"type": "bool"}, True, True),
    ({"type": "str"}, 86400, "86400"),                              # AWX integer answer for a text variable
    ({"type": "str"}, datetime.date(2026, 10, 1), "2026-10-01"),
    ({"type": "str"}, None, ""),
    ({"type": "str", "choices": ["official", "private_mirror", "offline"]}, "offline", "offline"),
    ({"type": "raw"}, '{"linux": "air-gapped"}', {"linux": "air-gapped"}),
    ({"type": "raw"}, "air-gapped lab", "air-gapped lab"),
    ({"type": "raw"}, "{not json", "{not json"),
])
def test_survey_forms_are_typed(spec, value, expected):
    assert coerce(value, spec, "var") == expected


@pytest.mark.parametrize("spec, value, message", [
    (LIST, 5, "var must be a list (YAML, JSON text, or text with one item per line or comma-separated), got 5"),
    (LIST, {"a": 1}, "var must be a list"),
    (LIST, '["a", ', "var looks like JSON text but is not valid JSON"),
    (LIST, '[{"a": 1}]', "var[0] must be text, got {'a': 1}"),
    (FORMATS, "json,pdf", "var[1] must be one of json, csv, html, got 'pdf'"),
    (EXCEPTIONS, "db1 2026-12-31", "var: each line must give host | expires | reason separated by |, got 'db1 2026-12-31'"),
    (EXCEPTIONS, '[{"host": "db1", "reason": "x"}]', "var[0].expires is required"),
    (EXCEPTIONS, '[{"host": "db1", "expires": "2026-12-31", "reason": "x", "until": 1}]', "var[0].unknown key 'until'"),
    (EXCEPTIONS, '["db1"]', "var[0] must be a mapping"),
    (DICT, "canary", "var must be a mapping (YAML, JSON text of an object, or key=value pairs separated by commas "
                     "or new lines); 'canary' is not a key=value pair"),
    (DICT, '["a"]', "var must be a mapping"),
    (DICT, 3, "var must be a mapping"),
    (WAVES, "canary=one", "var.canary must be an integer, got 'one'"),
    (WAVES, "wave=1", "var.unknown key 'wave' (expected canary, size)"),
    ({"type": "int"}, "ten", "var must be an integer, got 'ten'"),
    ({"type": "int"}, True, "var must be an integer, got True"),
    ({"type": "int"}, "", "var must be an integer, got ''"),
    ({"type": "int"}, 2.5, "var must be an integer, got 2.5"),
    ({"type": "bool"}, "maybe", "var must be true or false (yes/no, on/off, 1/0), got 'maybe'"),
    ({"type": "bool"}, 2, "var must be true or false"),
    ({"type": "str"}, ["a"], "var must be text, got ['a']"),
    ({"type": "str"}, True, "var must be text (quote it in YAML), got True"),
    ({"type": "str", "choices": ["official", "offline"]}, "Offline", "var must be one of official, offline, got 'Offline'"),
])
def test_wrong_types_fail_with_the_variable_and_what_it_accepts(spec, value, message):
    with pytest.raises(SurveyError) as err:
        coerce(value, spec, "var")
    assert message in str(err.value)


@pytest.mark.parametrize("value", ['{"kaspersky": "hunter2"', "hunter2", 42])
def test_no_log_values_never_appear_in_a_message(value):
    with pytest.raises(SurveyError) as err:
        coerce(value, SECRET, "divest_uninstall_passwords")
    text = str(err.value)
    assert "hunter2" not in text and "42" not in text
    assert text.startswith("divest_uninstall_passwords ")


def test_no_log_reaches_the_items_of_a_secret_mapping():
    spec = {"type": "dict", "no_log": True, "options": {"kaspersky": {"type": "int"}}}
    with pytest.raises(SurveyError) as err:
        coerce('{"kaspersky": "hunter2"}', spec, "p")
    assert "hunter2" not in str(err.value) and "p.kaspersky must be an integer" in str(err.value)
