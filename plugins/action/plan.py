# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action behind ``fleetsec.divest.plan`` (documentation: plugins/modules/plan.py).

Runs on the controller only and never opens a connection. It reads every host's
``ansible_facts.divest`` (and ``divest_error``) in Python, hands them to the pure planner
(``plugin_utils._planner``), writes the plan files (``plugin_utils._plan_report``) and, when
asked, stores each planned host's part as the ``divest_plan`` fact in the configured fact
cache, all in this one task (no per-host task, no Jinja loop over ``hostvars``).
"""

from __future__ import annotations

import datetime
import gc
import json
import os
import re
from collections.abc import Mapping

from ansible import constants as C
from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.fleetsec.divest.plugins.plugin_utils import _plan_report, _planner
from ansible_collections.fleetsec.divest.plugins.plugin_utils._catalog import CatalogError, load_catalogs
from ansible_collections.fleetsec.divest.plugins.plugin_utils._report import (
    ReportWriteError,
    write_bytes_atomic,
)

display = Display()

FACT = "divest_plan"
ARGUMENT_SPEC = {
    # "hosts" (a list of names, possibly 10,000s long) is checked by hand: the generic
    # validator deep-copies every parameter, which costs seconds at fleet scale.
    "pattern": {"type": "str"},
    "policy": {"type": "dict", "default": {}},
    "dest": {"type": "path", "default": "divest-reports"},
    "formats": {"type": "list", "elements": "str", "default": list(_plan_report.FORMATS),
                "choices": list(_plan_report.FORMATS)},
    "store_host_facts": {"type": "bool", "default": False},
    "mode": {"type": "str", "default": "plan", "choices": ["plan", "stale", "auto"]},
    "return_plan": {"type": "bool", "default": True},
    "catalogs": {"type": "list", "elements": "str", "default": ["kaspersky"]},
}
_MEMORY = ("memory", "ansible.builtin.memory")


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


# ------------------------------------------------------------------------------ catalogs


def vendor_profiles(catalogs):
    """``{vendor: {linux: {dirs, repos, packages}}}`` from loaded catalogs: the vendor's own
    directories and repository patterns (its Linux leftovers block) and every literal package
    name its Linux products' signatures and recipes know (patterns cannot be pinned)."""
    out = {}
    for catalog in catalogs:
        names = set()
        for product in catalog.for_platform("linux"):
            names.update(product.signatures.texts.get("packages") or ())
            names.update(p for p in product.removal.get("packages") or () if isinstance(p, str))
        block = catalog.leftovers.platforms.get("linux")
        sig = block[0] if block else None
        if not names and sig is None:
            continue
        out[catalog.vendor] = {"linux": {
            "dirs": list(catalog.vendor_dirs),        # plain paths, checked when the catalog was loaded
            "repos": list(sig.texts.get("repos") or ()) if sig is not None else [],
            "packages": sorted(n for n in names if not n.startswith("re:")),
        }}
    return out


# ------------------------------------------------------------------------------ reading hosts


def _group_index(groups):
    """``{host: [group, ...]}`` from the ``groups`` magic variable (without ``all``)."""
    index = {}
    if not isinstance(groups, Mapping):
        return index
    for group, members in groups.items():
        if group == "all" or not isinstance(members, (list, tuple)):
            continue
        for name in members:
            index.setdefault(name, []).append(group)
    return index


def _safe_get(mapping, key):
    if not isinstance(mapping, Mapping):
        return None
    try:
        return mapping.get(key)
    except Exception:  # a lazy value that fails to resolve: the host is treated as unscanned
        return None


def _inventory_names(pattern, inventory, groups, loader):
    """Host names matching an inventory ``pattern``, like ``query('inventory_hostnames', pattern)``
    (limits such as ``--limit`` do not apply)."""
    if inventory is not None and hasattr(inventory, "get_hosts"):
        return [h.name for h in inventory.get_hosts(pattern, ignore_limits=True, ignore_restrictions=True)]
    from ansible.inventory.manager import InventoryManager  # what the inventory_hostnames lookup does
    manager = InventoryManager(loader, parse=False)
    for group, members in (groups or {}).items():
        manager.add_group(group)
        for name in members:
            manager.add_host(name, group=group)
    return [h.name for h in manager.get_hosts(pattern=pattern)]


_TAGGED = '"__ansible_'


