# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The matcher: raw inventory + catalogs -> ``ansible_facts.divest`` (DESIGN.md, Contracts).

Pure functions, controller side, the only place where detection logic lives. Used by the
``vendor_facts`` action (live hosts), the ``vendor_findings`` filter (recorded inventories)
and offline scans. Linux and Windows go through the same code: the signature table in
``_catalog.SIGNATURES`` says which raw section and field each signature key reads.
"""

from __future__ import annotations

import datetime
import fnmatch
import re

from ansible_collections.fleetsec.divest.plugins.module_utils._patterns import has_magic
from ansible_collections.fleetsec.divest.plugins.plugin_utils._catalog import (
    PRODUCT_SIGNATURES,
    SIGNATURES,
)
from ansible_collections.fleetsec.divest.plugins.plugin_utils._winplatform import (
    distribution_of,
    scan_notes,
    windows_platform,
)

SCHEMA = 1
#: dpkg states in which a package counts as present (docs/raw-inventory.md).
PRESENT = frozenset(("installed", "unpacked", "half-installed", "half-configured",
                     "triggers-awaited", "triggers-pending"))
#: Raw sections without which a host cannot be called clean: an ``errors`` entry of one of
#: them (other than a note about output caps, ``limit: true``) makes a host with nothing
#: installed ``unknown``. Linux: the package databases, the vendor's paths and the package
#: repositories; Windows: the Uninstall keys and the vendor's paths.
CRITICAL = {"linux": ("packages", "paths", "repos"), "windows": ("uninstall", "paths")}
#: Evidence items kept per finding; the rest is counted (facts stay compact, DESIGN.md).
MAX_EVIDENCE = 40
#: Entries of ``containers`` kept (one per container and product); the rest is counted.
MAX_CONTAINERS = 100
#: Raw ``containers`` item kinds and the signature each one is matched with.
_CONTAINER_KINDS = {"process": "processes", "path": "paths"}
_GUID = re.compile(r"^\{[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}$")
_SERVICE_STATE = {"active": "running", "inactive": "stopped", "failed": "failed",
                  "activating": "starting", "deactivating": "stopping", "reloading": "running"}
# Order in which evidence kinds are listed in a finding: strongest first.
_KIND_ORDER = ("package", "uninstall_entry", "service", "unit_file", "process", "driver",
               "kernel_module", "security_center", "registry_key", "path", "certificate", "repo")


class InventoryError(ValueError):
    """A raw inventory that does not follow docs/raw-inventory.md."""


def now_utc():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def platform_of(inventory):
    if not isinstance(inventory, dict):
        raise InventoryError("a raw inventory must be a mapping, got %s" % type(inventory).__name__)
    schema = inventory.get("schema", SCHEMA)
    if schema != SCHEMA:
        raise InventoryError("raw inventory schema %r is not supported (expected %d)" % (schema, SCHEMA))
    system = (inventory.get("platform") or {}).get("system")
    if not isinstance(system, str) or system.lower() not in ("linux", "windows"):
        raise InventoryError("raw inventory platform.system must be Linux or Windows, got %r" % (system,))
    return system.lower()


# ------------------------------------------------------------------------------------ query


def build_query(catalogs, platform):
    """Collector options for ``platform`` (linux / windows): the union of every signature.

    The query is only a pre-filter that keeps the collector's payload small; the matcher
    decides what each returned item means.
    """
    query = {}

    def add(key, texts):
        spec = SIGNATURES[key]
        option = spec.get("query", {}).get(platform, key)
        bucket = query.setdefault(option, [])
        for text in texts:
            if text not in bucket:
                bucket.append(text)

    for catalog in catalogs:
        for product in catalog.for_platform(platform):
            for key, texts in product.signatures.texts.items():
                add(key, texts)
        block = catalog.leftovers.platforms.get(platform)
        if block:
            for key, texts in block[0].texts.items():
                add(key, texts)
    return query


# ---------------------------------------------------------------------------------- matching


def _field(item, spec):
    for name in spec["fields"]:
        if name in item:
            return name, item.get(name)
    return spec["fields"][0], None


def _norm_path(text, windows):
    text = text.replace("/", "\\") if windows else text
    text = text.rstrip("\\/") or text
    return text.casefold() if windows else text


def _path_hit(item, texts, windows):
    value = item.get("path")
    if not isinstance(value, str):
        return None
    pattern = item.get("pattern")
    norm = _norm_path(value, windows)
    for text in texts:
        if pattern is not None and pattern == text:
            return text
        wanted = _norm_path(text, windows)
        # a plain path is compared as it is: fnmatch would compile a regular expression for it,
        # in every worker process (one per host and task)
        if norm == wanted or (has_magic(wanted) and fnmatch.fnmatchcase(norm, wanted)):
            return text
    return None


def _hit(sig, key, item, windows):
    """Does ``item`` (of the section ``key`` reads) match signature ``key`` of ``sig``?"""
    spec = SIGNATURES[key]
    if spec.get("mode") == "path":
        texts = sig.texts.get(key)
        return bool(texts) and _path_hit(item, texts, windows) is not None
    patterns = sig.sets.get(key)
    if not patterns:
        return False
    if key == "display_names":
        if patterns.match(item.get("DisplayName")) is None:
            return False
        publishers = sig.sets.get("publishers")
        return publishers is None or publishers.match(item.get("Publisher")) is not None
    for name in spec["fields"]:
        if patterns.match(item.get(name)) is not None:
            return True
    return False


def _clip(value, limit=256):
    if isinstance(value, str) and len(value) > limit:
        return value[:limit] + "…"
    return value


def version_of_package(version):
    """``[epoch:]upstream[-revision]`` -> the vendor's dotted version (12.1.0-1508 -> 12.1.0.1508)."""
    if not isinstance(version, str) or not version:
        return None
    version = version.split(":", 1)[1] if ":" in version.split("-", 1)[0] else version
    upstream, sep, revision = version.rpartition("-")
    if not sep:
        return version
    digits = re.match(r"\d+", revision)
    return "%s.%s" % (upstream, digits.group(0)) if digits else upstream


