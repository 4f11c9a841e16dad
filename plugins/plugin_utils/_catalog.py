# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Load and validate vendor catalogs (docs/catalog.md).

A catalog is data: this module only reads it, checks it and compiles its patterns once, so
the matcher and the planner work on plain, trusted structures. Any mistake in a catalog
raises ``CatalogError`` naming the file and the key, before a single host is looked at.

Every task of every host runs in a worker process of its own, so the catalog is loaded once per
host and task. Parsing its YAML is the largest part of that (about 7 of 12 ms for the shipped
catalog); the parsed document is therefore kept as JSON in a private per-user folder
(:func:`parse_cache_dir`), named by the SHA-256 of the YAML bytes, and read from there by the
next worker (0.2 ms). The document is checked on every load all the same: the cache replaces
the parser, not the checks, and a document that JSON cannot carry unchanged (a YAML date, a
binary value) is never cached. One check is remembered: once a ``Catalog`` was built from a
document (so every ``re:`` pattern compiled, with this Python), the cache file says so and later
loads compile each pattern when it is first used (a Linux host never uses the Windows ones).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import sys
import tempfile
import threading

import yaml

from ansible_collections.fleetsec.divest.plugins.module_utils._linux.removal.guards import (
    UnsafePath,
    check_pattern,
    check_residue_file,
    inside_dirs,
)
from ansible_collections.fleetsec.divest.plugins.module_utils._patterns import (
    PatternError,
    PatternSet,
    has_magic,
)
from ansible_collections.fleetsec.divest.plugins.plugin_utils._vocabulary import METHODS, PLATFORMS, ROLE_RANK, ROLES

SHIPPED_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "catalog")

PASSWORD = ("none", "optional", "required")

# Signature keys: evidence kind, raw inventory section per platform, field(s), pattern mode.
# One table drives the query builder and the matcher for both platforms (docs/catalog.md).
SIGNATURES = {
    "packages": {"kind": "package", "section": {"linux": "packages"}, "fields": ("name",)},
    "services": {"kind": "service", "section": {"linux": "units", "windows": "services"},
                 "fields": ("name", "Name"), "query": {"linux": "units"}},
    "processes": {"kind": "process", "section": {"linux": "processes", "windows": "processes"},
                  "fields": ("name",)},
    "kernel_modules": {"kind": "kernel_module", "section": {"linux": "kernel_modules"},
                       "fields": ("name",)},
    "paths": {"kind": "path", "section": {"linux": "paths", "windows": "paths"},
              "fields": ("path",), "mode": "path"},
    "repos": {"kind": "repo", "section": {"linux": "repos"}, "fields": ("line",), "mode": "search"},
    "display_names": {"kind": "uninstall_entry", "section": {"windows": "uninstall"},
                      "fields": ("DisplayName",)},
    "publishers": {"kind": "uninstall_entry", "section": {"windows": "uninstall"},
                   "fields": ("Publisher",), "mode": "search"},
    "drivers": {"kind": "driver", "section": {"windows": "drivers"}, "fields": ("Name",)},
    "security_center": {"kind": "security_center", "section": {"windows": "security_center"},
                        "fields": ("displayName",)},
    "registry_keys": {"kind": "registry_key", "section": {"windows": "registry_keys"},
                      "fields": ("path",), "mode": "path"},
    "certificates": {"kind": "certificate", "section": {"windows": "certificates"},
                     "fields": ("subject", "issuer"), "mode": "search"},
    "package_maintainers": {"kind": "package", "section": {"linux": "packages"},
                            "fields": ("maintainer",), "mode": "search"},
}
PRODUCT_SIGNATURES = tuple(k for k in SIGNATURES if k != "package_maintainers")
LEFTOVER_SIGNATURES = tuple(SIGNATURES)

_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
_CACHE = {}
_LOCK = threading.Lock()
# Parsed catalogs as JSON, per user; DIVEST_CATALOG_CACHE=off (or "0", "false", "no") disables it.
PARSE_CACHE_ENV = "DIVEST_CATALOG_CACHE"
_PYTHON = "%d.%d" % sys.version_info[:2]
# In the cache files' names: checkouts of different versions of the collection can share the
# folder (one user, one machine), and each reads only the files written in its own format.
CACHE_FORMAT = "f2"


