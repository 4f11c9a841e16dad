# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Linux collector: gather the raw inventory of docs/raw-inventory.md.

Plain functions, unit-testable without ``AnsibleModule``: the module
``fleetsec.divest.linux_inventory_info`` builds a ``Query`` from its options and a ``Host`` the way the
removal modules do (``module.run_module``), and calls ``collect(query, host)``. Where things
live on the host is ``layout``'s business. Commands (``rpm``, ``systemctl``) run through
``host.run``, always as an argument vector, never through a shell; nothing of the vendor is
ever executed.

Everything read from the host is data: every string in the result is cleaned by
``text.clean_text`` (valid UTF-8, control characters escaped, capped at ``MAX_TEXT``
characters); every section is capped at ``MAX_ITEMS`` items. Caps and failures are reported in ``errors``; the collector itself
never raises because one section failed.

What the collector reads is bounded too, whatever the host holds: each source has a byte
budget for all its files together (``BUDGET_*``), a directory listing stops after
``MAX_DIR_ENTRIES`` names and ``/proc`` after ``MAX_PROC_ENTRIES`` processes. A source cut
short, a file or directory that cannot be read (anything but "does not exist") is an
``errors`` entry of its section naming the path and the reason, so the matcher never calls
a host clean on a scan that could not see everything.

What runs or lies in a container is not the host's (``containers``): a process in another pid
namespace than the collector's, or in a cgroup that names a container the collector does not
run in (``proc.Scope``), and a path in container storage or leading there
(``layout.CONTAINER_STORAGE``), are reported apart, with the runtime and the container id where
the cgroup names them; a process whose namespace cannot be read goes there too, as ``unknown``.

