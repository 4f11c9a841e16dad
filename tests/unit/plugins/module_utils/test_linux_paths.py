# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Residue deletion: the safety guards (a catalog mistake never costs a system directory or
file), the vendor's directories, residue files, globs, links (never followed, not even on the
way or swapped in), mount points (never crossed), pruning of emptied parents, check mode."""

import json
import os
import shutil
import subprocess
import sys
import pathlib
import textwrap

import pytest

from ansible_collections.fleetsec.divest.plugins.module_utils._linux.removal import paths
from ansible_collections.fleetsec.divest.plugins.module_utils._linux.host import Record, parse_mountinfo

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from removal_fakes import exists, make_host, mountinfo, write  # noqa: E402

KASPERSKY = ["/opt/kaspersky", "/var/opt/kaspersky", "/etc/opt/kaspersky", "/var/log/kaspersky"]


def delete(host, patterns, files=(), dirs=tuple(KASPERSKY), record=None, prune=True):
    return paths.delete_paths(host, record if record is not None else Record(), patterns, prune_empty_parents=prune,
                              vendor_dirs=dirs, files=files)


@pytest.mark.parametrize("pattern", [
    "/opt/kaspersky", "/opt/kaspersky/kesl", "/etc/opt/kaspersky/kesl*", "/var/opt/kaspersky/kesl/install_*",
    "/usr/bin/kesl-control", "/usr/bin/kesl*", "/etc/ksc-web-console-setup.json", "/var/log/kaspersky/kesl",
])
def test_patterns_the_catalog_uses_are_accepted(pattern):
    assert paths.check_pattern(pattern) == pattern


@pytest.mark.parametrize("pattern, fragment", [
    ("/", "protected"),
    ("", "non-empty"),
    ("opt/kaspersky", "not absolute"),
    ("/etc", "protected"),
    ("/usr", "protected"),
    ("/var/lib", "protected"),
    ("/var/log", "protected"),
    ("/usr/bin", "protected"),
    ("/usr/bin/", "protected"),
    ("//usr//bin//", "protected"),
    ("/opt", "protected"),
    ("/srv", "protected"),
    ("/data", "protected"),          # any top-level directory
    ("/etc/systemd/system", "protected"),
    ("/opt/kaspersky/../../etc", ". or .."),
    ("/opt/./kaspersky", ". or .."),
    ("/*", "protected"),
    ("/op*/kaspersky", "first component"),
    ("/opt/*", "literal"),
    ("/opt/k*", "literal"),
    ("/usr/bin/*kes*", "must start"),
    ("/etc/opt/kaspersky/*", "literal"),
    ("/etc/opt/[a-z][a-z][a-z]*", "literal"),
    ("/opt/kas\x00persky", "NUL"),
    (None, "non-empty"),
])
def test_dangerous_patterns_are_refused(pattern, fragment):
    with pytest.raises(paths.UnsafePath) as info:
        paths.check_pattern(pattern)
    assert fragment in str(info.value)


# ------------------------------------------------------------------ the vendor's footprint only

def test_a_residue_entry_outside_the_vendor_directories_is_refused(tmp_path):
    # Fails on the code before vendor_dirs: /etc/passwd in a recipe was deleted.
    root = tmp_path / "root"
    write(root, "/etc/passwd", "root:x:0:0::/root:/bin/sh\n")
    write(root, "/etc/ksc-web-console-setup.json", "{}")
    write(root, "/opt/kaspersky/kesl/bin/kesl", "x")
    record = Record()
    result = delete(make_host(root), ["/etc/passwd", "/etc/ksc-web-console-setup.json", "/opt/kaspersky/kesl"],
                    record=record)
    assert exists(root, "/etc/passwd") and exists(root, "/etc/ksc-web-console-setup.json")
    assert result["deleted"] == ["/opt/kaspersky/kesl", "/opt/kaspersky"]
    assert [r["pattern"] for r in result["refused"]] == ["/etc/passwd", "/etc/ksc-web-console-setup.json"]
    message = result["refused"][0]["message"]
    assert "/etc/passwd is not inside the vendor's directories (vendor_dirs): /opt/kaspersky, " in message
    assert "residue_files" in message


def test_without_vendor_directories_every_residue_entry_is_refused(tmp_path):
    root = tmp_path / "root"
    write(root, "/opt/kaspersky/kesl/bin/kesl", "x")
    result = delete(make_host(root), ["/opt/kaspersky/kesl"], dirs=[])
    assert result["deleted"] == [] and exists(root, "/opt/kaspersky/kesl/bin/kesl")
    assert "not inside the vendor's directories (vendor_dirs): none were given" in result["refused"][0]["message"]


@pytest.mark.parametrize("path, inside", [
    ("/opt/kaspersky", True), ("/opt/kaspersky/kesl", True), ("/etc/opt/kaspersky/kesl*", True),
    ("/opt/kaspersky2/kesl", False), ("/opt/kasp*", False), ("/etc/kaspersky", False), ("/usr/bin/kesl-control", False),
])
def test_inside_the_vendor_directories_is_component_by_component(path, inside):
    assert paths.inside_dirs(path, KASPERSKY) is inside


@pytest.mark.parametrize("dirs, fragment", [
    (["/opt"], "protected"), (["/opt/kasp*"], "glob"), (["opt/kaspersky"], "not absolute"), ("/opt/kaspersky", "list"),
    (["/opt/kaspersky/../.."], ". or .."),
])
def test_the_vendor_directories_pass_the_same_guards(tmp_path, dirs, fragment):
    with pytest.raises(paths.UnsafePath, match=fragment):
        delete(make_host(tmp_path), ["/opt/kaspersky/kesl"], dirs=dirs)


def test_residue_files_outside_the_vendor_directories(tmp_path):
    root = tmp_path / "root"
    write(root, "/usr/bin/kesl-control", "x")
    write(root, "/opt/kaspersky/klnagent64/sbin/klnagent", "x")
    (root / "usr/sbin").mkdir(parents=True)
    os.symlink("/opt/kaspersky/klnagent64/sbin/klnagent", str(root / "usr/sbin/klnagent"))
    write(root, "/usr/lib/kesl-extra/kesl.so", "x")              # a directory: not a file entry
    write(root, "/etc/passwd", "root:x:0:0::/root:/bin/sh\n")
    write(root, "/usr/bin/other-tool", "keep")
    record = Record()
    result = delete(make_host(root), [], files=["/usr/bin/kesl-control", "/usr/sbin/klnagent", "/usr/lib/kesl-extra",
                                                "/etc/passwd", "/usr/bin/kesl*", "/usr/bin/nosuch-kesl"], record=record)
    assert sorted(result["deleted"]) == ["/usr/bin/kesl-control", "/usr/sbin/klnagent"]
    assert not exists(root, "/usr/sbin/klnagent") and exists(root, "/opt/kaspersky/klnagent64/sbin/klnagent")
    assert {s["target"]: s["kind"] for s in record.steps} == {"/usr/bin/kesl-control": "file", "/usr/sbin/klnagent": "link"}
    refused = {r["path"]: r["message"] for r in result["refused"]}
    assert refused["/usr/lib/kesl-extra"] == "/usr/lib/kesl-extra is a directory: residue_files names files only"
    assert refused["/etc/passwd"] == "residue file /etc/passwd is a protected system file"
    assert "glob" in refused["/usr/bin/kesl*"]
    for kept in ("/usr/lib/kesl-extra/kesl.so", "/etc/passwd", "/usr/bin/other-tool"):
        assert exists(root, kept), kept
    assert exists(root, "/usr/bin") and exists(root, "/usr/sbin")      # never pruned


def test_parents_outside_the_vendor_directories_are_never_pruned(tmp_path):
    root = tmp_path / "root"
    write(root, "/usr/lib/kesl-plugins/libkesl.so", "x")             # its directory is not the vendor's
    write(root, "/var/log/kaspersky/kesl/kesl.log", "x")
    result = delete(make_host(root), ["/var/log/kaspersky/kesl"], files=["/usr/lib/kesl-plugins/libkesl.so"])
    assert sorted(result["deleted"]) == ["/usr/lib/kesl-plugins/libkesl.so", "/var/log/kaspersky",
                                         "/var/log/kaspersky/kesl"]
    assert exists(root, "/usr/lib/kesl-plugins") and exists(root, "/var/log")


def test_protected_files_are_refused_wherever_they_come_from():
    for path in ("/etc/passwd", "/etc/shadow", "/etc/sudoers", "/etc/fstab", "/etc/hosts", "/etc/resolv.conf",
                 "/etc/os-release", "/usr/bin/sudo"):
        with pytest.raises(paths.UnsafePath, match="protected"):
            paths.check_residue_file(path)
    assert paths.check_residue_file("/usr/bin/kesl-control") == "/usr/bin/kesl-control"


# ------------------------------------------------------------------ links: never followed

def test_a_link_on_the_way_is_never_followed(tmp_path):
    # Fails on the code that resolved parents: /opt/kaspersky -> /srv/shared made it delete
    # /srv/shared/kesl, then remove the emptied /srv/shared as "left empty".
    root = tmp_path / "root"
    write(root, "/srv/shared/kesl/db.sqlite", "someone else's")
    (root / "opt").mkdir()
    os.symlink("/srv/shared", str(root / "opt/kaspersky"))          # absolute, inside the root
    (root / "var/opt/kaspersky").mkdir(parents=True)
    write(root, "/var/shared-log/kesl/kesl.log", "also someone else's")
    os.symlink("../../shared-log", str(root / "var/opt/kaspersky/logs"))   # relative
    record = Record()
    result = delete(make_host(root), ["/opt/kaspersky/kesl", "/var/opt/kaspersky/logs/kes*"], record=record)
    assert result["deleted"] == [] and not record.changed
    assert exists(root, "/srv/shared/kesl/db.sqlite") and exists(root, "/var/shared-log/kesl/kesl.log")
    assert os.path.islink(str(root / "opt/kaspersky"))
    messages = [r["message"] for r in result["refused"]]
    assert messages[0] == ("/opt/kaspersky/kesl is reached through the symbolic link /opt/kaspersky -> /srv/shared, "
                           "which is not followed")
    assert "through the symbolic link /var/opt/kaspersky/logs -> ../../shared-log" in messages[1]


def test_a_symlinked_parent_leading_into_a_system_directory_is_refused(tmp_path):
    root = tmp_path / "root"
    write(root, "/usr/lib/important.so", "x")
    (root / "opt").mkdir()
    os.symlink("/usr", str(root / "opt" / "kaspersky"))      # /opt/kaspersky -> /usr (inside the root)
    result = delete(make_host(root), ["/opt/kaspersky/lib"])
    assert result["deleted"] == []
    assert "through the symbolic link /opt/kaspersky -> /usr" in result["refused"][0]["message"]
    assert exists(root, "/usr/lib/important.so")


def test_a_link_is_removed_not_followed(tmp_path):
    root = tmp_path / "root"
    write(root, "/var/opt/kaspersky/kesl/install_12/opt/kaspersky/kesl/bin/kesl", "x")
    (root / "opt" / "kaspersky").mkdir(parents=True)
    os.symlink("/var/opt/kaspersky/kesl/install_12/opt/kaspersky/kesl", str(root / "opt/kaspersky/kesl"))
    record = Record()
    result = delete(make_host(root), ["/opt/kaspersky/kesl"], record=record)
    assert result["deleted"] == ["/opt/kaspersky/kesl", "/opt/kaspersky"]
    assert not exists(root, "/opt/kaspersky")
    assert exists(root, "/var/opt/kaspersky/kesl/install_12/opt/kaspersky/kesl/bin/kesl")
    assert [s["kind"] for s in record.steps] == ["link", "directory"]


def test_links_inside_a_deleted_directory_go_as_links(tmp_path):
    root = tmp_path / "root"
    write(root, "/srv/important/data", "keep")
    write(root, "/var/opt/kaspersky/kesl/state", "x")
    os.symlink("/srv/important", str(root / "var/opt/kaspersky/kesl/abs"))
    os.symlink("../../../../srv/important", str(root / "var/opt/kaspersky/kesl/rel"))
    result = delete(make_host(root), ["/var/opt/kaspersky/kesl"])
    assert result["deleted"] == ["/var/opt/kaspersky/kesl", "/var/opt/kaspersky"]
    assert (root / "srv/important/data").read_text() == "keep"


def test_a_link_swapped_in_during_the_deletion_is_not_followed(tmp_path, monkeypatch):
    root = tmp_path / "root"
    write(root, "/var/opt/kaspersky/kesl/a/file", "x")
    write(root, "/var/opt/kaspersky/kesl/b", "x")
    write(root, "/srv/victim/precious", "keep")
    real_open = os.open
    swapped = []

    def racing_open(path, flags, mode=0o777, *, dir_fd=None):
        if path == "a" and dir_fd is not None and not swapped:   # between lstat and open
            os.rename(str(root / "var/opt/kaspersky/kesl/a"), str(tmp_path / "moved-away"))
            os.symlink(str(root / "srv/victim"), str(root / "var/opt/kaspersky/kesl/a"))
            swapped.append(path)
        return real_open(path, flags, mode, dir_fd=dir_fd)

    monkeypatch.setattr(paths.os, "open", racing_open)
    record = Record()
    result = delete(make_host(root), ["/var/opt/kaspersky/kesl"], record=record)
    assert swapped and (root / "srv/victim/precious").read_text() == "keep"
    assert result["refused"] == [{"path": "/var/opt/kaspersky/kesl/a", "message": "/var/opt/kaspersky/kesl/a was "
                                  "replaced by a link or a file during the deletion: not followed"}]
    assert result["remaining"] == ["/var/opt/kaspersky/kesl"] and not exists(root, "/var/opt/kaspersky/kesl/b")
    assert record.steps == [{"step": "residue", "action": "delete", "target": "/var/opt/kaspersky/kesl",
                             "changed": True, "kind": "directory", "entries": 1, "partial": True}]


# ------------------------------------------------------------------ mount points: never crossed

def test_a_bind_mount_below_a_residue_path_is_not_crossed(tmp_path):
    # Fails on the code before the walker: shutil.rmtree emptied the mounted filesystem, the
    # mount point's rmdir failed, and the task said changed: false.
    root = tmp_path / "root"
    write(root, "/var/opt/kaspersky/kesl/common/kesl.ini", "x")
    write(root, "/var/opt/kaspersky/kesl/quarantine share/someone's file", "keep")    # the mount point
    table = mountinfo(tmp_path / "mountinfo", str(root) + "/var/opt/kaspersky/kesl/quarantine share")
    record = Record()
    result = delete(make_host(root, mountinfo=table), ["/var/opt/kaspersky/kesl"], record=record)
    assert exists(root, "/var/opt/kaspersky/kesl/quarantine share/someone's file")
    assert not exists(root, "/var/opt/kaspersky/kesl/common")
    assert result["refused"] == [{"path": "/var/opt/kaspersky/kesl/quarantine share", "message":
                                  "/var/opt/kaspersky/kesl/quarantine share is a mount point (in the mount table): "
                                  "not descended into, not deleted"}]
    assert record.changed and record.steps == [{"step": "residue", "action": "delete", "target": "/var/opt/kaspersky/kesl",
                                                "changed": True, "kind": "directory", "entries": 2, "partial": True}]
    assert result["deleted"] == ["/var/opt/kaspersky/kesl"] and result["remaining"] == ["/var/opt/kaspersky/kesl"]
    again = Record()
    assert delete(make_host(root, mountinfo=table), ["/var/opt/kaspersky/kesl"], record=again)["deleted"] == []
    assert not again.changed


def test_another_filesystem_below_a_residue_path_is_not_crossed(tmp_path, monkeypatch):
    root = tmp_path / "root"
    write(root, "/var/opt/kaspersky/kesl/tmp/file", "keep")
    write(root, "/var/opt/kaspersky/kesl/other", "x")
    real_stat = os.stat

    def other_device(path, *args, **kwargs):
        info = real_stat(path, *args, **kwargs)
        if path == "tmp":      # looked up by name in its directory, as the walker does
            fields = list(info)
            fields[2] += 1     # st_dev
            return os.stat_result(fields)
        return info

    monkeypatch.setattr(paths.os, "stat", other_device)
    result = delete(make_host(root, mountinfo=mountinfo(tmp_path / "mountinfo")), ["/var/opt/kaspersky/kesl"])
    assert exists(root, "/var/opt/kaspersky/kesl/tmp/file") and not exists(root, "/var/opt/kaspersky/kesl/other")
    assert result["refused"][0]["message"] == ("/var/opt/kaspersky/kesl/tmp is a mount point (another filesystem): "
                                               "not descended into, not deleted")


def test_a_residue_path_that_is_a_mount_point_is_refused(tmp_path):
    root = tmp_path / "root"
    write(root, "/var/opt/kaspersky/data/file", "x")
    write(root, "/var/opt/kaspersky/kesl.conf", "x")
    table = mountinfo(tmp_path / "mountinfo", str(root) + "/var/opt/kaspersky/data")
    result = delete(make_host(root, mountinfo=table), ["/var/opt/kaspersky/data", "/var/opt/kaspersky/kesl.conf"])
    assert result["deleted"] == ["/var/opt/kaspersky/kesl.conf"]     # and /var/opt/kaspersky is not empty
    assert result["refused"] == [{"path": "/var/opt/kaspersky/data",
                                  "message": "/var/opt/kaspersky/data is a mount point (in the mount table): not deleted"}]
    assert exists(root, "/var/opt/kaspersky/data/file")


def test_the_mount_table_is_read_with_its_escapes(tmp_path):
    table = mountinfo(tmp_path / "mi", "/var/opt/kaspersky/a b", "/x\ty", "/back\\slash", "/new\nline")
    points = parse_mountinfo(pathlib.Path(table).read_bytes())
    assert points == {"/", "/var/opt/kaspersky/a b", "/x\ty", "/back\\slash", "/new\nline"}
    assert parse_mountinfo(b"36 35 98:0 /mnt1 /mnt/\\303\\251t\\xff rw - ext3 /dev/root rw\n") == {"/mnt/\xe9t\\xff"}


@pytest.mark.skipif(not shutil.which("unshare"), reason="unshare is not installed")
def test_a_real_bind_mount_of_the_same_filesystem_is_not_crossed(tmp_path):
    """A real bind mount (same st_dev: only the mount table tells), in a private mount namespace
    that ends with the child process, so nothing is left mounted whatever happens."""
    root = tmp_path / "root"
    write(root, "/var/opt/kaspersky/kesl/common/kesl.ini", "x")
    (root / "var/opt/kaspersky/kesl/share").mkdir()
    write(tmp_path, "/elsewhere/payroll.db", "keep")
    script = textwrap.dedent("""\
        import json, subprocess, sys
        sys.path[:0] = %r
        subprocess.run(["mount", "--bind", %r, %r], check=True)
        from ansible_collections.fleetsec.divest.plugins.module_utils._linux.host import Host, Record
        from ansible_collections.fleetsec.divest.plugins.module_utils._linux.removal.paths import delete_paths
        record = Record()
        result = delete_paths(Host(root=%r), record, ["/var/opt/kaspersky/kesl"], vendor_dirs=["/var/opt/kaspersky"])
        print(json.dumps({"result": result, "changed": record.changed}))
        """) % (sys.path, str(tmp_path / "elsewhere"), str(root / "var/opt/kaspersky/kesl/share"), str(root))
    proc = subprocess.run(["unshare", "--mount", "--propagation", "private", sys.executable, "-c", script],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=False)
    if proc.returncode != 0 and ("Operation not permitted" in proc.stderr or "permission denied" in proc.stderr.lower()):
        pytest.skip("mount namespaces are not permitted here: %s" % proc.stderr.strip()[:200])
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert (tmp_path / "elsewhere/payroll.db").read_text() == "keep"
    assert out["changed"] and out["result"]["refused"][0]["message"].endswith("is a mount point (in the mount table): "
                                                                              "not descended into, not deleted")
    assert not exists(root, "/var/opt/kaspersky/kesl/common")


# ------------------------------------------------------------------ globs, pruning, check mode, failures

def test_globs_and_pruning_of_emptied_parents(tmp_path):
    root = tmp_path / "root"
    write(root, "/etc/opt/kaspersky/kesl.conf", "a")
    write(root, "/etc/opt/kaspersky/kesl.conf.rpmsave", "b")
    write(root, "/etc/opt/kaspersky/klnagent.conf", "c")    # another product's: stays
    write(root, "/var/opt/kaspersky/kesl/private/events.db", "d")
    write(root, "/usr/bin/kesl-control", "e")
    write(root, "/usr/bin/other-tool", "f")
    record = Record()
    result = delete(make_host(root), ["/etc/opt/kaspersky/kesl*", "/var/opt/kaspersky/kesl", "/opt/kaspersky/kesl"],
                    files=["/usr/bin/kesl-control"], record=record)
    assert sorted(result["deleted"]) == ["/etc/opt/kaspersky/kesl.conf", "/etc/opt/kaspersky/kesl.conf.rpmsave",
                                         "/usr/bin/kesl-control", "/var/opt/kaspersky", "/var/opt/kaspersky/kesl"]
    assert exists(root, "/etc/opt/kaspersky/klnagent.conf") and exists(root, "/usr/bin/other-tool")
    assert exists(root, "/var/opt") and exists(root, "/usr/bin")     # protected: never pruned
    assert result["refused"] == [] and record.changed


def test_check_mode_predicts_the_same_and_deletes_nothing(tmp_path):
    root = tmp_path / "root"
    write(root, "/var/opt/kaspersky/kesl/a", "x")
    write(root, "/var/log/kaspersky/kesl/b.log", "x")
    write(root, "/var/opt/kaspersky/kesl/mnt/c", "x")
    write(root, "/usr/bin/kesl-control", "x")
    table = mountinfo(tmp_path / "mountinfo", str(root) + "/var/opt/kaspersky/kesl/mnt")
    patterns = ["/var/opt/kaspersky/kesl", "/var/log/kaspersky/kesl"]
    predicted_record = Record()
    predicted = delete(make_host(root, check_mode=True, mountinfo=table), patterns, files=["/usr/bin/kesl-control"],
                       record=predicted_record)
    assert exists(root, "/var/opt/kaspersky/kesl/a") and exists(root, "/usr/bin/kesl-control")
    done_record = Record()
    done = delete(make_host(root, mountinfo=table), patterns, files=["/usr/bin/kesl-control"], record=done_record)
    assert predicted == done
    assert sorted(done["deleted"]) == ["/usr/bin/kesl-control", "/var/log/kaspersky", "/var/log/kaspersky/kesl",
                                       "/var/opt/kaspersky/kesl"]
    assert predicted_record.steps == done_record.steps
    again = Record()
    assert delete(make_host(root, mountinfo=table), patterns, record=again)["deleted"] == [] and not again.changed


def test_refused_and_deleted_patterns_side_by_side(tmp_path):
    root = tmp_path / "root"
    write(root, "/etc/passwd", "root:x:0:0::/root:/bin/sh\n")
    write(root, "/opt/kaspersky/x", "x")
    result = delete(make_host(root), ["/etc", "/opt/kaspersky", "/etc/*"])
    assert result["deleted"] == ["/opt/kaspersky"]
    assert [r["pattern"] for r in result["refused"]] == ["/etc", "/etc/*"]
    assert exists(root, "/etc/passwd")


def test_a_deletion_that_fails_is_reported_and_what_went_is_a_step(tmp_path, monkeypatch):
    root = tmp_path / "root"
    write(root, "/opt/kaspersky/kesl/a-stuck", "x")
    write(root, "/opt/kaspersky/kesl/b-fine", "x")
    real_unlink = os.unlink

    def unlink(path, *args, **kwargs):
        if path == "a-stuck":
            raise OSError(13, "Permission denied")
        return real_unlink(path, *args, **kwargs)
    monkeypatch.setattr(paths.os, "unlink", unlink)
    record = Record()
    result = delete(make_host(root), ["/opt/kaspersky/kesl"], record=record)
    assert result["remaining"] == ["/opt/kaspersky/kesl"] and result["deleted"] == ["/opt/kaspersky/kesl"]
    assert record.warnings == ["cannot delete /opt/kaspersky/kesl: Permission denied (1 error(s), first at "
                               "/opt/kaspersky/kesl/a-stuck)"]
    assert record.steps[0]["partial"] is True and not exists(root, "/opt/kaspersky/kesl/b-fine")


def test_a_tree_deeper_than_the_limit_is_refused_below_it(tmp_path, monkeypatch):
    root = tmp_path / "root"
    write(root, "/var/opt/kaspersky/kesl/d1/d2/d3/deep", "x")
    write(root, "/var/opt/kaspersky/kesl/shallow", "x")
    monkeypatch.setattr(paths, "MAX_DEPTH", 2)
    result = delete(make_host(root), ["/var/opt/kaspersky/kesl"])
    assert result["refused"] == [{"path": "/var/opt/kaspersky/kesl/d1/d2", "message": "/var/opt/kaspersky/kesl/d1/d2 "
                                  "is more than 2 levels below the residue path: not deleted"}]
    assert exists(root, "/var/opt/kaspersky/kesl/d1/d2/d3/deep") and not exists(root, "/var/opt/kaspersky/kesl/shallow")


def test_delete_entry_removes_a_link_as_a_link_and_refuses_directories(tmp_path):
    root = tmp_path / "root"
    write(root, "/srv/shared/kaspersky.list", "deb https://repo.kaspersky.com/deb stable main\n")
    (root / "etc/apt/sources.list.d").mkdir(parents=True)
    os.symlink("/srv/shared/kaspersky.list", str(root / "etc/apt/sources.list.d/kaspersky.list"))
    host = make_host(root)
    assert paths.delete_entry(host, "/etc/apt/sources.list.d/kaspersky.list", check_mode=True) == "link"
    assert exists(root, "/etc/apt/sources.list.d/kaspersky.list")
    assert paths.delete_entry(host, "/etc/apt/sources.list.d/kaspersky.list") == "link"
    assert not exists(root, "/etc/apt/sources.list.d/kaspersky.list") and exists(root, "/srv/shared/kaspersky.list")
    assert paths.delete_entry(host, "/etc/apt/sources.list.d/kaspersky.list") is None
    with pytest.raises(paths.UnsafePath, match="is a directory"):
        paths.delete_entry(host, "/etc/apt/sources.list.d")


def test_an_unreadable_mount_table_is_said(tmp_path):
    root = tmp_path / "root"
    write(root, "/var/opt/kaspersky/kesl/a", "x")
    record = Record()
    delete(make_host(root, mountinfo=tmp_path / "no-such-mountinfo"), ["/var/opt/kaspersky/kesl"], record=record)
    assert record.warnings == ["the mount table (%s) could not be read: only a change of device tells a mount point, "
                               "not a bind mount of the same filesystem" % (tmp_path / "no-such-mountinfo")]
    assert not exists(root, "/var/opt/kaspersky")
