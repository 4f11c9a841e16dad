# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Linux collector: gather the raw inventory of docs/raw-inventory.md.

Plain functions, unit-testable without ``AnsibleModule``: the module
``fleetsec.divest.collect`` builds a ``Query`` from its options and calls ``collect``.
Commands (``rpm``, ``systemctl``) run through a ``run(argv) -> (rc, stdout, stderr)``
callable the caller provides (the module passes ``AnsibleModule.run_command``), always as
an argument vector, never through a shell; nothing of the vendor is ever executed.

Everything read from the host is data: every string in the result is valid UTF-8, has its
control characters escaped and is capped at ``MAX_TEXT`` characters; every section is capped
at ``MAX_ITEMS`` items. Caps and failures are reported in ``errors``; the collector itself
never raises because one section failed.

Private to the collection: runs on managed nodes, standard library only, Python 3.6+.
"""

from __future__ import absolute_import, division, print_function

import binascii
import errno
import os
import re
import shutil
import stat

from ansible_collections.fleetsec.divest.plugins.module_utils._patterns import (
    PatternError,
    PatternSet,
)
from ansible_collections.fleetsec.divest.plugins.module_utils._linux_dpkg import parse_status
from ansible_collections.fleetsec.divest.plugins.module_utils._linux_proc import find_rpmdb, iter_processes
from ansible_collections.fleetsec.divest.plugins.module_utils._linux_rootfs import RootFS

__metaclass__ = type

__all__ = [
    "collect", "Query", "QueryError", "clean_text", "SCHEMA",
    "MAX_TEXT", "MAX_ITEMS", "SECTIONS",
]

SCHEMA = 1
SECTIONS = ("packages", "units", "processes", "kernel_modules", "paths", "repos")

MAX_TEXT = 512            # characters per string in the result
MAX_ITEMS = 1000          # items per section
MAX_ERRORS = 100          # entries in ``errors``
MAX_DPKG_STATUS = 256 * 1024 * 1024
MAX_TEXT_FILE = 4 * 1024 * 1024   # repository files, os-release, /proc/modules
TRUNCATED = "...[truncated]"

DPKG_DIR = "/var/lib/dpkg"
RPM_TAGS = ("NAME", "EPOCH", "VERSION", "RELEASE", "ARCH", "VENDOR")
# systemd's unit search path for system units, highest priority first (the runtime
# directory only exists on a running system).
UNIT_DIRS = (
    ("/etc/systemd/system", False),
    ("/run/systemd/system", True),
    ("/usr/local/lib/systemd/system", False),
    ("/lib/systemd/system", False),
    ("/usr/lib/systemd/system", False),
)
SYSV_DIR = "/etc/init.d"
SYSTEMD_RUNNING = "/run/systemd/system"
# What systemctl accepts as a unit name: a prefix, and for an instance "@" and a non-empty
# instance name. Templates ("name@") have no state and make "systemctl show" fail as a whole.
_UNIT_NAME = re.compile(r"[A-Za-z0-9:_.\\-]+(@[A-Za-z0-9:_.\\-]+)?\Z")
_UNIT_NAME_MAX = 256
REPO_SOURCES = (
    ("/etc/apt/sources.list", None),
    ("/etc/apt/sources.list.d", (".list", ".sources")),
    ("/etc/yum.repos.d", (".repo",)),
    ("/etc/zypp/repos.d", (".repo",)),
)
OS_RELEASE = ("/etc/os-release", "/usr/lib/os-release")

_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f]")


class QueryError(ValueError):
    """An invalid collector option; ``option`` names it."""

    def __init__(self, option, message):
        super(QueryError, self).__init__("%s: %s" % (option, message))
        self.option = option


def _escape_control(match):
    return "\\x%02x" % ord(match.group(0))


def clean_text(value, limit=MAX_TEXT):
    """Return ``(text, truncated)``: valid UTF-8, control characters escaped, capped.

    Accepts bytes (decoded as UTF-8 with U+FFFD), str (lone surrogates from undecodable
    file names are replaced too) and None (returned as is).
    """
    if value is None:
        return None, False
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    elif not isinstance(value, str):
        value = str(value)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        try:
            value = value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        except UnicodeEncodeError:
            value = value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    truncated = len(value) > limit
    if truncated:
        value = value[:limit]
    if _CONTROL.search(value):
        value = _CONTROL.sub(_escape_control, value)
    if truncated:
        value += TRUNCATED
    return value, truncated


class _Section(object):
    """Items of one section, with the caps and the section's errors."""

    __slots__ = ("name", "items", "limit", "dropped", "truncated", "errors")

    def __init__(self, name, limit=MAX_ITEMS):
        self.name = name
        self.items = []
        self.limit = limit
        self.dropped = 0
        self.truncated = 0
        self.errors = []

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
        if args:
            args = tuple(clean_text(arg, 256)[0] if isinstance(arg, (str, bytes)) else arg for arg in args)
            message = message % args
        self.errors.append({"section": self.name, "message": clean_text(message, 2 * MAX_TEXT)[0]})

    def report(self):
        errors = list(self.errors)
        if self.dropped:
            errors.append({"section": self.name, "limit": True,
                           "message": "%d more items not returned (at most %d per section)" % (self.dropped, self.limit)})
        if self.truncated:
            errors.append({"section": self.name, "limit": True,
                           "message": "%d values longer than %d characters were truncated" % (self.truncated, MAX_TEXT)})
        return errors


