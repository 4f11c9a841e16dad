# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The layer the collector and the removal share (plugins/module_utils/_linux/): one layout, one
text rule, one Host. Each test here holds both sides to the same answer."""

import pathlib
import sys

import pytest

from ansible_collections.fleetsec.divest.plugins.module_utils._linux import layout
from ansible_collections.fleetsec.divest.plugins.module_utils._linux.host import Host, OptionError
from ansible_collections.fleetsec.divest.plugins.module_utils._linux.inventory import collector as inv
from ansible_collections.fleetsec.divest.plugins.module_utils._linux.removal import paths, system
from ansible_collections.fleetsec.divest.plugins.module_utils._linux.text import TRUNCATED, clean_text, first_lines

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from removal_fakes import make_host, write  # noqa: E402  pylint: disable=wrong-import-position


# --- repositories ------------------------------------------------------------------------------------

@pytest.mark.parametrize("inner, fmt", [
    ("/etc/apt/sources.list", "list"), ("/etc/apt/sources.list.d/k.list", "list"),
    ("/etc/apt/sources.list.d/k.sources", "deb822"), ("/etc/yum.repos.d/k.repo", "ini"),
    ("/etc/zypp/repos.d/k.repo", "ini"),
])
def test_repo_format_and_locations(inner, fmt):
    assert layout.repo_format(inner) == fmt
    assert layout.in_repo_locations(inner)


@pytest.mark.parametrize("inner", ["/etc/passwd", "/etc/apt/sources.list.d/sub/k.list", "/etc/yum.repos.d/k.conf",
                                   "/etc/apt/sources.list.d/../../passwd"])
def test_files_outside_the_repository_locations_are_not_repository_files(inner):
    assert not layout.in_repo_locations(inner)


def test_repository_files_are_listed_in_one_order_hidden_and_foreign_names_left_out():
    listing = {"/etc/apt/sources.list.d": ["z.list", "a.sources", ".hidden.list", "notes.txt"],
               "/etc/yum.repos.d": ["k.repo", "k.repo.rpmsave"], "/etc/zypp/repos.d": []}
    found = list(layout.repo_files(lambda directory: listing.get(directory, [])))
    assert found == ["/etc/apt/sources.list", "/etc/apt/sources.list.d/a.sources", "/etc/apt/sources.list.d/z.list",
                     "/etc/yum.repos.d/k.repo"]
    assert all(layout.in_repo_locations(path) for path in found)
    assert list(layout.repo_files(lambda directory: [], isfile=lambda path: False)) == []


# --- services ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, valid", [
    ("kesl", True), ("kesl-supervisor", True), ("kesl@scan", True), ("-kesl", True), ("a" * 248, True),
    ("kesl@", False), ("kesl@x@y", False), ("a b", False), ("--root=x", False), ("kesl\n", False), ("", False),
    ("a" * 249, False),
])
def test_one_unit_name_rule(name, valid):
    assert layout.is_unit_name(name) is valid


def _services_root(root):
    write(root, "/etc/systemd/system/kesl.service", "[Service]\n")
    write(root, "/usr/lib/systemd/system/kesl.service", "[Service]\n")       # shadowed
    write(root, "/usr/lib/systemd/system/klnagent64.service", "[Service]\n")
    write(root, "/run/systemd/system/kesl-runtime.service", "[Service]\n")    # the running system only
    write(root, "/etc/init.d/kesl-supervisor", "#!/bin/sh\n", 0o755)
    write(root, "/etc/rc.d/init.d/kav4fs-supervisor", "#!/bin/sh\n", 0o755)   # the Red Hat family's place
    write(root, "/etc/init.d/README", "not a service\n")
    write(root, "/etc/init.d/.hidden", "#!/bin/sh\n", 0o755)
    return root


@pytest.mark.parametrize("live, expected", [
    (False, {"kesl": "systemd", "klnagent64": "systemd", "kesl-supervisor": "sysv", "kav4fs-supervisor": "sysv"}),
    (True, {"kesl": "systemd", "klnagent64": "systemd", "kesl-runtime": "systemd", "kesl-supervisor": "sysv",
            "kav4fs-supervisor": "sysv"}),
])
def test_the_collector_and_the_removal_find_the_same_services(tmp_path, live, expected):
    host = make_host(_services_root(tmp_path / "root"), systemd=False, live=live)
    section = inv._Section("units")
    inv.gather_units(host, inv.Query(units=["re:.*"]), section, [])
    assert {u["name"]: u["kind"] for u in section.items} == expected
    assert [u["path"] for u in section.items if u["name"] == "kesl"] == ["/etc/systemd/system/kesl.service"]
    assert dict(system.resolve_services(host, ["re:.*"])) == expected


# --- what the residue guards protect ----------------------------------------------------------------

@pytest.mark.parametrize("directory", sorted(layout.SYSTEM_DIRS))
def test_every_directory_of_the_layout_is_protected(directory):
    assert paths.is_protected(directory)
    with pytest.raises(paths.UnsafePath):
        paths.check_pattern(directory)


@pytest.mark.parametrize("path", sorted(layout.SYSTEM_FILES))
def test_every_file_of_the_layout_is_protected(path):
    with pytest.raises(paths.UnsafePath):
        paths.check_residue_file(path)


# --- one text rule ------------------------------------------------------------------------------------

def test_command_output_is_cleaned_by_the_one_text_rule():
    out = b"\n  first \x1b[2J line\xff \nsecond\tline\n\n"
    assert first_lines(out) == clean_text(b"first \x1b[2J line\xff / second\tline")[0]
    assert first_lines(out) == "first \\x1b[2J line\ufffd / second\tline"
    assert first_lines(out, count=1) == "first \\x1b[2J line\ufffd"
    assert first_lines("x" * 40, limit=10) == "x" * 10 + TRUNCATED
    assert first_lines("Reading database ... 50%\nerror: kesl is busy", skip=("Reading database",)) == \
        "error: kesl is busy"


# --- one Host -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("root, fragment", [
    ("relative/root", "is not an absolute path"),
    ("/nonexistent/root/for/sure", "does not exist"),
    ("", "non-empty"),
    ("/tmp\x00x", "NUL"),
])
def test_one_root_rule_for_every_module(root, fragment):
    with pytest.raises(OptionError) as info:
        Host(root=root)
    assert info.value.option == "root" and str(info.value).startswith("root: ") and fragment in str(info.value)


def test_host_runs_commands_given_input_or_not(tmp_path):
    calls = []

    def one_argument(argv):
        calls.append(argv)
        return 0, b"out\xff", b""

    host = Host(root=str(tmp_path), run=one_argument)
    assert host.can_run and host.run(["true"]) == (0, "out\ufffd", "")
    assert calls == [["true"]]
    assert Host(root=str(tmp_path), run=lambda argv, data: (0, data, "")).run(["cat"], data="x") == (0, "x", "")
    assert not Host(root=str(tmp_path)).can_run


def test_host_shows_the_root_normalised(tmp_path):
    host = Host(root="//" + str(tmp_path).lstrip("/") + "/./")
    assert host.shown_root == str(tmp_path) and host.live is False
    assert Host(root="/").live is True