def _fast_get(cache):
    """``cache.get``, faster for the cache wrapper of ansible-core 2.19 and later.

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
    if wrapped is None or not callable(key_of) or not isinstance(payload_key, str) or not hasattr(wrapped, "get"):
        return cache.get
    state = {"checked": False, "ok": False}

    def get(name):
        raw = wrapped.get(key_of(name))
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


class HostReader(object):
    """Reads what the planner needs of each host, straight from the variable manager's fact
    caches when it can reach them (fast: no per-host ``get_vars``, nothing templated:
    facts are data), else through ``hostvars`` (any mapping, e.g. in tests)."""

    def __init__(self, task_vars):
        self.hostvars = task_vars.get("hostvars") or {}
        self.task_groups = task_vars.get("groups")
        vm = getattr(self.hostvars, "_variable_manager", None)
        inventory = getattr(self.hostvars, "_inventory", None)
        self.variable_manager = vm
        self.fact_cache = getattr(vm, "_fact_cache", None)
        self.set_facts = getattr(vm, "_nonpersistent_fact_cache", None)
        self.inventory = inventory if hasattr(inventory, "get_host") else None
        self.fast = (self.fact_cache is not None and isinstance(self.set_facts, Mapping)
                     and self.inventory is not None)
        self._get = _fast_get(self.fact_cache) if self.fast else None
        hosts = getattr(self.inventory, "hosts", None)
        self.hosts = hosts if isinstance(hosts, Mapping) else {}
        self._groups = None
        self.cached = {}  # name -> the host's cached facts (to skip rewriting an unchanged part)

    def groups_of(self, name, host=None):
        if host is not None:
            return [g.name for g in host.get_groups() if g.name != "all"]
        if self._groups is None:
            self._groups = _group_index(self.task_groups)
        return self._groups.get(name, [])

    def _cached_facts(self, name):
        try:
            facts = self._get(name)
        except KeyError:
            return None
        except Exception as exc:  # a corrupt cache file: plan the host as not scanned
            display.warning("fleetsec.divest.plan: cannot read the cached facts of %s: %s" % (name, exc))
            return None
        return facts if isinstance(facts, Mapping) else None

    def read(self, name):
        """``{"divest", "groups", "error"}`` for the planner, or ``None`` for an unknown host."""
        host = None
        if self.fast:
            host = self.hosts.get(name) or self.inventory.get_host(name)  # the dict first: get_host is slower
            if host is None:
                return None
            facts = self._cached_facts(name)
            self.cached[name] = facts
            extra = self.set_facts.get(name) or {}
            divest = extra["divest"] if "divest" in extra else _safe_get(facts, "divest")
            error = extra.get("divest_error")
        else:
            raw_get = getattr(self.hostvars, "raw_get", None)
            try:
                data = raw_get(name) if raw_get is not None else self.hostvars.get(name)
            except Exception:
                data = None
            if not isinstance(data, Mapping):
                return None
            facts = _safe_get(data, "ansible_facts")
            self.cached[name] = facts if isinstance(facts, Mapping) else None
            divest = _safe_get(facts, "divest")
            if divest is None:
                divest = _safe_get(data, "divest")
            error = _safe_get(data, "divest_error")
        return {"divest": divest, "groups": self.groups_of(name, host), "error": error}


# ------------------------------------------------------------------------------ fact storage


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
    rename, which on ext4 waits for the disk, so several in flight at once cut the time.
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
        if cache is None or isinstance(cache, dict):
            self.name, self.persistent = "memory", False
            return
        self.name = _plugin_name(cache)
        self.persistent = not (self.name in _MEMORY or self.name.endswith(".memory") or C.CACHE_PLUGIN in _MEMORY)
        self._first_order_merge = getattr(cache, "first_order_merge", None)
        plugin = getattr(cache, "_plugin", None) or getattr(cache, "__wrapped__", cache)
        try:
            from ansible.plugins.cache import BaseFileCacheModule
            self.threads = self.THREADS if isinstance(plugin, BaseFileCacheModule) else 1
        except ImportError:  # pragma: no cover
            self.threads = 1

    def merge(self, host, facts, current=None):
        """Add ``facts`` to ``host``'s cached facts; ``current``: those facts, when already read."""
        if self._first_order_merge is not None:
            self._first_order_merge(host, facts)
            return
        if not isinstance(current, Mapping):
            try:
                current = self.cache.get(host)
            except KeyError:
                current = None
        merged = dict(current) if isinstance(current, Mapping) else {}
        merged.update(facts)
        self.cache.set(host, merged)

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


# ---------------------------------------------------------------------------------- writing

_HEAD = {
    "json": (re.compile(r'^  "digest": "(sha256:[0-9a-f]{64})",$', re.M),
             re.compile(r'^  "generated_at": "([^"\\]*)",$', re.M)),
    "yml": (re.compile(r'^digest: "?(sha256:[0-9a-f]{64})"?$', re.M), re.compile(r'^generated_at: "?([^"\n]*)"?$', re.M)),
    "html": (re.compile(r'<meta name="divest-plan-digest" content="(sha256:[0-9a-f]{64})">'),
             re.compile(r'<meta name="divest-generated-at" content="([^"]*)">')),
    "md": (re.compile(r"^<!-- divest-plan digest=(sha256:[0-9a-f]{64}) generated_at=(\S+) -->$", re.M), None),
}