def evidence_of(kind, item):
    """One compact evidence record for a raw item (DESIGN.md evidence kinds)."""
    if kind == "package":
        ev = {"kind": kind, "name": item.get("name"), "version": item.get("version"),
              "manager": item.get("manager"), "status": item.get("status") or "installed"}
        if item.get("arch"):
            ev["arch"] = item["arch"]
        if item.get("hold"):  # apt-mark / versionlock / zypper-lock: only when held
            ev["hold"] = item["hold"]
        return ev
    if kind == "service":
        if "Name" in item:  # Windows
            return {"kind": kind, "name": item.get("Name"), "state": (item.get("State") or "unknown").lower(),
                    "start": item.get("StartMode")}
        if item.get("active") is None:
            return {"kind": "unit_file", "name": item.get("name"), "path": item.get("path"),
                    "init": item.get("kind")}
        return {"kind": kind, "name": item.get("name"),
                "state": _SERVICE_STATE.get(item.get("active"), item.get("active")),
                "enabled": item.get("enabled"), "init": item.get("kind")}
    if kind == "process":
        return {"kind": kind, "name": item.get("name"), "pid": item.get("pid")}
    if kind == "kernel_module":
        return {"kind": kind, "name": item.get("name")}
    if kind == "path":
        ev = {"kind": kind, "name": item.get("path")}
        if item.get("type") == "link":
            ev["target"] = item.get("target")
            if item.get("target") is None:  # a link whose target could not be read is still a link
                ev["link"] = True
        if item.get("error"):  # Windows: exists, but its link type could not be read
            ev["unreadable"] = item["error"]
        return ev
    if kind == "repo":
        return {"kind": kind, "name": item.get("path"), "line": item.get("line")}
    if kind == "uninstall_entry":
        return {"kind": kind, "name": item.get("DisplayName"), "version": item.get("DisplayVersion"),
                "publisher": item.get("Publisher"), "key": item.get("key"), "hive": item.get("hive"),
                "view": item.get("view"), "msi": bool(item.get("WindowsInstaller"))}
    if kind == "driver":
        return {"kind": kind, "name": item.get("Name"), "state": (item.get("State") or "unknown").lower()}
    if kind == "security_center":
        return {"kind": kind, "name": item.get("displayName"), "state": item.get("productState")}
    if kind == "registry_key":
        return {"kind": kind, "name": item.get("path")}
    if kind == "certificate":
        return {"kind": kind, "name": item.get("subject"), "thumbprint": item.get("thumbprint")}
    return {"kind": kind, "name": item.get("name")}  # pragma: no cover - table is closed