def _strerror(exc):
    return exc.strerror or str(exc)


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

def gather_dpkg(fs, query, section):
    if not (query.packages or query.package_maintainers):
        return
    status_path = DPKG_DIR + "/status"
    try:
        data, truncated = fs.read_bytes(status_path, MAX_DPKG_STATUS)
    except OSError as exc:
        if exc.errno not in (errno.ENOENT, errno.ENOTDIR):
            section.error("cannot read %s: %s", status_path, _strerror(exc))
        return
    if not data.strip():
        return  # an empty database: no dpkg on this host
    if truncated:
        section.error("%s is larger than %d bytes, only its beginning was read", status_path, MAX_DPKG_STATUS)
    journal = []
    updates = DPKG_DIR + "/updates"
    try:
        names = sorted(name for name in fs.listdir(updates) if name.isdigit())
    except OSError:
        names = []
    for name in names:
        try:
            journal.append(fs.read_bytes(updates + "/" + name, MAX_TEXT_FILE)[0])
        except OSError as exc:
            section.error("cannot read %s/%s: %s", updates, name, _strerror(exc))
    records, malformed = parse_status(data, query.packages, query.package_maintainers, journal)
    if malformed:
        section.error("%s: %d malformed entries ignored", status_path, malformed)
    for record in records:
        section.add(**record)


def rpm_queryformat(token):
    """``--queryformat`` with separators no package can contain (``token`` is random)."""
    field_sep = "@@F%s@@" % token
    return field_sep.join("%%{%s}" % tag for tag in RPM_TAGS) + "@@R%s@@\\n" % token


def parse_rpm_output(out, token, names=None, maintainers=None):
    """Parse ``rpm -qa --queryformat rpm_queryformat(token)``. Returns ``(records, malformed)``."""
    if isinstance(out, str):
        out = out.encode("utf-8", "surrogateescape")
    field_sep = ("@@F%s@@" % token).encode("ascii")
    record_sep = ("@@R%s@@\n" % token).encode("ascii")
    chunks = out.split(record_sep)
    malformed = 1 if chunks[-1].strip() else 0
    records = []
    for chunk in chunks[:-1]:
        fields = chunk.split(field_sep)
        if len(fields) != len(RPM_TAGS):
            malformed += 1
            continue
        name = fields[0].decode("utf-8", "replace")
        vendor = fields[5].decode("utf-8", "replace")
        vendor = None if vendor == "(none)" else vendor
        if not ((names and names.match(name)) or (maintainers and vendor is not None and maintainers.match(vendor))):
            continue
        epoch, version, release, arch = (field.decode("utf-8", "replace") for field in fields[1:5])
        full = version
        if release and release != "(none)":
            full = "%s-%s" % (version, release)
        if epoch and epoch != "(none)":
            full = "%s:%s" % (epoch, full)
        records.append({
            "name": name,
            "version": full or None,
            "arch": None if arch in ("", "(none)") else arch,
            "manager": "rpm",
            "status": "installed",
            "maintainer": vendor,
        })
    records.sort(key=lambda rec: (rec["name"], rec["arch"] or "", rec["version"] or ""))
    return records, malformed