class CatalogError(ValueError):
    """A catalog that cannot be used; the message names the file and the key."""


def _fail(where, msg):
    raise CatalogError("%s: %s" % (where, msg))


def _str_list(value, where, allow_empty=True):
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        _fail(where, "must be a list of non-empty strings")
    if not value and not allow_empty:
        _fail(where, "must not be empty")
    return list(value)


class Signatures(object):
    """Compiled signatures of one product (or of a vendor's leftovers) on one platform."""

    def __init__(self, raw, platform, where, allowed, lazy=False):
        if not isinstance(raw, dict):
            _fail(where, "must be a mapping")
        unknown = sorted(set(raw) - set(allowed))
        if unknown:
            _fail(where, "unknown key(s) %s; allowed: %s" % (", ".join(unknown), ", ".join(allowed)))
        self.platform = platform
        self.texts = {}
        self.sets = {}
        ignore_case = platform == "windows"
        for key, value in raw.items():
            texts = _str_list(value, "%s.%s" % (where, key))
            spec = SIGNATURES[key]
            if platform not in spec["section"]:
                _fail("%s.%s" % (where, key), "is not a %s signature" % platform)
            mode = spec.get("mode")
            if mode == "path":
                for text in texts:
                    if platform == "linux" and not text.startswith("/"):
                        _fail("%s.%s" % (where, key), "%r is not an absolute path" % text)
                self.texts[key] = texts
                continue
            try:
                self.sets[key] = PatternSet(texts, ignore_case=ignore_case, search=(mode == "search"), lazy=lazy)
            except PatternError as exc:
                _fail("%s.%s" % (where, key), str(exc))
            self.texts[key] = texts

    def __bool__(self):
        return any(self.texts.values())


class Product(object):
    __slots__ = ("vendor", "id", "name", "platform", "role", "rank", "signatures", "version_from",
                 "removal")

    def __init__(self, vendor, raw, where, lazy=False):
        if not isinstance(raw, dict):
            _fail(where, "must be a mapping")
        allowed = {"id", "name", "platform", "role", "signatures", "version_from", "removal", "note"}
        unknown = sorted(set(raw) - allowed)
        if unknown:
            _fail(where, "unknown key(s) %s" % ", ".join(unknown))
        self.vendor = vendor
        self.id = raw.get("id")
        if not isinstance(self.id, str) or not _ID.match(self.id) or self.id in ("leftovers", "unknown"):
            _fail(where + ".id", "must match %s and not be 'leftovers' or 'unknown'" % _ID.pattern)
        where = "%s (%s)" % (where, self.id)
        self.name = raw.get("name")
        if not isinstance(self.name, str) or not self.name:
            _fail(where + ".name", "is required")
        self.platform = raw.get("platform")
        if self.platform not in PLATFORMS:
            _fail(where + ".platform", "must be one of %s" % ", ".join(PLATFORMS))
        self.role = raw.get("role")
        if self.role not in ROLES:
            _fail(where + ".role", "must be one of %s" % ", ".join(ROLES))
        self.rank = ROLE_RANK[self.role]
        self.removal = _removal(raw.get("removal"), where + ".removal", self.platform)
        sig = dict(raw.get("signatures") or {})
        # What the recipe would delete is a trace too: a leftover /usr/bin/kesl-control after an
        # incomplete removal must keep the host flagged.
        deleted = self.removal.get("residue", []) + self.removal.get("residue_files", [])
        residue = [p for p in deleted if p not in sig.get("paths", [])]
        if residue:
            sig["paths"] = list(sig.get("paths", [])) + residue
        self.signatures = Signatures(sig, self.platform, where + ".signatures", PRODUCT_SIGNATURES, lazy)
        if not self.signatures:
            _fail(where + ".signatures", "must name at least one signature")
        self.version_from = _str_list(raw.get("version_from"), where + ".version_from")


def _plain_copy(value):
    """A deep copy of a YAML document's mappings and lists (``copy.deepcopy`` is several times
    slower, and a catalog is loaded once per host and task)."""
    if isinstance(value, dict):
        return {key: _plain_copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain_copy(item) for item in value]
    return value


