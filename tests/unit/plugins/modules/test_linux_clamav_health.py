# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""fleetsec.divest.linux_clamav_health: the read-only probes of the clamav role in one round trip.

The judgement and its words (they are what the role publishes and the molecule scenarios pin),
then the module end to end through AnsibleModule with fake dpkg-query, systemctl and clamdscan on
PATH: what it reads, that it never writes, that the EICAR string only travels on clamdscan's
stdin and never appears in the result, check mode, failures, documentation.

The EICAR string is kept in pieces (as in molecule/clamav/eicar.py): no file of the repository
holds it whole.
"""

import hashlib
import json
import os
import sys
import textwrap

import jinja2
import pytest
import yaml
from ansible.module_utils.common.parameters import PASS_VARS

from ansible_collections.fleetsec.divest.plugins.modules import linux_clamav_health as module

from ansible_collections.fleetsec.divest.tests.unit.plugins.modules.module_runner import run_main

PIECES = ("X5O!P%@AP[4\\PZX54(P^)7CC)7}$", "EICAR-STANDARD-", "ANTIVIRUS-TEST-", "FILE!$H+H*")
EICAR = "".join(PIECES)
PACKAGES = ["clamav", "clamav-daemon", "clamav-freshclam", "clamdscan"]
DPKG_QUERY = ["dpkg-query", "--show", "--showformat=${db:Status-Abbrev}|${Package}\\n"]
OFFICIAL = [["main.cvd", "main.cld", "main.inc"], ["daily.cvd", "daily.cld", "daily.inc"]]
INVOCATION = {"_ansible_inject_invocation": True} if "inject_invocation" in PASS_VARS else {}
UNIT_OK = {"LoadState": "loaded", "UnitFileState": "enabled", "ActiveState": "active", "SubState": "running",
           "Result": "success"}


# ---- the judgement and its words ------------------------------------------------------------

@pytest.mark.parametrize("text", ["short", "x" * 305, "word " * 80, "a" * 299 + " b", ("stream: OK " * 40).strip()])
def test_truncate_is_jinjas(text):
    assert module.truncate(text, 300) == jinja2.Environment().from_string("{{ t | truncate(300) }}").render(t=text)


def test_missing_packages_dpkg_and_rpm():
    dpkg = "ii |clamav\nii |clamav-daemon\nrc |clamdscan\n"
    assert module.missing_packages(PACKAGES, dpkg, "^ii") == ["clamav-freshclam", "clamdscan"]
    rpm = "clamav\nclamd\npackage clamav-update is not installed\n"
    assert module.missing_packages(["clamav", "clamd", "clamav-update"], rpm, "^[A-Za-z0-9._+-]+$") == ["clamav-update"]


@pytest.mark.parametrize("out, masked", [
    ("LoadState=loaded\nUnitFileState=enabled\n", False),
    ("LoadState=masked\nUnitFileState=masked\n", True),
    ("LoadState=loaded\nUnitFileState=masked-runtime\n", True),
    ("LoadState=not-found\nUnitFileState=\n", False),
    ("", False),
])
def test_masked_unit(out, masked):
    assert module.is_masked(module.parse_unit(out)) is masked


def test_masked_reason_and_unit_state_words():
    assert module.masked_reason("clamav-daemon") == (
        "clamd is masked: its unit clamav-daemon was masked on this host (systemctl mask), so it cannot run; "
        "this role does not undo an administrator's mask. Unmask it (systemctl unmask clamav-daemon) or plan the "
        "host with another replacement")
    unit = module.parse_unit("LoadState=masked\nActiveState=inactive\nSubState=dead\nResult=success\n")
    assert module.unit_state(unit) == "masked, inactive/dead, result success"
    assert module.unit_state({}) == "?/?, result ?"


def test_healthy_when_clamd_answers_and_detects_eicar():
    scan = module.read_scan(1, "stream: Divest.Test.EICAR-HDB.UNOFFICIAL FOUND\n", "")
    health = module.judge_health("clamav-daemon", 60, UNIT_OK, 0, scan, "1.4.3+dfsg-1", ["divest-test.hdb"])
    assert health == {"healthy": True, "checked": True, "version": "1.4.3+dfsg-1", "database": ["divest-test.hdb"],
                      "reason": "clamd answers and detects the EICAR test string (Divest.Test.EICAR-HDB.UNOFFICIAL)"}


def test_blind_signatures_are_not_healthy():
    # the molecule clamav scenario pins this reason (host blind)
    health = module.judge_health("clamav-daemon", 60, UNIT_OK, 0, module.read_scan(0, "stream: OK\n", ""), None, [])
    assert health["healthy"] is False and health["checked"] is True
    assert health["reason"] == ("EICAR not detected: clamdscan returned 0 (stream: OK); the signatures do not "
                                "cover it or clamd cannot scan")


def test_found_without_exit_status_1_is_not_healthy():
    health = module.judge_health("clamav-daemon", 60, UNIT_OK, 0, module.read_scan(2, "stream: X FOUND\n", "ERROR"), None, [])
    assert health["healthy"] is False
    assert health["reason"].startswith("EICAR not detected: clamdscan returned 2 (stream: X FOUND\n ERROR)")


def test_clamd_not_answering_names_the_wait_and_the_unit_state():
    unit = {"LoadState": "loaded", "ActiveState": "failed", "SubState": "failed", "Result": "exit-code"}
    health = module.judge_health("clamav-daemon", 300, unit, 2, None, "1.4.3", [], pending=["clamd service"])
    assert health["healthy"] is False
    assert health["reason"] == (
        "clamd not answering: no reply on its socket after 300 s (unit clamav-daemon: failed/failed, result exit-code)"
        "; check mode: changes are pending (clamd service), so this is the state before them")


def test_list_database(tmp_path):
    for name in ("divest-test.hdb", "divest-test.ndb", "daily.cld", "notes.txt", ".hidden.hdb", "Z.cvd"):
        (tmp_path / name).write_text("x")
    (tmp_path / "main.inc").mkdir()
    patterns = ["*.cvd", "*.cld", "*.hdb", "*.ndb", "main.inc", "daily.inc"]
    names, count, official = module.list_database(str(tmp_path), patterns, official=OFFICIAL)
    assert names == ["daily.cld", "divest-test.hdb", "divest-test.ndb", "Z.cvd"]
    assert (count, official) == (4, True)                   # main.inc/ (a directory) counts for the units only
    names, count, official = module.list_database(str(tmp_path), ["*.hdb"], extra=["bundle.ndb"], official=OFFICIAL,
                                                  limit=1)
    assert (names, count, official) == (["bundle.ndb"], 2, False)
    assert module.list_database(str(tmp_path / "absent"), patterns, official=OFFICIAL) == ([], 0, False)
    assert module.list_database(str(tmp_path / "absent"), patterns, extra=["main.cvd", "daily.cvd"],
                                official=OFFICIAL) == (["daily.cvd", "main.cvd"], 2, True)


# ---- the module end to end -------------------------------------------------------------------

FAKE = textwrap.dedent('''\
    #!{python}
    # fake dpkg-query, systemctl, clamdscan, driven by $FAKE_STATE (JSON); every call logged
    import hashlib, json, os, sys
    state = json.load(open(os.environ["FAKE_STATE"]))
    name = os.path.basename(sys.argv[0])
    args = sys.argv[1:]
    data = sys.stdin.read() if name == "clamdscan" and args[-1:] == ["-"] else None
    with open(os.environ["FAKE_LOG"], "a") as log:
        log.write(json.dumps([name] + args + ([{{"stdin_sha256": hashlib.sha256(data.encode()).hexdigest()}}]
                                              if data is not None else [])) + "\\n")
    if name == "dpkg-query":
        if "--showformat=${{Version}}" in args:
            sys.stdout.write(state.get("version", ""))
            sys.exit(0 if state.get("version") else 1)
        if state.get("dpkg_rc"):
            sys.stderr.write("dpkg-query: error: database is broken\\n")
            sys.exit(state["dpkg_rc"])
        asked = args[args.index("--showformat=${{db:Status-Abbrev}}|${{Package}}\\\\n") + 1:]
        for pkg in asked:
            if pkg in state["installed"]:
                print("ii |" + pkg)
        sys.exit(0 if set(asked) <= set(state["installed"]) else 1)
    if name == "systemctl":
        for key, value in state["unit"].items():
            print("%s=%s" % (key, value))
        sys.exit(0)
    if name == "clamdscan":
        if any(a.startswith("--ping=") for a in args):
            sys.exit(state["ping_rc"])
        if hashlib.sha256(data.encode()).hexdigest() == state["eicar_sha256"] and state.get("detects", True):
            print("stream: Eicar-Test-Signature FOUND")
            sys.exit(1)
        print("stream: OK")
        sys.exit(0)
    sys.exit(99)
    ''')


@pytest.fixture
def host(tmp_path, monkeypatch):
    """Fake tools on PATH and a database directory; returns a function that sets the host's state
    and gives (args, log reader)."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for name in ("dpkg-query", "systemctl", "clamdscan"):
        path = bindir / name
        path.write_text(FAKE.format(python=sys.executable))
        path.chmod(0o755)
    dbdir = tmp_path / "clamav"
    dbdir.mkdir()
    state_path, log_path = tmp_path / "state.json", tmp_path / "log.jsonl"
    monkeypatch.setenv("PATH", "%s:%s" % (bindir, os.environ.get("PATH", "")))
    monkeypatch.setenv("FAKE_STATE", str(state_path))
    monkeypatch.setenv("FAKE_LOG", str(log_path))

    def setup(installed=tuple(PACKAGES), unit=None, ping_rc=0, detects=True, version="1.4.3+dfsg-1~deb12u1", files=(),
              dpkg_rc=0):
        for name in files:
            (dbdir / name).write_text("signatures")
        state_path.write_text(json.dumps({
            "installed": list(installed), "unit": unit or UNIT_OK, "ping_rc": ping_rc, "detects": detects,
            "version": version, "dpkg_rc": dpkg_rc, "eicar_sha256": hashlib.sha256(EICAR.encode()).hexdigest()}))
        args = {"packages": PACKAGES, "package_query": DPKG_QUERY, "installed_pattern": "^ii",
                "package_query_rc": [0, 1], "service": "clamav-daemon", "database_dir": str(dbdir),
                "database_patterns": ["*.cvd", "*.cld", "*.hdb", "*.ndb", "main.inc", "daily.inc"],
                "official_databases": OFFICIAL, "clamdscan": ["clamdscan", "--config-file=/etc/clamav/clamd.conf"],
                "ping_timeout": 60, "eicar": EICAR,
                "version_query": ["dpkg-query", "--show", "--showformat=${Version}", "clamav-daemon"]}

        def calls():
            if not log_path.exists():
                return []
            return [json.loads(line) for line in log_path.read_text().splitlines()]
        return args, calls

    setup.dbdir = dbdir
    return setup


