# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Editing files the vendor wrote into: configuration lines, repository entries, reinstall blocks."""

import pytest

from ansible_collections.fleetsec.divest.plugins.module_utils._linux.removal import files
from ansible_collections.fleetsec.divest.plugins.module_utils._linux.host import RemovalError
from ansible_collections.fleetsec.divest.plugins.module_utils._patterns import PatternSet

SMB = """[global]
# ADDED BY KASPERSKY ENDPOINT SECURITY 8 FOR LINUX VERSION 8.0.1.50/RELEASE
vfs object = kes4lwks-smb-vfs28
   workgroup = WORKGROUP
   vfs objects = acl_xattr
[share]
   path = /srv/share
"""
KES4LWKS = [r'^\s*#\s*ADDED BY KASPERSKY ENDPOINT SECURITY 8 FOR LINUX\b.*$',
            r'^\s*vfs objects?\s*=\s*kes4lwks-smb-vfs\S*\s*$']


def test_remove_lines_keeps_everything_else_byte_for_byte():
    new, removed = files.remove_lines(SMB, KES4LWKS)
    assert removed == ["# ADDED BY KASPERSKY ENDPOINT SECURITY 8 FOR LINUX VERSION 8.0.1.50/RELEASE",
                       "vfs object = kes4lwks-smb-vfs28"]
    assert new == SMB.replace(removed[0] + "\n", "").replace(removed[1] + "\n", "")
    assert "vfs objects = acl_xattr" in new          # another VFS line: not the vendor's
    assert files.remove_lines(new, KES4LWKS) == (new, [])


def test_remove_lines_crlf_and_undecodable_bytes_survive():
    text = b"keep \xff\r\nicap_service is_kav_req reqmod_precache 0 icap://127.0.0.1:1344/av/reqmod\r\nend".decode(
        "utf-8", "surrogateescape")
    new, removed = files.remove_lines(text, [r'^\s*icap_service\s+\S+\s+\S+\s+.*icap://[^/\s]+:1344/av/\S*\s*$'])
    assert len(removed) == 1
    assert new.encode("utf-8", "surrogateescape") == b"keep \xff\r\nend"


def test_invalid_regexp_is_a_clear_error():
    with pytest.raises(RemovalError, match="invalid regular expression"):
        files.remove_lines("x", ["("])


KASPERSKY = PatternSet(["re:kaspersky"], search=True)


def matches(line):
    return KASPERSKY.match(line) is not None


@pytest.mark.parametrize("fmt, text, expected, removed, left", [
    # one-line apt: only the vendor's line goes; comments stay
    ("list",
     "# site mirror\ndeb http://deb.debian.org/debian bookworm main\ndeb https://repo.kaspersky.com/deb stable main\n",
     "# site mirror\ndeb http://deb.debian.org/debian bookworm main\n",
     ["deb https://repo.kaspersky.com/deb stable main"], 1),
    # a commented-out vendor line is not an entry: left alone
    ("list", "# deb https://repo.kaspersky.com/deb stable main\ndeb [trusted=yes] file:/srv/KASPERSKY ./\n",
     "# deb https://repo.kaspersky.com/deb stable main\n", ["deb [trusted=yes] file:/srv/KASPERSKY ./"], 0),
    ("list", "deb http://deb.debian.org/debian bookworm main\n", "deb http://deb.debian.org/debian bookworm main\n",
     [], 1),
    # deb822: the vendor's stanza goes, the other stays
    ("deb822",
     "Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm\n\n"
     "# vendor\nTypes: deb\nURIs: https://repo.kaspersky.com/deb\nSuites: stable\nComponents: main\n\n"
     "Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: bookworm\n",
     "Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm\n\n"
     "Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: bookworm\n",
     ["Types: deb"], 2),
    # yum/dnf/zypper ini: the vendor's section goes
    ("ini",
     "# managed by hand\n[baseos]\nname=BaseOS\nbaseurl=http://mirror/baseos\n\n"
     "[kaspersky]\nname=Kaspersky\nbaseurl=https://repo.kaspersky.com/rpm\nenabled=1\n\n"
     "[appstream]\nname=AppStream\nbaseurl=http://mirror/appstream\n",
     "# managed by hand\n[baseos]\nname=BaseOS\nbaseurl=http://mirror/baseos\n\n"
     "[appstream]\nname=AppStream\nbaseurl=http://mirror/appstream\n",
     ["[kaspersky]"], 2),
    ("ini", "[kl]\nbaseurl=https://repo.kaspersky.com/rpm\n", "", ["[kl]"], 0),
])
def test_clean_repo_text_table(fmt, text, expected, removed, left):
    new, gone, remaining = files.clean_repo_text(text, fmt, matches)
    assert (new, gone, remaining) == (expected, removed, left)


