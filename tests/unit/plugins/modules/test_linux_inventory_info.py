# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""fleetsec.divest.linux_inventory_info end to end, through AnsibleModule (arguments in, JSON out)."""

import json
import os
import pathlib
import sys
import textwrap

import pytest
import yaml


from ansible_collections.fleetsec.divest.plugins.modules import linux_inventory_info as module

from ansible_collections.fleetsec.divest.tests.unit.plugins.modules.module_runner import run_main

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "linux"
sys.path.insert(0, str(FIXTURES))
import linux_root  # noqa: E402  pylint: disable=wrong-import-position

sys.path.remove(str(FIXTURES))

QUERY = {
    "packages": ["kesl", "kesl-gui", "kesl-astra", "klnagent", "klnagent64", "kav4fs"],
    "package_maintainers": ["re:kaspersky"],
    "units": ["kesl", "kesl-supervisor", "klnagent64"],
    "processes": ["kesl", "klnagent"],
    "kernel_modules": ["re:kl.*"],
    "paths": ["/opt/kaspersky", "/opt/kaspersky/kesl", "/opt/kaspersky/kesl/bin/kesl-control",
              "/var/opt/kaspersky/kesl/install_*", "/etc/opt/kaspersky", "/usr/bin/kesl-control"],
    "repos": ["re:kaspersky"],
}


def run_module(capsys, args, check_mode=True):
    """Run main() like Ansible does; return (exit code, the JSON the module printed)."""
    code, result, _out = run_main(capsys, module, args, check_mode=check_mode)
    return code, result


@pytest.fixture
def root(tmp_path):
    return linux_root.build_root(tmp_path / "img")


@pytest.mark.parametrize("check_mode", [True, False])
def test_offline_root_end_to_end(capsys, root, check_mode):
    code, result = run_module(capsys, dict(QUERY, root=str(root)), check_mode=check_mode)
    assert code == 0
    assert result["changed"] is False
    assert "failed" not in result or result["failed"] is False
    inventory = result["inventory"]
    assert inventory["schema"] == 1 and inventory["root"] == str(root) and inventory["live"] is False
    assert inventory["platform"] == {"system": "Linux", "distribution": "debian", "version": "12"}
    assert inventory["errors"] == []
    assert [s["section"] for s in inventory["skipped"]] == ["unit_states", "processes", "kernel_modules"]
    assert sorted((p["name"], p["arch"], p["status"]) for p in inventory["packages"]) == [
        ("kav4fs", "i386", "half-installed"),
        ("kesl", "amd64", "installed"),
        ("kesl-astra", "amd64", "half-configured"),
        ("kesl-gui", "amd64", "config-files"),
        ("klnagent", "amd64", "triggers-awaited"),
        ("klnagent", "i386", "unpacked"),
        ("klnagent64", "amd64", "installed"),
    ]
    assert [(u["name"], u["kind"], u["path"], u["active"], u["enabled"]) for u in inventory["units"]] == [
        ("kesl", "systemd", "/etc/systemd/system/kesl.service", None, None),
        ("kesl-supervisor", "sysv", "/etc/init.d/kesl-supervisor", None, None),
        ("klnagent64", "systemd", "/lib/systemd/system/klnagent64.service", None, None),
    ]
    assert [(p["path"], p["type"]) for p in inventory["paths"]] == [
        ("/opt/kaspersky", "directory"),
        ("/opt/kaspersky/kesl", "link"),
        ("/opt/kaspersky/kesl/bin/kesl-control", "file"),
        ("/var/opt/kaspersky/kesl/install_12.2.0.2412", "directory"),
        ("/etc/opt/kaspersky", "directory"),
    ]
    assert len(inventory["repos"]) == 9
    assert inventory["processes"] == [] and inventory["kernel_modules"] == []
    assert not (root / "EXECUTED").exists()


def test_live_run(capsys, tmp_path):
    probe = tmp_path / "probe"
    probe.write_text("x")
    code, result = run_module(capsys, {"paths": [str(probe)], "processes": ["re:python.*"]})
    assert code == 0
    inventory = result["inventory"]
    assert inventory["live"] is True and inventory["root"] == "/"
    assert inventory["paths"] == [{"path": str(probe), "type": "file", "target": None, "pattern": str(probe)}]
    assert os.getpid() in [p["pid"] for p in inventory["processes"]]


def test_no_query_collects_only_the_platform(capsys, root):
    code, result = run_module(capsys, {"root": str(root)})
    inventory = result["inventory"]
    assert code == 0
    assert all(inventory[name] == [] for name in ("packages", "units", "processes", "kernel_modules",
                                                  "paths", "repos"))
    assert inventory["platform"]["distribution"] == "debian"


@pytest.mark.parametrize("args, option, fragment", [
    pytest.param({"root": "relative/img"}, "root", "is not an absolute path", id="relative-root"),
    pytest.param({"root": "/nonexistent/img/for/sure"}, "root", "does not exist", id="missing-root"),
    pytest.param({"packages": ["re:kesl("]}, "packages", "invalid regular expression", id="bad-regex"),
    pytest.param({"package_maintainers": ["re:(?P<x"]}, "package_maintainers", "invalid regular expression",
                 id="bad-maintainer-regex"),
    pytest.param({"units": [""]}, "units", "non-empty", id="empty-pattern"),
    pytest.param({"paths": ["opt/kaspersky"]}, "paths", "is not an absolute path", id="relative-path"),
    pytest.param({"processes": '["kesl", "klnagent"'}, "processes", "key=value", id="broken-json-list"),
])
def test_invalid_options_fail_naming_the_option(capsys, args, option, fragment):
    code, result = run_module(capsys, args)
    assert code == 1
    assert result["failed"] is True
    assert result["msg"].startswith(option + ": ") and fragment in result["msg"]
    assert result["option"] == option