def _error(entry):
    out = {"section": _clip(entry.get("section")), "message": _clip(entry.get("message"))}
    if entry.get("limit"):
        out["limit"] = True
    return out


def _is_critical(entry, platform):
    """A read failure of a source needed to call a host clean (not a note about caps)."""
    return entry.get("section") in CRITICAL[platform] and not entry.get("limit")


def _clip_evidence(ev):
    return {k: _clip(v) for k, v in ev.items() if v is not None}


class _Finding(object):
    __slots__ = ("vendor", "product", "id", "name", "items")

    def __init__(self, vendor, product, pid, name):
        self.vendor, self.product, self.id, self.name = vendor, product, pid, name
        self.items = []  # (kind, raw item)

    def installed(self):
        for kind, item in self.items:
            if kind == "uninstall_entry":
                return True
            if kind == "package" and (item.get("status") or "installed") in PRESENT:
                return True
        return False


def _sections(inventory, platform, notes):
    """Each raw section as a list of dicts; malformed items are dropped and counted."""
    out = {}
    for spec in SIGNATURES.values():
        section = spec["section"].get(platform)
        if section is None or section in out:
            continue
        value = inventory.get(section)
        if value is None:
            out[section] = []
            continue
        if not isinstance(value, list):
            notes.append({"section": section, "message": "not a list; ignored"})
            out[section] = []
            continue
        items = [i for i in value if isinstance(i, dict)]
        if len(items) != len(value):
            notes.append({"section": section,
                          "message": "%d malformed item(s) ignored" % (len(value) - len(items))})
        out[section] = items
    return out


def _version(finding):
    product = finding.product
    if product is None:  # `unknown` / `leftovers`: a version only when one item stands alone
        items = [(k, i) for k, i in finding.items if k in ("package", "uninstall_entry")]
        if len(items) != 1:
            return None
        kind, item = items[0]
        return version_of_package(item.get("version")) if kind == "package" else item.get("DisplayVersion")
    packages = [item for kind, item in finding.items if kind == "package"]
    if packages:
        present = [p for p in packages if (p.get("status") or "installed") in PRESENT] or packages
        order = product.version_from if product is not None else []
        for name in order:
            for item in present:
                if item.get("name") == name:
                    return version_of_package(item.get("version"))
        if not order:
            return version_of_package(present[0].get("version"))
        return None
    for kind, item in finding.items:
        if kind == "uninstall_entry" and isinstance(item.get("DisplayVersion"), str):
            return item["DisplayVersion"]
    return None


def _removal(finding, recipe, evidence):
    removal = dict(recipe)
    method = removal.get("method")
    if method == "package":
        found = [e["name"] for e in evidence if e["kind"] == "package"]
        ordered = [p for p in removal.get("packages", []) if p in found]
        removal["packages"] = ordered + [p for p in found if p not in ordered]
        removal["services"] = [e["name"] for e in evidence if e["kind"] in ("service", "unit_file")]
        if not removal["services"]:
            removal.pop("services")
    elif method == "msi":
        entries = [item for kind, item in finding.items if kind == "uninstall_entry"]
        codes = []
        for item in entries:
            key = item.get("key")
            if item.get("WindowsInstaller") and isinstance(key, str) and _GUID.match(key) and key not in codes:
                codes.append(key)
        if codes:
            removal["product_codes"] = codes
        else:
            removal["method"] = "manual"
            note = "no Windows Installer product code in the Uninstall entry; use the vendor uninstaller"
            removal["note"] = "%s. %s" % (removal["note"].rstrip(". "), note) if removal.get("note") else note
    elif method == "residue":
        repo_files = sorted({e["name"] for e in evidence if e["kind"] == "repo"})
        if repo_files:
            removal["repo_files"] = repo_files
    elif method == "unknown":
        names = [e["name"] for e in evidence if e["kind"] in ("package", "uninstall_entry")]
        removal["candidates"] = names
    return removal


def _finding_dict(finding, recipe):
    finding.items.sort(key=lambda ki: _KIND_ORDER.index(ki[0]))
    evidence = [_clip_evidence(evidence_of(kind, item)) for kind, item in finding.items]
    out = {
        "vendor": finding.vendor,
        "product": finding.id,
        "name": finding.name,
        "version": _version(finding),
        "state": "installed" if finding.installed() else "residual",
    }
    if finding.product is not None:
        out["role"] = finding.product.role
    out["evidence"] = evidence[:MAX_EVIDENCE]
    if len(evidence) > MAX_EVIDENCE:
        out["evidence_truncated"] = len(evidence) - MAX_EVIDENCE
    out["removal"] = _removal(finding, recipe, evidence)
    return out