@pytest.mark.parametrize("check_mode", [False, True])
def test_a_protected_host_in_one_round_trip(capsys, host, check_mode):
    args, calls = host(files=["divest-test.hdb", "divest-test.ndb"])
    before = sorted(os.listdir(str(host.dbdir)))
    # the module returns its invocation (the arguments it was given): always before ansible-core
    # 2.19, when the controller asks for it since
    code, result, out = run_main(capsys, module, dict(args, **INVOCATION), check_mode=check_mode)
    assert code == 0 and result["changed"] is False
    assert result["missing"] == [] and result["masked"] is False
    assert (result["database"], result["database_count"], result["official"]) == (
        ["divest-test.hdb", "divest-test.ndb"], 2, False)
    assert result["health"] == {
        "healthy": True, "checked": True, "version": "1.4.3+dfsg-1~deb12u1",
        "database": ["divest-test.hdb", "divest-test.ndb"],
        "reason": "clamd answers and detects the EICAR test string (Eicar-Test-Signature)"}
    assert result["scan"] == {"rc": 1, "detected": True, "signature": "Eicar-Test-Signature",
                              "output": "stream: Eicar-Test-Signature FOUND"}
    # the EICAR string travelled on clamdscan's stdin only, and appears nowhere in the result
    scans = [c for c in calls() if c[0] == "clamdscan" and "-" in c]
    assert len(scans) == 1 and scans[0][1:4] == ["--config-file=/etc/clamav/clamd.conf", "--no-summary", "-"]
    assert not any(EICAR in json.dumps(c) for c in calls())
    assert EICAR not in out and "EICAR-STANDARD-ANTIVIRUS" not in out
    assert result["invocation"]["module_args"]["eicar"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
    # it only reads
    assert sorted(os.listdir(str(host.dbdir))) == before
    assert [c[0] for c in calls()] == ["dpkg-query", "systemctl", "clamdscan", "clamdscan", "dpkg-query"]
    assert ["clamdscan", "--config-file=/etc/clamav/clamd.conf", "--ping=60:1"] in calls()


def test_missing_packages_stop_the_probes(capsys, host):
    args, calls = host(installed=["clamav"])
    code, result, _out = run_main(capsys, module, args)
    assert code == 0
    assert result["missing"] == ["clamav-daemon", "clamav-freshclam", "clamdscan"]
    assert result["health"] == {"healthy": False, "checked": True,
                                "reason": "ClamAV is not installed (missing: clamav-daemon, clamav-freshclam, clamdscan)"}
    assert (result["database"], result["scan"], result["ping"]) == ([], None, None)
    assert [c[0] for c in calls()] == ["dpkg-query"]


def test_a_masked_clamd_is_judged(capsys, host):
    args, calls = host(unit={"LoadState": "masked", "UnitFileState": "masked", "ActiveState": "inactive",
                             "SubState": "dead", "Result": "success"})
    code, result, _out = run_main(capsys, module, dict(args, probes=["packages", "unit", "database"]))
    assert code == 0 and result["masked"] is True
    assert result["health"]["reason"].startswith("clamd is masked: its unit clamav-daemon was masked")
    assert result["msg"] == result["health"]["reason"]       # what the job output shows when the role stops
    assert "clamdscan" not in [c[0] for c in calls()]


def test_clamd_not_answering_is_not_scanned(capsys, host):
    args, calls = host(ping_rc=2, unit={"LoadState": "loaded", "ActiveState": "activating", "SubState": "start",
                                        "Result": "success"})
    code, result, _out = run_main(capsys, module, dict(args, probes=["database", "health"], ping_timeout=5,
                                                       pending=["clamd service", "unit drop-in"]))
    assert code == 0 and result["scan"] is None and result["ping"] == {"rc": 2, "timeout": 5}
    assert result["health"]["healthy"] is False
    assert result["health"]["reason"] == (
        "clamd not answering: no reply on its socket after 5 s (unit clamav-daemon: activating/start, result success)"
        "; check mode: changes are pending (clamd service, unit drop-in), so this is the state before them")
    assert len([c for c in calls() if c[0] == "clamdscan"]) == 1


def test_signatures_that_miss_eicar(capsys, host):
    args, _calls = host(detects=False, files=["divest-blind.ndb"])
    code, result, _out = run_main(capsys, module, dict(args, probes=["database", "health"]))
    assert code == 0 and result["health"]["healthy"] is False
    assert result["health"]["reason"].startswith("EICAR not detected: clamdscan returned 0 (stream: OK)")
    assert result["health"]["database"] == ["divest-blind.ndb"]


def test_database_only_and_the_bundle_counted_before_it_is_copied(capsys, host):
    args, calls = host(files=["daily.cvd"])
    code, result, _out = run_main(capsys, module, dict(args, probes=["database"], extra_databases=["main.cvd"]),
                                  check_mode=True)
    assert code == 0
    assert (result["database"], result["official"], result["health"]) == (["daily.cvd", "main.cvd"], True, None)
    assert calls() == []


def test_a_broken_package_database_fails(capsys, host):
    args, _calls = host(dpkg_rc=2)
    code, result, _out = run_main(capsys, module, args)
    assert code == 1 and result["failed"] is True
    assert result["msg"].startswith("dpkg-query exited 2: dpkg-query: error: database is broken")


def test_a_command_that_cannot_run_counts_as_failed(capsys, host):
    args, _calls = host()
    code, result, _out = run_main(capsys, module, dict(args, probes=["health"], clamdscan=["/nonexistent/clamdscan"]))
    assert code == 0 and result["ping"]["rc"] == module.NOT_RUN
    assert result["health"]["reason"].startswith("clamd not answering")


@pytest.mark.parametrize("args, message", [
    ({"probes": ["packages"]}, "package_query is required"),
])
def test_required_options(capsys, args, message):
    code, result, _out = run_main(capsys, module, args)
    assert code == 1 and message in result["msg"]


def test_without_eicar_the_module_streams_its_own_copy(capsys, host):
    """A caller without the string (execute's verify step) gets the standard one, and it still
    travels on clamdscan's stdin only and appears nowhere in the result."""
    args, calls = host()
    del args["eicar"]
    assert "".join(module.EICAR_PIECES) == EICAR
    code, result, out = run_main(capsys, module, dict(args, probes=["health"]))
    assert code == 0 and result["health"]["healthy"] is True, result
    assert not any(EICAR in json.dumps(c) for c in calls()) and EICAR not in out


def test_documentation_matches_the_argument_spec():
    doc = yaml.safe_load(module.DOCUMENTATION)
    spec = module.argument_spec()
    assert set(doc["options"]) == set(spec)
    for name, option in doc["options"].items():
        assert option["type"] == spec[name]["type"], name
        assert option.get("default") == spec[name].get("default"), name
        assert option.get("elements") == spec[name].get("elements"), name
        assert option.get("choices") == spec[name].get("choices"), name
    assert spec["eicar"]["no_log"] is True
    assert doc["attributes"]["check_mode"]["support"] == "full"
    yaml.safe_load(module.EXAMPLES)
    returned = yaml.safe_load(module.RETURN)
    assert set(returned) == {"msg", "missing", "masked", "unit", "database", "database_count", "official", "version",
                             "ping", "scan", "health"}