def test_comma_separated_list_in_key_value_form(capsys, root):
    code, result = run_module(capsys, {"root": str(root), "packages": "kesl,klnagent64"})
    assert code == 0
    assert sorted(p["name"] for p in result["inventory"]["packages"]) == ["kesl", "klnagent64"]


STUB_RPM = textwrap.dedent("""\
    #!{python}
    import json, sys
    with open({log!r}, "a") as log:
        log.write(json.dumps(sys.argv) + "\\n")
    fmt = sys.argv[sys.argv.index("--queryformat") + 1]
    token = fmt.split("@@F", 1)[1].split("@@", 1)[0]
    rows = [
        ["kesl", "(none)", "12.1.0", "1508", "x86_64", "AO Kaspersky Lab"],
        ["klnagent64", "1", "15.1.0", "20748", "x86_64", "AO Kaspersky Lab|x86_64|forged\\nrow"],
        ["bash", "(none)", "5.1.8", "9.el9", "x86_64", "Red Hat, Inc."],
    ]
    for row in rows:
        sys.stdout.write(("@@F%s@@" % token).join(row) + "@@R%s@@\\n" % token)
    sys.stderr.write("warning: rpm stub\\n")
    sys.exit({rc})
""")


@pytest.mark.parametrize("rc, errors", [
    (0, []),
    (1, [{"section": "packages", "message": "rpm exited with 1: warning: rpm stub", "limit": False}]),
])
def test_rpm_through_run_command_with_a_stub_on_path(capsys, monkeypatch, tmp_path, rc, errors):
    root = tmp_path / "el9"
    linux_root.write(root, "/var/lib/rpm/rpmdb.sqlite", b"SQLite format 3\x00")
    linux_root.write(root, "/etc/os-release", b'ID="rhel"\nVERSION_ID="9.4"\n')
    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = tmp_path / "argv.log"
    stub = bindir / "rpm"
    stub.write_text(STUB_RPM.format(python=sys.executable, log=str(log), rc=rc))
    stub.chmod(0o755)
    monkeypatch.setenv("PATH", "%s:%s" % (bindir, os.environ.get("PATH", "")))
    code, result = run_module(capsys, {"root": str(root), "package_maintainers": ["kaspersky"]})
    assert code == 0
    inventory = result["inventory"]
    assert inventory["packages"] == [
        {"name": "kesl", "version": "12.1.0-1508", "arch": "x86_64", "manager": "rpm", "status": "installed",
         "maintainer": "AO Kaspersky Lab"},
        {"name": "klnagent64", "version": "1:15.1.0-20748", "arch": "x86_64", "manager": "rpm",
         "status": "installed", "maintainer": "AO Kaspersky Lab|x86_64|forged\\x0arow"},
    ]
    assert inventory["errors"] == errors
    assert inventory["platform"] == {"system": "Linux", "distribution": "rhel", "version": "9.4"}
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(calls) == 1
    assert calls[0][0] == str(stub) and calls[0][-4:] == ["--root", str(root), "--dbpath", "/var/lib/rpm"]


def test_holds_and_unreadable_directories_come_back_through_the_module(capsys, monkeypatch, tmp_path):
    """A held dpkg package carries `hold`; a vendor directory the scan cannot enter is an error of `paths`."""
    root = linux_root.build_root(tmp_path / "img", status=(FIXTURES / "dpkg-status-holds").read_bytes())
    top = str(root) + "/etc/opt"

    def denying(real, itself):  # mode 000: the directory cannot be read, nothing below it reached
        def call(path, *args, **kwargs):
            if isinstance(path, (str, bytes)):
                text = os.fsdecode(path)
                if text.startswith(top + "/") or (itself and text == top):
                    raise PermissionError(13, "Permission denied", path)
            return real(path, *args, **kwargs)
        return call

    for name in ("lstat", "stat", "listdir", "scandir", "open", "readlink"):
        monkeypatch.setattr(os, name, denying(getattr(os, name), name in ("listdir", "scandir", "open")))
    code, result = run_module(capsys, dict(QUERY, root=str(root)))
    assert code == 0
    inventory = result["inventory"]
    assert {p["name"]: p.get("hold") for p in inventory["packages"]} == {
        "kesl": "apt-mark", "kesl-gui": "apt-mark", "klnagent64": None}
    assert inventory["errors"] == [{"section": "paths", "message": "cannot read /etc/opt/kaspersky: Permission denied",
                                    "limit": False}]


def test_documentation_matches_the_argument_spec():
    doc = yaml.safe_load(module.DOCUMENTATION)
    spec = module.argument_spec()
    assert set(doc["options"]) == set(spec)
    for name, option in doc["options"].items():
        assert option["type"] == spec[name]["type"], name
        assert option.get("default") == spec[name].get("default"), name
        assert option.get("elements") == spec[name].get("elements"), name
    assert doc["attributes"]["check_mode"]["support"] == "full"
    assert doc["attributes"]["diff_mode"]["support"] == "N/A"
    assert doc["attributes"]["platform"]["platforms"] == "posix"
    yaml.safe_load(module.EXAMPLES)
    returned = yaml.safe_load(module.RETURN)["inventory"]["contains"]
    assert set(returned) == {"schema", "platform", "root", "live", "skipped", "errors", "packages", "units",
                             "processes", "kernel_modules", "paths", "repos", "containers"}
