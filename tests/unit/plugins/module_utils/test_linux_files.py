# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Editing files the vendor wrote into: configuration lines, repository entries, reinstall blocks."""

import pytest

from ansible_collections.fleetsec.divest.plugins.module_utils import _linux_files as files
from ansible_collections.fleetsec.divest.plugins.module_utils._linux_host import RemovalError
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


@pytest.mark.parametrize("inner, fmt", [
    ("/etc/apt/sources.list", "list"), ("/etc/apt/sources.list.d/k.list", "list"),
    ("/etc/apt/sources.list.d/k.sources", "deb822"), ("/etc/yum.repos.d/k.repo", "ini"),
    ("/etc/zypp/repos.d/k.repo", "ini"),
])
def test_repo_format_and_locations(inner, fmt):
    assert files.repo_format(inner) == fmt
    assert files.in_repo_locations(inner)


@pytest.mark.parametrize("inner", ["/etc/passwd", "/etc/apt/sources.list.d/sub/k.list", "/etc/yum.repos.d/k.conf",
                                   "/etc/apt/sources.list.d/../../passwd"])
def test_files_outside_the_repository_locations_are_not_repository_files(inner):
    assert not files.in_repo_locations(inner)


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
