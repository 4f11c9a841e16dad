# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Host facts on the controller: the one place that reads and writes them for the actions.

Reading (:class:`HostFacts`). The actions that work for the whole fleet in one task (plan,
plan_gate, report) read a few variables of every host: the ``divest`` findings, a registered
scan result, the execute outcome, the stored plan part. Facts are data: they are read
untemplated, so that a string a host controls is never rendered as a template.

* The public way is ``hostvars.raw_get(name)`` and the inventory. ``raw_get`` builds the
  host's whole variable set (group and host variables, vars plugins, the facts deep-copied):
  0.3 to 0.5 ms per host, 3 to 5 s at 10,000 hosts (ansible-core 2.21), in each of plan,
  plan_gate and report, against a 5 s budget for a whole plan run at that size.
* So when the play's variable manager is reachable (any ``ansible-playbook`` run) the same
  values are read from the two caches ``get_vars`` merges them from: the fact cache (what
  modules returned as ``ansible_facts``, and what earlier runs cached) and the non-persistent
  cache (``set_fact``, ``register``): 0.02 to 0.03 ms per host. :meth:`HostFacts.read`
  returns the same view of the host as ``raw_get`` for the keys asked (``ansible_facts`` with
  the cached facts, the top level with ``set_fact`` values over the cached facts), so callers
  do not care which way was taken, and the unit tests compare the two.
* ansible-core 2.19 and later keep each host's facts as JSON text inside the cache plugin's
  entry, decoded on every read by a tag-aware decoder: :func:`fast_get` decodes a payload
  without data tags with the standard library instead (0.25 s instead of 0.4 s for 10,000
  hosts).

Without a variable manager (a plain mapping as ``hostvars``, in tests) the public way is the
only one; ``HostFacts(task_vars, fast=False)`` takes it on purpose, to compare. The figures
come from reading each action's keys for the 10,000 hosts of the plan benchmark's fleet
(``tests/bench/plan_bench.py``).

