# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Removal on Windows, decided in Python: what the ``win_remove`` and ``win_cleanup`` actions
ask ``ansible.windows`` to do, and what they make of the answers (controller side, standard
library only, pure functions).

* :func:`msi_properties` - the ``NAME=value`` arguments of ``msiexec /x`` from a product's
  removal recipe (``docs/catalog.md``): the recipe's ``properties`` (``REBOOT=ReallySuppress``)
  and, when a password is given, its ``password_properties`` (``KLLOGIN`` / ``KLPASSWD`` for
  Kaspersky Endpoint Security, ``KLUNINSTPASSWD`` for the Network Agent, whose value is the hex
  of the password's UTF-16LE bytes: jl-oclinux/SecWinBatchMode
  ``Modules/SWMB/LocalMachine-Uninstall.psm1``). Values are quoted the way msiexec reads them.
* :func:`classify` - what an msiexec exit code means (learn.microsoft.com, "MsiExec.exe and
  InstMsi.exe Error Messages" and "System Error Codes"; 0, 1641, 3010 success and 1605 "not
  installed" as the community uninstall scripts treat them).
* :func:`msi_log_errors` - the few lines of a verbose MSI log that say why it failed.
* :func:`redact` - every secret out of a result, however deep.
* :func:`residue` - what cleanup may delete after the MSI step, from the post-removal scan,
  behind guards (no links, no system folders, only the vendor's registry keys, no protected
  service, never a driver).
* :func:`package_args`, :func:`file_args`, :func:`regedit_args`, :func:`service_args` - the
  module arguments of ``ansible.windows.win_package`` / ``win_file`` / ``win_regedit`` /
  ``win_service`` (:data:`MODULE_BUILDERS` lists them for the contract test).

No name of a vendor's product, service or path is written here: they come from the catalog,
through the plan and the facts.
"""

from __future__ import annotations

import ntpath
import re
from collections import namedtuple
from collections.abc import Mapping

from ansible_collections.fleetsec.divest.plugins.plugin_utils._text import clean_text, clip, natural_key, text

__all__ = [
    "RemovalError", "MsiArguments", "MASK", "MEANINGS", "REBOOT_CODES", "ABSENT_CODES", "RETRY_CODES",
    "OUTCOMES", "PROTECTED_SERVICES", "MODULE_BUILDERS",
    "msi_quote", "encode_password", "msi_properties", "classify", "not_failing_codes", "msi_log_errors",
    "redact", "residue", "package_args", "file_args", "regedit_args", "service_args", "log_name",
]

MASK = "********"
DEFAULT_LOGIN = "KLAdmin"  # the vendor's own default login (support.kaspersky.com/keswin/12.9/en-US/299679.htm)


class RemovalError(ValueError):
    """A removal that must not be attempted as asked (a password msiexec cannot be given, a
    recipe that is not an MSI recipe ...); the message says why, never the secret."""


# --------------------------------------------------------------------------------------------
# msiexec arguments
# --------------------------------------------------------------------------------------------

#: ``args``: the ``NAME=value`` arguments, in order (what msiexec gets); ``shown``: the same with
#: every secret value replaced by :data:`MASK`; ``secrets``: the texts to redact anywhere (the
#: password, its encoded and quoted forms); ``notes``: what was left out and why.
MsiArguments = namedtuple("MsiArguments", "args shown secrets notes")

_PROPERTY_NAME = re.compile(r"\A[A-Za-z_][A-Za-z0-9_.]*\Z")
# C0 controls (NUL included), DEL and C1 controls: msiexec has no way to carry them.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_NEEDS_QUOTES = re.compile(r'[\s"]')
_SURROGATE = re.compile("[\ud800-\udfff]")


def msi_quote(value):
    """``value`` as msiexec reads a property value: as it is when it has no white space nor
    double quote, else in double quotes with each inner double quote doubled
    (``va"lue x`` -> ``"va""lue x"``); an empty value is ``""``."""
    if value == "":
        return '""'
    if not _NEEDS_QUOTES.search(value):
        return value
    return '"%s"' % value.replace('"', '""')


def _check_value(name, value, secret=False):
    if not isinstance(value, str):
        value = str(value)
    if _CONTROL.search(value):
        raise RemovalError("the %s has a control character (or NUL), which msiexec cannot be given"
                           % ("password" if secret else "value of MSI property %s" % name))
    if _SURROGATE.search(value):
        raise RemovalError("the %s is not valid Unicode text (a lone surrogate)"
                           % ("password" if secret else "value of MSI property %s" % name))
    return value


def encode_password(password, encoding=None):
    """The password as the recipe's ``encoding`` says: as it is (None), or ``utf16le-hex``,
    the hex (lower case) of its UTF-16LE bytes, two bytes per UTF-16 code unit: ``Pa`` ->
    ``50006100``, ``ж`` -> ``3604``."""
    if encoding in (None, ""):
        return password
    if encoding == "utf16le-hex":
        return password.encode("utf-16-le").hex()
    raise RemovalError("unknown password encoding %r (known: utf16le-hex)" % (encoding,))


def _arg(name, value):
    if not isinstance(name, str) or not _PROPERTY_NAME.match(name):
        raise RemovalError("%r is not an MSI property name" % (name,))
    return "%s=%s" % (name, msi_quote(value))


def msi_properties(removal, password=None, login=None):
    """The ``NAME=value`` arguments of ``msiexec /x`` for a removal recipe (a plan's
    ``removal``), as an :data:`MsiArguments`.

    The recipe's ``properties`` come first, in their order; then, when ``password`` is given
    and the recipe has ``password_properties``, the login property (when the recipe names one:
    ``login``, else ``KLAdmin``) and the password property (encoded per ``encoding``). A
    password for a recipe without ``password_properties`` (``password: none``, or a product
    whose password property no public source documents) is not passed: ``notes`` says so.
    Raises :class:`RemovalError` for a password (or value) with a control character or NUL, a
    recipe that needs a password (``password: required``) without one, or a malformed recipe.
    """
    if not isinstance(removal, Mapping):
        raise RemovalError("the removal recipe must be a mapping")
    args, shown, secrets, notes = [], [], set(), []
    properties = removal.get("properties") or {}
    if not isinstance(properties, Mapping):
        raise RemovalError("the recipe's properties must map MSI property names to values")
    names = removal.get("password_properties") or {}
    if not isinstance(names, Mapping):
        raise RemovalError("the recipe's password_properties must be a mapping")
    reserved = {n.upper() for n in (names.get("login"), names.get("password")) if isinstance(n, str)}
    for name, value in properties.items():
        if isinstance(name, str) and name.upper() in reserved:
            continue  # the password properties are set below, only when a password is given
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise RemovalError("MSI property %s must be text or an integer" % (name,))
        item = _arg(name, _check_value(name, value))
        args.append(item)
        shown.append(item)

    if password is not None and not isinstance(password, str):
        raise RemovalError("the password must be text")
    if password == "":
        password = None
    if password is None:
        if removal.get("password") == "required":
            raise RemovalError("the recipe needs an uninstall password (password: required) and none was given")
        return MsiArguments(args, shown, frozenset(), notes)

    password = _check_value(None, password, secret=True)
    if not names.get("password"):
        notes.append("a password was given, but the recipe names no msiexec property for it "
                     "(password: %s): it was not passed" % (removal.get("password") or "none"))
        return MsiArguments(args, shown, frozenset(), notes)
    value = encode_password(password, names.get("encoding"))
    secrets.update((password, value, msi_quote(password), password.replace('"', '""')))
    if names.get("login"):
        login = DEFAULT_LOGIN if login in (None, "") else _check_value(names["login"], login)
        item = _arg(names["login"], login)
        args.append(item)
        shown.append(item)
    elif login not in (None, ""):
        notes.append("a login was given, but the recipe names no login property: it was not passed")
    args.append(_arg(names["password"], value))
    shown.append("%s=%s" % (names["password"], MASK))
    return MsiArguments(args, shown, frozenset(s for s in secrets if s), notes)


# --------------------------------------------------------------------------------------------
# Exit codes
# --------------------------------------------------------------------------------------------

#: What msiexec's exit codes mean (learn.microsoft.com/windows/win32/msi/error-codes).
MEANINGS = {
    0: "the action completed successfully",
    1601: "the Windows Installer service could not be accessed",
    1602: "the user cancelled the installation",
    1603: "fatal error during installation",
    1604: "installation suspended, incomplete",
    1605: "this action is only valid for products that are currently installed",
    1612: "the installation source for this product is not available",
    1618: "another installation is already in progress",
    1619: "the installation package could not be opened",
    1620: "the installation package could not be opened (not a valid Windows Installer package)",
    1622: "there was an error opening the installation log file",
    1624: "there was an error applying transforms",
    1625: "this installation is forbidden by system policy",
    1633: "this installation package is not supported on this platform",
    1639: "invalid command line argument",
    1641: "the installer has started a restart",
    3010: "a restart is required to complete the removal",
}
REBOOT_CODES = (3010, 1641)
ABSENT_CODES = (1605,)
RETRY_CODES = (1618,)
#: What :func:`classify` answers.
OUTCOMES = ("removed", "reboot_required", "absent", "retry", "failed")


def _codes(removal, key):
    codes = removal.get(key) if isinstance(removal, Mapping) else None
    return {c for c in codes if isinstance(c, int) and not isinstance(c, bool)} if isinstance(codes, list) else set()


def classify(rc, removal=None):
    """``(outcome, meaning)`` of an msiexec exit code: ``reboot_required`` (3010, 1641),
    ``removed`` (0 or the recipe's ``success_codes``), ``absent`` (1605 or the recipe's
    ``absent_codes``), ``retry`` (1618), else ``failed``; ``meaning`` is one line for a known
    code, else None."""
    if not isinstance(rc, int) or isinstance(rc, bool):
        return "failed", None
    meaning = MEANINGS.get(rc)
    if rc in REBOOT_CODES:
        return "reboot_required", meaning
    if rc == 0 or rc in _codes(removal, "success_codes"):
        return "removed", meaning
    if rc in ABSENT_CODES or rc in _codes(removal, "absent_codes"):
        return "absent", meaning
    if rc in RETRY_CODES:
        return "retry", meaning
    return "failed", meaning


def not_failing_codes(removal=None):
    """Every exit code :func:`classify` does not call ``failed``, sorted: what win_package's
    ``expected_return_code`` gets. The failure codes are left out on purpose: win_package
    returns the MSI log (``log``) only for an exit code it does not expect."""
    codes = {0} | set(REBOOT_CODES) | set(ABSENT_CODES) | set(RETRY_CODES)
    codes |= _codes(removal, "success_codes") | _codes(removal, "absent_codes")
    return sorted(codes)


# --------------------------------------------------------------------------------------------
# MSI logs and redaction
# --------------------------------------------------------------------------------------------

_RELEVANT = re.compile(r"Return value 3\b|\bError \d+|returned actual error code|\berror\b|\bfailed\b|\bfailure\b",
                       re.IGNORECASE)
# Lines of every verbose log that name errors without being one.
_NOISE = re.compile(r"^\s*(?:MSI \([csa]\) \([0-9A-F:]+\) \[[0-9:]+\]: )?(?:Property\(|PROPERTY CHANGE)"
                    r"|Note: 1: 2(?:205|228|262)\b|ErrorDialog|Return value [01]\b|\bError(?:Icon|Dlg)\b"
                    # the top-level action's end says nothing the exit code does not
                    r"|Action ended [0-9:]+: INSTALL\. Return value 3",
                    re.IGNORECASE)
_PREFIX = re.compile(r"^MSI \([csa]\) \([0-9A-Fa-f:]+\) \[[0-9:]+\]: ")
LOG_LINES = 5
LOG_LINE_LIMIT = 300


def _secret_pattern(secrets):
    found = sorted({text(s) for s in secrets or () if s}, key=lambda s: (-len(s), s))
    return re.compile("|".join(re.escape(s) for s in found), re.IGNORECASE) if found else None


def _redact_text(value, pattern):
    return pattern.sub(MASK, value) if pattern is not None else value


def msi_log_errors(log_text, secrets=(), lines=LOG_LINES, limit=LOG_LINE_LIMIT):
    """The last ``lines`` lines of a verbose MSI log that tell why it failed (``Return value 3``,
    ``Error NNNN``, ``CustomAction ... returned actual error code``, "error", "failed"),
    without the usual noise (property dumps, ``Note: 1: 2205``, the end of the top-level
    ``INSTALL`` action), each without its ``MSI (s)
    (..) [time]:`` prefix, secrets replaced by :data:`MASK`, control and invisible characters
    shown as U+FFFD and cut to ``limit`` characters."""
    if not log_text:
        return []
    log_text = text(log_text)
    if log_text.count("\x00") * 4 > len(log_text):  # UTF-16 text read as bytes
        log_text = log_text.replace("\x00", "")
    pattern = _secret_pattern(secrets)
    found = []
    for line in log_text.splitlines():
        line = line.strip()
        if not line or not _RELEVANT.search(line) or _NOISE.search(line):
            continue
        found.append(line)
    out = []
    for line in found[-lines:] if lines else found:
        line = _redact_text(_PREFIX.sub("", line), pattern)
        out.append(clean_text(line, limit))
    return out


def redact(value, secrets):
    """A copy of ``value`` (any nesting of mappings, lists and texts) with every secret replaced
    by :data:`MASK` in every text, keys included; values that are not text are kept."""
    pattern = _secret_pattern(secrets)
    return _redact(value, pattern, 0)


def _redact(value, pattern, depth):
    if isinstance(value, (str, bytes)):
        return _redact_text(text(value), pattern)
    if depth > 64:
        return MASK
    if isinstance(value, Mapping):
        return {_redact(k, pattern, depth + 1) if isinstance(k, (str, bytes)) else k: _redact(v, pattern, depth + 1)
                for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_redact(v, pattern, depth + 1) for v in value]
    return value


# --------------------------------------------------------------------------------------------
# Residue
# --------------------------------------------------------------------------------------------

#: Services cleanup never deletes, whatever the facts say: Microsoft Defender, Security Center,
#: the firewall, and what the host needs to be managed and repaired.
PROTECTED_SERVICES = frozenset(s.lower() for s in (
    "WinDefend", "MsMpSvc", "WdNisSvc", "WdNisDrv", "WdFilter", "WdBoot", "Sense", "MDCoreSvc",
    "SecurityHealthService", "wscsvc", "mpssvc", "BFE", "msiserver", "TrustedInstaller", "WinRM",
    "sshd", "EventLog", "RpcSs", "RpcEptMapper", "DcomLaunch", "LSM", "SamSs", "Schedule", "Winmgmt",
    "CryptSvc", "LanmanServer", "LanmanWorkstation", "Dhcp", "Dnscache", "nsi", "Netlogon", "W32Time",
    "wuauserv", "BITS", "gpsvc", "ProfSvc", "Power", "PlugPlay",
))
#: Folders directly under a drive root that cleanup never deletes, nor anything one level
#: below them that is theirs (``Program Files\Common Files``, a profile under ``Users``).
SYSTEM_TOP = frozenset(("windows", "program files", "program files (x86)", "programdata", "users",
                        "documents and settings", "system volume information", "$recycle.bin", "recovery",
                        "boot", "perflogs"))
#: Folders one level below those that are shared by many products, or are Windows' own.
SHARED_SECOND = frozenset(("common files", "windows nt", "internet explorer", "windows mail", "windows media player",
                           "package cache", "public", "default", "default user", "all users", "reference assemblies"))
#: Folders one level below those that are Windows' or Microsoft Defender's, at any depth.
MICROSOFT = frozenset(("microsoft", "microsoft.net", "windows defender", "windows defender advanced threat protection",
                       "windowsapps", "windows security"))
#: A registry key under SOFTWARE that is never a vendor's own key.
SHARED_SOFTWARE = frozenset(("classes", "clients", "microsoft", "policies", "registeredapplications",
                             "wow6432node", "wow64", "odbc", "intel", "setup", "partner", "defaultuserenvironment"))
_TRUNCATED = ("...[truncated]", "\u2026")  # the collector's and the matcher's marks of a cut value
_SERVICE_KEY = re.compile(r"\AHKLM:\\SYSTEM\\CurrentControlSet\\Services\\([^\\]+)\Z", re.IGNORECASE)
_SOFTWARE_KEY = re.compile(r"\AHKLM:\\SOFTWARE\\(?:WOW6432Node\\)?([^\\]+)(?:\\.*)?\Z", re.IGNORECASE | re.DOTALL)
_DRIVE_PATH = re.compile(r"\A[A-Za-z]:\\")
KIND_ORDER = ("service", "registry_key", "path")


def _pairs(removed):
    out = set()
    for item in removed or ():
        if isinstance(item, Mapping):
            vendor, product = item.get("vendor"), item.get("product")
        elif isinstance(item, (list, tuple)) and len(item) == 2:
            vendor, product = item
        else:
            continue
        if isinstance(vendor, str) and isinstance(product, str):
            out.add((vendor, product))
    return out


def _shortened(name):
    return any(name.endswith(mark) for mark in _TRUNCATED) or "\ufffd" in name


def _path_refusal(ev):
    """Why a ``path`` evidence item must not be deleted, or None."""
    name = ev.get("name")
    if not isinstance(name, str) or not name:
        return "no path"
    if "target" in ev or ev.get("link") or ev.get("type") == "link":
        target = ev.get("target")
        return "a link or junction%s: cleanup never deletes through one" % (" to %s" % text(target) if target else "")
    if "unreadable" in ev:
        return "whether it is a link or junction could not be read (%s)" % clean_text(text(ev["unreadable"]), 200)
    if ev.get("type") not in (None, "directory", "file"):
        return "neither a folder nor a file (%s)" % text(ev.get("type"))
    if _shortened(name):
        return "the name was shortened in the facts"
    if _CONTROL.search(name):
        return "the name has control characters"
    if not _DRIVE_PATH.match(name):
        return "not a local path with a drive letter (UNC, device and relative paths are refused)"
    if ":" in name[2:] or any(c in name for c in "*?<>|"):
        return "a stream or wildcard character in the path"
    parts = name[3:].split("\\")
    if any(p in ("", ".", "..") for p in parts) or name.endswith(" ") or name.endswith("."):
        return "not a normal path (empty, . or .. components, trailing dot or space)"
    if len(parts) + 1 < 3:
        return "fewer than 3 components deep (a drive root or a folder directly under it)"
    top, lower = parts[0].lower(), [p.lower() for p in parts]
    if top == "windows":
        return "inside the Windows folder (system files and drivers are left to the vendor uninstaller)"
    if top in SYSTEM_TOP and lower[1] in MICROSOFT:
        return "inside a folder of Windows or Microsoft Defender (%s)" % "\\".join(parts[:2])
    if top in SYSTEM_TOP and len(parts) == 2 and lower[1] in SHARED_SECOND:
        return "a folder Windows or many products share (%s)" % "\\".join(parts)
    if top in ("users", "documents and settings") and (
            len(parts) <= 3 or (len(parts) == 4 and lower[2] == "appdata")):
        return "a user profile or one of its standard folders (%s)" % "\\".join(parts)
    return None


def _key_refusal(ev, vendor, drivers):
    name = ev.get("name")
    if not isinstance(name, str) or not name:
        return "no key"
    if _shortened(name) or _CONTROL.search(name):
        return "the key name was shortened in the facts or has control characters"
    match = _SERVICE_KEY.match(name)
    if match:
        service = match.group(1)
        if service.lower() in PROTECTED_SERVICES:
            return "the key of a protected service (%s)" % service
        if service.lower() in drivers:
            return ("the key of kernel driver %s: drivers are never deleted here (a filter driver removed by hand "
                    "can leave the host without keyboard or mouse); the vendor uninstaller or kavremover removes them"
                    % service)
        return None
    match = _SOFTWARE_KEY.match(name)
    if match and "\\\\" not in name and not name.endswith("\\"):
        top = match.group(1)
        wanted = re.sub(r"[^a-z0-9]", "", (vendor or "").lower())
        if top.lower() in SHARED_SOFTWARE:
            return "a key Windows or many products share (%s)" % top
        if not wanted or wanted not in re.sub(r"[^a-z0-9]", "", top.lower()):
            return "not under the vendor's own key (HKLM:\\SOFTWARE\\<vendor key> naming %s)" % (vendor or "?")
        return None
    return ("outside the vendor's keys: only HKLM:\\SOFTWARE[\\WOW6432Node]\\<vendor key>\\... and "
            "HKLM:\\SYSTEM\\CurrentControlSet\\Services\\<name> are deleted")


def _service_refusal(ev, drivers):
    name = ev.get("name")
    if not isinstance(name, str) or not name or _shortened(name) or _CONTROL.search(name) or "\\" in name:
        return "not a usable service name"
    if name.lower() in PROTECTED_SERVICES:
        return "a protected service (%s)" % name
    if name.lower() in drivers:
        return "a kernel driver: never deleted here"
    return None


_OTHER_KINDS = {
    "uninstall_entry": "the product is still registered (Uninstall entry): only its uninstaller removes it",
    "process": "a running process: cleanup stops no process",
    "security_center": "registered in Security Center: Windows removes the entry with the product",
    "certificate": "a certificate: cleanup does not touch certificate stores",
}


def residue(after_facts, removed):
    """What cleanup may delete after the MSI step, from the post-removal scan (``divest`` facts)
    and the products whose removal succeeded (``removed``: ``{vendor, product}`` mappings or
    ``(vendor, product)`` pairs).

    Returns ``{"delete": [{kind, name}], "refused": [{kind, name, reason}], "needs_reboot":
    [{kind, name, state}]}``: only evidence of the removed products; services (first), registry
    keys, then folders and files, each sorted by name (Windows names compare without case;
    duplicates go). Kernel drivers are never deleted: listed under ``needs_reboot`` while
    loaded, else refused. Refused: a path that is a link or junction or whose link state is
    unknown, a drive root, anything under the Windows folder, a folder fewer than 3 components
    deep or shared (``Program Files\\Common Files``, a profile folder ...), a name shortened in
    the facts; a registry key outside ``HKLM:\\SOFTWARE[\\WOW6432Node]\\<vendor key>`` (a key
    naming the vendor) and ``HKLM:\\SYSTEM\\CurrentControlSet\\Services\\<name>``; a service of
    :data:`PROTECTED_SERVICES`; the service key of a driver.
    """
    wanted = _pairs(removed)
    findings = after_facts.get("findings") if isinstance(after_facts, Mapping) else None
    chosen = [f for f in findings or [] if isinstance(f, Mapping) and (f.get("vendor"), f.get("product")) in wanted]
    drivers = {}
    for finding in findings or []:
        for ev in (finding.get("evidence") or []) if isinstance(finding, Mapping) else []:
            if isinstance(ev, Mapping) and ev.get("kind") == "driver" and isinstance(ev.get("name"), str):
                drivers[ev["name"].lower()] = ev
    delete, refused, reboot = {}, {}, {}
    for finding in chosen:
        vendor = finding.get("vendor")
        for ev in finding.get("evidence") or []:
            if not isinstance(ev, Mapping):
                continue
            kind, name = ev.get("kind"), ev.get("name")
            shown = text(name) if name is not None else ""
            key = (kind, shown.lower())
            if kind == "driver":
                state = text(ev.get("state") or "unknown")
                if state.lower() != "stopped":
                    reboot[key] = {"kind": kind, "name": shown, "state": state}
                else:
                    refused[key] = {"kind": kind, "name": shown,
                                    "reason": "a kernel driver: never deleted here; the vendor uninstaller or "
                                              "kavremover removes drivers"}
                continue
            if kind == "path":
                reason = _path_refusal(ev)
            elif kind == "registry_key":
                reason = _key_refusal(ev, vendor, drivers)
            elif kind == "service":
                reason = _service_refusal(ev, drivers)
            else:
                reason = _OTHER_KINDS.get(kind, "not something cleanup deletes (%s)" % text(kind))
            # The same item twice (names compare without case): the smallest spelling, whatever
            # the order of the evidence.
            if reason is None:
                if key not in delete or shown < delete[key]["name"]:
                    delete[key] = {"kind": kind, "name": shown}
            elif key not in refused or clean_text(shown, 300) < refused[key]["name"]:
                refused[key] = {"kind": kind, "name": clean_text(shown, 300), "reason": reason}
    for key in list(delete):
        refused.pop(key, None)

    def order(item):
        kind = item["kind"]
        return (KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER), kind,
                natural_key(item["name"].lower()), item["name"])
    return {"delete": sorted(delete.values(), key=order), "refused": sorted(refused.values(), key=order),
            "needs_reboot": sorted(reboot.values(), key=order)}


# --------------------------------------------------------------------------------------------
# ansible.windows module arguments
# --------------------------------------------------------------------------------------------

_UNSAFE_FILE = re.compile(r"[^A-Za-z0-9._-]+")


def log_name(product, code):
    """The file name of the MSI log of one product code: ``divest-msi-<product>-<code>.log``,
    with anything but letters, digits, ``.``, ``_``, ``-`` dropped."""
    return "divest-msi-%s-%s.log" % (_UNSAFE_FILE.sub("", text(product))[:64] or "product",
                                     _UNSAFE_FILE.sub("", text(code))[:64] or "code")


def package_args(code, arguments, log_path=None, removal=None):
    """``ansible.windows.win_package`` arguments that uninstall MSI product ``code``
    (``msiexec /x {code} /L*V <log> /qn /norestart <arguments>``): the MSI provider only (a
    broken MSI registration never falls back to an UninstallString), ``arguments`` as one
    string (win_package appends it to the command line as it is, so msiexec's own quoting
    holds), every exit code :func:`classify` does not call ``failed`` expected. ``log_path``
    None: win_package logs to a temporary file, deleted afterwards, and still returns it on a
    failure."""
    args = {"product_id": text(code), "state": "absent", "provider": "msi",
            "expected_return_code": not_failing_codes(removal)}
    if arguments:
        args["arguments"] = " ".join(arguments) if isinstance(arguments, (list, tuple)) else text(arguments)
    if log_path:
        args["log_path"] = text(log_path)
    return args


def file_args(path):
    """``ansible.windows.win_file`` arguments that delete a folder (recursively) or a file; it
    deletes a link or junction met inside as a link, never what it points to."""
    return {"path": text(path), "state": "absent"}


def regedit_args(key):
    """``ansible.windows.win_regedit`` arguments that delete a registry key and its subkeys."""
    return {"path": text(key), "state": "absent", "delete_key": True}


def service_args(name):
    """``ansible.windows.win_service`` arguments that stop and delete a service."""
    return {"name": text(name), "state": "absent"}


#: (module, builder) pairs: what the actions call, for the contract test against
#: ``ansible-doc --json``.
MODULE_BUILDERS = (
    ("ansible.windows.win_package", package_args),
    ("ansible.windows.win_file", file_args),
    ("ansible.windows.win_regedit", regedit_args),
    ("ansible.windows.win_service", service_args),
)
#: Which builder deletes which evidence kind.
CLEANUP_MODULES = {
    "service": ("ansible.windows.win_service", service_args),
    "registry_key": ("ansible.windows.win_regedit", regedit_args),
    "path": ("ansible.windows.win_file", file_args),
}


def msi_path(log_dir, product, code):
    """The MSI log path in ``log_dir`` (a Windows folder) for one product code."""
    return ntpath.join(text(log_dir), log_name(product, code))


def clipped(value, limit=LOG_LINE_LIMIT):
    """A module's message as one display line (control characters as U+FFFD), cut."""
    return clip(clean_text(text(value), None), limit)
