# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The identify role never forces become on Windows hosts, and asks for it on Linux ones."""

from __future__ import annotations

import pathlib

import pytest
import yaml

from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

try:  # ansible-core 2.19+ templates only trusted strings (data tagging)
    from ansible.template import trust_as_template
except ImportError:  # ansible-core 2.16 - 2.18
    def trust_as_template(value):
        return value

TASKS = pathlib.Path(__file__).resolve().parents[3] / "roles" / "identify" / "tasks" / "main.yml"


def scan_task():
    tasks = yaml.safe_load(TASKS.read_text(encoding="utf-8"))
    block = next(t for t in tasks if "block" in t)["block"]
    return next(t for t in block if "fleetsec.divest.vendor_facts" in t)


@pytest.mark.parametrize("variables, expected", [
    ({"divest_become": True, "ansible_shell_type": "powershell"}, False),
    ({"divest_become": True, "ansible_shell_type": "bash"}, True),
    ({"divest_become": True}, True),                          # posix default shell
    ({"divest_become": False}, False),
    ({"divest_become": "yes", "ansible_shell_type": "sh"}, True),
])
def test_become_follows_the_shell(variables, expected):
    templar = Templar(loader=DataLoader(), variables=variables)
    value = templar.template(trust_as_template(scan_task()["become"]))
    assert (value in (True, "True")) is expected


def test_unreachable_hosts_stay_in_the_play_for_the_report():
    task = scan_task()
    assert task["ignore_unreachable"] is True and task["register"] == "divest_scan"
