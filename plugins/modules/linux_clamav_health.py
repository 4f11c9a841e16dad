#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: linux_clamav_health
short_description: Read how ClamAV protects a Linux host, in one round trip, changing nothing
version_added: 0.1.0
description:
  - The read-only probes of the C(fleetsec.divest.clamav) role in one module run - which of
    the ClamAV packages are installed, whether clamd's systemd unit is masked, which signature
    databases clamd would load, and whether clamd protects the host.
  - Healthy means both - clamd answers on its socket (C(clamdscan --ping), retried once a second
    for up to O(ping_timeout) seconds) AND it detects the EICAR test string O(eicar), streamed to
    it on standard input (C(clamdscan --no-summary -), INSTREAM; the string is never written to a
    file, and the option is C(no_log)).
  - Returns what it read and its judgement C(health) (C(healthy), C(checked), C(reason) in
    words); the role publishes it as the host fact C(divest_replacement_health) and decides
    whether to fail. The module itself never fails because of what it finds.
  - It only reads - it installs, configures, starts and writes nothing, and runs the same in
    check mode.
author:
  - fleetsec.divest developers (@fleetsec)
options:
  probes:
    description:
      - What to read. V(packages) - which of O(packages) are missing (O(package_query)).
        V(unit) - whether O(service) is masked. V(database) - the signature files of
        O(database_dir). V(health) - C(clamdscan --ping), the unit's state, the EICAR scan and
        the installed version (O(version_query)).
      - When V(packages) finds a package missing nothing else is probed, and C(health) says that
        ClamAV is not installed.
    type: list
    elements: str
    choices: [packages, unit, database, health]
    default: [packages, unit, database, health]
  packages:
    description: The ClamAV packages (V(packages)).
    type: list
    elements: str
    default: []
  package_query:
    description:
      - The command (argv, no shell) that prints one line per installed package; O(packages) are
        appended to it. Required with V(packages).
      - For example C([dpkg-query, --show, '--showformat=${db:Status-Abbrev}|${Package}\n'])
        or C([rpm, --query, '--queryformat=%{NAME}\n']).
    type: list
    elements: str
    default: []
  installed_pattern:
    description:
      - A regular expression a line of O(package_query) must match (from its start) for its
        package to count as installed. The package name is the line without the text up to its
        first C(|), if it has one.
    type: str
    default: '^'
  package_query_rc:
    description:
      - The exit codes of O(package_query) that mean it answered (C(dpkg-query) exits 1 for an
        unknown package). Another one fails the module. Empty - every exit code is accepted
        (C(rpm --query) exits with the number of packages not installed).
    type: list
    elements: int
    default: []
  service:
    description: clamd's systemd unit (V(unit), V(health)).
    type: str
    default: clamav-daemon
  database_dir:
    description: clamd's database directory (V(database)).
    type: path
    default: /var/lib/clamav
  database_patterns:
    description:
      - Shell patterns of the entries of O(database_dir) that clamd loads (not recursive, hidden
        entries left out); directories matching them count for O(official_databases) only.
    type: list
    elements: str
    default: ["*.cvd", "*.cld", "*.cud", "*.hdb", "*.ndb", "*.ldb"]
  extra_databases:
    description:
      - File names counted as present in O(database_dir) although they may not be there yet (the
        files of an offline bundle that check mode did not copy).
    type: list
    elements: str
    default: []
  official_databases:
    description:
      - Groups of names; the official databases count as present (C(official)) when every group
        has a name among the entries found and O(extra_databases). Debian's clamav-daemon units
        need C(main.{cvd,cld,inc}) and C(daily.{cvd,cld,inc}).
    type: list
    elements: list
    default: []
  database_max:
    description: At most this many database names are returned (facts stay small); C(database_count) has them all.
    type: int
    default: 50
  clamdscan:
    description: How clamdscan is called (argv, no shell), for example with its C(--config-file).
    type: list
    elements: str
    default: [clamdscan]
  ping_timeout:
    description: Seconds C(clamdscan --ping) waits for clamd to answer (V(health)).
    type: int
    default: 300
  eicar:
    description:
      - The EICAR test string streamed to clamd (V(health)), as is (no newline is added). It is
        C(no_log) - it never appears in the result, the job log or the module's invocation.
      - Not given - the module's own copy of the standard EICAR string, kept in pieces in its
        source (no file of the collection holds it whole) and joined in memory only.
    type: str
  version_query:
    description:
      - The command (argv) that prints the installed ClamAV version (V(health)); nothing printed -
        C(version) is null.
    type: list
    elements: str
    default: []
  pending:
    description:
      - Changes the caller's check mode still reports as pending (words); an unhealthy reason
        then says that it describes the host before them.
    type: list
    elements: str
    default: []