def _removal(raw, where, platform):
    if not isinstance(raw, dict):
        _fail(where, "is required and must be a mapping")
    method = raw.get("method")
    if method not in METHODS:
        _fail(where + ".method", "must be one of %s" % ", ".join(METHODS))
    removal = _plain_copy(raw)
    order = removal.setdefault("order", 50)
    if not isinstance(order, int) or isinstance(order, bool):
        _fail(where + ".order", "must be an integer")
    if removal.setdefault("password", "none") not in PASSWORD:
        _fail(where + ".password", "must be one of %s" % ", ".join(PASSWORD))
    if not isinstance(removal.setdefault("reboot", False), bool):
        _fail(where + ".reboot", "must be true or false")
    for key in ("packages", "services", "processes", "residue", "residue_files"):
        if key in removal:
            removal[key] = _str_list(removal[key], "%s.%s" % (where, key))
    _residue_keys(removal, where, platform)
    if method == "package" and not removal.get("packages"):
        _fail(where + ".packages", "is required for method package")
    for i, edit in enumerate(removal.get("config_edits") or []):
        w = "%s.config_edits[%d]" % (where, i)
        if not isinstance(edit, dict) or set(edit) != {"path", "regexp"}:
            _fail(w, "must be a mapping with exactly path and regexp")
        try:
            re.compile(edit["regexp"])
        except (re.error, TypeError) as exc:
            _fail(w + ".regexp", "invalid regular expression: %s" % exc)
    _windows_keys(removal, where)
    accounts = removal.get("accounts")
    if accounts is not None:
        if not isinstance(accounts, dict) or set(accounts) - {"users", "groups"}:
            _fail(where + ".accounts", "must be a mapping with users and/or groups")
        for key in accounts:
            accounts[key] = _str_list(accounts[key], "%s.accounts.%s" % (where, key))
    return removal


def _residue_keys(removal, where, platform):
    """``residue`` (paths, globs allowed) and ``residue_files`` (the vendor's files outside its
    directories, no globs) pass the guards the Linux removal modules apply (docs/catalog.md)."""
    if platform != "linux":
        for key in ("residue", "residue_files"):
            if removal.get(key):
                _fail("%s.%s" % (where, key), "is a Linux recipe key (the %s recipe deletes no paths)" % platform)
        return
    for i, path in enumerate(removal.get("residue", [])):
        try:
            check_pattern(path)
        except UnsafePath as exc:
            _fail("%s.residue[%d]" % (where, i), str(exc))
    for i, path in enumerate(removal.get("residue_files", [])):
        try:
            check_residue_file(path)
        except UnsafePath as exc:
            _fail("%s.residue_files[%d]" % (where, i), str(exc))


def _vendor_dirs(leftovers, where):
    """The vendor's own directories: the plain paths of ``leftovers.linux.paths``."""
    sig = leftovers.platforms.get("linux", (None, None))[0]
    dirs = []
    for path in (sig.texts.get("paths", []) if sig is not None else []):
        try:
            normal = check_pattern(path)
        except UnsafePath as exc:
            _fail(where, "%s (the vendor's directories must pass the residue guards)" % exc)
        if not has_magic(normal):
            dirs.append(normal)
    return dirs


PASSWORD_KEYS = ("login", "password", "encoding")
ENCODINGS = ("utf16le-hex",)


def _windows_keys(removal, where):
    """The Windows Installer keys of a recipe (docs/catalog.md, "Removal recipe")."""
    properties = removal.get("properties")
    if properties is not None and (not isinstance(properties, dict) or not all(
            isinstance(k, str) and k and isinstance(v, (str, int)) and not isinstance(v, bool)
            for k, v in properties.items())):
        _fail(where + ".properties", "must map MSI property names to strings or integers")
    names = removal.get("password_properties")
    if names is not None:
        if not isinstance(names, dict) or not names.get("password") or set(names) - set(PASSWORD_KEYS):
            _fail(where + ".password_properties",
                  "must be a mapping with password and optionally login, encoding")
        if not all(isinstance(v, str) and v for v in names.values()):
            _fail(where + ".password_properties", "values must be non-empty strings")
        if names.get("encoding", ENCODINGS[0]) not in ENCODINGS:
            _fail(where + ".password_properties.encoding", "must be one of %s" % ", ".join(ENCODINGS))
        if removal["password"] == "none":
            _fail(where + ".password_properties", "needs password: optional or required")
    for key in ("success_codes", "absent_codes"):
        codes = removal.get(key)
        if codes is not None and (not isinstance(codes, list) or not all(
                isinstance(c, int) and not isinstance(c, bool) for c in codes)):
            _fail("%s.%s" % (where, key), "must be a list of integers")
    if "note" in removal and not isinstance(removal["note"], str):
        _fail(where + ".note", "must be a string")


