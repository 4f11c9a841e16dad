# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the action tests share.

* ``make_action(module, args, ...)``: the module's ``ActionModule`` on a mocked task and
  connection, as ansible-core's task executor would build it.
* ``make_fleet(inventory, cached=None, plugin="jsonfile")``: a real inventory, variable
  manager and ``hostvars`` over a fact cache, so that the actions read facts through
  ansible-core itself (``fleet.action(module, args, ...)``: an action on its loader,
  ``fleet.task_vars()``: the variables a task sees). ``plugin``: ``jsonfile`` (ansible-core's plugin in a temporary
  directory, configured through the environment as ansible.cfg or AWX would; ``cached`` is
  written first, as an earlier job would leave it), ``memory`` (its memory plugin), or
  ``mapping`` (a plain in-process mapping the test can reach into, see :class:`MemoryFacts`).
"""

from __future__ import annotations

from unittest.mock import MagicMock

import pytest
import yaml

from ansible import constants as C
from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader
from ansible.playbook.task import Task
from ansible.plugins.loader import cache_loader
from ansible.vars.hostvars import HostVars
from ansible.vars.manager import VariableManager


class MemoryFacts(dict):
    """Fact cache that speaks both the 2.16 (mapping) and the 2.17+ (get/set) interface."""

    _missing = object()

    def get(self, key, default=_missing):
        if key in self:
            return self[key]
        if default is self._missing:
            raise KeyError(key)
        return default

    def set(self, key, value):
        self[key] = value

    def delete(self, key):
        del self[key]


class Fleet(object):
    """A real inventory + variable manager + ``hostvars`` over a fact cache."""

    def __init__(self, tmp_path, monkeypatch, inventory, cached=None, plugin="jsonfile"):
        self.cache_dir = str(tmp_path / "facts")
        self.dest = str(tmp_path / "reports")
        backend = "jsonfile" if plugin == "jsonfile" else "memory"
        monkeypatch.setattr(C, "CACHE_PLUGIN", backend)
        monkeypatch.setenv("ANSIBLE_CACHE_PLUGIN", backend)
        monkeypatch.setenv("ANSIBLE_CACHE_PLUGIN_CONNECTION", self.cache_dir)
        monkeypatch.setenv("ANSIBLE_CACHE_PLUGIN_TIMEOUT", "0")
        cached = cached or {}
        if plugin == "jsonfile":
            seed = cache_loader.get("jsonfile")
            for name, facts in cached.items():
                seed.set(name, facts)
        inventory_file = tmp_path / "inventory.yml"
        inventory_file.write_text(yaml.safe_dump(inventory))
        self.loader = DataLoader()
        self.inventory = InventoryManager(loader=self.loader, sources=[str(inventory_file)])
        self.variable_manager = VariableManager(loader=self.loader, inventory=self.inventory)
        if plugin == "mapping":
            self.variable_manager._fact_cache = MemoryFacts()
        if plugin != "jsonfile":
            for name, facts in cached.items():
                self.variable_manager.set_host_facts(name, facts)
        self.hostvars = HostVars(inventory=self.inventory, variable_manager=self.variable_manager, loader=self.loader)

    def action(self, module, args, **kwargs):
        """``module``'s action plugin for a task with ``args`` (``make_action``'s keywords), on
        this fleet's loader."""
        return new_action(module, args, loader=self.loader, **kwargs)

    def task_vars(self, **extra):
        groups = {name: [h.name for h in group.get_hosts()] for name, group in self.inventory.groups.items()}
        return dict({"hostvars": self.hostvars, "groups": groups, "inventory_hostname": "localhost"}, **extra)

    def cached(self, name):
        """What a later job would read from the jsonfile fact cache (a fresh plugin instance)."""
        try:
            return cache_loader.get("jsonfile").get(name)
        except KeyError:
            return None


@pytest.fixture
def make_fleet(tmp_path, monkeypatch):
    """``make_fleet(inventory, cached=None, plugin="jsonfile")`` -> :class:`Fleet` in this test's
    temporary directory (a second one on the same directory is a later job)."""
    def make(inventory, cached=None, plugin="jsonfile"):
        return Fleet(tmp_path, monkeypatch, inventory, cached=cached, plugin=plugin)
    return make


def new_action(module, args, action=None, check_mode=False, diff=False, run_once=True, loader=None,
               shell_family="sh", become=False):
    """``module.ActionModule`` for a task with ``args`` (its connection: ``action._connection``)."""
    name = action or "fleetsec.divest." + module.__name__.rsplit(".", 1)[-1]
    task = MagicMock(Task)
    task.args = args
    task.action = name
    task.async_val = 0
    task.check_mode = check_mode
    task.diff = diff
    task.run_once = run_once
    task.become = become
    connection = MagicMock()
    connection._shell.SHELL_FAMILY = shell_family
    connection._shell.tmpdir = None
    plugin = module.ActionModule(task, connection, MagicMock(), loader=loader, templar=None, shared_loader_obj=None)
    plugin._load_name = name
    return plugin


@pytest.fixture
def make_action():
    """``make_action(module, args, action=None, check_mode=False, diff=False, run_once=True,
    loader=None, shell_family="sh", become=False)`` -> the action plugin."""
    return new_action