def _first_line(data):
    """The first non-empty line of a command's stderr, cleaned, for an error message."""
    if isinstance(data, bytes):
        data = data.decode("utf-8", "replace")
    for line in (data or "").splitlines():
        if line.strip():
            return clean_text(line.strip(), 300)[0]
    return ""


def gather_rpm(fs, live, query, section, run, which):
    if not (query.packages or query.package_maintainers):
        return
    dbpath = find_rpmdb(fs)
    if dbpath is None:
        return
    rpm = which("rpm")
    if not rpm:
        section.error("an rpm database is in %s but no rpm command was found", dbpath)
        return
    if run is None:
        section.error("an rpm database is in %s but this collector cannot run commands", dbpath)
        return
    token = binascii.hexlify(os.urandom(12)).decode("ascii")
    argv = [rpm, "--query", "--all", "--queryformat", rpm_queryformat(token)]
    if not live:
        argv += ["--root", fs.root, "--dbpath", dbpath]
    try:
        rc, out, err = run(argv)
    except Exception as exc:  # pylint: disable=broad-except
        section.error("rpm could not be run: %s", str(exc))
        return
    records, malformed = parse_rpm_output(out or b"", token, query.packages, query.package_maintainers)
    if rc != 0:
        section.error("rpm exited with %s: %s", rc, _first_line(err))
    if malformed:
        section.error("rpm: %d malformed records ignored", malformed)
    for record in records:
        section.add(**record)


# --- units --------------------------------------------------------------------------------------

def _list_dir(fs, directory, section):
    try:
        return sorted(fs.listdir(directory))
    except OSError as exc:
        if exc.errno not in (errno.ENOENT, errno.ENOTDIR):
            section.error("cannot list %s: %s", directory, _strerror(exc))
        return []


def parse_systemctl_show(out, count):
    """Blocks of ``systemctl show`` (one per unit, in argument order) as dicts."""
    if isinstance(out, bytes):
        out = out.decode("utf-8", "replace")
    blocks = []
    for block in out.replace("\r\n", "\n").strip("\n").split("\n\n"):
        props = {}
        for line in block.split("\n"):
            key, sep, value = line.partition("=")
            if sep:
                props[key.strip()] = value.strip()
        blocks.append(props)
    if not out.strip():
        blocks = []
    if len(blocks) != count:
        return None
    return blocks


def gather_units(fs, live, systemd, query, section, skipped, run, which):
    if not query.units:
        return
    found = {}   # name -> (kind, path) ; systemd first
    for directory, live_only in UNIT_DIRS:
        if live_only and not live:
            continue
        for entry in _list_dir(fs, directory, section):
            if not entry.endswith(".service") or len(entry) <= 8:
                continue
            name = entry[:-8]
            if ("systemd", name) in found:
                continue
            if query.units.match(name) is not None:
                found[("systemd", name)] = directory + "/" + entry
    for entry in _list_dir(fs, SYSV_DIR, section):
        if entry.startswith(".") or query.units.match(entry) is None:
            continue
        path = SYSV_DIR + "/" + entry
        if fs.isfile(path):
            found[("sysv", entry)] = path
    states = {}
    if not live:
        skipped.append({"section": "unit_states", "reason": "offline root: active and enabled are not collected"})
    elif not systemd:
        skipped.append({"section": "unit_states", "reason": "systemd is not running: active and enabled are not collected"})
    elif found:
        states = _unit_states(sorted(set(name for _kind, name in found)), section, run, which)
    natives = set(name for kind, name in found if kind == "systemd")
    for kind, name in sorted(found, key=lambda key: (key[1], key[0])):
        state = states.get(name, {}) if (kind == "systemd" or name not in natives) else {}
        section.add(name=name, kind=kind, path=found[(kind, name)],
                    active=state.get("ActiveState") or None,
                    enabled=state.get("UnitFileState") or None)