def test_apt_preferences_pins_every_architecture():
    text = files.apt_preferences("kaspersky", ["kesl", "kav4fs", "kesl"])
    assert "Package: kav4fs kav4fs:any kesl kesl:any\n" in text
    assert "Pin: release *\nPin-Priority: -1\n" in text


@pytest.mark.parametrize("before, present, expected, values", [
    ("[main]\ngpgcheck=1\n", True, "[main]\ngpgcheck=1\nexcludepkgs=kesl klnagent64\n", ["kesl", "klnagent64"]),
    ("[main]\ngpgcheck=1\nexcludepkgs=kernel*, foo\n\n[other]\nx=1\n", True,
     "[main]\ngpgcheck=1\nexcludepkgs=kernel*, foo, kesl, klnagent64\n\n[other]\nx=1\n",
     ["kernel*", "foo", "kesl", "klnagent64"]),
    ("[main]\nexclude = kernel* kesl\n", True, "[main]\nexclude = kernel* kesl klnagent64\n",
     ["kernel*", "kesl", "klnagent64"]),
    ("[main]\nexcludepkgs=kesl klnagent64\n", True, "[main]\nexcludepkgs=kesl klnagent64\n", ["kesl", "klnagent64"]),
    ("[main]\nexcludepkgs=kernel* kesl klnagent64\n", False, "[main]\nexcludepkgs=kernel*\n", ["kernel*"]),
    ("[main]\nexcludepkgs=kesl klnagent64\nbest=True\n", False, "[main]\nbest=True\n", []),
    ("", True, "[main]\nexcludepkgs=kesl klnagent64\n", ["kesl", "klnagent64"]),
    ("[other]\nexcludepkgs=x\n", True, "[main]\nexcludepkgs=kesl klnagent64\n\n[other]\nexcludepkgs=x\n",
     ["kesl", "klnagent64"]),
    ("[main]\ngpgcheck=1", True, "[main]\ngpgcheck=1\nexcludepkgs=kesl klnagent64\n", ["kesl", "klnagent64"]),
])
def test_merge_exclude_table(before, present, expected, values):
    new, dummy, after = files.merge_exclude(before, ["klnagent64", "kesl"], present=present)
    assert (new, after) == (expected, values)
    assert files.merge_exclude(new, ["klnagent64", "kesl"], present=present)[0] == new


def test_zypp_locks_keep_other_locks_and_are_idempotent():
    other = "type: package\nmatch_type: glob\ncase_sensitive: on\nsolvable_name: kernel-default\n"
    new, before, after = files.zypp_locks(other, "kaspersky", ["kesl", "klnagent64"])
    assert before == [] and after == ["kesl", "klnagent64"]
    assert new.startswith(other) and new.count("solvable_name:") == 3
    assert files.zypp_locks(new, "kaspersky", ["kesl", "klnagent64"])[0] == new
    gone, dummy, after = files.zypp_locks(new, "kaspersky", ["kesl", "klnagent64"], present=False)
    assert gone.strip() == other.strip() and after == []


# ------------------------------------------------------------------ writes stay inside the root

def _host(root, **kwargs):
    import pathlib
    import sys
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
    from removal_fakes import make_host
    return make_host(root, **kwargs)


def _edit(host, inner, before, after, backup=False):
    from ansible_collections.fleetsec.divest.plugins.module_utils._linux.host import Record
    record = Record()
    files.apply_edit(host, record, "block", inner, before, after, backup=backup)
    return record


def test_a_new_file_under_an_absolute_link_is_written_inside_the_root(tmp_path):
    # Fails on the code that wrote host.fs.host(inner) unresolved: the kernel followed
    # <root>/etc/dnf -> <outside> and the file landed outside the root.
    import os
    root = tmp_path / "root"
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "etc").mkdir(parents=True)
    os.symlink(str(outside), str(root / "etc/dnf"))          # absolute: inside the image it means <root><outside>
    _edit(_host(root), "/etc/dnf/dnf.conf", None, "[main]\nexcludepkgs=kesl\n")
    assert list(outside.iterdir()) == []
    assert (root / str(outside).lstrip("/") / "dnf.conf").read_text() == "[main]\nexcludepkgs=kesl\n"
    assert os.path.islink(str(root / "etc/dnf"))