attributes:
  check_mode:
    support: full
    details: It only reads, in check mode exactly as otherwise.
  diff_mode:
    support: none
  platform:
    support: full
    platforms: posix
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
notes:
  - Commands run without a shell, in the C locale. A command that cannot be run counts as one
    that failed (exit code 127) - clamd then does not answer, and the version is unknown.
seealso:
  - module: fleetsec.divest.linux_inventory_info
"""

EXAMPLES = r"""
- name: Check that clamd protects the host (read only)
  fleetsec.divest.linux_clamav_health:
    probes: [database, health]
    service: clamav-daemon
    database_patterns: ["*.cvd", "*.cld", "*.hdb", "*.ndb"]
    clamdscan: [clamdscan, --config-file=/etc/clamav/clamd.conf]
    ping_timeout: 60
    version_query: [dpkg-query, --show, '--showformat=${Version}', clamav-daemon]
  check_mode: false
  register: clamav

- name: Which ClamAV packages are missing
  fleetsec.divest.linux_clamav_health:
    probes: [packages]
    packages: [clamav, clamav-daemon, clamav-freshclam, clamdscan]
    package_query: [dpkg-query, --show, '--showformat=${db:Status-Abbrev}|${Package}\n']
    installed_pattern: '^ii'
    package_query_rc: [0, 1]
  check_mode: false
  register: clamav_packages
"""

RETURN = r"""
missing:
  description: The packages of O(packages) that are not installed (V(packages)); null when not probed.
  returned: always
  type: list
  elements: str
  sample: [clamav-daemon, clamdscan]
masked:
  description: Whether O(service) is masked (its C(LoadState) or C(UnitFileState)); null when not probed.
  returned: always
  type: bool
unit:
  description: C(systemctl show) of O(service) - C(LoadState), C(UnitFileState), C(ActiveState), C(SubState), C(Result).
  returned: always
  type: dict
  sample: {LoadState: loaded, UnitFileState: enabled, ActiveState: active, SubState: running, Result: success}
database:
  description: Names of the signature files clamd loads, sorted, at most O(database_max) (V(database)).
  returned: always
  type: list
  elements: str
  sample: [daily.cvd, main.cvd]
database_count:
  description: How many signature files there are in all; null when not probed.
  returned: always
  type: int
official:
  description: Whether every group of O(official_databases) is present; null when not probed.
  returned: always
  type: bool
version:
  description: The installed ClamAV version (V(health)); null when unknown or not probed.
  returned: always
  type: str
  sample: 1.4.3+dfsg-1~deb12u1
ping:
  description: C(clamdscan --ping) - C(rc) (0 - clamd answered) and C(timeout); null when not probed.
  returned: always
  type: dict