def _unit_states(names, section, run, which):
    names = [name for name in names
             if _UNIT_NAME.match(name) and not name.startswith("-") and len(name) + 8 <= _UNIT_NAME_MAX]
    if not names:
        return {}
    systemctl = which("systemctl")
    if not systemctl or run is None:
        section.error("systemd runs but systemctl cannot be run: unit states not collected")
        return {}
    argv = [systemctl, "show", "--no-pager", "--property=Id", "--property=LoadState",
            "--property=ActiveState", "--property=UnitFileState", "--"]
    argv += [name + ".service" for name in names]
    try:
        rc, out, err = run(argv)
    except Exception as exc:  # pylint: disable=broad-except
        section.error("systemctl could not be run: %s", str(exc))
        return {}
    blocks = parse_systemctl_show(out or "", len(names)) if rc == 0 else None
    if blocks is None:
        section.error("systemctl show failed (rc %s): %s", rc, _first_line(err) or "unexpected output")
        return {}
    return dict(zip(names, blocks))


# --- processes and kernel modules (live only) ----------------------------------------------------

def gather_processes(proc, query, section):
    if not query.processes:
        return
    try:
        found = sorted(iter_processes(proc, query.processes))
    except OSError as exc:
        section.error("cannot list %s: %s", proc, _strerror(exc))
        return
    for pid, name, exe in found:
        section.add(name=name, pid=pid, exe=exe)


def gather_kernel_modules(proc, query, section):
    if not query.kernel_modules:
        return
    path = os.path.join(proc, "modules")
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_TEXT_FILE)
    except OSError as exc:
        if exc.errno != errno.ENOENT:  # no /proc/modules: a kernel without loadable modules
            section.error("cannot read %s: %s", path, _strerror(exc))
        return
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


def gather_paths(fs, query, section):
    seen = set()
    for pattern in query.paths:
        paths, errors = fs.glob(pattern, limit=section.limit)
        for directory, exc in errors:
            section.error("%s: cannot list %s: %s", pattern, directory, _strerror(exc))
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
                elif exc.errno not in (errno.ENOENT, errno.ENOTDIR):
                    section.error("%s: %s", path, _strerror(exc))
                continue
            section.add(path=path, type=_kind(info.st_mode), target=target, pattern=pattern)


def _repo_files(fs, section):
    for location, suffixes in REPO_SOURCES:
        if suffixes is None:
            yield location
            continue
        for entry in _list_dir(fs, location, section):
            if entry.endswith(suffixes) and not entry.startswith("."):
                yield location + "/" + entry


def gather_repos(fs, query, section):
    if not query.repos:
        return
    for path in _repo_files(fs, section):
        try:
            data, truncated = fs.read_bytes(path, MAX_TEXT_FILE)
        except OSError as exc:
            if exc.errno not in (errno.ENOENT, errno.ENOTDIR):
                section.error("cannot read %s: %s", path, _strerror(exc))
            continue
        if truncated:
            section.error("%s is larger than %d bytes, only its beginning was read", path, MAX_TEXT_FILE)
        for line in data.decode("utf-8", "replace").splitlines():
            line = line.strip()
            if not line or line[0] in "#;":
                continue
            if query.repos.match(line) is not None:
                section.add(path=path, line=line)


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