Private to the collection: runs on managed nodes, standard library only, Python 3.6+.
"""

from __future__ import absolute_import, division, print_function

import binascii
import errno
import os
import re
import stat

from ansible_collections.fleetsec.divest.plugins.module_utils._patterns import (
    PatternError,
    PatternSet,
)
from ansible_collections.fleetsec.divest.plugins.module_utils._linux import layout
from ansible_collections.fleetsec.divest.plugins.module_utils._linux.fs import read_names
from ansible_collections.fleetsec.divest.plugins.module_utils._linux.host import OptionError
from ansible_collections.fleetsec.divest.plugins.module_utils._linux.inventory.dpkg import parse_database
from ansible_collections.fleetsec.divest.plugins.module_utils._linux.proc import HOST, Scope, iter_processes, list_pids
from ansible_collections.fleetsec.divest.plugins.module_utils._linux.systemd import parse_show, show_argv
from ansible_collections.fleetsec.divest.plugins.module_utils._linux.text import MAX_TEXT, clean_text, first_lines

__metaclass__ = type

__all__ = [
    "collect", "Query", "QueryError", "SCHEMA",
    "MAX_ITEMS", "SECTIONS", "BUDGET_DPKG", "BUDGET_REPOS", "BUDGET_HOLDS",
]

SCHEMA = 1
SECTIONS = ("packages", "units", "processes", "kernel_modules", "paths", "repos", "containers")

MAX_ITEMS = 1000          # items per section
MAX_SECTION_ERRORS = 8    # failures kept per section (the rest is counted, never dropped)
MAX_ERRORS = 100          # entries in ``errors``

# Read budgets: the most bytes one source reads, all its files together. What a source reads
# is also what it holds while it is parsed, so the budgets bound the collector's memory.
BUDGET_DPKG = 64 * 1024 * 1024     # var/lib/dpkg/status and every updates/ journal file
BUDGET_REPOS = 8 * 1024 * 1024     # every repository file (apt, yum/dnf, zypper)
BUDGET_HOLDS = 4 * 1024 * 1024     # versionlock lists and zypper locks (rpm packages found)
BUDGET_OS_RELEASE = 64 * 1024      # the os-release file
BUDGET_PROC_MODULES = 4 * 1024 * 1024   # /proc/modules
MAX_TEXT_FILE = 4 * 1024 * 1024    # one repository, journal or lock file within its budget
MAX_DIR_ENTRIES = 10000            # names read from one directory (units, repositories, journal)
MAX_PROC_ENTRIES = 100000          # processes looked at in /proc
MAX_HOLD_CHECKS = 1024             # glob comparisons spent looking up the holds of rpm packages


class QueryError(OptionError):
    """An invalid collector option; ``option`` names it."""


class _Section(object):
    """Items of one section, with the caps and the section's errors.

    At most ``MAX_SECTION_ERRORS`` failures are kept; the others are counted in one more
    failure entry, so a section that failed always says so in ``errors`` however many other
    sections failed before it.
    """

    __slots__ = ("name", "items", "limit", "dropped", "truncated", "errors", "more_errors")

    def __init__(self, name, limit=MAX_ITEMS):
        self.name = name
        self.items = []
        self.limit = limit
        self.dropped = 0
        self.truncated = 0
        self.errors = []
        self.more_errors = 0

    def text(self, value):
        text, truncated = clean_text(value)
        if truncated:
            self.truncated += 1
        return text

    def add(self, **item):
        if len(self.items) >= self.limit:
            self.dropped += 1
            return
        for key, value in item.items():
            if isinstance(value, (str, bytes)):
                item[key] = self.text(value)
        self.items.append(item)

    def error(self, message, *args):
        if len(self.errors) >= MAX_SECTION_ERRORS:
            self.more_errors += 1
            return
        if args:
            args = tuple(clean_text(arg, 256)[0] if isinstance(arg, (str, bytes)) else arg for arg in args)
            message = message % args
        self.errors.append({"section": self.name, "message": clean_text(message, 2 * MAX_TEXT)[0]})

    def report(self):
        errors = list(self.errors)
        if self.more_errors:
            errors.append({"section": self.name,
                           "message": "%d more failures not returned (at most %d per section)"
                                      % (self.more_errors, MAX_SECTION_ERRORS)})
        if self.dropped:
            errors.append({"section": self.name, "limit": True,
                           "message": "%d more items not returned (at most %d per section)" % (self.dropped, self.limit)})
        if self.truncated:
            errors.append({"section": self.name, "limit": True,
                           "message": "%d values longer than %d characters were truncated" % (self.truncated, MAX_TEXT)})
        return errors


def _strerror(exc):
    return exc.strerror or str(exc)


def _missing(exc):
    """True for "does not exist": a normal answer, not a failure to read."""
    return exc.errno in (errno.ENOENT, errno.ENOTDIR)


class _Budget(object):
    """The bytes one source may still read (and hold), all its files together.

    ``read`` reads one file within what is left and within ``per_file``, charges what was
    read, and says when the file was cut and by which bound.
    """

    __slots__ = ("what", "total", "left")

    def __init__(self, what, total):
        self.what = what
        self.total = total
        self.left = total

    def read(self, fs, path, per_file):
        """``(data, cut)``: ``cut`` is None, or ``(format, args)`` of the error to report."""
        left = self.left
        data, truncated = fs.read_bytes(path, min(per_file, left))
        self.left -= len(data)
        if not truncated:
            return data, None
        if per_file < left:
            return data, ("%s is larger than %d bytes, only its beginning was read", (path, per_file))
        return data, ("reading stopped at %s: %s exceed the read budget of %d bytes", (path, self.what, self.total))


def _scan_dir(fs, directory):
    """``(names, cut)``: at most ``MAX_DIR_ENTRIES`` entry names of an inner directory, sorted.

    Reads the directory incrementally, so a directory with millions of entries costs no
    more than the bound. Raises OSError.
    """
    names, cut = read_names(fs.host_path(directory), MAX_DIR_ENTRIES)
    names.sort()
    return names, cut


# --- the query --------------------------------------------------------------------------------

_LIST_HINT = ("%r looks like a piece of a list written as one string; in key=value arguments write "
              "%s=a,b (comma-separated), or give the arguments as YAML or JSON")


def _looks_like_list_text(text):
    return isinstance(text, str) and bool(text) and (text[0] in "[\"'" or text[-1] in "]\"'")


def _patterns(option, values, search=False):
    if values is None:
        values = ()
    if isinstance(values, str):
        raise QueryError(option, "must be a list of patterns, got a string")
    values = list(values)
    if not search:  # names never start or end with brackets or quotes (a regex starts with "re:")
        for text in values:
            if _looks_like_list_text(text) and not text.startswith("re:"):
                raise QueryError(option, _LIST_HINT % (text, option))
    try:
        return PatternSet(values, search=search)
    except PatternError as exc:
        raise QueryError(option, str(exc))


class Query(object):
    """The compiled collector options (patterns per section, paths)."""

    __slots__ = ("packages", "package_maintainers", "units", "processes",
                 "kernel_modules", "paths", "repos")

    def __init__(self, packages=(), package_maintainers=(), units=(), processes=(),
                 kernel_modules=(), paths=(), repos=()):
        self.packages = _patterns("packages", packages)
        self.package_maintainers = _patterns("package_maintainers", package_maintainers, search=True)
        self.units = _patterns("units", units)
        self.processes = _patterns("processes", processes)
        self.kernel_modules = _patterns("kernel_modules", kernel_modules)
        self.repos = _patterns("repos", repos, search=True)
        checked = []
        for path in paths or ():
            if not isinstance(path, str) or not path:
                raise QueryError("paths", "an entry must be a non-empty string, got %r" % (path,))
            if _looks_like_list_text(path):
                raise QueryError("paths", _LIST_HINT % (path, "paths"))
            if not path.startswith("/"):
                raise QueryError("paths", "%r is not an absolute path" % (path,))
            if "\x00" in path:
                raise QueryError("paths", "%r contains a NUL character" % (path,))
            if path not in checked:
                checked.append(path)
        self.paths = tuple(checked)


# --- packages -----------------------------------------------------------------------------------

def gather_dpkg(host, query, section):
    """dpkg's database: ``status`` and the ``updates/`` journal, within ``BUDGET_DPKG``."""
    if not (query.packages or query.package_maintainers):
        return
    fs = host.fs
    status_path = layout.DPKG_STATUS
    budget = _Budget("the dpkg database files (status and updates/ together)", BUDGET_DPKG)
    try:
        data, cut = budget.read(fs, status_path, BUDGET_DPKG)
    except OSError as exc:
        if not _missing(exc):
            section.error("cannot read %s: %s", status_path, _strerror(exc))
        return
    if not data.strip():
        return  # an empty database: no dpkg on this host
    if cut:
        section.error(cut[0], *cut[1])
    updates = layout.DPKG_UPDATES
    journal, paths = [], []
    try:
        names, listing_cut = _scan_dir(fs, updates) if not (cut and budget.left <= 0) else ([], False)
    except OSError as exc:
        if not _missing(exc):
            section.error("cannot list %s: %s", updates, _strerror(exc))
        names, listing_cut = [], False
    if listing_cut:
        section.error("%s holds more than %d entries; the journal was not read past them", updates, MAX_DIR_ENTRIES)
    for name in names:
        if not name.isdigit():
            continue
        path = updates + "/" + name
        try:
            chunk, cut = budget.read(fs, path, MAX_TEXT_FILE)
        except OSError as exc:
            if not _missing(exc):
                section.error("cannot read %s: %s", path, _strerror(exc))
            continue
        journal.append(chunk)
        paths.append(path)
        if cut:
            section.error(cut[0], *cut[1])
            if budget.left <= 0:
                break
    records, malformed, journal_malformed = parse_database(data, query.packages, query.package_maintainers, journal)
    if malformed:
        section.error("%s: %d malformed entries ignored", status_path, malformed)
    broken = [path for path, count in zip(paths, journal_malformed) if count]
    if broken:
        section.error("%s: %d malformed entries ignored in %d journal file(s), the first %s", updates,
                      sum(journal_malformed), len(broken), broken[0])
    for record in records:
        section.add(**record)