* ansible-core's own jsonfile files are read as bytes and decoded with the standard library
  (:func:`_file_reader`; the first file is read the plugin's way too, to make sure), and a fleet
  is read by several processes at once where the caller can split its work (:func:`map_hosts`:
  the plan reads and places 100,000 hosts on every CPU).

Writing (:class:`FactStore`). The plan stores each planned host's part as its
``divest_plan`` fact in the configured fact cache, for thousands of hosts in one task. For
ansible-core's jsonfile cache (the CLI's and AWX's) :meth:`FactStore.start_json` has them
written by fresh writer processes (:class:`_FastFileWriter`) in exactly the encoding the plugin
writes, checked on the first host, which the plugin writes; anything else goes through the
plugin's ``set``.

Between AWX jobs (:class:`AwxFactFiles`, :class:`FindingsStore`; docs/awx.md). AWX writes each
host's stored facts as ``<fact cache dir>/<host>`` (plain JSON) before a job and reads the same
names back after it (``awx/main/tasks/facts.py``, ``start_fact_cache`` / ``finish_fact_cache``).
ansible-core 2.16-2.18's jsonfile plugin uses exactly those files; from 2.19 on it reads and
writes ``s1_<host>`` holding ``{"__payload__": "<JSON text>"}`` (ansible/ansible#85874,
ansible/ansible-runner#1441), so facts travel in neither direction. :class:`AwxFactFiles` takes
AWX's files into the plugin's naming when a job starts and hands the plugin's entries back under
AWX's naming when it ends (nothing to do on 2.16-2.18). AWX stores no facts at all for a job
sliced into more than one slice (ansible/awx#13863): :class:`FindingsStore` keeps each host's
findings in a directory on a persistent path, which the later jobs read.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
from collections.abc import Mapping

from ansible import constants as C

from ansible_collections.fleetsec.divest.plugins.module_utils._atomic import replace_file
from ansible_collections.fleetsec.divest.plugins.plugin_utils import _awx
from ansible_collections.fleetsec.divest.plugins.plugin_utils._fork import collect, run_forked, spawn
from ansible_collections.fleetsec.divest.plugins.plugin_utils._text import clean_text
from ansible_collections.fleetsec.divest.plugins.plugin_utils._text import get as _get

__all__ = ["FactReadError", "HostFacts", "FactStore", "AwxFactFiles", "FindingsStore", "host_value", "fast_get",
           "in_background", "map_hosts", "record_for_awx", "safe_host_file"]

_MEMORY = ("memory", "ansible.builtin.memory")
_TAGGED = '"__ansible_'
_TAGGED_BYTES = _TAGGED.encode("ascii")


class FactReadError(Exception):
    """A host's facts could not be read (a corrupt fact cache entry, a failing ``raw_get``);
    the message is the cause's."""


def host_value(data, key):
    """The host variable ``key`` of ``data`` (a view from :meth:`HostFacts.read`, or any
    ``hostvars[name]``-like mapping): a ``set_fact`` or registered value, else the cached fact."""
    if not isinstance(data, Mapping):
        return None
    try:
        if key in data:
            return data[key]
    except Exception:  # pylint: disable=broad-exception-caught
        return None
    return _get(_get(data, "ansible_facts"), key)


def _file_plugin(cache):
    """The file cache plugin (jsonfile, yaml, pickle: ``BaseFileCacheModule``) behind ``cache``
    (ansible-core 2.19+'s wrapper, 2.16-2.18's ``FactCache``, or the plugin), else ``None``."""
    plugin = getattr(cache, "__wrapped__", None) or getattr(cache, "_plugin", None) or cache
    try:
        from ansible.plugins.cache import BaseFileCacheModule
    except ImportError:  # pragma: no cover
        return None
    if not isinstance(plugin, BaseFileCacheModule):
        return None
    for attr in ("_cache", "_load", "_get_cache_file_name", "has_expired"):
        if not hasattr(plugin, attr):
            return None
    return plugin if isinstance(plugin._cache, dict) else None  # pylint: disable=protected-access


def _is_builtin_jsonfile(plugin):
    """Whether ``plugin`` is ansible-core's own jsonfile cache plugin, whose files hold plain
    JSON (ansible-core 2.16-2.18: the facts, sorted and indented; 2.19+: ``{"__payload__":
    "<JSON text>"}``) that the standard library reads as the plugin's ``_load`` does when no
    value carries Ansible's tags (``"__ansible_``)."""
    load = getattr(type(plugin), "_load", None)
    code = getattr(load, "__code__", None)
    filename = getattr(code, "co_filename", "") or ""
    return filename.replace(os.sep, "/").endswith("/ansible/plugins/cache/jsonfile.py")


def _cache_file_namer(plugin):
    """``name(key)``: the file of ``key`` in the file cache ``plugin``, as its own
    ``_get_cache_file_name`` names it, without the plugin remembering every name (it keeps a
    dict of names in ansible-core 2.19+: a fleet's worth). Checked against the plugin on the
    first key; keys the plugin would hash (characters unsafe in a file name) are asked of it."""
    # pylint: disable=protected-access
    try:
        prefix = plugin.get_option("_prefix") or ""
    except Exception:  # pylint: disable=broad-exception-caught  # options not loaded: the plugin names them
        return plugin._get_cache_file_name
    directory = getattr(plugin, "_cache_dir", None)
    unsafe = tuple(getattr(plugin, "_PATH_CHARS", "") or "")
    if not isinstance(directory, str) or not isinstance(prefix, str):
        return plugin._get_cache_file_name
    state = {"checked": False, "ok": False}

    def name(key):
        if unsafe and any(char in key for char in unsafe):
            return plugin._get_cache_file_name(key)
        mine = "%s/%s%s" % (directory, prefix, key)
        if not state["checked"]:
            state["checked"] = True
            state["ok"] = os.path.normpath(plugin._get_cache_file_name(key)) == os.path.normpath(mine)
        return mine if state["ok"] else plugin._get_cache_file_name(key)
    return name


def _file_reader(plugin):
    """``read(key)``: the entry ``key`` of the file cache ``plugin`` read from its file, without
    keeping it in the plugin's memory (the plugin's ``get`` keeps every entry it read until the
    process ends: all hosts' facts, for a fleet-wide action). ``None`` when the plugin's own
    ``get`` must answer: the entry is in its memory (set or read earlier in this process),
    expired, missing or unreadable.

    ansible-core's jsonfile files are read with the standard library (bytes, then
    ``json.loads``) instead of the plugin's ``_load`` (``pathlib`` text, or ``codecs`` and a
    tag-aware decoder before 2.19): a file holding no Ansible tag decodes to the same data,
    and the first file is read both ways to make sure (any doubt: the plugin's ``_load``)."""
    # pylint: disable=protected-access
    file_name = _cache_file_namer(plugin)
    load = plugin._load
    state = {"checked": not _is_builtin_jsonfile(plugin), "ok": False}

    def read_plain(path):
        with open(path, "rb") as handle:
            data = handle.read()
        if _TAGGED_BYTES in data:
            return load(path)
        if not state["checked"]:
            state["checked"] = True
            official = load(path)
            try:
                state["ok"] = json.loads(data) == official
            except ValueError:
                state["ok"] = False
            return official
        return json.loads(data) if state["ok"] else load(path)

    def read(key):
        if key in plugin._cache or not key or plugin.has_expired(key):
            return None
        try:
            path = file_name(key)
            return load(path) if state["checked"] and not state["ok"] else read_plain(path)
        except Exception:  # pylint: disable=broad-exception-caught  # the plugin's get says why (or KeyError)
            return None
    return read


def fast_get(cache):
    """``cache.get``, faster and lighter for a file cache and for the cache wrapper of
    ansible-core 2.19 and later.

    A file cache plugin's ``get`` keeps every entry it read in the process, so reading a fleet
    keeps all its hosts' facts in memory (a gigabyte at 100,000 hosts); here an entry that is
    not already in the plugin's memory is read from its file with the plugin's own ``_load``
    and not kept (the plugin's ``get`` answers for anything else: entries set or read earlier in
    this process, expired, missing or unreadable ones, with its own errors).

    From 2.19 on, each host's facts are stored as JSON text inside the plugin's entry
    (``{"__payload__": "..."}``) and every ``get`` decodes it with a tag-aware decoder that
    costs about as much as reading the file. A payload in which no value carries Ansible data
    tags (no ``"__ansible_`` key) is plain JSON and decodes to the same data with the standard
    library, about four times faster; any other payload, or a wrapper that does not look like
    the one checked here, goes through the plugin's own ``get``. The first plain payload is
    decoded both ways and the fast path is used only when the results agree.
    """
    wrapped = getattr(cache, "__wrapped__", None)
    key_of = getattr(cache, "_get_key", None)
    payload_key = getattr(cache, "_PAYLOAD_KEY", None)
    plugin = _file_plugin(cache)
    read_file = _file_reader(plugin) if plugin is not None else None
    if wrapped is None or not callable(key_of) or not isinstance(payload_key, str) or not hasattr(wrapped, "get"):
        if read_file is None or getattr(cache, "_plugin", None) is not plugin:
            return cache.get
        # ansible-core 2.16-2.18: FactCache over the plugin, same keys, entries as they are

        def get_plain(name):
            value = read_file(name)
            return cache.get(name) if value is None else value
        return get_plain
    state = {"checked": False, "ok": False}
    raw_get = wrapped.get
    if read_file is not None and plugin is wrapped:
        def raw_get(key):
            value = read_file(key)
            return wrapped.get(key) if value is None else value

    def get(name):
        raw = raw_get(key_of(name))
        payload = raw.get(payload_key) if isinstance(raw, dict) else None
        if not isinstance(payload, str) or _TAGGED in payload:
            return cache.get(name)
        if not state["checked"]:
            state["checked"] = True
            official = cache.get(name)
            try:
                state["ok"] = json.loads(payload) == official
            except ValueError:
                state["ok"] = False
            return official
        if not state["ok"]:
            return cache.get(name)
        return json.loads(payload)
    return get


class HostFacts(object):
    """The play's hosts as the actions read them: names by pattern, groups, and a few variables.

    ``task_vars``: the action's task variables (``hostvars``, ``groups``). ``loader``: the
    action's loader, to resolve a pattern without an inventory (as the ``inventory_hostnames``
    lookup does). ``fast=False`` reads through ``hostvars.raw_get`` even when the caches are
    reachable. ``keep``: remember each host's cached facts in :attr:`cached` (the plan merges
    its parts into them); a function instead of ``True`` remembers what it returns for them
    (``keep(facts)``, ``facts`` ``None`` when the host has none): a fleet's whole facts are
    large, the plan needs little of them.
    """

    def __init__(self, task_vars, loader=None, fast=True, keep=False):
        hostvars = task_vars.get("hostvars")
        self.hostvars = {} if hostvars is None else hostvars
        self.task_groups = task_vars.get("groups")
        self.loader = loader
        manager = getattr(hostvars, "_variable_manager", None)
        inventory = getattr(hostvars, "_inventory", None)
        self.variable_manager = manager
        self.inventory = inventory if hasattr(inventory, "get_host") and hasattr(inventory, "get_hosts") else None
        hosts = getattr(self.inventory, "hosts", None)
        self._hosts = hosts if isinstance(hosts, Mapping) else {}
        cache = getattr(manager, "_fact_cache", None)
        volatile = getattr(manager, "_nonpersistent_fact_cache", None)
        self.fast = bool(fast) and cache is not None and hasattr(cache, "get") and isinstance(volatile, Mapping) \
            and self.inventory is not None
        self._get = fast_get(cache) if self.fast else None
        self._volatile = volatile if self.fast else None
        self._group_index = None
        self.keep = keep
        self.cached = {}

    # ------------------------------------------------------------------------ inventory

    def host(self, name):
        """The inventory's host ``name`` (``None``: unknown, or no inventory reachable)."""
        if self.inventory is None:
            return None
        return self._hosts.get(name) or self.inventory.get_host(name)  # the dict first: get_host is slower

    def names(self, pattern, limits=False):
        """Host names matching the inventory ``pattern``, in inventory order, like
        ``query('inventory_hostnames', pattern)``; ``limits``: apply ``--limit``. The play's own
        restriction (a play on localhost) never applies."""
        if self.inventory is not None:
            return [h.name for h in self.inventory.get_hosts(pattern, ignore_limits=not limits, ignore_restrictions=True)]
        from ansible.inventory.manager import InventoryManager  # what the inventory_hostnames lookup does
        manager = InventoryManager(self.loader, parse=False)
        for group, members in (self.task_groups or {}).items():
            manager.add_group(group)
            for name in members:
                manager.add_host(name, group=group)
        return [h.name for h in manager.get_hosts(pattern=pattern)]

    def groups(self, name):
        """The groups of host ``name`` (without ``all``)."""
        host = self.host(name)
        if host is not None:
            return [g.name for g in host.get_groups() if g.name != "all"]
        if self._group_index is None:
            self._group_index = {}
            if isinstance(self.task_groups, Mapping):
                for group, members in self.task_groups.items():
                    if group != "all" and isinstance(members, (list, tuple)):
                        for member in members:
                            self._group_index.setdefault(member, []).append(group)
        return self._group_index.get(name, [])

    # ------------------------------------------------------------------------ variables

    def read(self, name, keys):
        """Host ``name``'s variables ``keys`` as ``hostvars.raw_get(name)`` would give them (at
        least those keys: ``ansible_facts`` with the cached facts, the top level with a
        ``set_fact`` or registered value over the cached fact); read them with
        :func:`host_value`. ``None`` for a host the inventory does not know. Raises
        :class:`FactReadError` when the host's facts cannot be read."""
        if self.fast:
            return self._read_caches(name, keys)
        try:
            if name not in self.hostvars:  # ansible-core 2.19+ raw_get raises for an unknown host
                return None
            raw_get = getattr(self.hostvars, "raw_get", None)
            data = raw_get(name) if raw_get is not None else self.hostvars.get(name)
        except Exception as exc:  # pylint: disable=broad-exception-caught
            raise FactReadError(str(exc))
        if not isinstance(data, Mapping):
            return None
        if self.keep:
            facts = _get(data, "ansible_facts")
            self._remember(name, facts if isinstance(facts, Mapping) else None)
        return data

    def _remember(self, name, facts):
        self.cached[name] = self.keep(facts) if callable(self.keep) else facts

    def _read_caches(self, name, keys):
        if self.host(name) is None:
            return None
        try:
            try:
                facts = self._get(name)  # ansible-core 2.17+: KeyError when missing; 2.16: None
            except KeyError:
                facts = None
            extra = self._volatile.get(name) or {}
        except Exception as exc:  # pylint: disable=broad-exception-caught  # a corrupt cache entry
            raise FactReadError(str(exc))
        if not isinstance(facts, Mapping):
            facts = None
        if self.keep:
            self._remember(name, facts)
        facts = facts or {}
        view = {"ansible_facts": {}}
        for key in keys:
            # ansible_facts as namespace_facts makes it (a fact ansible_<key> answers to <key>),
            # the top level as get_vars merges it (set_fact and register over the facts)
            if key in facts:
                view["ansible_facts"][key] = facts[key]
            elif "ansible_" + key in facts:
                view["ansible_facts"][key] = facts["ansible_" + key]
            if key in extra:
                view[key] = extra[key]
            elif key in facts:
                view[key] = facts[key]
        return view

    def value(self, name, key):
        """Host ``name``'s variable ``key`` (:func:`host_value`); ``None`` for an unknown host or
        one whose facts cannot be read."""
        try:
            return host_value(self.read(name, (key,)), key)
        except FactReadError:
            return None

    def store(self):
        """A :class:`FactStore` on the play's own fact cache."""
        return FactStore(self.variable_manager)


# ---------------------------------------------------------------------------------- writing


def _as_it_is(value):
    return value


def file_cache_setter(cache):
    """``set(host, facts)`` for ``cache`` (2.19+'s wrapper, 2.16-2.18's ``FactCache`` or the
    plugin) when it is a file cache plugin (jsonfile, yaml, pickle) whose parts this function
    knows, else ``None`` (use the cache's own ``set``).

    It writes what the plugin's ``set`` writes (the plugin's own ``_dump``; 2.19+: of the
    wrapper's ``_encode``d value, under its key) to a temporary file beside the entry and renames
    it over the entry only once it is written whole; a failure raises ``OSError`` and leaves the
    entry as it was. ansible-core's own ``set`` only warns when the write fails (a full disk) and
    renames the half-written file over the entry all the same: the host's facts, its findings
    among them, become unreadable and ansible-core erases them at the next read."""
    # pylint: disable=protected-access
    plugin = _file_plugin(cache)
    if plugin is None or not callable(getattr(plugin, "_dump", None)):
        return None
    if getattr(cache, "__wrapped__", None) is plugin:
        key_of, encode = getattr(cache, "_get_key", None), getattr(cache, "_encode", None)
        if not callable(key_of) or not callable(encode):
            return None
    elif getattr(cache, "_plugin", None) is plugin or cache is plugin:
        key_of, encode = str, _as_it_is
    else:
        return None
    try:
        from ansible.module_utils.common.file import S_IRWU_RG_RO as mode
    except ImportError:  # pragma: no cover
        mode = 0o644

    def set_entry(host, facts):
        key, value = key_of(host), encode(facts)
        # a dot name: the plugin's keys() passes over it, should a killed job leave it behind
        replace_file(plugin._get_cache_file_name(key), lambda tmp: plugin._dump(value, tmp), mode, prefix=".divest-")
        plugin._cache[key] = value
    return set_entry


def _plugin_name(cache):
    plugin = getattr(cache, "_plugin", cache)  # FactCache (ansible-core < 2.19) wraps the plugin
    for attr in ("_load_name", "ansible_name"):
        value = getattr(plugin, attr, None)
        if isinstance(value, str) and value:
            return value
    return type(plugin).__module__.rsplit(".", 1)[-1]


class FactStore(object):
    """Adds facts to what the configured fact cache holds for many hosts, in one task.

    ansible-core 2.16-2.18 have ``ansible.vars.fact_cache.FactCache`` and its
    ``first_order_merge`` (read the host's facts, update, write back); from 2.19 on the
    variable manager holds the cache plugin itself (``FactCache`` is gone), and the same merge
    is done with the plugin's ``get`` / ``set``. The variable manager's own cache is used when
    it is reachable: it is the one Ansible writes to, and it already holds the facts just
    read. ``persistent`` is ``False`` for the ``memory`` plugin: nothing would outlive this
    process, so nothing is stored.

    File caches (jsonfile, yaml, pickle) are written by a few threads: each write ends with a
    rename, which on ext4 waits for the disk, so several in flight at once cut the time. Their
    entries are written by :func:`file_cache_setter` (the plugin's encoding, never a half-written
    entry), not by the plugin's ``set``.
    """

    THREADS = 8

    def __init__(self, variable_manager=None):
        cache = getattr(variable_manager, "_fact_cache", None)
        if cache is None:
            try:
                from ansible.vars.fact_cache import FactCache  # ansible-core < 2.19
            except ImportError:
                from ansible.plugins.loader import cache_loader
                cache = cache_loader.get(C.CACHE_PLUGIN)
            else:
                cache = FactCache()
        self.cache = cache
        self.threads = 1
        self._first_order_merge = None
        self._read = None
        if cache is None or isinstance(cache, dict):
            self.name, self.persistent = "memory", False
            return
        self.name = _plugin_name(cache)
        self.persistent = not (self.name in _MEMORY or self.name.endswith(".memory") or C.CACHE_PLUGIN in _MEMORY)
        self._set = file_cache_setter(cache)
        self._first_order_merge = None if self._set is not None else getattr(cache, "first_order_merge", None)
        plugin = getattr(cache, "_plugin", None) or getattr(cache, "__wrapped__", cache)
        try:
            from ansible.plugins.cache import BaseFileCacheModule
            self.threads = self.THREADS if isinstance(plugin, BaseFileCacheModule) else 1
        except ImportError:  # pragma: no cover
            pass

    def merge(self, host, facts, current=None):
        """Add ``facts`` to ``host``'s cached facts; ``current``: those facts, when already read."""
        if self._first_order_merge is not None:
            self._first_order_merge(host, facts)
            return
        if not isinstance(current, Mapping):
            if self._read is None:
                self._read = fast_get(self.cache)
            try:
                current = self._read(host)
            except KeyError:
                current = None
        merged = dict(current) if isinstance(current, Mapping) else {}
        merged.update(facts)
        (self._set or self.cache.set)(host, merged)

    def merge_many(self, items):
        """``merge`` for each ``(host, facts, current)``; errors propagate."""
        if self.threads > 1 and len(items) > 16:
            from concurrent.futures import ThreadPoolExecutor
            with ThreadPoolExecutor(self.threads) as pool:
                for dummy in pool.map(lambda item: self.merge(*item), items):
                    pass
        else:
            for item in items:
                self.merge(*item)

    def start(self, items):
        """Start ``merge_many(items)`` (in child processes for many items, see
        :func:`in_background`); returns a function that waits and raises ``RuntimeError`` if
        a write failed."""
        return in_background(self.merge_many, items)

    def start_json(self, items, minimum=200, count=None, dumped=False):
        """Start adding, for each ``(host, key, text)`` of ``items``, the fact ``key`` whose value
        is the JSON ``text`` to ``host``'s cached facts; returns a function that waits and raises
        ``RuntimeError`` if a write failed. ``items``: a list (emptied: its texts are taken over),
        or an iterator of ``count`` items, taken as the writing goes (the texts need not all be
        in memory at once). ``dumped``: each ``text`` is exactly what ``json.dumps`` (default
        arguments) gives for its value, so the writers put it in the file as it is (else they
        decode and encode it again).

        For ansible-core's jsonfile cache (and ``minimum`` hosts or more) the entries are
        written by :class:`_FastFileWriter`: fresh writer processes with a small heap, in
        parallel with this one, encoding with the standard library exactly what the plugin
        writes (checked on the first host, written the plugin's way). Any other cache, or a
        doubt, takes :meth:`start` (the plugin's own ``set``)."""
        if count is None:
            count = len(items)
        items = _drain(items) if isinstance(items, list) else iter(items)
        if not count:
            return lambda: None
        writer = _FastFileWriter.for_store(self) if count >= minimum else None
        if writer is None:
            return self.start([(host, {key: json.loads(text)}, None) for host, key, text in items])
        return writer.start(items, dumped=dumped)


def _drain(items):
    """Iterate over the list ``items``, emptying it (each item let go once taken)."""
    items.reverse()
    while items:
        yield items.pop()


#: The program of a fact cache writer process (:class:`_FastFileWriter`); standard library only.
#: argv: codec, file mode (octal), cache timeout (seconds, 0: none), ``1`` when each value is
#: ``json.dumps``' own text of it (``0``: any JSON text). Each line of its input is
#: ``host<TAB>path<TAB>key<TAB>value``: ``host``, ``path``, ``key`` as JSON strings, ``value``
#: JSON text without a newline. It writes each host's file with the fact added, and prints at
#: the end the input lines of the hosts it left to the plugin (expired, tagged or unreadable
#: entries). A last line without its newline (its feeder was killed while writing it) is not
#: written: its value is cut short.
_WRITER = r"""
import json, os, sys, time
codec, mode, timeout = sys.argv[1], int(sys.argv[2], 8), float(sys.argv[3])
dumped = sys.argv[4:5] == ["1"]
decoder = json.JSONDecoder()
tmp_name = ".divest-facts-%d.tmp" % os.getpid()
left = []


def splice(payload, key, value):
    # The facts' JSON text as json.dumps wrote it, with key set to value (json.dumps' format):
    # what json.dumps of the updated facts gives, without decoding and encoding all of them:
    # key appended when it is nowhere in the text, replaced when it is the last member.
    name = json.dumps(key)
    if not payload.startswith("{") or not payload.endswith("}"):
        return None
    if name not in payload:
        return "{%s: %s}" % (name, value) if payload == "{}" else "%s, %s: %s}" % (payload[:-1], name, value)
    at = payload.find(name + ": ")
    if at < 1 or payload.count(name) != 1 or payload[at - 1] not in "{ ":
        return None
    try:
        dummy, end = decoder.raw_decode(payload, at + len(name) + 2)
    except ValueError:
        return None
    if end != len(payload) - 1:
        return None
    return payload[:at + len(name) + 2] + value + "}"


HEAD, TAIL = '{"__payload__": "', '"}'
PLAIN_KEY = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


def escape(text):
    return json.dumps(text)[1:-1]


def splice_file(data, key, value):
    # splice() on the payload as the file holds it, escaped (json.dumps escapes character by
    # character: the escaped text of the spliced payload is the escaped text of its pieces), so
    # that the file is neither decoded nor encoded whole. None when in any doubt: a file that is not
    # json.dumps({"__payload__": ...}) as ASCII, a key other than letters, digits and "_", the key's
    # letters more than once, or a stored value that is not the payload's last member.
    if not data.startswith(HEAD) or not data.endswith(TAIL) or not data.isascii() or not PLAIN_KEY.issuperset(key):
        return None
    escaped = data[len(HEAD):-len(TAIL)]
    if '"' in escaped.replace("\\\\", "").replace('\\"', "") or not escaped.startswith("{") or not escaped.endswith("}"):
        return None   # a quote that ends the string early (not one string), or not an object
    name = json.dumps(key)
    if key not in escaped:   # the key's letters appear as they are wherever the payload has them
        if escaped == "{}":
            return HEAD + escape("{%s: %s}" % (name, value)) + TAIL
        return HEAD + escaped[:-1] + escape(", %s: %s}" % (name, value)) + TAIL
    if escaped.count(key) != 1:
        return None
    at = escaped.find(escape(name) + ": ")
    if at < 1 or escaped[at - 1] not in "{ ":
        return None
    start = at + len(escape(name)) + 2
    try:
        old = json.loads('"%s"' % escaped[start:-1])
        dummy, end = decoder.raw_decode(old)
    except ValueError:
        return None
    if end != len(old):
        return None
    return HEAD + escaped[:start] + escape(value) + "}" + TAIL


for line in sys.stdin.buffer:
    if not line.endswith(b"\n"):
        # the end of the input without its newline: the feeding process died in the middle of a
        # line (a killed job), and the value is cut short; written, it would leave the host's
        # facts unreadable. Nothing is written for it, and nobody is left to tell.
        break
    host, path, key, value = line[:-1].split(b"\t", 3)
    path = json.loads(path)
    try:
        if b'"__ansible_' in value:
            raise LookupError(path)
        key = json.loads(key)
        if dumped:  # the text json.dumps(value) gives: decoded only when the facts are written whole
            dumps = value.decode("utf-8")
        else:
            value = json.loads(value)
            dumps = json.dumps(value)
        try:
            with open(path, "rb") as handle:
                if timeout and time.time() - os.fstat(handle.fileno()).st_mtime > timeout:
                    raise LookupError(path)
                data = handle.read()
        except FileNotFoundError:
            data = b'{"__payload__": "{}"}' if codec == "payload" else b"{}"
        if b'"__ansible_' in data:
            raise LookupError(path)
        text = splice_file(data.decode("utf-8"), key, dumps) if codec == "payload" else None
        if text is None:
            facts = json.loads(data)
        if text is not None:
            pass    # spliced in the file's own text
        elif codec == "payload":
            payload = facts["__payload__"]
            text = splice(payload, key, dumps)
            if text is None:
                facts = json.loads(payload)
                if not isinstance(facts, dict):
                    raise LookupError(path)
                facts[key] = json.loads(dumps)
                text = json.dumps(facts)
            text = json.dumps({"__payload__": text})
        else:
            if not isinstance(facts, dict):
                raise LookupError(path)
            facts[key] = json.loads(dumps)
            text = json.dumps(facts, sort_keys=True, indent=4)
        tmp = os.path.join(os.path.dirname(path), tmp_name)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                os.fchmod(fd, mode)
                handle.write(text)
            os.replace(tmp, path)
        except OSError:     # a full disk: the host keeps its file, no temporary one is left
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
    except (LookupError, ValueError, TypeError, KeyError):
        left.append(line)
sys.stdout.buffer.write(b"".join(left))
"""


def _encode_entry(codec, facts):
    """The text ansible-core's jsonfile plugin writes for ``facts`` (plain JSON data): from 2.19
    on ``{"__payload__": "<JSON text>"}``, before the facts sorted and indented."""
    if codec == "payload":
        return json.dumps({"__payload__": json.dumps(facts)})
    return json.dumps(facts, sort_keys=True, indent=4)


def _decode_entry(codec, data):
    facts = json.loads(data)
    if codec == "payload":
        facts = json.loads(facts["__payload__"])
    return facts


class _FastFileWriter(object):
    """Writes many hosts' entries of ansible-core's jsonfile fact cache fast and with a small
    footprint (``FactStore.start_json``).

    The plugin's ``set`` (2.19+: through its wrapper, which encodes each host's facts with a
    tag-aware encoder) costs about as much per host as the rest of the plan together, and
    writing in children forked from a worker that holds the whole fleet's plan counted that
    heap once per child. Here the first host is written the plugin's way, its file is read back
    and the codec (``payload``: 2.19+, ``sorted``: 2.16-2.18) that re-encodes it to exactly the
    same bytes is chosen (none: the plugin's way for every host); the other hosts are written by
    fresh Python processes (``_WRITER``, standard library only: a few MiB each) fed through
    pipes, with the file mode the plugin gave. Entries holding Ansible tags, expired or
    unreadable ones, and those the plugin holds in this process' memory are written by the
    plugin, here.
    """

    PROCESSES = 4
    #: Input lines per write to a writer process.
    CHUNK = 256

    def __init__(self, store, plugin, key_of, name_of, codec, mode, timeout):
        self.store = store
        self.plugin = plugin
        self.key_of = key_of
        self.name_of = name_of
        self.codec = codec
        self.mode = mode
        self.timeout = timeout
        self._first = None

    @classmethod
    def for_store(cls, store):
        """The writer for ``store``'s cache, or ``None`` when it is not ansible-core's jsonfile
        plugin reachable the way this class knows."""
        # pylint: disable=protected-access
        cache = store.cache
        plugin = _file_plugin(cache)
        if plugin is None or not _is_builtin_jsonfile(plugin) or not hasattr(os, "replace"):
            return None
        if getattr(cache, "__wrapped__", None) is plugin and callable(getattr(cache, "_get_key", None)):
            key_of = cache._get_key                     # ansible-core 2.19+: s1_<host>
        elif getattr(cache, "_plugin", None) is plugin or cache is plugin:
            key_of = str                                # 2.16-2.18: FactCache over the plugin
        else:
            return None
        try:
            timeout = float(plugin._timeout)
        except (AttributeError, TypeError, ValueError):
            return None
        return cls(store, plugin, key_of, _cache_file_namer(plugin), None, None, timeout)

    def _learn(self, host):
        """After the plugin wrote ``host``: the codec and mode that give its file exactly."""
        path = self.name_of(self.key_of(host))
        with open(path, "rb") as handle:
            data = handle.read()
        mode = os.stat(path).st_mode & 0o7777
        try:
            official = self.store.cache.get(host)
        except KeyError:
            return False
        for codec in ("payload", "sorted"):
            try:
                facts = _decode_entry(codec, data)
                if _encode_entry(codec, facts).encode("utf-8") == data and facts == official:
                    self.codec, self.mode = codec, mode
                    return True
            except (ValueError, TypeError, KeyError):
                continue
        return False

    def start(self, items, dumped=False):
        """See :meth:`FactStore.start_json`; ``items``: an iterator, taken as the writing goes."""
        # pylint: disable=protected-access
        host, key, text = next(items)
        self.store.merge(host, {key: json.loads(text)})
        try:
            learned = _TAGGED_BYTES not in text.encode("utf-8") and self._learn(host)
        except OSError:
            learned = False
        if not learned:
            return self.store.start([(h, {k: json.loads(t)}, None) for h, k, t in items])
        import subprocess
        import sys
        import threading
        command = [sys.executable, "-I", "-S", "-c", _WRITER, self.codec, "%o" % self.mode, repr(self.timeout),
                   "1" if dumped else "0"]
        self._items, self._lock, self._here, self._errors = items, threading.Lock(), [], []
        children = []
        try:
            for dummy in range(max(1, min(os.cpu_count() or 1, self.PROCESSES))):
                proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE)
                feeder = threading.Thread(target=self._feed, args=(proc,), daemon=True)
                children.append((proc, feeder))
                feeder.start()
        except OSError:     # no process to be had: the plugin writes what no started writer took
            if not children:
                return self.store.start([(h, {k: json.loads(t)}, None) for h, k, t in items])
        return lambda: self._finish(children)

    def _next_lines(self):
        """The writers' input for the next ``CHUNK`` items (bytes; empty at the end). Items whose
        entry the plugin holds in this process' memory are kept for the plugin (:meth:`_finish`)."""
        # pylint: disable=protected-access
        with self._lock:
            batch = list(itertools.islice(self._items, self.CHUNK))
        lines = []
        for host, key, text in batch:
            if self.key_of(host) in self.plugin._cache:
                self._here.append((host, key, text))
                continue
            if "\n" in text:
                text = json.dumps(json.loads(text))
            path = self.name_of(self.key_of(host))
            lines.append("%s\t%s\t%s\t%s\n" % (json.dumps(host), json.dumps(path), json.dumps(key), text))
        return "".join(lines).encode("utf-8") if batch else b"", bool(batch)

    def _collect(self, children):
        """Wait for the writer processes; ``(errors, records they left to the plugin)``."""
        errors, left = [], []
        for proc, feeder in children:
            feeder.join()
            proc.stdin = None   # closed by the feeder
            out, err = proc.communicate()
            if proc.returncode != 0:
                lines = err.decode("utf-8", "replace").strip().splitlines()
                errors.append(lines[-1] if lines else "fact writer process exited with status %d" % proc.returncode)
            left.extend(_records([out]))
        return errors, left

    def _finish(self, children):
        errors, left = self._collect(children)
        errors.extend(self._errors)
        if errors:
            raise RuntimeError("; ".join(dict.fromkeys(errors)))
        for host, key, text in self._here + left:
            self.store.merge(host, {key: json.loads(text)})

    def _feed(self, proc):
        """Feed writer ``proc`` until the items run out (a few threads share them); the lines of a
        batch are made under the GIL in one go, and written while it is free."""
        try:
            while True:
                data, more = self._next_lines()
                if not more:
                    break
                if data:
                    proc.stdin.write(data)
        except (BrokenPipeError, ValueError):
            pass            # the writer died: wait() reports its error (its items are lost to it)
        except Exception as exc:  # pylint: disable=broad-exception-caught  # reported by wait()
            self._errors.append("%s: %s" % (type(exc).__name__, exc))
        finally:
            try:
                proc.stdin.close()
            except OSError:
                pass


def _records(chunks):
    """``(host, key, value text)`` of the writer's input lines in ``chunks`` (bytes)."""
    for data in chunks:
        for line in data.decode("utf-8").split("\n"):
            if line:
                host, dummy, key, value = line.split("\t", 3)
                yield json.loads(host), json.loads(key), value


def map_hosts(work, names, processes=None, minimum=2000):
    """``[work(chunk), ...]`` over ``names`` split into interleaved chunks, one per CPU (at most
    4), worked on at once: the first in this process, the others in forked child processes that
    send their result back pickled. Reading and reducing a fleet's facts is CPU work (file
    reads, JSON decoding, per-host planning) that one process does at one CPU's pace.

    Forking is safe here for the reasons :func:`in_background` gives (the children only read and
    compute, and leave with ``os._exit``); they are forked before this process holds anything
    of the fleet, and share its pages. A child that fails, or whose result cannot be read, has
    its chunk worked on here again (so its error, if any, is raised here). Fewer than
    ``minimum`` names, one CPU, or no ``fork``: ``[work(names)]``. ``work`` must return
    picklable data and must not depend on the other chunks."""
    count = max(1, min(processes or os.cpu_count() or 1, 4, len(names)))
    if count < 2 or len(names) < minimum or not hasattr(os, "fork"):
        return [work(names)]
    chunks = [names[index::count] for index in range(count)]
    return run_forked([functools.partial(work, chunk) for chunk in chunks])


def in_background(func, items, minimum=200):
    """Run ``func(items)`` in forked child processes (one per CPU, at most 4) and return a
    function that waits for them and raises ``RuntimeError`` with their errors.

    Writing thousands of fact cache entries is CPU work (encoding) and disk waits; in
    children it overlaps with rendering the plan files in this process and uses the other
    CPUs. Forking is safe here: the action runs in Ansible's worker process, which has a
    single thread; the children only write cache files and leave with ``os._exit`` (no
    cleanup of the worker's state). Few items, or no ``fork``, run here and now.
    """
    if len(items) < minimum or not hasattr(os, "fork"):
        func(items)
        return lambda: None
    count = max(1, min(os.cpu_count() or 1, 4, len(items)))
    children = [spawn(functools.partial(func, items[index::count]), lambda dummy: b"",
                      lambda exc: ("%s: %s" % (type(exc).__name__, exc)).encode("utf-8", "replace")[:2000])
                for index in range(count)]

    def wait():
        errors = []
        for pid, read_fd in children:
            message, status = collect(pid, read_fd)
            if status != 0:
                errors.append(message.decode("utf-8", "replace") or "writer process exited with status %d" % status)
        if errors:
            raise RuntimeError("; ".join(dict.fromkeys(errors)))
    return wait


# ------------------------------------------------------------------------ AWX's hand-off


def safe_host_file(directory, name):
    """``directory/name`` for a host name that is a plain file name there (AWX refuses the same
    names: its ``realpath`` check), else ``None``."""
    if not isinstance(name, str) or not name or name in (".", "..") or "/" in name or "\x00" in name \
            or name.startswith("."):
        return None
    return os.path.join(directory, name)


def _read_json_file(path):
    """The mapping in the JSON file ``path``; ``None`` when missing; ``ValueError`` when not a
    JSON object."""
    try:
        with open(path, "rb") as handle:
            data = json.loads(handle.read().decode("utf-8"))
    except FileNotFoundError:
        return None
    if not isinstance(data, Mapping):
        raise ValueError("%s does not hold a JSON object" % path)
    return data


def _reason(exc):
    """Why a file could not be read, as display-safe text of at most 300 characters."""
    return clean_text(str(exc), 300)


def _write_json_file(path, data):
    """Write ``data`` as JSON to ``path`` through a temporary file and a rename (no fsync: the
    reader is AWX, after this process has ended); an error (a full disk) leaves ``path`` as it was
    and no temporary file."""
    from ansible.module_utils.common.json import AnsibleJSONEncoder
    text = json.dumps(data, cls=AnsibleJSONEncoder, sort_keys=True, separators=(",", ":")).encode("utf-8")

    def fill(tmp):
        with open(tmp, "wb") as handle:
            handle.write(text)
    replace_file(path, fill, 0o600, prefix="%s.divest-" % os.path.basename(path), suffix=".tmp")


class AwxFactFiles(object):
    """AWX's file naming of the jsonfile fact cache, beside ansible-core's own.

    ``cache``: the play's fact cache (``HostFacts.variable_manager._fact_cache``; ``None``: the
    configured one). :attr:`active` is ``True`` only where the two namings differ: the
    configured cache plugin is jsonfile, and ansible-core 2.19+ wraps it with a schema key prefix
    (``s1_``). Elsewhere (2.16-2.18, other plugins) every method does nothing.
    """

    def __init__(self, cache=None):
        self.cache = cache
        self.active = False
        self.directory = None
        self.naming = "none"
        if cache is None:
            from ansible.plugins.loader import cache_loader
            try:
                cache = cache_loader.get(C.CACHE_PLUGIN)
            except Exception:  # pylint: disable=broad-exception-caught  # not configured: nothing to hand over
                return
            self.cache = cache
        if cache is None or isinstance(cache, dict):
            return
        plugin = getattr(cache, "_plugin", None) or getattr(cache, "__wrapped__", cache)
        name = _plugin_name(cache)
        if name.rsplit(".", 1)[-1] != "jsonfile":
            return
        self.directory = getattr(plugin, "_cache_dir", None)
        key_of = getattr(cache, "_get_key", None)
        if not self.directory or not callable(key_of) or getattr(cache, "__wrapped__", None) is None:
            self.naming = "awx"  # ansible-core < 2.19: the plugin's files are AWX's
            return
        if key_of("h") == "h":
            self.naming = "awx"
            return
        self.naming = "prefixed"
        self.active = True
        self._wrapped = cache.__wrapped__
        self._key_of = key_of
        self._read = fast_get(cache)    # the plugin's get would keep every host's facts in memory

    def _plain(self, name, unreadable=None):
        path = safe_host_file(self.directory, name)
        if path is None:
            return None, None
        try:
            return path, _read_json_file(path)
        except (OSError, ValueError) as exc:
            if unreadable is not None:
                unreadable.append((name, _reason(exc)))
            return path, None

    def load(self, names, unreadable=None):
        """Before the job's work: each host of ``names`` with AWX's ``<host>`` file and no entry
        of the plugin gets the file's facts as its entry. Returns how many hosts were loaded;
        ``(host, reason)`` of each file that cannot be read is added to the list ``unreadable``."""
        if not self.active:
            return 0
        try:
            # one listing instead of a stat per host: hosts without AWX's file have nothing to take in
            present = set(os.listdir(self.directory))
        except OSError:
            present = None
        loaded = 0
        put = file_cache_setter(self.cache) or self.cache.set
        for name in names:
            if present is not None and name not in present:
                continue
            if self._wrapped.contains(self._key_of(name)):
                continue
            dummy, facts = self._plain(name, unreadable)
            if facts:
                put(name, dict(facts))
                loaded += 1
        return loaded

    def save(self, names):
        """After the job's work: each host of ``names`` with an entry of the plugin gets AWX's
        ``<host>`` file, holding AWX's facts with this job's over them (as ansible-core 2.16-2.18
        leave it). Returns how many files were written (unchanged ones are not)."""
        if not self.active:
            return 0
        saved = 0
        for name in names:
            if not self._wrapped.contains(self._key_of(name)):
                continue
            path, plain = self._plain(name)
            if path is None:
                continue
            try:
                facts = self._read(name)
            except KeyError:
                continue
            merged = dict(plain or {})
            merged.update(facts or {})
            if plain is not None and merged == plain:
                continue
            _write_json_file(path, merged)
            saved += 1
        return saved

    def record(self, name, facts):
        """While the job runs: ``facts`` (facts a task just set for host ``name``) merged into
        AWX's ``<host>`` file, so that what a step recorded reaches AWX's database even when the
        job is cancelled or killed before its last task hands every host's facts back
        (:meth:`save`, which rewrites the file whole). Returns whether the file was written."""
        if not self.active or not facts:
            return False
        path, plain = self._plain(name)
        if path is None:
            return False
        merged = dict(plain or {})
        merged.update(facts)
        if plain is not None and merged == plain:
            return False
        _write_json_file(path, merged)
        return True


def record_for_awx(task_vars, loader, name, facts):
    """In an AWX job on ansible-core 2.19+ (where AWX's ``<host>`` files are not the cache's own,
    :class:`AwxFactFiles`), write ``facts`` of host ``name`` into AWX's file at once: an execute
    step's outcome then survives a cancelled job. Elsewhere nothing to do (before 2.19 the fact
    cache writes AWX's file itself). Returns whether a file was written; ``OSError`` when it
    could not be."""
    if not _awx.in_job(task_vars):
        return False
    facts_view = HostFacts(task_vars, loader=loader)
    cache = getattr(facts_view.variable_manager, "_fact_cache", None)
    files = AwxFactFiles(cache) if facts_view.fast else AwxFactFiles(None)
    return files.record(name, facts)


class FindingsStore(object):
    """Each host's findings (the ``divest`` fact) as ``<directory>/<host>.json`` on a persistent
    path: what carries a sliced identify to the report and the plan, AWX storing no facts for
    sliced jobs. The newer scan (``scanned_at``) wins when both the store and the fact cache
    have findings for a host."""

    FACT = "divest"

    def __init__(self, directory):
        self.directory = os.path.abspath(os.path.expanduser(directory))

    def path(self, name):
        base = safe_host_file(self.directory, name)
        return None if base is None else base + ".json"

    def write(self, items):
        """``items``: ``(host, findings)``; writes those that differ from the stored ones.
        Returns how many were written; raises ``OSError`` when the directory is unusable."""
        os.makedirs(self.directory, exist_ok=True)
        written = 0
        for name, findings in items:
            path = self.path(name)
            if path is None or not isinstance(findings, Mapping):
                continue
            try:
                current = _read_json_file(path)
            except (OSError, ValueError):
                current = None
            if current == {self.FACT: findings}:
                continue
            _write_json_file(path, {self.FACT: findings})
            written += 1
        return written

    def read(self, name, unreadable=None):
        """The stored findings of host ``name`` (``None``: none, or an unreadable file, whose
        ``(host, reason)`` is added to the list ``unreadable``)."""
        path = self.path(name)
        if path is None:
            return None
        try:
            data = _read_json_file(path)
        except (OSError, ValueError) as exc:
            if unreadable is not None:
                unreadable.append((name, _reason(exc)))
            return None
        findings = _get(data, self.FACT)
        if data is not None and not isinstance(findings, Mapping):
            if unreadable is not None:
                unreadable.append((name, "%s holds no '%s' mapping" % (path, self.FACT)))
            return None
        return findings

    @staticmethod
    def newer(stored, cached):
        """Whether ``stored`` findings are newer than ``cached`` (missing ones are oldest)."""
        if not isinstance(stored, Mapping):
            return False
        if not isinstance(cached, Mapping):
            return True
        return str(_get(stored, "scanned_at") or "") > str(_get(cached, "scanned_at") or "")
