# -*- coding: utf-8 -*-
# TEST DOUBLE (fleetsec.divest tests/windows): never shipped, never run against a real host.
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The state every Windows double reads and changes, and the views derived from it.

One JSON file per host, ``$DIVEST_WINDOUBLE_DIR/$DIVEST_WINDOUBLE_HOST.json``, changed
read-modify-write under ``fcntl.flock`` and replaced atomically. Every double appends its call
to ``calls`` (arguments with passwords redacted, plus a sha256 of the raw ``arguments``).

Standard library only: this file is imported by the modules (shipped in their AnsiballZ
payload), by the win_reboot action on the controller and by the tests (loaded by file path).
The state format is described in ``tests/windows/README.md``; ``tests/windows/hosts.py``
builds realistic states.
"""

from __future__ import absolute_import, division, print_function

import contextlib
import copy
import datetime
import fcntl
import fnmatch
import hashlib
import json
import os
import re
import tempfile

__metaclass__ = type

ENV_DIR = "DIVEST_WINDOUBLE_DIR"
ENV_HOST = "DIVEST_WINDOUBLE_HOST"
REDACTED = "********"
PASSWORD_PROPERTIES = ("KLPASSWD", "KLUNINSTPASSWD")

POLICY_KEYS = {
    "ForceDefenderPassiveMode": "HKLM:\\SOFTWARE\\Policies\\Microsoft\\Windows Advanced Threat Protection",
    "DisableAntiSpyware": "HKLM:\\SOFTWARE\\Policies\\Microsoft\\Windows Defender",
    "DisableRealtimeMonitoring": "HKLM:\\SOFTWARE\\Policies\\Microsoft\\Windows Defender\\Real-Time Protection",
}
DEFENDER_SERVICE = "WinDefend"
DEFENDER_SC_NAME = "Windows Defender"
# productState of Windows Defender in Security Center: enabled up to date / out of date, disabled.
SC_ENABLED, SC_ENABLED_OLD, SC_DISABLED = 397568, 397584, 393472
FAULTS = frozenset((
    "lost_on_reboot",            # win_reboot: the host never comes back (real timeout message)
    "defender_stays_disabled",   # Defender does not take over when the third-party AV is gone
    "tamper_protected",          # Set-MpPreference fails; status IsTamperProtected true
    "signature_update_fails",    # MpCmdRun -SignatureUpdate / offline package fail
))


class DoubleError(Exception):
    """The double cannot answer (no state, unknown command ...): the module fails with this."""


# ------------------------------------------------------------------------------ the state file

def state_path(directory=None, host=None):
    directory = directory or os.environ.get(ENV_DIR)
    host = host or os.environ.get(ENV_HOST)
    if not directory or not host:
        raise DoubleError("double: %s and %s must be set (play-level environment)" % (ENV_DIR, ENV_HOST))
    return os.path.join(directory, "%s.json" % host)


def read_state(directory=None, host=None):
    path = state_path(directory, host)
    if not os.path.exists(path):
        raise DoubleError("double: no state for this host at %s" % path)
    with open(path, "r", encoding="utf-8") as handle:
        return json.load(handle)


def write_state(state, directory=None, host=None):
    path = state_path(directory, host)
    folder = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(state, handle, indent=1, sort_keys=True)
            handle.write("\n")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def locked_state(directory=None, host=None):
    """Yield the host's state; written back (atomically) when the block ends without error."""
    path = state_path(directory, host)
    with open(path + ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            state = read_state(directory, host)
            yield state
            write_state(state, directory, host)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


# ------------------------------------------------------------------------------ call records

_PROPERTY = re.compile(r'(?i)\b(%s)=("[^"]*"|\S*)' % "|".join(PASSWORD_PROPERTIES))


def join_arguments(arguments):
    """win_package's ``arguments`` (raw: a string or a list) as the command-line text."""
    if arguments is None:
        return None
    if isinstance(arguments, (list, tuple)):
        parts = []
        for part in arguments:
            part = str(part)
            parts.append('"%s"' % part.replace('"', '\\"') if (" " in part or not part) else part)
        return " ".join(parts)
    return str(arguments)


def redact_text(text):
    return _PROPERTY.sub(lambda match: "%s=%s" % (match.group(1), REDACTED), text)


def redact(args):
    """A copy of module args safe to keep: password-looking values hidden."""
    clean = {}
    for key, value in (args or {}).items():
        if key.startswith("_ansible"):
            continue
        if "password" in key.lower() and value is not None:
            clean[key] = REDACTED
        elif key == "arguments" and value is not None:
            text = join_arguments(value)
            clean[key] = redact_text(text) if _PROPERTY.search(text) else value
        elif key == "parameters" and isinstance(value, dict):
            clean[key] = {k: (REDACTED if "pass" in k.lower() else v) for k, v in value.items()}
        elif key == "sensitive_parameters" and value is not None:
            clean[key] = REDACTED
        else:
            clean[key] = value
    return clean


def record(state, module, args, check_mode=False, result=None):
    entry = {"module": module, "args": redact(args), "check_mode": bool(check_mode)}
    if args and args.get("arguments") is not None:
        entry["arguments_sha256"] = hashlib.sha256(join_arguments(args["arguments"]).encode("utf-8")).hexdigest()
    if result is not None:
        entry["result"] = {key: result[key] for key in ("changed", "failed", "rc", "msg", "rebooted") if key in result}
    state.setdefault("calls", []).append(entry)
    return entry


def sha256_text(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# ------------------------------------------------------------------------------ helpers

def fold(text):
    return (text or "").casefold()


def norm_path(path):
    path = (path or "").replace("/", "\\")
    if len(path) > 3:
        path = path.rstrip("\\")
    return path


def path_key(path):
    return fold(norm_path(path))


def under(child, parent):
    """Is ``child`` the path ``parent`` or inside it (case-insensitive)?"""
    child, parent = path_key(child), path_key(parent)
    return child == parent or child.startswith(parent.rstrip("\\") + "\\")


_HIVES = {
    "HKLM": "HKLM:", "HKEY_LOCAL_MACHINE": "HKLM:", "HKU": "HKU:", "HKEY_USERS": "HKU:",
    "HKCR": "HKCR:", "HKEY_CLASSES_ROOT": "HKCR:", "HKCU": "HKCU:", "HKEY_CURRENT_USER": "HKCU:",
    "HKCC": "HKCC:", "HKEY_CURRENT_CONFIG": "HKCC:",
}


def reg_key(path):
    """``HKLM\\X``, ``HKEY_LOCAL_MACHINE\\X``, ``Registry::HKLM\\X`` -> ``HKLM:\\X``; None if not a hive."""
    text = (path or "").replace("/", "\\")
    text = re.sub(r"(?i)\A(Microsoft\.PowerShell\.Core\\)?Registry::", "", text)
    parts = [part for part in text.split("\\") if part]
    if not parts:
        return None
    hive = _HIVES.get(parts[0].rstrip(":").upper())
    if hive is None:
        return None
    return "\\".join([hive] + parts[1:])


def find_key(registry, path):
    """The stored spelling of registry key ``path`` (case-insensitive), or None."""
    wanted = fold(reg_key(path))
    for key in registry:
        if fold(key) == wanted:
            return key
    return None


def key_exists(registry, path):
    wanted = fold(reg_key(path))
    return any(fold(key) == wanted or fold(key).startswith(wanted + "\\") for key in registry)


def reg_value(state, key, name):
    stored = find_key(state.get("registry", {}), key)
    if stored is None:
        return None
    for value_name, value in state["registry"][stored].items():
        if fold(value_name) == fold(name):
            return value.get("data")
    return None


def now_text():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# ------------------------------------------------------------------------------ derived views

def is_server(state):
    return bool(state["os"].get("server"))


def has_security_center(state):
    return not is_server(state) or bool(state["os"].get("multi_session"))


def policy(state):
    values = {}
    for name, key in POLICY_KEYS.items():
        data = reg_value(state, key, name)
        try:
            values[name] = None if data is None else int(data)
        except (TypeError, ValueError):
            values[name] = None
    return values


def registered_av(state):
    """Installed products that register an antivirus in Security Center (clients only matter)."""
    return [code for code, product in state.get("products", {}).items() if product.get("registers_av")]


def defender_service(state):
    return state.get("services", {}).get(DEFENDER_SERVICE)


def defender_mode(state):
    """``Normal`` / ``Passive Mode`` / ``Not running``, or None when WinDefend does not run."""
    service = defender_service(state)
    if not service or service.get("State") != "Running":
        return None
    values = policy(state)
    if values["DisableAntiSpyware"] == 1:
        return "Not running"
    if not is_server(state) or state["os"].get("multi_session"):
        defender = state.get("defender", {})
        if registered_av(state) or defender.get("takeover_after_reboot"):
            return "Not running"
        if "defender_stays_disabled" in state.get("faults", {}):
            return "Not running"
        return "Normal"
    if values["ForceDefenderPassiveMode"] == 1:
        return "Passive Mode"
    return "Normal"


def defender_status(state):
    """Get-MpComputerStatus as win_defender_info returns it (None where it cannot answer)."""
    mode = defender_mode(state)
    if mode is None:
        return None
    defender = state.get("defender", {})
    normal = mode == "Normal"
    realtime = normal and not defender.get("realtime_disabled_locally") and policy(state)["DisableRealtimeMonitoring"] != 1
    age = int(defender.get("signature_age", 0))
    updated = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=age)
    return {
        "AMServiceEnabled": mode != "Not running",
        "AntivirusEnabled": normal,
        "RealTimeProtectionEnabled": bool(realtime),
        "AMRunningMode": mode,
        "AntivirusSignatureAge": age,
        "AntivirusSignatureVersion": defender.get("signature_version", "1.381.0.0"),
        "AntivirusSignatureLastUpdated": updated.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "DefenderSignaturesOutOfDate": age > 7,
        "IsTamperProtected": "tamper_protected" in state.get("faults", {}) or bool(defender.get("tamper_protected")),
        "AMProductVersion": defender.get("product_version", "4.18.24090.11"),
    }


def security_center_rows(state):
    """root/SecurityCenter2 AntiVirusProduct rows (None on a server): third-party + Defender."""
    if not has_security_center(state):
        return None
    rows = [dict(row) for row in state.get("security_center", [])]
    service = defender_service(state)
    if service is not None:
        status = defender_status(state)
        if status and status["AntivirusEnabled"]:
            product_state = SC_ENABLED_OLD if status["DefenderSignaturesOutOfDate"] else SC_ENABLED
        else:
            product_state = SC_DISABLED
        rows.append({"displayName": DEFENDER_SC_NAME, "productState": product_state,
                     "pathToSignedProductExe": "windowsdefender://", "product": None})
    return rows


def defender_feature_name(state):
    if not is_server(state):
        return None
    return "Windows-Defender-Features" if int(state["os"].get("build", 0)) == 14393 else "Windows-Defender"


def defender_feature(state):
    name = defender_feature_name(state)
    if name is None:
        return None
    for feature, install_state in state.get("features", {}).items():
        if fold(feature) == fold(name):
            return install_state
    return "available"


def defender_info(state):
    """Exactly what fleetsec.divest.win_defender_info returns."""
    os_info = state["os"]
    errors = []
    name = defender_feature_name(state)
    feature = {"name": name, "installed": None if name is None else defender_feature(state) == "installed"}
    service = defender_service(state)
    service_view = {"name": DEFENDER_SERVICE, "exists": service is not None, "start_mode": None, "state": None}
    if service is not None:
        service_view["start_mode"] = start_mode_word(service)
        service_view["state"] = (service.get("State") or "").lower() or None
    status = defender_status(state)
    if status is None:
        errors.append({"section": "status", "message": (
            "the namespace root\\Microsoft\\Windows\\Defender does not exist (Defender is not installed)"
            if service is None else
            "The service cannot be started, either because it is disabled or because it has no enabled devices "
            "associated with it. (MSFT_MpComputerStatus, HRESULT 0x800106ba)")})
    rows = security_center_rows(state)
    return {
        "os": {"server": is_server(state), "build": int(os_info.get("build", 0)),
               "product_type": int(os_info.get("product_type", 1)), "multi_session": bool(os_info.get("multi_session"))},
        "feature": feature,
        "service": service_view,
        "status": status,
        "policy": policy(state),
        "security_center": None if rows is None else [{"name": row["displayName"], "product_state": row["productState"]} for row in rows],
        "reboot_pending": {"pending": bool(state.get("reboot_pending")), "sources": list(state.get("reboot_sources", []))},
        "errors": errors,
    }


def start_mode_word(service):
    mode = (service.get("StartMode") or "").lower()
    return {"auto": "auto", "manual": "manual", "disabled": "disabled", "boot": "auto", "system": "auto"}.get(mode)


def note_reboot(state, source):
    state["reboot_pending"] = True
    sources = state.setdefault("reboot_sources", [])
    if source not in sources:
        sources.append(source)


# ------------------------------------------------------------------------------ state changes

def remove_product(state, code):
    """A successful MSI uninstall: the product's footprint goes, its residue stays."""
    product = state["products"].pop(code)
    residue = product.get("residue", {}) or {}
    keep_services = {fold(name) for name in residue.get("services", [])}
    keep_paths = residue.get("paths", [])
    keep_keys = residue.get("registry_keys", [])
    keep_drivers = {fold(name) for name in residue.get("drivers", [])}
    for name in list(state.get("services", {})):
        if state["services"][name].get("product") == code and fold(name) not in keep_services:
            del state["services"][name]
    for name, driver in list(state.get("drivers", {}).items()):
        if driver.get("product") != code or fold(name) in keep_drivers:
            continue
        if product.get("reboot") and driver.get("State") == "Running":
            driver["removed"] = True      # registration gone, still loaded until a reboot
        else:
            del state["drivers"][name]
    state["processes"] = [proc for proc in state.get("processes", []) if proc.get("product") != code]
    for path in product.get("paths", []):
        if any(under(keep, path) or under(path, keep) for keep in keep_paths):
            continue
        remove_path(state, path)
    for key in product.get("registry_keys", []):
        if any(fold(reg_key(keep)) == fold(reg_key(key)) for keep in keep_keys):
            continue
        for stored in list(state.get("registry", {})):
            if fold(stored) == fold(reg_key(key)) or fold(stored).startswith(fold(reg_key(key)) + "\\"):
                del state["registry"][stored]
    state["security_center"] = [row for row in state.get("security_center", []) if row.get("product") != code]
    if product.get("registers_av") and product.get("reboot"):
        state.setdefault("defender", {})["takeover_after_reboot"] = True
    state.setdefault("removed_products", []).append(code)
    return product


def remove_path(state, path):
    """Drop ``path`` and everything below it from ``paths`` and ``links`` (links themselves only)."""
    for stored in list(state.get("paths", {})):
        if under(stored, path):
            del state["paths"][stored]
    for link in list(state.get("links", {})):
        if under(link, path):
            del state["links"][link]


def path_exists(state, path):
    return any(under(stored, path) for stored in list(state.get("paths", {})) + list(state.get("links", {})))


def reboot(state):
    """What a completed restart changes."""
    state["boot_count"] = int(state.get("boot_count", 0)) + 1
    state["reboot_pending"] = False
    state["reboot_sources"] = []
    for name, driver in list(state.get("drivers", {}).items()):
        if driver.get("removed"):
            del state["drivers"][name]
    for feature, install_state in list(state.get("features", {}).items()):
        if install_state == "install_pending":
            state["features"][feature] = "installed"
        elif install_state == "removal_pending":
            state["features"][feature] = "available"
    feature = defender_feature(state)
    services = state.setdefault("services", {})
    if is_server(state) and feature == "installed" and DEFENDER_SERVICE not in services:
        services[DEFENDER_SERVICE] = defender_service_entry()
    if is_server(state) and feature != "installed" and DEFENDER_SERVICE in services:
        del services[DEFENDER_SERVICE]
    defender = state.setdefault("defender", {})
    defender.pop("takeover_after_reboot", None)
    for service in services.values():
        mode = (service.get("StartMode") or "").lower()
        if mode == "auto":
            service["State"] = "Running"
        elif mode == "disabled":
            service["State"] = "Stopped"
    for proc in state.get("processes", []):
        proc["pid"] = int(proc.get("pid", 1000)) + 4
    return state


def defender_service_entry(state="Running", start_mode="Auto"):
    return {"DisplayName": "Microsoft Defender Antivirus Service",
            "PathName": '"C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.24090.11-0\\MsMpEng.exe"',
            "State": state, "StartMode": start_mode, "product": None}


def signature_update(state):
    defender = state.setdefault("defender", {})
    defender["signature_age"] = 0
    parts = defender.get("signature_version", "1.381.0.0").split(".")
    try:
        parts[2] = str(int(parts[2]) + 100)
    except (IndexError, ValueError):
        parts = ["1", "421", "100", "0"]
    defender["signature_version"] = ".".join(parts)


# ------------------------------------------------------------------------------ inventory view

class _Pattern(object):
    """One rule of plugins/module_utils/_patterns.py: exact (case folded), ``re:`` or substring."""

    def __init__(self, text, search=False):
        self.text = text
        self.regex = None
        if text.startswith("re:"):
            try:
                compiled = re.compile(text[3:], re.IGNORECASE)
            except re.error:
                compiled = None
            self.regex = compiled.search if (compiled and search) else (compiled.fullmatch if compiled else None)
            self.valid = compiled is not None
        else:
            self.valid = True
        self.search = search

    def matches(self, value):
        if not isinstance(value, str) or not self.valid:
            return False
        if self.regex is not None:
            return bool(self.regex(value))
        if self.search:
            return fold(self.text) in fold(value)
        return fold(self.text) == fold(value)


def _patterns(texts, search=False, errors=None):
    patterns = []
    for text in texts or []:
        pattern = _Pattern(text, search)
        if not pattern.valid and errors is not None:
            errors.append({"section": "query", "message": "%s: not a valid regular expression" % text, "limit": False})
        patterns.append(pattern)
    return patterns


def _hit(value, patterns):
    return any(pattern.matches(value) for pattern in patterns)


ENVIRONMENT = {
    "programfiles(x86)": "C:\\Program Files (x86)", "programfiles": "C:\\Program Files",
    "programdata": "C:\\ProgramData", "systemroot": "C:\\Windows", "windir": "C:\\Windows",
    "systemdrive": "C:", "programw6432": "C:\\Program Files", "allusersprofile": "C:\\ProgramData",
    "commonprogramfiles": "C:\\Program Files\\Common Files",
    "commonprogramfiles(x86)": "C:\\Program Files (x86)\\Common Files",
}


def expand(path):
    return re.sub(r"%([^%\\]+)%", lambda m: ENVIRONMENT.get(m.group(1).lower(), m.group(0)), path)


def _glob(pattern, value):
    # PowerShell wildcards: * ? [..], case-insensitive, * does not cross a backslash.
    regex = ""
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "*":
            regex += "[^\\\\]*"
        elif char == "?":
            regex += "[^\\\\]"
        elif char == "[":
            end = pattern.find("]", i)
            if end == -1:
                regex += re.escape(char)
            else:
                regex += "[" + pattern[i + 1:end].replace("\\", "\\\\") + "]"
                i = end
        else:
            regex += re.escape(char)
        i += 1
    return re.fullmatch(regex, norm_path(value), re.IGNORECASE) is not None


def _all_paths(state):
    """Every path that exists (stored ones and their parents), with its record."""
    found = {}
    for path, info in state.get("paths", {}).items():
        found[path_key(path)] = (norm_path(path), info)
    for link, target in state.get("links", {}).items():
        found[path_key(link)] = (norm_path(link), {"type": "link", "target": target})
    for key, (path, _info) in list(found.items()):
        parts = path.split("\\")
        for end in range(2, len(parts)):
            parent = "\\".join(parts[:end])
            found.setdefault(path_key(parent), (parent, {"type": "directory"}))
    return found


def _registry_matches(state, text):
    """Keys of the query ``text`` that exist, named as the collector names them."""
    parts = [part for part in text.replace("/", "\\").split("\\") if part]
    if not parts:
        return []
    if reg_key(parts[0]) is None:
        raise DoubleError("unknown registry hive '%s'" % parts[0])
    hive = reg_key(parts[0])
    existing = set()
    for stored in state.get("registry", {}):
        pieces = stored.split("\\")
        for end in range(1, len(pieces) + 1):
            existing.add("\\".join(pieces[:end]))
    current = [(parts[0], hive)]
    for part in parts[1:]:
        nxt = []
        for shown, real in current:
            if "*" in part or "?" in part:
                for key in sorted(existing):
                    head, _sep, child = key.rpartition("\\")
                    if fold(head) == fold(real) and fnmatch.fnmatchcase(fold(child), fold(part)):
                        nxt.append((shown + "\\" + child, key))
            else:
                candidate = real + "\\" + part
                if any(fold(key) == fold(candidate) for key in existing):
                    nxt.append((shown + "\\" + part, candidate))
        current = nxt
    return [shown for shown, _real in current]


def _platform_view(state):
    os_info = state["os"]
    product_type = {1: "workstation", 2: "domain_controller", 3: "server"}.get(int(os_info.get("product_type", 1)))
    return {
        "system": "Windows",
        "distribution": os_info.get("caption"),
        "version": os_info.get("version"),
        "product_type": product_type,
        "edition_id": os_info.get("edition_id"),
        "build": str(os_info.get("build")) if os_info.get("build") is not None else None,
    }


def _service_row(name, service):
    return {"Name": name, "DisplayName": service.get("DisplayName"), "PathName": service.get("PathName"),
            "State": service.get("State"), "StartMode": service.get("StartMode")}


def inventory(state, params):
    """What plugins/modules/win_inventory_info.ps1 returns for this state and these options."""
    errors = []
    result = {
        "schema": 1, "platform": _platform_view(state), "live": True, "skipped": [], "errors": errors,
        "uninstall": [], "services": [], "drivers": [], "security_center": [], "registry_keys": [],
        "paths": [], "processes": [], "certificates": [],
    }
    names = _patterns(params.get("display_names"), errors=errors)
    publishers = _patterns(params.get("publishers"), search=True, errors=errors)
    if names or publishers:
        entries = list(state.get("products", {}).items())
        entries += [(entry.get("key"), entry) for entry in state.get("uninstall_extra", [])]
        for code, product in entries:
            if not (_hit(product.get("DisplayName"), names) or _hit(product.get("Publisher"), publishers)):
                continue
            result["uninstall"].append({
                "key": code, "hive": product.get("hive", "HKLM"), "view": str(product.get("view", "32")),
                "DisplayName": product.get("DisplayName"), "DisplayVersion": product.get("DisplayVersion"),
                "Publisher": product.get("Publisher"),
                "UninstallString": product.get("UninstallString", "MsiExec.exe /X%s" % code),
                "QuietUninstallString": product.get("QuietUninstallString"),
                "InstallLocation": product.get("InstallLocation"),
                "WindowsInstaller": bool(product.get("WindowsInstaller", True)),
            })
    for section, option in (("services", "services"), ("drivers", "drivers")):
        patterns = _patterns(params.get(option), errors=errors)
        if not patterns:
            continue
        for name, service in sorted(state.get(section, {}).items()):
            if _hit(name, patterns) or _hit(service.get("DisplayName"), patterns):
                result[section].append(_service_row(name, service))
    patterns = _patterns(params.get("security_center"), errors=errors)
    if patterns:
        rows = security_center_rows(state)
        if rows is None:
            result["skipped"].append({"section": "security_center",
                                      "reason": "the namespace root\\SecurityCenter2 does not exist on this host"})
        else:
            for row in rows:
                if _hit(row["displayName"], patterns):
                    result["security_center"].append({"displayName": row["displayName"], "productState": row["productState"],
                                                      "pathToSignedProductExe": row.get("pathToSignedProductExe")})
    for text in params.get("registry_keys") or []:
        try:
            for path in _registry_matches(state, text):
                result["registry_keys"].append({"path": path})
        except DoubleError as exc:
            errors.append({"section": "registry_keys", "message": "%s: %s" % (text, exc), "limit": False})
    if params.get("paths"):
        existing = _all_paths(state)
        for pattern in params["paths"]:
            expanded = expand(pattern)
            if re.search(r"%[^%\\]+%", expanded):
                continue
            if not re.match(r"\A([A-Za-z]:\\|\\\\)", expanded):
                errors.append({"section": "paths", "message": "%s: not an absolute file system path: %s" % (pattern, expanded),
                               "limit": False})
                continue
            wildcard = any(char in expanded for char in "*?[")
            for key in sorted(existing):
                path, info = existing[key]
                hit = _glob(expanded, path) if wildcard else key == path_key(expanded)
                if not hit:
                    continue
                kind = info.get("type", "directory")
                error = info.get("error")
                target = info.get("target") if kind == "link" and error is None else None
                result["paths"].append({"path": path, "type": kind, "target": target, "pattern": pattern, "error": error})
    patterns = _patterns(params.get("processes"), errors=errors)
    if patterns:
        for proc in state.get("processes", []):
            if _hit(proc.get("name"), patterns):
                result["processes"].append({"name": proc["name"], "pid": int(proc.get("pid", 0)), "path": proc.get("path")})
    patterns = _patterns(params.get("certificates"), search=True, errors=errors)
    if patterns:
        for cert in state.get("certificates", []):
            if _hit(cert.get("subject"), patterns) or _hit(cert.get("issuer"), patterns):
                result["certificates"].append({"store": "LocalMachine\\Root", "thumbprint": cert.get("thumbprint"),
                                               "subject": cert.get("subject"), "issuer": cert.get("issuer")})
    return result


def deep_copy(value):
    return copy.deepcopy(value)


# ------------------------------------------------------------------------------ module glue

class ModuleFail(Exception):
    """The module fails as the real one would: ``msg`` plus the result keys it returns."""

    def __init__(self, msg, **result):
        Exception.__init__(self, msg)
        self.msg = msg
        self.result = result


def run_module(module, name, handler):
    """Run ``handler(state, module) -> result`` on the locked state, record the call, exit.

    A ModuleFail is recorded (the real module's failure) and the state changes made before it
    are kept; a DoubleError (the double cannot answer) fails without touching the state.
    """
    outcome = {}
    try:
        with locked_state() as state:
            try:
                outcome["result"] = handler(state, module) or {}
            except ModuleFail as failure:
                outcome["fail"] = failure
                record(state, name, module.params, module.check_mode, dict(failure.result, failed=True, msg=failure.msg))
            else:
                record(state, name, module.params, module.check_mode, outcome["result"])
    except DoubleError as exc:
        module.fail_json(msg=str(exc), double_error=True)
    if "fail" in outcome:
        module.fail_json(msg=outcome["fail"].msg, **outcome["fail"].result)
    result = outcome["result"]
    result.setdefault("changed", False)
    module.exit_json(**result)
