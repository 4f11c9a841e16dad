# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""linux_remove, linux_cleanup and linux_reinstall_block end to end through AnsibleModule: a temporary
root, fake dpkg / dpkg-query / userdel on PATH (they keep the package states in a JSON file),
check mode, a real run, a second run that changes nothing, failures, documentation."""

import json
import os
import pathlib
import sys
import textwrap

import pytest
import yaml


from ansible_collections.fleetsec.divest.plugins.modules import linux_cleanup, linux_remove, linux_reinstall_block

from ansible_collections.fleetsec.divest.tests.unit.plugins.modules.module_runner import run_main

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "module_utils"))
from removal_fakes import exists, write  # noqa: E402

FAKE_DPKG = textwrap.dedent('''\
    #!{python}
    # fake dpkg / dpkg-query: package states in $FAKE_DPKG_DB (JSON {{name: [version, arch, status(, want)]}})
    import json, os, sys
    db_path = os.environ["FAKE_DPKG_DB"]
    db = json.load(open(db_path))
    name = os.path.basename(sys.argv[0])
    with open(os.environ["FAKE_DPKG_LOG"], "a") as log:
        log.write(json.dumps([name] + sys.argv[1:]) + "\\n")
    args = [a for a in sys.argv[1:] if not a.startswith(("--root=", "--admindir="))]
    if "--set-selections" in args:
        for line in sys.stdin.read().splitlines():
            pkg, want = line.split()
            db[pkg][3:] = [want]
        json.dump(db, open(db_path, "w"))
        sys.exit(0)
    if name == "dpkg-query":
        rc = 0
        for pkg in args[args.index("--") + 1:]:
            if pkg in db and db[pkg][2] != "not-installed":
                v, arch, st = db[pkg][:3]
                want = db[pkg][3] if len(db[pkg]) > 3 else "deinstall" if st == "config-files" else "install"
                print("%s\\t%s\\t%s\\t%s\\t%s ok %s" % (pkg, pkg, v, arch, want, st))
            else:
                sys.stderr.write("dpkg-query: no packages found matching %s\\n" % pkg)
                rc = 1
        sys.exit(rc)
    fail = os.environ.get("FAKE_DPKG_FAIL", "")
    noact = "--no-act" in args
    op = [a for a in args if a in ("--purge", "--remove")][0]
    for pkg in args[args.index("--") + 1:]:
        if pkg == fail:
            print("Removing %s ..." % pkg)
            sys.stderr.write("%s: could not stop tasks, removal aborted\\n"
                             "dpkg: error processing package %s (%s):\\n"
                             " installed %s package pre-removal script subprocess returned error exit status 1\\n"
                             % (pkg, pkg, op, pkg))
            sys.exit(1)
        if not noact:
            db[pkg][2:] = ["not-installed" if op == "--purge" else "config-files"]
    json.dump(db, open(db_path, "w"))
    ''')
FAKE_LOG = textwrap.dedent('''\
    #!{python}
    import json, os, sys
    with open(os.environ["FAKE_DPKG_LOG"], "a") as log:
        log.write(json.dumps([os.path.basename(sys.argv[0])] + sys.argv[1:]) + "\\n")
    ''')

SMB = "[global]\n# ADDED BY KASPERSKY ENDPOINT SECURITY 8 FOR LINUX VERSION 8.0.1.50/RELEASE\n" \
      "vfs object = kes4lwks-smb-vfs28\n   workgroup = WORKGROUP\n"
VENDOR_DIRS = ["/opt/kaspersky", "/var/opt/kaspersky", "/etc/opt/kaspersky", "/var/log/kaspersky"]
RECIPE = {
    "method": "package", "order": 10, "packages": ["kesl-gui", "kesl"], "services": ["kesl"],
    "processes": ["kesl"], "purge": True,
    "residue": ["/opt/kaspersky/kesl", "/var/opt/kaspersky/kesl", "/etc/opt/kaspersky/kesl*"],
    "residue_files": ["/usr/bin/kesl-control"],
    "config_edits": [{"path": "/etc/samba/smb.conf", "regexp": r"^\s*vfs objects?\s*=\s*kes4lwks-smb-vfs\S*\s*$"}],
    "accounts": {"users": ["kluser"], "groups": ["klusers"]}, "reboot": False, "password": "none",
}


def run(capsys, module, args, check_mode=False, diff=False):
    return run_main(capsys, module, args, check_mode=check_mode, diff=diff)


@pytest.fixture
def fake(tmp_path, monkeypatch):
    """A root with KESL on it and fake tools on PATH; returns (root, db path, log path)."""
    root = tmp_path / "root"
    write(root, "/var/lib/dpkg/status", "")
    for path in ("/opt/kaspersky/kesl/bin/kesl-control", "/var/opt/kaspersky/kesl/common/kesl.ini",
                 "/etc/opt/kaspersky/kesl.conf", "/usr/bin/kesl-control"):
        write(root, path, "x")
    write(root, "/etc/opt/kaspersky/klnagent.conf", "other product")
    write(root, "/etc/samba/smb.conf", SMB)
    write(root, "/etc/passwd", "root:x:0:0::/root:/bin/sh\nkluser:x:998:998::/:/bin/false\n")
    write(root, "/etc/group", "root:x:0:\nklusers:x:998:\n")
    db = tmp_path / "dpkg.json"
    db.write_text(json.dumps({"kesl": ["12.1.0-1508", "amd64", "installed"],
                              "kesl-gui": ["12.1.0-1508", "amd64", "installed"]}))
    log = tmp_path / "calls.log"
    log.write_text("")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for name, body in (("dpkg", FAKE_DPKG), ("dpkg-query", FAKE_DPKG), ("userdel", FAKE_LOG), ("groupdel", FAKE_LOG)):
        (bindir / name).write_text(body.format(python=sys.executable))
        (bindir / name).chmod(0o755)
    monkeypatch.setenv("PATH", "%s:%s" % (bindir, os.environ.get("PATH", "")))
    monkeypatch.setenv("FAKE_DPKG_DB", str(db))
    monkeypatch.setenv("FAKE_DPKG_LOG", str(log))
    return root, db, log


def calls(log):
    return [json.loads(line) for line in log.read_text().splitlines()]


def documented_count_steps(module):
    """The step names the RV(counts) sample of ``module`` documents."""
    return set(yaml.safe_load(module.RETURN)["counts"]["sample"])


def test_linux_remove_check_then_run_then_nothing(capsys, fake):
    root, db, log = fake
    args = {"product": "kesl", "vendor": "kaspersky", "removal": RECIPE, "root": str(root), "backup": True,
            "vendor_dirs": VENDOR_DIRS}
    code, check, dummy = run(capsys, linux_remove, args, check_mode=True, diff=True)
    assert code == 0 and check["changed"] is True and check["check_mode"] is True
    assert check["removed_packages"] == ["kesl-gui", "kesl"]
    assert [c[:2] for c in calls(log) if c[0] == "dpkg"] == [["dpkg", "--root=%s" % root]]
    assert "--no-act" in calls(log)[-1]
    assert json.loads(db.read_text())["kesl"][2] == "installed" and exists(root, "/opt/kaspersky/kesl")
    # residue: 4 paths, and /opt/kaspersky, /var/opt/kaspersky left empty (/etc/opt/kaspersky is not)
    assert check["counts"] == {"packages": 2, "residue": 6, "config_edits": 1, "accounts": 2}
    assert any(d["before_header"] == "/etc/samba/smb.conf" for d in check["diff"])

    code, done, dummy = run(capsys, linux_remove, args)
    assert code == 0 and done["changed"] is True
    assert [s["target"] for s in done["steps"] if s["step"] == "packages"] == ["kesl-gui", "kesl"]
    assert json.loads(db.read_text()) == {"kesl": ["12.1.0-1508", "amd64", "not-installed"],
                                          "kesl-gui": ["12.1.0-1508", "amd64", "not-installed"]}
    for gone in ("/opt/kaspersky", "/var/opt/kaspersky", "/etc/opt/kaspersky/kesl.conf", "/usr/bin/kesl-control"):
        assert not exists(root, gone), gone
    assert exists(root, "/etc/opt/kaspersky/klnagent.conf") and exists(root, "/usr/bin")
    assert (root / "etc/samba/smb.conf").read_text() == SMB.replace("vfs object = kes4lwks-smb-vfs28\n", "")
    assert [b for b in os.listdir(root / "etc/samba") if b.startswith("smb.conf.")]   # the backup
    assert [c for c in calls(log) if c[0] in ("userdel", "groupdel")] == [
        ["userdel", "--root", str(root), "--", "kluser"], ["groupdel", "--root", str(root), "--", "klusers"]]
    assert done["remaining"] == {"packages": [], "paths": []} and check["counts"] == done["counts"]

    # the accounts are gone for real only in /etc/passwd of a real host; drop them here too
    write(root, "/etc/passwd", "root:x:0:0::/root:/bin/sh\n")
    write(root, "/etc/group", "root:x:0:\n")
    code, again, dummy = run(capsys, linux_remove, args)
    assert code == 0 and again["changed"] is False and again["steps"] == []


def test_linux_remove_failure_names_the_package_and_stops(capsys, fake, monkeypatch):
    root, db, log = fake
    monkeypatch.setenv("FAKE_DPKG_FAIL", "kesl")
    code, result, dummy = run(capsys, linux_remove, {"product": "kesl", "removal": RECIPE, "root": str(root)})
    assert code == 1 and result["failed"] is True
    assert result["msg"].startswith("kesl: dpkg --purge kesl failed (exit 1): kesl: could not stop tasks")
    assert "pre-removal script subprocess returned error exit status 1" in result["msg"]
    assert result["failed_step"] == "packages" and result["changed"] is True
    assert result["removed_packages"] == [] or result["steps"][-1]["target"] == "kesl-gui"
    # nothing after the failed package: residue, config and accounts untouched
    assert exists(root, "/opt/kaspersky/kesl") and "kes4lwks" in (root / "etc/samba/smb.conf").read_text()
    assert not [c for c in calls(log) if c[0] == "userdel"]


def test_linux_remove_password_is_never_returned(capsys, fake):
    root, db, log = fake
    secret = "Kl-Uninstall-S3cret!"
    code, result, raw = run(capsys, linux_remove, {"product": "kesl", "removal": dict(RECIPE, password="optional"),
                                                   "root": str(root), "password": secret}, check_mode=True)
    assert code == 0 and secret not in raw and result["removed_packages"] == ["kesl-gui", "kesl"]


@pytest.mark.parametrize("removal, fragment", [
    ({"method": "msi", "product_codes": ["{X}"]}, "not a Linux package removal"),
    ({"packages": ["kesl; rm -rf /"]}, "invalid package name"),
    ({"packages": "kesl"}, "must be a list"),
    ({"config_edits": [{"path": "etc/x", "regexp": "y"}]}, "not an absolute path"),
])
def test_linux_remove_refuses_bad_recipes(capsys, fake, removal, fragment):
    root, db, log = fake
    code, result, dummy = run(capsys, linux_remove, {"product": "p", "removal": removal, "root": str(root)})
    assert code == 1 and fragment in result["msg"]


REPO_LIST = "deb http://deb.debian.org/debian bookworm main\ndeb https://repo.kaspersky.com/deb stable main\n"


def test_linux_cleanup_check_then_run_then_nothing(capsys, tmp_path):
    root = tmp_path / "root"
    write(root, "/etc/apt/sources.list", REPO_LIST)
    write(root, "/etc/apt/sources.list.d/kaspersky.list", "deb [trusted=yes] file:/srv/divest-repos/kaspersky ./\n")
    write(root, "/etc/apt/sources.list.d/site.list", "deb [trusted=yes] file:/srv/divest-repos/debian ./\n")
    write(root, "/opt/kaspersky/leftover", "x")
    args = {"vendor": "kaspersky", "root": str(root), "repo_patterns": ["re:kaspersky"],
            "residue": ["/opt/kaspersky", "/var/opt/kaspersky", "/"], "vendor_dirs": VENDOR_DIRS}
    code, check, dummy = run(capsys, linux_cleanup, args, check_mode=True, diff=True)
    assert code == 0 and check["changed"] and exists(root, "/opt/kaspersky")
    assert {(r["path"], r["deleted"]) for r in check["repos"]} == {
        ("/etc/apt/sources.list", False), ("/etc/apt/sources.list.d/kaspersky.list", True)}
    assert check["refused_paths"][0]["pattern"] == "/"
    code, done, dummy = run(capsys, linux_cleanup, args)
    assert code == 0 and done["changed"]
    assert set(done["counts"]) <= documented_count_steps(linux_cleanup)
    assert (root / "etc/apt/sources.list").read_text() == "deb http://deb.debian.org/debian bookworm main\n"
    assert not exists(root, "/etc/apt/sources.list.d/kaspersky.list") and exists(root, "/etc/apt/sources.list.d/site.list")
    assert not exists(root, "/opt/kaspersky") and exists(root, "/opt")
    code, again, dummy = run(capsys, linux_cleanup, args)
    assert code == 0 and again["changed"] is False


def test_linux_cleanup_never_edits_files_outside_the_repository_locations(capsys, tmp_path):
    root = tmp_path / "root"
    write(root, "/etc/passwd", "kaspersky:x:1:1::/:/bin/false\n")
    code, result, dummy = run(capsys, linux_cleanup, {"root": str(root), "repo_patterns": ["kaspersky"],
                                                      "repo_files": ["/etc/passwd"]})
    assert code == 0 and result["changed"] is False and result["repos"] == []
    assert (root / "etc/passwd").read_text().startswith("kaspersky")
    from ansible_collections.fleetsec.divest.plugins.module_utils._linux.host import Host
    from ansible_collections.fleetsec.divest.plugins.module_utils._linux.removal.product import cleanup
    direct = cleanup(Host(root=str(root)), repo_patterns=["kaspersky"], repo_files_list=["/etc/passwd"])
    assert "outside" in direct["warnings_list"][0]


@pytest.mark.parametrize("files, manager, path, expect", [
    ({"/var/lib/dpkg/status": ""}, "apt", "/etc/apt/preferences.d/divest-kaspersky.pref", "Pin-Priority: -1"),
    ({"/etc/dnf/dnf.conf": "[main]\ngpgcheck=1\nexcludepkgs=kernel*\n"}, "dnf", "/etc/dnf/dnf.conf",
     "excludepkgs=kernel* kesl klnagent64"),
    ({"/etc/yum.conf": "[main]\ncachedir=/var/cache/yum\n"}, "yum", "/etc/yum.conf", "exclude=kesl klnagent64"),
    ({"/etc/zypp/zypp.conf": ""}, "zypper", "/etc/zypp/locks", "solvable_name: klnagent64"),
])
def test_reinstall_block_present_absent_and_idempotent(capsys, tmp_path, files, manager, path, expect):
    root = tmp_path / "root"
    for inner, content in files.items():
        write(root, inner, content)
    before = {inner: (root / inner.lstrip("/")).read_text() for inner in files}
    args = {"vendor": "kaspersky", "packages": ["klnagent64", "kesl"], "root": str(root)}
    code, check, dummy = run(capsys, linux_reinstall_block, args, check_mode=True, diff=True)
    assert code == 0 and check["changed"] and check["manager"] == manager and check["path"] == path
    assert not exists(root, path) or path in files
    code, done, dummy = run(capsys, linux_reinstall_block, args)
    assert code == 0 and done["changed"] and expect in (root / path.lstrip("/")).read_text()
    assert set(done["counts"]) == documented_count_steps(linux_reinstall_block)
    code, again, dummy = run(capsys, linux_reinstall_block, args)
    assert code == 0 and again["changed"] is False
    code, lifted, dummy = run(capsys, linux_reinstall_block, dict(args, state="absent"))
    assert code == 0 and lifted["changed"]
    for inner, content in before.items():
        if inner == path:
            assert (root / inner.lstrip("/")).read_text() == content
    if manager == "apt":
        assert not exists(root, path)


@pytest.mark.parametrize("module, diff", [(linux_remove, "full"), (linux_cleanup, "full"), (linux_reinstall_block, "full")])
def test_documentation_matches_the_argument_spec(module, diff):
    doc = yaml.safe_load(module.DOCUMENTATION)
    spec = module.argument_spec()
    assert set(doc["options"]) == set(spec)
    assert "fleetsec.divest.linux_root" in doc["extends_documentation_fragment"]  # O(root), added by run_module
    for name, option in doc["options"].items():
        assert option["type"] == spec[name]["type"], name
        assert option.get("default") == spec[name].get("default"), name
        assert option.get("elements") == spec[name].get("elements"), name
        assert option.get("choices") == spec[name].get("choices"), name
        assert bool(option.get("required")) == bool(spec[name].get("required")), name
    assert doc["attributes"]["check_mode"]["support"] == "full"
    assert doc["attributes"]["diff_mode"]["support"] == diff
    assert doc["attributes"]["platform"]["platforms"] == "posix"
    assert spec.get("password", {}).get("no_log", True) is True
    yaml.safe_load(module.EXAMPLES)
    assert "counts" in yaml.safe_load(module.RETURN)


# ------------------------------------------------------------------ the vendor's footprint only

def test_linux_remove_releases_a_held_package_and_says_so(capsys, fake):
    root, db, log = fake
    state = json.loads(db.read_text())
    state["kesl"].append("hold")
    db.write_text(json.dumps(state))
    args = {"product": "kesl", "vendor": "kaspersky", "removal": RECIPE, "root": str(root), "vendor_dirs": VENDOR_DIRS}
    code, check, dummy = run(capsys, linux_remove, args, check_mode=True)
    assert code == 0 and check["holds_released"] == [{"package": "kesl", "kind": "apt-mark"}]
    assert json.loads(db.read_text())["kesl"][3] == "hold"
    code, done, dummy = run(capsys, linux_remove, args)
    assert code == 0 and done["holds_released"] == [{"package": "kesl", "kind": "apt-mark"}]
    dpkg = [c for c in calls(log) if c[0] == "dpkg" and "--no-act" not in c]
    assert dpkg == [["dpkg", "--root=%s" % root, "--purge", "--", "kesl-gui"], ["dpkg", "--root=%s" % root, "--set-selections"],
                    ["dpkg", "--root=%s" % root, "--purge", "--", "kesl"]]
    assert set(done["counts"]) <= documented_count_steps(linux_remove)
    assert set(yaml.safe_load(linux_remove.RETURN)["holds_released"]["sample"][0]) == {"package", "kind"}


def test_linux_remove_refuses_residue_outside_the_vendor_directories(capsys, fake):
    root, db, log = fake
    write(root, "/etc/passwd", "root:x:0:0::/root:/bin/sh\n")
    removal = dict(RECIPE, residue=["/opt/kaspersky/kesl", "/etc/passwd"], residue_files=["/etc/shadow", "/usr/bin/kesl-control"])
    write(root, "/etc/shadow", "root:*:1::::::\n")
    code, done, dummy = run(capsys, linux_remove, {"product": "kesl", "removal": removal, "root": str(root),
                                                   "vendor_dirs": VENDOR_DIRS})
    assert code == 0 and exists(root, "/etc/passwd") and exists(root, "/etc/shadow")
    assert not exists(root, "/usr/bin/kesl-control") and not exists(root, "/opt/kaspersky")
    assert [(r.get("pattern"), r.get("path")) for r in done["refused_paths"]] == [("/etc/passwd", None), (None, "/etc/shadow")]
    assert "not inside the vendor's directories (vendor_dirs)" in done["refused_paths"][0]["message"]
    assert done["refused_paths"][1]["message"] == "residue file /etc/shadow is a protected system file"


def test_linux_cleanup_without_vendor_dirs_refuses_residue_and_bad_vendor_dirs_fail(capsys, tmp_path):
    root = tmp_path / "root"
    write(root, "/opt/kaspersky/leftover", "x")
    code, result, dummy = run(capsys, linux_cleanup, {"root": str(root), "residue": ["/opt/kaspersky"]})
    assert code == 0 and result["changed"] is False and exists(root, "/opt/kaspersky/leftover")
    assert "(vendor_dirs): none were given" in result["refused_paths"][0]["message"]
    code, result, dummy = run(capsys, linux_cleanup, {"root": str(root), "residue": ["/opt/kaspersky"],
                                                      "vendor_dirs": ["/opt"]})
    assert code == 1 and result["msg"].startswith("vendor_dirs: residue path '/opt' is / , a top-level or a protected")


def test_a_partial_deletion_is_a_change(capsys, tmp_path, monkeypatch):
    root = tmp_path / "root"
    write(root, "/var/opt/kaspersky/kesl/a-stuck", "x")
    write(root, "/var/opt/kaspersky/kesl/b", "x")
    real_unlink = os.unlink

    def unlink(path, *args, **kwargs):
        if path == "a-stuck":
            raise OSError(1, "Operation not permitted")
        return real_unlink(path, *args, **kwargs)
    monkeypatch.setattr(os, "unlink", unlink)
    code, result, dummy = run(capsys, linux_cleanup, {"root": str(root), "residue": ["/var/opt/kaspersky/kesl"],
                                                      "vendor_dirs": VENDOR_DIRS})
    assert code == 0 and result["changed"] is True and result["counts"] == {"residue": 1}
    assert result["steps"][0]["partial"] is True and result["remaining"] == {"paths": ["/var/opt/kaspersky/kesl"]}


# ------------------------------------------------------------------ repository files that are links

def test_linux_cleanup_removes_a_vendor_repository_link_and_never_its_target(capsys, tmp_path):
    # Fails on the code that followed the link: the shared target file was deleted.
    root = tmp_path / "root"
    write(root, "/srv/mirror/lists/kaspersky.list", "deb https://repo.kaspersky.com/deb stable main\n")
    (root / "etc/apt/sources.list.d").mkdir(parents=True)
    os.symlink("/srv/mirror/lists/kaspersky.list", str(root / "etc/apt/sources.list.d/kaspersky.list"))
    args = {"root": str(root), "repo_patterns": ["re:kaspersky"], "backup": True}
    code, check, dummy = run(capsys, linux_cleanup, args, check_mode=True)
    assert code == 0 and check["changed"] and os.path.islink(str(root / "etc/apt/sources.list.d/kaspersky.list"))
    code, done, dummy = run(capsys, linux_cleanup, args)
    assert code == 0 and done["changed"]
    assert done["repos"] == [{"path": "/etc/apt/sources.list.d/kaspersky.list", "format": "list", "link": True,
                              "deleted": True, "removed": ["deb https://repo.kaspersky.com/deb stable main"]}]
    assert done["steps"][0]["kind"] == "link" and done["steps"][0]["link_target"] == "/srv/mirror/lists/kaspersky.list"
    assert not exists(root, "/etc/apt/sources.list.d/kaspersky.list")
    assert (root / "srv/mirror/lists/kaspersky.list").read_text() == "deb https://repo.kaspersky.com/deb stable main\n"
    assert sorted(os.listdir(str(root / "srv/mirror/lists"))) == ["kaspersky.list"]     # no backup next to it
    code, again, dummy = run(capsys, linux_cleanup, args)
    assert code == 0 and again["changed"] is False


def test_linux_cleanup_refuses_a_repository_link_that_mixes_entries(capsys, tmp_path):
    # Fails on the code that edited through the link: the shared target lost its vendor section.
    root = tmp_path / "root"
    mixed = "[baseos]\nbaseurl=http://mirror/baseos\n\n[kaspersky]\nbaseurl=https://repo.kaspersky.com/rpm\n"
    write(root, "/srv/shared/site.repo", mixed)
    (root / "etc/yum.repos.d").mkdir(parents=True)
    os.symlink("../../srv/shared/site.repo", str(root / "etc/yum.repos.d/site.repo"))
    code, done, dummy = run(capsys, linux_cleanup, {"root": str(root), "repo_patterns": ["re:kaspersky"]})
    assert code == 0 and done["changed"] is False and done["repos"] == []
    assert (root / "srv/shared/site.repo").read_text() == mixed
    assert os.path.islink(str(root / "etc/yum.repos.d/site.repo"))
    (refused,) = done["refused_paths"]
    assert refused["path"] == "/etc/yum.repos.d/site.repo"
    assert refused["message"].startswith("repository file /etc/yum.repos.d/site.repo is a symbolic link "
                                         "(-> ../../srv/shared/site.repo) whose entries are not all the vendor's")
    # the warning (module warnings are checked on the helper: ansible routes them elsewhere once
    # a controller module was imported in the same process)
    from ansible_collections.fleetsec.divest.plugins.module_utils._linux.host import Host
    from ansible_collections.fleetsec.divest.plugins.module_utils._linux.removal.product import cleanup
    direct = cleanup(Host(root=str(root)), repo_patterns=["re:kaspersky"])
    assert direct["warnings_list"] == [refused["message"]] and direct["refused_paths"] == [refused]


# ------------------------------------------------------------------ writes stay inside root=

def test_reinstall_block_with_root_never_writes_through_an_absolute_link(capsys, tmp_path):
    # Fails on the code that wrote the unresolved path: dnf.conf landed in <outside>.
    root = tmp_path / "root"
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "etc").mkdir(parents=True)
    os.symlink(str(outside), str(root / "etc/dnf"))
    args = {"vendor": "kaspersky", "packages": ["kesl"], "root": str(root), "manager": "dnf", "backup": True}
    code, done, dummy = run(capsys, linux_reinstall_block, args)
    assert code == 0 and done["changed"] and list(outside.iterdir()) == []
    assert "excludepkgs=kesl" in (root / str(outside).lstrip("/") / "dnf.conf").read_text()
    code, again, dummy = run(capsys, linux_reinstall_block, args)
    assert code == 0 and again["changed"] is False and list(outside.iterdir()) == []


def test_a_repository_file_behind_a_linked_directory_is_refused_not_deleted(capsys, tmp_path):
    root = tmp_path / "root"
    write(root, "/srv/lists/kaspersky.list", "deb https://repo.kaspersky.com/deb stable main\n")
    write(root, "/etc/yum.repos.d/kaspersky.repo", "[kl]\nbaseurl=https://repo.kaspersky.com/rpm\n")
    (root / "etc/apt").mkdir(parents=True)
    os.symlink("/srv/lists", str(root / "etc/apt/sources.list.d"))
    code, done, dummy = run(capsys, linux_cleanup, {"root": str(root), "repo_patterns": ["re:kaspersky"]})
    assert code == 0 and exists(root, "/srv/lists/kaspersky.list")
    assert [r["path"] for r in done["repos"]] == ["/etc/yum.repos.d/kaspersky.repo"]       # the rest goes on
    (refused,) = done["refused_paths"]
    assert refused["path"] == "/etc/apt/sources.list.d/kaspersky.list"
    assert refused["message"].startswith("refusing to delete /etc/apt/sources.list.d/kaspersky.list: ")
    assert "through the symbolic link /etc/apt/sources.list.d -> /srv/lists" in refused["message"]