def gather_rpm(host, query, section, holds=None):
    """rpm packages, with one ``rpm --query --all``; their holds are looked up (``holds``:
    the section for the errors of the lock files)."""
    if not (query.packages or query.package_maintainers):
        return
    fs = host.fs
    dbpath, failures = layout.probe_rpmdb(fs)
    if dbpath is None:
        told = set()
        for path, exc in failures:  # it may be there: the host cannot be called rpm-free
            directory = path.rsplit("/", 1)[0]
            if directory not in told:
                told.add(directory)
                section.error("cannot tell whether an rpm database is in %s: %s", directory, _strerror(exc))
        return
    rpm = host.which("rpm")
    if not rpm:
        section.error("an rpm database is in %s but no rpm command was found", dbpath)
        return
    if not host.can_run:
        section.error("an rpm database is in %s but this collector cannot run commands", dbpath)
        return
    # Only rpm hosts need the rpm and lock parsers: a module's code is compiled again on every
    # run, so a dpkg host does not import them.
    from ansible_collections.fleetsec.divest.plugins.module_utils._linux.inventory.rpm import (
        parse_rpm_output,
        rpm_queryformat,
    )
    token = binascii.hexlify(os.urandom(12)).decode("ascii")
    argv = [rpm, "--query", "--all", "--queryformat", rpm_queryformat(token)]
    if not host.live:
        argv += ["--root", fs.root, "--dbpath", dbpath]
    try:
        rc, out, err = host.run(argv)
    except Exception as exc:  # pylint: disable=broad-except
        section.error("rpm could not be run: %s", str(exc))
        return
    records, malformed = parse_rpm_output(out or b"", token, query.packages, query.package_maintainers)
    if rc != 0:
        section.error("rpm exited with %s: %s", rc, first_lines(err, 300, count=1))
    if malformed:
        section.error("rpm: %d malformed records ignored", malformed)
    if records:
        mark_rpm_holds(fs, records, holds if holds is not None else section)
    for record in records:
        section.add(**record)