def previous_plan(files):
    """``(digest, generated_at)`` of the plan already under ``dest`` (from the head of any of
    its files), or ``(None, None)``."""
    for fmt, path in files.items():
        try:
            with open(path, "rb") as handle:
                head = handle.read(8192).decode("utf-8", "replace")
        except OSError:
            continue
        digest_re, time_re = _HEAD[fmt]
        found = digest_re.search(head)
        if not found:
            continue
        if time_re is None:
            return found.group(1), found.group(2)
        when = time_re.search(head)
        if when:
            return found.group(1), when.group(1)
    return None, None


def _differs(path, data):
    try:
        with open(path, "rb") as handle:
            return handle.read(len(data) + 1) != data
    except OSError:
        return True


def _diff_text(plan):
    if plan is None:
        return ""
    lines = ["digest: %s" % plan["digest"]]
    for name, entry in plan["hosts"].items():
        products = ",".join("%s/%s" % (a["product"], a["version"] or "-") for a in entry["actions"]
                            if a["action"] in ("remove", "cleanup"))
        lines.append("%s: wave=%s products=%s blockers=%s" % (
            name, entry["wave"], products, ",".join(b["kind"] for b in entry["blockers"]) or "none"))
    for item in plan["not_scanned"]:
        lines.append("%s: not scanned (%s)" % (item["host"], item["reason"]))
    return "\n".join(lines) + "\n"


def _load_previous(path):
    try:
        with open(path, "rb") as handle:
            return json.loads(handle.read().decode("utf-8"))
    except (OSError, ValueError):
        return None