def _anchored(products, sections, platform, windows):
    """Ids of the products that are installed: a present package or an Uninstall entry."""
    anchored = set()
    for key in ("packages", "display_names"):
        section = SIGNATURES[key]["section"].get(platform)
        for item in sections.get(section, ()) if section else ():
            if key == "packages" and (item.get("status") or "installed") not in PRESENT:
                continue
            for product in products:
                if _hit(product.signatures, key, item, windows):
                    anchored.add(product.id)
                    break
    return anchored


def _owner(products, anchored, key, item, windows):
    """The product a raw signal belongs to: the first installed product whose signature
    matches it, else the first product whose signature matches it (docs/catalog.md).

    A signal several products share (the engine service AVP<version>, avp.exe) so goes to
    the product that is really there instead of to whichever is listed first.
    """
    first = None
    for product in products:
        if _hit(product.signatures, key, item, windows):
            if product.id in anchored:
                return product
            if first is None:
                first = product
    return first


def _container_owner(catalog, products, key, item, windows):
    """``(product id, name)`` of the product a container item belongs to: the first product
    whose signature matches it, else the vendor's leftovers; None when nothing matches."""
    for product in products:
        if _hit(product.signatures, key, item, windows):
            return product.id, product.name
    block = catalog.leftovers.platforms.get("linux")
    if block and _hit(block[0], key, item, windows):
        return "leftovers", catalog.leftovers.name
    return None


def _container_evidence(item):
    if item.get("kind") == "path":
        ev = {"kind": "path", "name": item.get("path"), "storage": item.get("storage")}
        if item.get("type") == "link":
            ev["target"] = item.get("target")
            if item.get("target") is None:  # a link whose target could not be read is still a link
                ev["link"] = True
        return _clip_evidence(ev)
    return _clip_evidence({"kind": "process", "name": item.get("name"), "pid": item.get("pid")})


def match_containers(inventory, catalogs):
    """What the scan saw of the vendor in containers on the host (Linux ``containers``
    section, docs/raw-inventory.md): ``(entries, unsure)``.

    ``entries``: one per container and product, ``{vendor, product, name, scope, runtime, id,
    evidence}``, sorted; never findings, so never the host's status nor a removal. ``unsure``:
    the ``unknown`` items (a process whose pid namespace could not be read, that nothing else
    places in a container), which keep a host without installed products from being called
    clean or residual.
    """
    raw = inventory.get("containers")
    if not isinstance(raw, list) or not raw:
        return [], []
    groups = {}
    unsure = []
    for catalog in catalogs:
        products = catalog.for_platform("linux")
        for item in raw:
            if not isinstance(item, dict) or item.get("kind") not in _CONTAINER_KINDS:
                continue
            owner = _container_owner(catalog, products, _CONTAINER_KINDS[item["kind"]], item, False)
            if owner is None:
                continue
            scope = "unknown" if item.get("scope") == "unknown" else "container"
            key = (scope, _clip(item.get("runtime")), _clip(item.get("id")), catalog.vendor) + owner
            entry = groups.get(key)
            if entry is None:
                entry = groups[key] = {"vendor": catalog.vendor, "product": owner[0], "name": owner[1],
                                       "scope": scope, "runtime": key[1], "id": key[2], "evidence": []}
                if scope == "unknown":
                    entry["reason"] = _clip(item.get("reason"))
                    unsure.append(entry)
            entry["evidence"].append(_container_evidence(item))
    entries = sorted(groups.values(), key=lambda e: (e["scope"] != "container", str(e["runtime"] or "~"),
                                                     str(e["id"] or ""), e["vendor"], e["product"]))
    for entry in entries:
        entry["evidence"].sort(key=lambda ev: (ev["kind"], str(ev.get("name")), ev.get("pid") or 0))
        if len(entry["evidence"]) > MAX_EVIDENCE:
            entry["evidence_truncated"] = len(entry["evidence"]) - MAX_EVIDENCE
            del entry["evidence"][MAX_EVIDENCE:]
    return entries, unsure


