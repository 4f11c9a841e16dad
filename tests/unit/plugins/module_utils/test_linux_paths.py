# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Residue deletion: the safety guards (a catalog mistake never costs a system directory),
globs, links, pruning of emptied parents, check mode."""

import os
import sys
import pathlib

import pytest

from ansible_collections.fleetsec.divest.plugins.module_utils import _linux_paths as paths
from ansible_collections.fleetsec.divest.plugins.module_utils._linux_host import Record

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from removal_fakes import exists, make_host, write  # noqa: E402


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


def test_a_symlinked_parent_leading_into_a_system_directory_is_refused(tmp_path):
    root = tmp_path / "root"
    write(root, "/usr/lib/important.so", "x")
    (root / "opt").mkdir()
    os.symlink("/usr", str(root / "opt" / "kaspersky"))      # /opt/kaspersky -> /usr (inside the root)
    host = make_host(root)
    record = Record()
    result = paths.delete_paths(host, record, ["/opt/kaspersky/lib"])
    assert result["deleted"] == []
    assert "resolves to /usr/lib" in result["refused"][0]["message"]
    assert exists(root, "/usr/lib/important.so")


def test_a_link_is_removed_not_followed(tmp_path):
    root = tmp_path / "root"
    write(root, "/var/opt/kaspersky/kesl/install_12/opt/kaspersky/kesl/bin/kesl", "x")
    (root / "opt" / "kaspersky").mkdir(parents=True)
    os.symlink("/var/opt/kaspersky/kesl/install_12/opt/kaspersky/kesl", str(root / "opt/kaspersky/kesl"))
    host = make_host(root)
    record = Record()
    result = paths.delete_paths(host, record, ["/opt/kaspersky/kesl"])
    assert result["deleted"] == ["/opt/kaspersky/kesl", "/opt/kaspersky"]
    assert not exists(root, "/opt/kaspersky")
    assert exists(root, "/var/opt/kaspersky/kesl/install_12/opt/kaspersky/kesl/bin/kesl")
    assert [s["kind"] for s in record.steps] == ["link", "directory"]


def test_globs_and_pruning_of_emptied_parents(tmp_path):
    root = tmp_path / "root"
    write(root, "/etc/opt/kaspersky/kesl.conf", "a")
    write(root, "/etc/opt/kaspersky/kesl.conf.rpmsave", "b")
    write(root, "/etc/opt/kaspersky/klnagent.conf", "c")    # another product's: stays
    write(root, "/var/opt/kaspersky/kesl/private/events.db", "d")
    write(root, "/usr/bin/kesl-control", "e")
    write(root, "/usr/bin/other-tool", "f")
    host = make_host(root)
    record = Record()
    result = paths.delete_paths(host, record, ["/etc/opt/kaspersky/kesl*", "/var/opt/kaspersky/kesl",
                                               "/usr/bin/kesl-control", "/opt/kaspersky/kesl"])
    assert sorted(result["deleted"]) == ["/etc/opt/kaspersky/kesl.conf", "/etc/opt/kaspersky/kesl.conf.rpmsave",
                                         "/usr/bin/kesl-control", "/var/opt/kaspersky", "/var/opt/kaspersky/kesl"]
    assert exists(root, "/etc/opt/kaspersky/klnagent.conf") and exists(root, "/usr/bin/other-tool")
    assert exists(root, "/var/opt") and exists(root, "/usr/bin")     # protected: never pruned
    assert result["refused"] == [] and record.changed


def test_check_mode_predicts_the_same_and_deletes_nothing(tmp_path):
    root = tmp_path / "root"
    write(root, "/var/opt/kaspersky/kesl/a", "x")
    write(root, "/var/log/kaspersky/kesl/b.log", "x")
    patterns = ["/var/opt/kaspersky/kesl", "/var/log/kaspersky/kesl"]
    predicted = paths.delete_paths(make_host(root, check_mode=True), Record(), patterns)
    assert exists(root, "/var/opt/kaspersky/kesl/a")
    done = paths.delete_paths(make_host(root), Record(), patterns)
    assert sorted(predicted["deleted"]) == sorted(done["deleted"]) == [
        "/var/log/kaspersky", "/var/log/kaspersky/kesl", "/var/opt/kaspersky", "/var/opt/kaspersky/kesl"]
    again = Record()
    assert paths.delete_paths(make_host(root), again, patterns)["deleted"] == [] and not again.changed


def test_refused_and_deleted_patterns_side_by_side(tmp_path):
    root = tmp_path / "root"
    write(root, "/etc/passwd", "root:x:0:0::/root:/bin/sh\n")
    write(root, "/opt/kaspersky/x", "x")
    record = Record()
    result = paths.delete_paths(make_host(root), record, ["/etc", "/opt/kaspersky", "/etc/*"])
    assert result["deleted"] == ["/opt/kaspersky"]
    assert [r["pattern"] for r in result["refused"]] == ["/etc", "/etc/*"]
    assert exists(root, "/etc/passwd")


def test_mount_points_are_refused(tmp_path, monkeypatch):
    root = tmp_path / "root"
    write(root, "/var/opt/kaspersky/data/file", "x")
    real = os.path.ismount
    monkeypatch.setattr(paths.os.path, "ismount", lambda p: p.endswith("/var/opt/kaspersky/data") or real(p))
    result = paths.delete_paths(make_host(root), Record(), ["/var/opt/kaspersky/data"])
    assert result["deleted"] == [] and "mount point" in result["refused"][0]["message"]
    assert exists(root, "/var/opt/kaspersky/data/file")


def test_a_deletion_that_fails_is_reported_as_remaining(tmp_path, monkeypatch):
    root = tmp_path / "root"
    write(root, "/opt/kaspersky/kesl/file", "x")

    def fail(path, *args, **kwargs):
        raise OSError(13, "Permission denied")
    monkeypatch.setattr(paths.shutil, "rmtree", fail)
    record = Record()
    result = paths.delete_paths(make_host(root), record, ["/opt/kaspersky/kesl"])
    assert result["remaining"] == ["/opt/kaspersky/kesl"] and result["deleted"] == []
    assert "Permission denied" in record.warnings[0]