def _read_lock_file(fs, budget, path, section):
    try:
        data, cut = budget.read(fs, path, MAX_TEXT_FILE)
    except OSError as exc:
        if not _missing(exc):
            section.error("cannot read %s: %s", path, _strerror(exc))
        return None
    if cut:
        section.error(cut[0], *cut[1])
    return data


def mark_rpm_holds(fs, records, section):
    """Set ``hold`` on the rpm records a versionlock entry (``versionlock``) or a zypper
    lock (``zypper-lock``) holds. Lock files are read within ``BUDGET_HOLDS``, at most
    ``MAX_LOCK_PATTERNS`` glob entries and zypper locks are evaluated, and the lookups stop
    after about ``MAX_HOLD_CHECKS`` glob comparisons; each cut and each failure is an error
    of ``section``."""
    from ansible_collections.fleetsec.divest.plugins.module_utils._linux.holds import (
        MAX_LOCK_PATTERNS,
        MAX_LOCK_VALUES,
        VersionLocks,
        parse_zypp_locks,
        zypp_lock_applies,
        zypp_lock_cost,
    )
    budget = _Budget("the package lock files", BUDGET_HOLDS)
    locks = VersionLocks()
    for path in layout.VERSIONLOCK_LISTS + (layout.VERSIONLOCK_TOML,):
        data = _read_lock_file(fs, budget, path, section)
        if data:
            if path == layout.VERSIONLOCK_TOML:
                locks.add_toml(data)
            else:
                locks.add_list(data)
    if locks.dropped:
        section.error("versionlock: %d glob entries beyond the first %d were not evaluated",
                      locks.dropped, MAX_LOCK_PATTERNS)
    data = _read_lock_file(fs, budget, layout.ZYPP_LOCKS, section)
    zypp = parse_zypp_locks(data) if data else []
    if len(zypp) > MAX_LOCK_PATTERNS:
        section.error("%s: %d locks beyond the first %d were not evaluated", layout.ZYPP_LOCKS,
                      len(zypp) - MAX_LOCK_PATTERNS, MAX_LOCK_PATTERNS)
        del zypp[MAX_LOCK_PATTERNS:]
    cost = locks.cost() + sum(zypp_lock_cost(lock) for lock in zypp)
    checked = records[:MAX_ITEMS] if not cost else records[:min(MAX_ITEMS, MAX_HOLD_CHECKS // cost)]
    if len(checked) < min(len(records), MAX_ITEMS):
        section.error("holds of %d packages were not looked up: the lock files hold too many patterns "
                      "(%d comparisons a package, at most %d in all; %d values kept per zypper lock attribute)",
                      min(len(records), MAX_ITEMS) - len(checked), cost, MAX_HOLD_CHECKS, MAX_LOCK_VALUES)
    unknown = set()
    for record in checked:
        if locks.holds(record["name"], record["version"], record["arch"]):
            record["hold"] = "versionlock"
            continue
        for index, lock in enumerate(zypp):
            applies = zypp_lock_applies(lock, record["name"], record["arch"])
            if applies:
                record["hold"] = "zypper-lock"
                break
            if applies is None:
                unknown.add(index)
    if unknown:
        section.error("%s: %d locks could not be evaluated (regular expressions and complex locks are not run)",
                      layout.ZYPP_LOCKS, len(unknown))


# --- units --------------------------------------------------------------------------------------

def _list_dir(fs, directory, section):
    """The sorted entry names of a directory (at most ``MAX_DIR_ENTRIES``); a directory that
    cannot be listed, or holds more, is an error of ``section``."""
    try:
        names, cut = _scan_dir(fs, directory)
    except OSError as exc:
        if not _missing(exc):
            section.error("cannot list %s: %s", directory, _strerror(exc))
        return []
    if cut:
        section.error("%s holds more than %d entries; only %d were read", directory, MAX_DIR_ENTRIES, MAX_DIR_ENTRIES)
    return names


def gather_units(host, query, section, skipped):
    """The service units and init scripts the query names (the first one found of a name and
    kind wins, as in systemd), with their states on a live system where systemd runs."""
    if not query.units:
        return
    fs = host.fs
    found = {}   # (kind, name) -> path ; systemd first
    for kind, name, path in layout.unit_files(lambda directory: _list_dir(fs, directory, section), host.live):
        if (kind, name) in found or query.units.match(name) is None:
            continue
        if kind == "systemd" or fs.isfile(path):
            found[(kind, name)] = path
    states = {}
    if not host.live:
        skipped.append({"section": "unit_states", "reason": "offline root: active and enabled are not collected"})
    elif not host.systemd:
        skipped.append({"section": "unit_states", "reason": "systemd is not running: active and enabled are not collected"})
    elif found:
        states = _unit_states(host, sorted(set(name for _kind, name in found)), section)
    natives = set(name for kind, name in found if kind == "systemd")
    for kind, name in sorted(found, key=lambda key: (key[1], key[0])):
        state = states.get(name, {}) if (kind == "systemd" or name not in natives) else {}
        section.add(name=name, kind=kind, path=found[(kind, name)],
                    active=state.get("ActiveState") or None,
                    enabled=state.get("UnitFileState") or None)


def _unit_states(host, names, section):
    names = [name for name in names if layout.is_unit_name(name)]
    if not names:
        return {}
    systemctl = host.which("systemctl")
    if not systemctl or not host.can_run:
        section.error("systemd runs but systemctl cannot be run: unit states not collected")
        return {}
    try:
        rc, out, err = host.run(show_argv(systemctl, names))
    except Exception as exc:  # pylint: disable=broad-except
        section.error("systemctl could not be run: %s", str(exc))
        return {}
    blocks = parse_show(out or "", len(names)) if rc == 0 else None
    if blocks is None:
        section.error("systemctl show failed (rc %s): %s", rc, first_lines(err, 300, count=1) or "unexpected output")
        return {}
    return dict(zip(names, blocks))


# --- processes and kernel modules (live only) ----------------------------------------------------

def gather_processes(host, query, section, containers=None):
    """The running processes the query names: the host's own in ``section``; those of
    containers (another pid namespace, or a cgroup naming a container the collector does not
    run in) and those whose namespace cannot be read in ``containers`` (``kind: process``)."""
    if not query.processes:
        return
    proc = host.proc
    if containers is None:
        containers = section
    try:
        pids, cut = list_pids(proc, MAX_PROC_ENTRIES)
        found = sorted(iter_processes(proc, query.processes, pids=pids))
    except OSError as exc:
        section.error("cannot list %s: %s", proc, _strerror(exc))
        return
    if cut:
        section.error("%s lists more than %d processes; only %d were looked at", proc, MAX_PROC_ENTRIES,
                      MAX_PROC_ENTRIES)
    scope = Scope(proc)
    for pid, name, exe in found:
        seen = scope.of(pid)
        if seen is None:
            continue  # ended while it was looked at
        kind, runtime, cid, reason = seen
        if kind == HOST:
            section.add(name=name, pid=pid, exe=exe)
        else:
            containers.add(kind="process", name=name, pid=pid, exe=exe, scope=kind, runtime=runtime, id=cid,
                           reason=reason)


def gather_kernel_modules(host, query, section):
    if not query.kernel_modules:
        return
    path = os.path.join(host.proc, layout.PROC_MODULES)
    try:
        with open(path, "rb") as handle:
            data = handle.read(BUDGET_PROC_MODULES + 1)
    except OSError as exc:
        if exc.errno != errno.ENOENT:  # no /proc/modules: a kernel without loadable modules
            section.error("cannot read %s: %s", path, _strerror(exc))
        return
    if len(data) > BUDGET_PROC_MODULES:
        section.error("%s is larger than %d bytes, only its beginning was read", path, BUDGET_PROC_MODULES)
        data = data[:BUDGET_PROC_MODULES]
    for line in data.decode("utf-8", "replace").splitlines():
        words = line.split(None, 1)
        if words and query.kernel_modules.match(words[0]) is not None:
            section.add(name=words[0])


# --- paths and repositories ------------------------------------------------------------------------

def _kind(mode):
    if stat.S_ISLNK(mode):
        return "link"
    if stat.S_ISDIR(mode):
        return "directory"
    if stat.S_ISREG(mode):
        return "file"
    return "other"


def _failed_path(fs, exc, asked):
    """The inner path an OSError is about: RootFS's errors carry the host path of the
    component that failed (``/opt/kaspersky`` when ``/opt`` cannot be searched), which says
    more than the path that was asked for (``asked``, the fallback)."""
    name = exc.filename
    if isinstance(name, bytes):
        name = os.fsdecode(name)
    if not isinstance(name, str) or not name.startswith("/"):
        return asked
    prefix = fs.root.rstrip("/")
    if not prefix:
        return name
    if name == prefix:
        return "/"
    return name[len(prefix):] if name.startswith(prefix + "/") else asked


def _storage_of(fs, path):
    """The container storage directory (``layout.CONTAINER_STORAGE``) ``path`` lies in or, its
    links followed inside the root, leads into; None for the root's own paths."""
    storage = layout.container_storage(path)
    if storage is None:
        try:
            storage = layout.container_storage(fs.resolve(path))
        except (OSError, ValueError):
            storage = None
    return storage


def gather_paths(host, query, section, containers=None):
    """The query's paths that exist. A path whose existence cannot be told (a parent that
    cannot be searched or listed) is an error naming the path that failed, once. A path in
    container storage, or a link leading there, is a container's: it goes to ``containers``
    (``kind: path``), never to ``section``."""
    fs = host.fs
    seen = set()
    reported = set()

    def failed(asked, exc):
        path = _failed_path(fs, exc, asked)
        if (path, exc.errno) not in reported:
            reported.add((path, exc.errno))
            section.error("cannot read %s: %s", path, _strerror(exc))

    for pattern in query.paths:
        paths, errors = fs.glob(pattern, limit=section.limit)
        for directory, exc in errors:
            failed(directory, exc)
        for path in paths:
            if path in seen:
                continue
            seen.add(path)
            try:
                info = fs.lstat(path)
                target = fs.readlink(path) if stat.S_ISLNK(info.st_mode) else None
            except OSError as exc:
                if exc.errno == errno.ELOOP:
                    section.error("%s: too many levels of symbolic links", path)
                elif not _missing(exc):
                    failed(path, exc)
                continue
            storage = _storage_of(fs, path)
            if storage is None:
                section.add(path=path, type=_kind(info.st_mode), target=target, pattern=pattern)
            elif containers is not None:
                containers.add(kind="path", path=path, type=_kind(info.st_mode), target=target, pattern=pattern,
                               storage=storage)


def gather_repos(host, query, section):
    """Matching lines of the repository files, all files together within ``BUDGET_REPOS``."""
    if not query.repos:
        return
    fs = host.fs
    budget = _Budget("the repository files together", BUDGET_REPOS)
    for path in layout.repo_files(lambda directory: _list_dir(fs, directory, section)):
        try:
            data, cut = budget.read(fs, path, MAX_TEXT_FILE)
        except OSError as exc:
            if not _missing(exc):
                section.error("cannot read %s: %s", path, _strerror(exc))
            continue
        if cut:
            section.error(cut[0], *cut[1])
        for line in data.decode("utf-8", "replace").splitlines():
            line = line.strip()
            if not line or line[0] in "#;":
                continue
            if query.repos.match(line) is not None:
                section.add(path=path, line=line)
        if cut and budget.left <= 0:
            break  # the budget is spent: the files after this one are not read (reported above)


# --- platform -----------------------------------------------------------------------------------------

def _unquote(value):
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1]
        if value and "\\" in value:
            value = re.sub(r"\\([\\$\"'`])", r"\1", value)
    return value


def parse_os_release(data):
    if isinstance(data, bytes):
        data = data.decode("utf-8", "replace")
    values = {}
    for line in data.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if sep and key.strip():
            values[key.strip()] = _unquote(value)
    return values


def read_platform(host, section):
    fs = host.fs
    values = {}
    for path in layout.OS_RELEASE:
        try:
            data, truncated = fs.read_bytes(path, BUDGET_OS_RELEASE)
        except OSError as exc:
            if not _missing(exc):
                section.error("cannot read %s: %s", path, _strerror(exc))
            continue
        if truncated:
            section.error("%s is larger than %d bytes, only its beginning was read", path, BUDGET_OS_RELEASE)
        values = parse_os_release(data)
        break
    return {
        "system": "Linux",
        "distribution": clean_text(values.get("ID") or None, 64)[0],
        "version": clean_text(values.get("VERSION_ID") or None, 64)[0],
    }


# --- the whole inventory ---------------------------------------------------------------------------------

def _guard(function, section, *args):
    try:
        function(*args)
    except Exception as exc:  # pylint: disable=broad-except
        # A bug or an unforeseen host oddity must cost one section, never the whole scan.
        section.error("collection failed: %s: %s", type(exc).__name__, str(exc))


def collect(query, host):
    """Gather the raw inventory.

    ``query``: a ``Query``. ``host``: the ``Host`` to scan: its ``root`` (``/`` for the live
    system), ``run`` for commands (a host that cannot run them gets the sections that need them
    reported in ``errors``), ``which``, ``proc`` (the live ``/proc``) and ``systemd`` (whether
    systemd runs).
    """
    live = host.live
    errors = []
    skipped = []
    sections = dict((name, _Section(name)) for name in SECTIONS)
    notes = [_Section("platform"), _Section("holds")]  # errors only, no items

    _guard(gather_dpkg, sections["packages"], host, query, sections["packages"])
    _guard(gather_rpm, sections["packages"], host, query, sections["packages"], notes[1])
    _guard(gather_units, sections["units"], host, query, sections["units"], skipped)
    if live:
        _guard(gather_processes, sections["processes"], host, query, sections["processes"], sections["containers"])
        _guard(gather_kernel_modules, sections["kernel_modules"], host, query, sections["kernel_modules"])
    else:
        for name in ("processes", "kernel_modules"):
            skipped.append({"section": name, "reason": "offline root: only the live system has %s" % name.replace("_", " ")})
    _guard(gather_paths, sections["paths"], host, query, sections["paths"], sections["containers"])
    _guard(gather_repos, sections["repos"], host, query, sections["repos"])
    platform = read_platform(host, notes[0])

    for section in notes[:1] + [sections[name] for name in SECTIONS] + notes[1:]:
        errors.extend(section.report())
    if len(errors) > MAX_ERRORS:
        extra = len(errors) - MAX_ERRORS
        del errors[MAX_ERRORS:]
        errors.append({"section": "errors", "limit": True, "message": "%d more errors not returned" % extra})

    for entry in errors:
        entry.setdefault("limit", False)
    inventory = {
        "schema": SCHEMA,
        "platform": platform,
        "root": clean_text(host.shown_root)[0],
        "live": live,
        "skipped": skipped,
        "errors": errors,
    }
    for name in SECTIONS:
        inventory[name] = sections[name].items
    return inventory