def test_an_existing_file_through_a_link_and_its_backup_stay_inside_the_root(tmp_path):
    import os
    root = tmp_path / "root"
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "yum.conf").write_text("[main]\nhost's own\n")
    (root / "etc").mkdir(parents=True)
    (root / str(outside).lstrip("/")).mkdir(parents=True)
    (root / str(outside).lstrip("/") / "yum.conf").write_text("[main]\n")
    os.symlink(str(outside / "yum.conf"), str(root / "etc/yum.conf"))
    host = _host(root)
    text, dummy = files.read_text(host, "/etc/yum.conf")
    record = _edit(host, "/etc/yum.conf", text, "[main]\nexclude=kesl\n", backup=True)
    assert (outside / "yum.conf").read_text() == "[main]\nhost's own\n" and sorted(os.listdir(str(outside))) == ["yum.conf"]
    assert record.steps[0]["backup"].startswith(str(root) + "/")
    assert (root / str(outside).lstrip("/") / "yum.conf").read_text() == "[main]\nexclude=kesl\n"


def test_a_write_that_would_land_outside_the_root_is_refused(tmp_path, monkeypatch):
    # A link the resolution did not see (swapped in afterwards): the directory check refuses.
    import os
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    host = _host(root)
    monkeypatch.setattr(type(host.fs), "resolve_new", lambda self, inner: ("/etc/dnf/dnf.conf", 0))
    os.symlink(str(outside), str(root / "etc/dnf"))
    with pytest.raises(RemovalError, match="refusing to write /etc/dnf/dnf.conf: it would land in .*outside, outside the root"):
        _edit(host, "/etc/dnf/dnf.conf", None, "[main]\n")
    assert list(outside.iterdir()) == []


def test_on_the_live_root_a_link_to_the_real_file_is_followed(tmp_path):
    # /etc/yum.conf -> dnf/dnf.conf on RHEL 8+: editing "yum.conf" edits dnf.conf, the link stays.
    import os
    from ansible_collections.fleetsec.divest.plugins.module_utils._linux.host import Host
    etc = tmp_path / "etc"
    (etc / "dnf").mkdir(parents=True)
    (etc / "dnf/dnf.conf").write_text("[main]\ngpgcheck=1\n")
    os.symlink("dnf/dnf.conf", str(etc / "yum.conf"))
    host = Host(root="/")
    inner = str(etc / "yum.conf")
    text, dummy = files.read_text(host, inner)
    new, dummy, dummy2 = files.merge_exclude(text, ["kesl"], key="exclude")
    _edit(host, inner, text, new)
    assert os.path.islink(inner) and (etc / "dnf/dnf.conf").read_text() == "[main]\ngpgcheck=1\nexclude=kesl\n"
    # and a new file below an absolute link on the live root lands where the link points
    os.symlink(str(tmp_path / "real-plugins"), str(etc / "plugins"))
    _edit(host, str(etc / "plugins/versionlock.list"), None, "x\n")
    assert (tmp_path / "real-plugins/versionlock.list").read_text() == "x\n"


def test_a_delete_never_goes_through_a_link_on_the_way(tmp_path):
    import os
    root = tmp_path / "root"
    (root / "etc/apt").mkdir(parents=True)
    (root / "srv/lists").mkdir(parents=True)
    (root / "srv/lists/kaspersky.list").write_text("deb x\n")
    os.symlink("/srv/lists", str(root / "etc/apt/sources.list.d"))
    host = _host(root)
    with pytest.raises(RemovalError, match="refusing to delete .*through the symbolic link /etc/apt/sources.list.d"):
        _edit_delete(host, "/etc/apt/sources.list.d/kaspersky.list")
    assert (root / "srv/lists/kaspersky.list").exists()


def _edit_delete(host, inner):
    from ansible_collections.fleetsec.divest.plugins.module_utils._linux.host import Record
    files.apply_edit(host, Record(), "repos", inner, "deb x\n", "", delete=True)


def test_resolve_new_re_roots_missing_paths(tmp_path):
    import os
    from ansible_collections.fleetsec.divest.plugins.module_utils._linux.fs import RootFS
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    os.symlink("/elsewhere/deeper", str(root / "etc/dnf"))
    os.symlink("dnf/dnf.conf", str(root / "etc/yum.conf"))
    fs = RootFS(str(root))
    assert fs.resolve_new("/etc/dnf/dnf.conf") == ("/elsewhere/deeper/dnf.conf", 2)
    assert fs.resolve_new("/etc/yum.conf") == ("/elsewhere/deeper/dnf.conf", 2)
    assert fs.resolve_new("/etc/new/../other/x") == ("/etc/other/x", 1)
    assert fs.resolve_new("/etc") == ("/etc", 0)