class Leftovers(object):
    def __init__(self, vendor, raw, where, lazy=False):
        self.name = "%s leftovers" % vendor
        self.platforms = {}
        if raw is None:
            return
        if not isinstance(raw, dict):
            _fail(where, "must be a mapping")
        self.name = raw.get("name") or self.name
        for platform in PLATFORMS:
            block = raw.get(platform)
            if block is None:
                continue
            block = dict(block)
            removal = _removal(block.pop("removal", {"method": "manual"}), "%s.%s.removal" % (where, platform),
                               platform)
            sig = Signatures(block, platform, "%s.%s" % (where, platform), LEFTOVER_SIGNATURES, lazy)
            self.platforms[platform] = (sig, removal)
        unknown = sorted(set(raw) - {"name"} - set(PLATFORMS))
        if unknown:
            _fail(where, "unknown key(s) %s" % ", ".join(unknown))


class Catalog(object):
    """One vendor's catalog, validated and compiled. ``lazy_patterns``: its regular expressions
    are known to compile (an earlier load of the same document compiled them all) and are
    compiled when first used."""

    def __init__(self, raw, source, lazy_patterns=False):
        where = source
        if not isinstance(raw, dict):
            _fail(where, "must be a YAML mapping")
        if raw.get("schema") != 1:
            _fail(where + ": schema", "must be 1")
        self.source = source
        self.vendor = raw.get("vendor")
        if not isinstance(self.vendor, str) or not _ID.match(self.vendor):
            _fail(where + ": vendor", "must match %s" % _ID.pattern)
        self.name = raw.get("name") or self.vendor
        products = raw.get("products")
        if not isinstance(products, list) or not products:
            _fail(where + ": products", "must be a non-empty list")
        self.products = []
        seen = set()
        for i, item in enumerate(products):
            product = Product(self.vendor, item, "%s: products[%d]" % (where, i), lazy_patterns)
            if product.id in seen:
                _fail("%s: products[%d].id" % (where, i), "duplicate id %r" % product.id)
            seen.add(product.id)
            self.products.append(product)
        self.leftovers = Leftovers(self.vendor, raw.get("leftovers"), where + ": leftovers", lazy_patterns)
        self.by_id = {p.id: p for p in self.products}
        self.vendor_dirs = _vendor_dirs(self.leftovers, where + ": leftovers.linux.paths")
        self._check_residue(where)

    def _check_residue(self, where):
        """Every Linux ``residue`` entry lies inside the vendor's directories (the removal modules
        refuse the others): a file elsewhere belongs in ``residue_files``."""
        recipes = [("products[%d] (%s).removal" % (i, p.id), p.removal) for i, p in enumerate(self.products)
                   if p.platform == "linux"]
        if "linux" in self.leftovers.platforms:
            recipes.append(("leftovers.linux.removal", self.leftovers.platforms["linux"][1]))
        for name, removal in recipes:
            for i, path in enumerate(removal.get("residue", [])):
                if not inside_dirs(check_pattern(path), self.vendor_dirs):
                    _fail("%s: %s.residue[%d]" % (where, name, i),
                          "%s is not inside the vendor's directories (leftovers.linux.paths: %s); list a file of "
                          "the vendor outside them under residue_files" % (path, ", ".join(self.vendor_dirs) or "none"))

    def for_platform(self, platform):
        return [p for p in self.products if p.platform == platform]


def _resolve(ref):
    if not isinstance(ref, str) or not ref:
        raise CatalogError("a catalog reference must be a name or a path, got %r" % (ref,))
    if os.sep in ref or ref.endswith((".yml", ".yaml")):
        return os.path.abspath(os.path.expanduser(ref))
    if not _ID.match(ref):
        raise CatalogError("unknown catalog name %r" % ref)
    return os.path.join(SHIPPED_DIR, ref + ".yml")