def match(inventory, catalogs, scanned_at=None):
    """Return the ``divest`` facts for one host's raw inventory."""
    platform = platform_of(inventory)
    windows = platform == "windows"
    notes = []
    sections = _sections(inventory, platform, notes)
    findings = []

    for catalog in catalogs:
        products = catalog.for_platform(platform)
        anchored = _anchored(products, sections, platform, windows)
        claimed = set()
        by_product = {}
        for key in PRODUCT_SIGNATURES:
            if key == "publishers":
                continue  # only a condition of display_names for products
            spec = SIGNATURES[key]
            section = spec["section"].get(platform)
            if section is None:
                continue
            for item in sections[section]:
                if id(item) in claimed:
                    continue
                product = _owner(products, anchored, key, item, windows)
                if product is None:
                    continue
                finding = by_product.get(product.id)
                if finding is None:
                    finding = by_product[product.id] = _Finding(catalog.vendor, product, product.id, product.name)
                finding.items.append((spec["kind"], item))
                claimed.add(id(item))

        for product in products:  # catalog order: stable output
            if product.id in by_product:
                findings.append(_finding_dict(by_product[product.id], product.removal))

        block = catalog.leftovers.platforms.get(platform)
        if not block:
            continue
        sig, leftover_recipe = block
        unknown = _Finding(catalog.vendor, None, "unknown", "Unrecognised %s software" % catalog.name)
        rest = _Finding(catalog.vendor, None, "leftovers", catalog.leftovers.name)
        for key in sig.texts:
            spec = SIGNATURES[key]
            section = spec["section"][platform]
            for item in sections[section]:
                if id(item) in claimed or not _hit(sig, key, item, windows):
                    continue
                claimed.add(id(item))
                if spec["kind"] in ("package", "uninstall_entry"):
                    unknown.items.append((spec["kind"], item))
                elif spec["kind"] == "repo" or not by_product:
                    rest.items.append((spec["kind"], item))
        if unknown.items:
            findings.append(_finding_dict(unknown, {"method": "unknown", "order": 100,
                                                    "reboot": False, "password": "none"}))
        if rest.items:
            findings.append(_finding_dict(rest, leftover_recipe))

    errors = [e for e in inventory.get("errors") or [] if isinstance(e, dict)]
    if windows:
        errors.extend(scan_notes(inventory))
    containers, unsure = match_containers(inventory, catalogs) if platform == "linux" else ([], [])
    for entry in reversed(unsure):
        # Where a vendor process runs could not be told: the host cannot be called clean.
        seen = ", ".join("%s pid %s" % (ev.get("name"), ev.get("pid")) for ev in entry["evidence"])
        errors.insert(0, {"section": "processes", "message": "%s (%s) may run on the host or in a container: %s"
                          % (entry["name"], seen, entry.get("reason"))})
    # A note about the collector's output caps (limit: true) means the section was read.
    critical = bool(unsure) or any(_is_critical(e, platform) for e in errors)
    # The failures that decide the status come first, so a report or a plan blocker that
    # shows only the first errors shows why the host is not clean.
    errors.sort(key=lambda e: not _is_critical(e, platform))
    if any(f["state"] == "installed" for f in findings):
        status = "affected"
    elif critical:
        status = "unknown"
    elif findings:
        status = "residual"
    else:
        status = "clean"

    plat = inventory.get("platform") or {}
    facts = {
        "schema": SCHEMA,
        "scanned_at": scanned_at or inventory.get("collected_at") or now_utc(),
        "platform": {k: plat.get(k) for k in ("system", "distribution", "version") if k in plat},
        "status": status,
        "findings": findings,
        "scan": {
            "live": bool(inventory.get("live", True)),
            "skipped": [s for s in inventory.get("skipped") or [] if isinstance(s, dict)],
            "errors": [_error(e) for e in errors] + notes,
        },
    }
    if platform == "linux":
        facts["scan"]["root"] = inventory.get("root", "/")
    else:
        decided = windows_platform(plat)
        facts["platform"]["distribution"] = distribution_of(plat)
        facts["platform"].update(role=decided["role"], release=decided["release"],
                                 multi_session=decided["multi_session"])
    if containers:
        facts["containers"] = containers[:MAX_CONTAINERS]
        if len(containers) > MAX_CONTAINERS:
            facts["containers_truncated"] = len(containers) - MAX_CONTAINERS
    return facts