def read_platform(fs, errors):
    values = {}
    for path in OS_RELEASE:
        try:
            values = parse_os_release(fs.read_bytes(path, 64 * 1024)[0])
            break
        except OSError as exc:
            if exc.errno not in (errno.ENOENT, errno.ENOTDIR):
                errors.append({"section": "platform", "message": clean_text("cannot read %s: %s" % (path, _strerror(exc)))[0]})
    return {
        "system": "Linux",
        "distribution": clean_text(values.get("ID") or None, 64)[0],
        "version": clean_text(values.get("VERSION_ID") or None, 64)[0],
    }


# --- the whole inventory ---------------------------------------------------------------------------------

def check_root(root):
    """Validate the ``root`` option. Returns ``(shown, real)``; raises ``QueryError``."""
    if not isinstance(root, str) or not root:
        raise QueryError("root", "must be a non-empty path")
    if not root.startswith("/"):
        raise QueryError("root", "%r is not an absolute path" % (root,))
    if "\x00" in root:
        raise QueryError("root", "contains a NUL character")
    shown = os.path.normpath(root)
    if shown.startswith("//"):
        shown = "/" + shown.lstrip("/")
    if not os.path.isdir(root):
        raise QueryError("root", "%r does not exist or is not a directory" % (root,))
    return shown, os.path.realpath(root)


def _guard(function, section, *args):
    try:
        function(*args)
    except Exception as exc:  # pylint: disable=broad-except
        # A bug or an unforeseen host oddity must cost one section, never the whole scan.
        section.error("collection failed: %s: %s", type(exc).__name__, str(exc))


def collect(query, root="/", run=None, which=None, proc="/proc", systemd=None):
    """Gather the raw inventory.

    ``query``: a ``Query``. ``root``: the filesystem to scan (``/`` for the live system).
    ``run(argv) -> (rc, stdout, stderr)`` runs a command without a shell (``None``: commands
    are not run and the sections that need them say so in ``errors``). ``which(name)``
    finds a command (default ``shutil.which``). ``proc`` is the live ``/proc``.
    ``systemd``: whether systemd runs (default: ``/run/systemd/system`` exists, live only).
    """
    shown, real = check_root(root)
    fs = RootFS(real)
    live = real == "/"
    if which is None:
        which = shutil.which
    if systemd is None:
        systemd = live and os.path.isdir(SYSTEMD_RUNNING)
    errors = []
    skipped = []
    sections = dict((name, _Section(name)) for name in SECTIONS)

    _guard(gather_dpkg, sections["packages"], fs, query, sections["packages"])
    _guard(gather_rpm, sections["packages"], fs, live, query, sections["packages"], run, which)
    _guard(gather_units, sections["units"], fs, live, systemd, query, sections["units"], skipped, run, which)
    if live:
        _guard(gather_processes, sections["processes"], proc, query, sections["processes"])
        _guard(gather_kernel_modules, sections["kernel_modules"], proc, query, sections["kernel_modules"])
    else:
        for name in ("processes", "kernel_modules"):
            skipped.append({"section": name, "reason": "offline root: only the live system has %s" % name.replace("_", " ")})
    _guard(gather_paths, sections["paths"], fs, query, sections["paths"])
    _guard(gather_repos, sections["repos"], fs, query, sections["repos"])
    platform = read_platform(fs, errors)

    for name in SECTIONS:
        errors.extend(sections[name].report())
    if len(errors) > MAX_ERRORS:
        extra = len(errors) - MAX_ERRORS
        del errors[MAX_ERRORS:]
        errors.append({"section": "errors", "limit": True, "message": "%d more errors not returned" % extra})

    for entry in errors:
        entry.setdefault("limit", False)
    inventory = {
        "schema": SCHEMA,
        "platform": platform,
        "root": clean_text(shown)[0],
        "live": live,
        "skipped": skipped,
        "errors": errors,
    }
    for name in SECTIONS:
        inventory[name] = sections[name].items
    return inventory