# ------------------------------------------------------------------------------------ action


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True
    _VALID_ARGS = frozenset(ARGUMENT_SPEC) | frozenset(("hosts",))

    def run(self, tmp=None, task_vars=None):
        # Reading a fleet's facts allocates millions of objects that all stay alive until the
        # plan is written; the cyclic garbage collector would scan them over and over (a third
        # of the run time at 10,000 hosts) and can find nothing to free. Pause it meanwhile.
        enabled = gc.isenabled()
        gc.disable()
        try:
            return self._run(tmp, task_vars)
        finally:
            if enabled:
                gc.enable()

    def _run(self, tmp=None, task_vars=None):
        if task_vars is None:
            task_vars = {}
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        args, names = self._arguments()

        if not getattr(self._task, "run_once", True):
            display.warning("fleetsec.divest.plan plans the whole fleet in one task: run it with "
                            "'run_once: true' (or on localhost), otherwise every host repeats the same work.")
        try:
            policy = _planner.normalize_policy(args["policy"])
        except _planner.PolicyError as exc:
            raise AnsibleActionFail("invalid plan policy: %s" % exc)

        reader = HostReader(task_vars)
        if names is None:
            names = _inventory_names(args["pattern"], reader.inventory, reader.task_groups, self._loader)
        names = list(dict.fromkeys(names))
        hosts = {name: reader.read(name) for name in names}
        now = utc_now()

        if args["mode"] in ("stale", "auto"):
            stale = _planner.stale_hosts(hosts, policy, now)
            result.update(stale_hosts=stale, hosts=len(names), fresh=len(names) - len(stale))
            if args["mode"] == "stale" or (stale and policy["scan"]):
                result.update(changed=False, planned=False)
                return result

        try:
            vendors = vendor_profiles(load_catalogs(args["catalogs"]))
        except CatalogError as exc:
            raise AnsibleActionFail("catalog error: %s" % exc)
        try:
            plan, parts = _planner.build_plan_parts(hosts, policy, now=now, vendors=vendors)
        except _planner.PolicyError as exc:
            raise AnsibleActionFail("invalid plan policy: %s" % exc)

        check = bool(self._task.check_mode)
        stored, wait_for_store = 0, None
        if args["store_host_facts"]:
            # Started first: the fact cache is written by a child process while this one
            # renders and writes the plan files (see _in_background).
            stored, wait_for_store = self._store_host_facts(plan, parts, reader, check, result)

        formats = list(dict.fromkeys(args["formats"]))
        dest = os.path.abspath(os.path.expanduser(args["dest"]))
        files = {fmt: os.path.join(dest, _plan_report.FILENAMES[fmt]) for fmt in formats}
        old_digest, old_time = previous_plan(files)
        if old_digest == plan["digest"] and old_time:
            plan["generated_at"] = old_time  # same plan: keep its time, so the files stay byte-identical
        rendered = _plan_report.render(plan, formats, parts)
        changed_files = sorted(fmt for fmt in formats if _differs(files[fmt], rendered[fmt]))

        if self._task.diff:
            before = _load_previous(files["json"]) if "json" in files and old_digest != plan["digest"] else plan
            result["diff"] = {"before": _diff_text(before) if before else "", "after": _diff_text(plan),
                              "before_header": "previous plan", "after_header": "new plan"}

        error = None
        if not check:
            try:
                for fmt in changed_files:
                    write_bytes_atomic(files[fmt], rendered[fmt])
            except ReportWriteError as exc:
                error = "cannot write the plan: %s" % exc
        if wait_for_store is not None:
            try:
                wait_for_store()
            except Exception as exc:
                error = "%s%sstoring the hosts' %s facts failed: %s" % (error or "", "; " if error else "", FACT, exc)
        if error:
            raise AnsibleActionFail(error)

        result.update(
            planned=True,
            changed=bool(changed_files) or stored > 0,
            digest=plan["digest"],
            summary=_planner.compact_summary(plan),
            files=files,
            changed_files=[files[fmt] for fmt in changed_files],
        )
        if check:
            result["msg"] = "check mode: nothing written; %d file(s) and %d host fact(s) would change" % (
                len(changed_files), stored)
        if args["return_plan"]:
            result["plan"] = plan
        return result

    def _arguments(self):
        """Validated arguments, and the ``hosts`` list (``None`` when ``pattern`` is used)."""
        raw = dict(self._task.args)
        hosts = raw.pop("hosts", None)
        validation = ArgumentSpecValidator(ARGUMENT_SPEC).validate(raw)
        if validation.error_messages:
            raise AnsibleActionFail("Validation of arguments failed: %s" % "; ".join(validation.error_messages))
        args = validation.validated_parameters
        if (hosts is None) == (args["pattern"] is None):
            raise AnsibleActionFail("give exactly one of hosts (a list of inventory host names) or pattern "
                                    "(an inventory host pattern)")
        if hosts is None:
            return args, None
        if isinstance(hosts, str):
            hosts = [h.strip() for h in hosts.split(",") if h.strip()]
        if not isinstance(hosts, (list, tuple)) or not all(isinstance(h, str) for h in hosts):
            raise AnsibleActionFail("hosts must be a list of inventory host names")
        return args, [str(h) for h in hosts]

    def _store_host_facts(self, plan, hosts_json, reader, check, result):
        """Start storing each planned host's part as its ``divest_plan`` fact (unchanged parts
        are not rewritten). Returns how many change (would change, in check mode) and a
        function that waits for the writes and raises if they failed (``None``: nothing to wait for)."""
        store = FactStore(reader.variable_manager)
        if not store.persistent:
            display.warning("fleetsec.divest.plan: the fact cache is the non-persistent '%s' plugin, so the hosts' "
                            "plan parts (%s) are not stored. Configure a persistent fact cache (fact_caching = "
                            "jsonfile, or AWX's fact storage) to let execute read them." % (store.name, FACT))
            result["host_facts"] = {"stored": 0, "unchanged": 0, "cache": store.name,
                                    "skipped": "non-persistent fact cache"}
            return 0, None
        pending = []
        for name, part in _planner.host_parts(plan, hosts_json).items():
            current = reader.cached.get(name)
            if _safe_get(current, FACT) != part:
                pending.append((name, {FACT: part}, current))
        result["host_facts"] = {"stored": 0 if check else len(pending), "unchanged": len(plan["hosts"]) - len(pending),
                                "cache": store.name}
        if check or not pending:
            return len(pending), None
        return len(pending), _in_background(store.merge_many, pending)


def _in_background(func, items, minimum=200):
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
    children = []
    for index in range(count):
        chunk = items[index::count]
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # child
            code = 0
            try:
                os.close(read_fd)
                func(chunk)
            except BaseException as exc:  # report anything, then leave without cleanup
                code = 1
                try:
                    os.write(write_fd, ("%s: %s" % (type(exc).__name__, exc)).encode("utf-8", "replace")[:2000])
                except Exception:
                    pass
            finally:
                os._exit(code)
        os.close(write_fd)
        children.append((pid, read_fd))

    def wait():
        errors = []
        for pid, read_fd in children:
            with os.fdopen(read_fd, "rb") as pipe:
                message = pipe.read().decode("utf-8", "replace")
            dummy, status = os.waitpid(pid, 0)
            if status != 0:
                errors.append(message or "writer process exited with status %d" % status)
        if errors:
            raise RuntimeError("; ".join(dict.fromkeys(errors)))
    return wait