def load_catalog(ref):
    """Load one catalog by shipped name (``kaspersky``) or path; cached per file version."""
    path = _resolve(ref)
    try:
        st = os.stat(path)
    except OSError as exc:
        raise CatalogError("%s: cannot read catalog: %s" % (ref, exc.strerror or exc))
    key = (path, st.st_mtime_ns, st.st_size)
    with _LOCK:
        hit = _CACHE.get(key)
    if hit is not None:
        return hit
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise CatalogError("%s: cannot read catalog: %s" % (path, exc.strerror or exc))
    raw, compiled, remember = _parse(data, path)
    catalog = Catalog(raw, path, lazy_patterns=compiled)
    remember()
    with _LOCK:
        _CACHE[key] = catalog
    return catalog


def parse_cache_dir():
    """The private folder of parsed catalogs: ``fleetsec-divest-<uid>`` in the temporary folder,
    created with mode 0700; None when caching is off or the folder is not safe (not a directory
    of this user with mode 0700: someone else could have planted a document there)."""
    if os.environ.get(PARSE_CACHE_ENV, "").strip().lower() in ("off", "0", "false", "no"):
        return None
    if not hasattr(os, "getuid"):
        return None
    try:
        path = os.path.join(tempfile.gettempdir(), "fleetsec-divest-%d" % os.getuid())
    except OSError:          # no usable temporary folder at all: no cache, nothing else changes
        return None
    try:
        os.mkdir(path, 0o700)
    except OSError:
        pass
    try:
        info = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or stat.S_IMODE(info.st_mode) != 0o700:
        return None
    return path


def _cached_document(folder, name):
    """``(document, patterns_compiled)`` from the cache file ``name``, or None."""
    try:
        fd = os.open(os.path.join(folder, name), os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    try:
        with os.fdopen(fd, "rb") as handle:
            entry = json.loads(handle.read().decode("utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(entry, dict) or "document" not in entry:
        return None
    # a regular expression is checked by the Python that compiles it
    return entry["document"], entry.get("patterns_compiled_by") == _PYTHON


def _store_document(folder, name, raw, patterns_compiled=False):
    entry = {"document": raw, "patterns_compiled_by": _PYTHON if patterns_compiled else None}
    try:
        text = json.dumps(entry, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError):
        return
    if json.loads(text) != entry:    # a key or value JSON would change (a date, an integer key)
        return
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".%s." % name)
    except OSError:          # a full or read-only disk: the next worker parses the YAML again
        return
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(text.encode("utf-8"))
        os.replace(tmp, os.path.join(folder, name))
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass


def parse_yaml(data, source):
    """The YAML document of a catalog file's bytes ``data``, through the parse cache when it can
    be used (:func:`parse_cache_dir`); ``CatalogError`` when it is not valid YAML."""
    return _parse(data, source)[0]


def _parse(data, source):
    """``(document, patterns_compiled, remember)``: ``remember()`` notes in the cache that the
    document's patterns all compiled (called once a ``Catalog`` was built from it)."""
    folder = parse_cache_dir()
    name = "catalog-%s-%s.json" % (CACHE_FORMAT, hashlib.sha256(data).hexdigest())
    if folder is not None:
        hit = _cached_document(folder, name)
        if hit is not None:
            raw, compiled = hit
            return raw, compiled, (lambda: None) if compiled else (lambda: _store_document(folder, name, raw, True))
    try:
        raw = yaml.load(data, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise CatalogError("%s: not valid YAML: %s" % (source, exc))
    if folder is None:
        return raw, False, lambda: None
    _store_document(folder, name, raw)
    return raw, False, lambda: _store_document(folder, name, raw, True)


def load_catalogs(refs):
    """Load several catalogs; two catalogs for the same vendor are an error."""
    if isinstance(refs, str):
        refs = [refs]
    if not refs:
        raise CatalogError("no catalog given")
    catalogs, vendors = [], {}
    for ref in refs:
        catalog = load_catalog(ref)
        if catalog.vendor in vendors and vendors[catalog.vendor] != catalog.source:
            raise CatalogError("vendor %r is defined twice: %s and %s"
                               % (catalog.vendor, vendors[catalog.vendor], catalog.source))
        if catalog.vendor not in vendors:
            vendors[catalog.vendor] = catalog.source
            catalogs.append(catalog)
    return catalogs