scan:
  description:
    - The EICAR scan - C(rc), C(detected), C(signature) (the detection's name) and C(output)
      (clamdscan's words); null when clamd did not answer or it was not probed.
  returned: always
  type: dict
  sample: {rc: 1, detected: true, signature: Eicar-Test-Signature, output: "stream: Eicar-Test-Signature FOUND"}
msg:
  description: The reason of C(health), when something was judged.
  returned: when health is not null
  type: str
  sample: clamd answers and detects the EICAR test string (Eicar-Test-Signature)
health:
  description:
    - The judgement, null when nothing was judged - C(healthy), C(checked), C(reason) and, after
      V(health), C(version) and C(database). C(reason) starts with C(ClamAV is not installed),
      C(clamd is masked:), C(clamd not answering:), C(clamd answers and detects the EICAR test
      string) or C(EICAR not detected:).
  returned: always
  type: dict
  sample:
    healthy: true
    checked: true
    reason: clamd answers and detects the EICAR test string (Eicar-Test-Signature)
    version: 1.4.3+dfsg-1~deb12u1
    database: [daily.cvd, main.cvd]
"""

import fnmatch
import os
import re
import stat

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.fleetsec.divest.plugins.module_utils._linux.host import C_ENV

# The EICAR anti-malware test string, kept in pieces so that no file of this collection holds it
# whole (scanners on developer machines and mirrors would flag the file). Joined only at run
# time, in memory, and streamed to clamd: nothing is written to disk.
EICAR_PIECES = ("X5O!P%@AP[4\\PZX54(P^)7CC)7}$", "EICAR-STANDARD-", "ANTIVIRUS-TEST-", "FILE!$H+H*")

PROBES = ("packages", "unit", "database", "health")
UNIT_PROPERTIES = ("LoadState", "UnitFileState", "ActiveState", "SubState", "Result")
NOT_RUN = 127


class ProbeError(Exception):
    """A probe that could not be made (the package database did not answer)."""


def truncate(text, length, end="...", leeway=5):
    """Jinja's ``truncate`` filter (whole words, default leeway), so reasons read as they did
    when the role built them in Jinja."""
    if len(text) <= length + leeway:
        return text
    return text[:length - len(end)].rsplit(" ", 1)[0] + end


def missing_packages(packages, out, pattern):
    """The packages not named by a line of ``out`` that matches ``pattern`` (the name being the
    line without the text up to its first ``|``)."""
    matcher = re.compile(pattern)
    installed = set(re.sub(r"^[^|]*[|]", "", line) for line in out.splitlines() if matcher.match(line))
    return [name for name in packages if name not in installed]


def parse_unit(out):
    """``systemctl show`` output of one unit as a dict."""
    props = {}
    for line in out.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            props[key.strip()] = value.strip()
    return props


def is_masked(unit):
    return any(unit.get(key, "").startswith("masked") for key in ("LoadState", "UnitFileState"))


def masked_reason(service):
    return ("clamd is masked: its unit %s was masked on this host (systemctl mask), so it cannot run; "
            "this role does not undo an administrator's mask. Unmask it (systemctl unmask %s) or plan "
            "the host with another replacement" % (service, service))


def unit_state(unit):
    """The unit's state in words: ``[masked, ]active/sub, result r``."""
    return "%s%s/%s, result %s" % ("masked, " if unit.get("LoadState", "").startswith("masked") else "",
                                   unit.get("ActiveState") or "?", unit.get("SubState") or "?",
                                   unit.get("Result") or "?")


def _sort_key(name):
    return (name.lower(), name)


def list_database(directory, patterns, extra=(), official=(), limit=50):
    """``(names, count, official_present)``: the signature files of ``directory`` (entries
    matching ``patterns`` that are not directories, plus ``extra``), sorted, at most ``limit``
    of them; their count; and whether every group of ``official`` has a name among all matching
    entries (directories included) and ``extra``."""
    try:
        entries = os.listdir(directory)
    except OSError:
        entries = []
    seen, files = set(extra), set(extra)
    for name in entries:
        if name.startswith(".") or not any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns):
            continue
        seen.add(name)
        try:
            is_dir = stat.S_ISDIR(os.lstat(os.path.join(directory, name)).st_mode)
        except OSError:
            continue
        if not is_dir:
            files.add(name)
    names = sorted(files, key=_sort_key)
    present = all(any(name in seen for name in group) for group in official)
    return names[:max(limit, 0)], len(names), present


def judge_health(service, timeout, unit, ping_rc, scan, version, database, pending=()):
    """The health judgement of the probes: healthy when clamd answered the ping and the EICAR
    scan exited 1 with a ``FOUND`` line."""
    scan = scan or {}
    healthy = ping_rc == 0 and scan.get("rc") == 1 and bool(scan.get("detected"))
    if ping_rc != 0:
        reason = "clamd not answering: no reply on its socket after %s s (unit %s: %s)" % (timeout, service, unit_state(unit))
    elif healthy:
        reason = "clamd answers and detects the EICAR test string (%s)" % (scan.get("signature") or "?")
    else:
        reason = ("EICAR not detected: clamdscan returned %s (%s); the signatures do not cover it or clamd cannot scan"
                  % (scan.get("rc", "?"), truncate(scan.get("output", ""), 300)))
    if not healthy and pending:
        reason += "; check mode: changes are pending (%s), so this is the state before them" % ", ".join(pending)
    return {"healthy": healthy, "checked": True, "reason": reason, "version": version, "database": database}


def read_scan(rc, out, err):
    """What the EICAR scan said (its input is never part of it)."""
    found = re.findall(r"stream: (.*) FOUND", out)
    return {"rc": rc, "detected": re.search(r"FOUND\s*$", out, re.M) is not None,
            "signature": found[0] if found else None, "output": ("%s %s" % (out, err)).strip()}


def probe(params, run):
    """Everything the probes read and the judgement; ``run(argv, data=None) -> (rc, out, err)``."""
    probes = params["probes"]
    result = {"missing": None, "masked": None, "unit": None, "database": [], "database_count": None,
              "official": None, "version": None, "ping": None, "scan": None, "health": None}
    if "packages" in probes:
        rc, out, err = run(params["package_query"] + params["packages"])
        if params["package_query_rc"] and rc not in params["package_query_rc"]:
            raise ProbeError("%s exited %s: %s" % (params["package_query"][0], rc, (err or out).strip()[:400]))
        result["missing"] = missing_packages(params["packages"], out, params["installed_pattern"])
        if result["missing"]:
            result["health"] = {"healthy": False, "checked": True,
                                "reason": "ClamAV is not installed (missing: %s)" % ", ".join(result["missing"])}
            return result
    service = params["service"]
    if "unit" in probes or "health" in probes:
        out = run(["systemctl", "show", "--property=" + ",".join(UNIT_PROPERTIES), "--", service])[1]
        result["unit"] = parse_unit(out)
    if "unit" in probes:
        result["masked"] = is_masked(result["unit"])
        if result["masked"]:
            result["health"] = {"healthy": False, "checked": True, "reason": masked_reason(service)}
    if "database" in probes:
        result["database"], result["database_count"], result["official"] = list_database(
            params["database_dir"], params["database_patterns"], params["extra_databases"],
            params["official_databases"], params["database_max"])
    if "health" in probes:
        timeout = params["ping_timeout"]
        ping_rc = run(params["clamdscan"] + ["--ping=%d:1" % timeout])[0]
        result["ping"] = {"rc": ping_rc, "timeout": timeout}
        if ping_rc == 0:
            eicar = params["eicar"] or "".join(EICAR_PIECES)
            result["scan"] = read_scan(*run(params["clamdscan"] + ["--no-summary", "-"], data=eicar))
        if params["version_query"]:
            result["version"] = run(params["version_query"])[1].strip() or None
        result["health"] = judge_health(service, timeout, result["unit"], ping_rc, result["scan"], result["version"],
                                        result["database"], params["pending"])
    return result


def argument_spec():
    return dict(
        probes=dict(type="list", elements="str", choices=list(PROBES), default=list(PROBES)),
        packages=dict(type="list", elements="str", default=[]),
        package_query=dict(type="list", elements="str", default=[]),
        installed_pattern=dict(type="str", default="^"),
        package_query_rc=dict(type="list", elements="int", default=[]),
        service=dict(type="str", default="clamav-daemon"),
        database_dir=dict(type="path", default="/var/lib/clamav"),
        database_patterns=dict(type="list", elements="str",
                               default=["*.cvd", "*.cld", "*.cud", "*.hdb", "*.ndb", "*.ldb"]),
        extra_databases=dict(type="list", elements="str", default=[]),
        official_databases=dict(type="list", elements="list", default=[]),
        database_max=dict(type="int", default=50),
        clamdscan=dict(type="list", elements="str", default=["clamdscan"]),
        ping_timeout=dict(type="int", default=300),
        eicar=dict(type="str", no_log=True),
        version_query=dict(type="list", elements="str", default=[]),
        pending=dict(type="list", elements="str", default=[]),
    )


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    if "packages" in module.params["probes"] and not module.params["package_query"]:
        module.fail_json(msg="package_query is required to probe the packages")

    def run(argv, data=None):
        try:
            return module.run_command(argv, environ_update=C_ENV, data=data, binary_data=data is not None,
                                      expand_user_and_vars=False, handle_exceptions=False)
        except (OSError, IOError) as exc:
            return NOT_RUN, "", "cannot run %s: %s" % (argv[0], exc)

    try:
        result = probe(module.params, run)
    except (ProbeError, re.error) as exc:
        module.fail_json(msg=str(exc))
    if result["health"] is not None:
        result["msg"] = result["health"]["reason"]
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
