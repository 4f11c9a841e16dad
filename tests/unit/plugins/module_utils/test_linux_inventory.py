# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Linux collector's gatherers and parsers (plugins/module_utils/_linux/inventory/ and the shared
readers of plugins/module_utils/_linux/)."""

import errno
import json
import os
import pathlib
import shutil
import stat
import subprocess
import sys

import pytest

from ansible_collections.fleetsec.divest.plugins.module_utils._linux.inventory import collector as inv
from ansible_collections.fleetsec.divest.plugins.module_utils._linux.inventory.dpkg import parse_status
from ansible_collections.fleetsec.divest.plugins.module_utils._linux.holds import (
    VersionLocks,
    glob_match,
    parse_versionlock_toml,
    parse_zypp_locks,
    rpm_spellings,
    zypp_lock_applies,
)
from ansible_collections.fleetsec.divest.plugins.module_utils._linux.fs import RootFS
from ansible_collections.fleetsec.divest.plugins.module_utils._linux.host import Host, OptionError
from ansible_collections.fleetsec.divest.plugins.module_utils._linux.inventory.rpm import parse_rpm_output, rpm_queryformat
from ansible_collections.fleetsec.divest.plugins.module_utils._linux.text import MAX_TEXT, TRUNCATED, clean_text
from ansible_collections.fleetsec.divest.plugins.module_utils._patterns import PatternSet
from ansible_collections.fleetsec.divest.plugins.plugin_utils._catalog import load_catalogs
from ansible_collections.fleetsec.divest.plugins.plugin_utils._matcher import build_query, match

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "linux"
sys.path.insert(0, str(FIXTURES))
import linux_root  # noqa: E402  pylint: disable=wrong-import-position

sys.path.remove(str(FIXTURES))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from removal_fakes import make_host  # noqa: E402  pylint: disable=wrong-import-position

STATUS = (FIXTURES / "dpkg-status").read_bytes()
LAB = "AO Kaspersky Lab <support@kaspersky.com>"


def names(*patterns):
    return PatternSet(list(patterns))


def search(*patterns):
    return PatternSet(list(patterns), search=True)


def keyed(records):
    return sorted((r["name"], r["arch"], r["status"], r["version"]) for r in records)


def collect(root, run=None, which=None, **query):
    return inv.collect(inv.Query(**query), Host(root=str(root), run=run, which=which or (lambda name: None)))


def live_host(root, run=None, which=None, systemd=True, proc=None):
    """A host over a temporary root that the collector takes for the running system."""
    return make_host(root, run, which=which or (lambda name: None), systemd=systemd, proc=proc, live=True)


def no_run(argv):
    raise AssertionError("no command may run here: %r" % (argv,))


def assert_json_safe(value):
    text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    text.encode("utf-8")  # strict: no lone surrogates
    return text


def para(**fields):
    """A dpkg paragraph as bytes; ``fields`` in order, values already bytes or str."""
    lines = []
    for key, value in fields.items():
        value = value if isinstance(value, bytes) else value.encode("utf-8")
        lines.append(key.replace("_", "-").encode("ascii") + b": " + value)
    return b"\n".join(lines) + b"\n"


def pkg(name, status="install ok installed", version="1.0-1", arch="amd64", maintainer=LAB, **extra):
    fields = dict(Package=name, Status=status, Maintainer=maintainer, Architecture=arch, Version=version)
    fields.update(extra)
    return para(**fields)


# --- dpkg: the realistic status file ---------------------------------------------------------------

ALL_NAMES = names("re:.*")


def test_dpkg_realistic_status_every_state():
    records, malformed = parse_status(STATUS, ALL_NAMES)
    assert malformed == 0
    assert keyed(records) == [
        ("base-files", "amd64", "installed", "12.4+deb12u5"),
        ("bash", "amd64", "installed", "5.2.15-2+b8"),
        ("kav4fs", "i386", "half-installed", "8.0.4-312"),
        ("kesl", "amd64", "installed", "12.1.0-1508"),
        ("kesl-astra", "amd64", "half-configured", "11.1.0-3013.mod"),
        ("kesl-gui", "amd64", "config-files", "12.1.0-1508"),
        ("klnagent", "amd64", "triggers-awaited", "15.1.0-20748"),
        ("klnagent", "i386", "unpacked", "15.1.0-20748"),
        ("klnagent64", "amd64", "installed", "15.1.0-20748"),
        ("libc-bin", "amd64", "triggers-pending", "2.36-9+deb12u10"),
        ("man-db", "amd64", "installed", "2.11.2-2"),
    ]  # kess (purge ok not-installed) is never returned


def test_dpkg_record_shape():
    records = parse_status(STATUS, names("kesl"))[0]
    assert records == [{"name": "kesl", "version": "12.1.0-1508", "arch": "amd64", "manager": "dpkg",
                        "status": "installed", "maintainer": LAB}]


@pytest.mark.parametrize("packages, maintainers, expected", [
    pytest.param(["kesl"], [], ["kesl"], id="exact-name-does-not-catch-kesl-gui"),
    pytest.param(["re:kesl.*"], [], ["kesl", "kesl-astra", "kesl-gui"], id="regex-full-match"),
    pytest.param(["re:kesl"], [], ["kesl"], id="regex-is-anchored"),
    pytest.param(["KESL"], [], [], id="names-are-case-sensitive"),
    pytest.param(["klnagent"], [], ["klnagent", "klnagent"], id="multi-arch-instances-are-separate"),
    pytest.param(["kess"], [], [], id="not-installed-never-returned"),
    pytest.param([], ["kaspersky"], ["kav4fs", "kesl", "kesl-astra", "kesl-gui", "klnagent", "klnagent",
                                     "klnagent64"], id="maintainer-substring-ignores-case"),
    pytest.param([], ["re:^ao kasp"], ["kesl", "kesl-astra", "kesl-gui", "klnagent", "klnagent",
                                       "klnagent64"], id="maintainer-regex-search"),
    pytest.param(["bash"], ["re:^kaspersky lab <"], ["bash", "kav4fs"], id="either-name-or-maintainer"),
    pytest.param([], [], [], id="empty-query-returns-nothing"),
])
def test_dpkg_filters(packages, maintainers, expected):
    records = parse_status(STATUS, names(*packages), search(*maintainers))[0]
    assert sorted(r["name"] for r in records) == expected


# --- dpkg: broken and hostile input ---------------------------------------------------------------------

BROKEN = [
    pytest.param(pkg("kesl").replace(b"\n", b"\r\n"), ["kesl"], 0, id="crlf"),
    pytest.param(pkg("bash", maintainer="Debian") + b"\n" + b"Package: kesl\nStatus: install ok installed\nVersion: 12.1",
                 ["kesl"], 0, id="truncated-last-paragraph"),
    pytest.param(pkg("bash", maintainer="Debian") + b"\n" + b"Package: kesl\nStat", [], 1,
                 id="truncated-before-status"),
    pytest.param(b"Package: kesl\nVersion: 1\n", [], 1, id="missing-status"),
    pytest.param(b"Package: kesl\nStatus: installed\n", [], 1, id="status-with-one-word"),
    pytest.param(b"Package: kesl\nStatus: install ok exploded\n", [], 1, id="unknown-state-word"),
    pytest.param(b"Package: kesl\nStatus: install ok installed\n", ["kesl"], 0, id="missing-version-arch"),
    pytest.param(b" stray continuation\nPackage: kesl\nStatus: install ok installed\n", ["kesl"], 0,
                 id="paragraph-starts-with-continuation"),
    pytest.param(b"package: kesl\nSTATUS: install ok installed\nversion: 2\n", ["kesl"], 0,
                 id="field-names-in-other-case"),
    pytest.param(b"Package : kesl\nStatus : install ok installed\n", ["kesl"], 0, id="space-before-colon"),
    pytest.param(b"Package:kesl\nStatus:install ok installed\n", ["kesl"], 0, id="no-space-after-colon"),
    pytest.param(b"Package: kesl\n Package: evil\nStatus: install ok installed\n", ["kesl"], 0,
                 id="continuation-is-not-a-field"),
    pytest.param(b"Description: x\n Package: kesl\n", [], 1, id="package-only-in-a-continuation"),
    pytest.param(b"\n\n\n" + pkg("kesl") + b"\n\n\n\n" + pkg("kesl-gui"), ["kesl", "kesl-gui"], 0,
                 id="extra-blank-lines"),
    pytest.param(pkg("kesl") + b"\n" + pkg("kesl", version="2"), ["kesl"], 0, id="duplicate-first-wins"),
    pytest.param(b"", [], 0, id="empty"),
    pytest.param(b"\n\n   \n", [], 1, id="whitespace-only"),
    pytest.param(bytes(range(256)) * 64, [], 1, id="binary-garbage"),
    pytest.param(b"\x00" * 5000 + b"\n\n" + pkg("kesl"), ["kesl"], 1, id="nul-bytes-then-a-package"),
    pytest.param(pkg("kesl", Description="x" * (10 * 1024 * 1024)), ["kesl"], 0, id="10MB-line"),
]


@pytest.mark.parametrize("data, expected, malformed", BROKEN)
def test_dpkg_broken_input_never_raises(data, expected, malformed):
    records, bad = parse_status(data, names("re:kesl.*"), search("kaspersky"))
    assert [r["name"] for r in records] == expected
    assert bad == malformed
    assert_json_safe(records)


def test_dpkg_duplicate_keeps_first_paragraph():
    records = parse_status(pkg("kesl", version="1") + b"\n" + pkg("kesl", version="2"), names("kesl"))[0]
    assert [r["version"] for r in records] == ["1"]


def test_dpkg_non_utf8_decodes_with_replacement():
    data = pkg("kesl", maintainer=b"\xc0\xc1 Kaspersky \xff Lab", version=b"12.1\xfe-1")
    records = parse_status(data, PatternSet(), search("kaspersky"))[0]
    assert records[0]["maintainer"] == "\ufffd\ufffd Kaspersky \ufffd Lab"
    assert records[0]["version"] == "12.1\ufffd-1"


def test_dpkg_name_with_invalid_utf8_is_still_matched_by_regex():
    records = parse_status(pkg(b"kesl\xff"), names("re:kesl.*"))[0]
    assert records[0]["name"] == "kesl\ufffd"


@pytest.mark.parametrize("journal, expected", [
    pytest.param([], [("kesl", "installed")], id="no-journal"),
    pytest.param([pkg("kesl", status="deinstall ok config-files")], [("kesl", "config-files")],
                 id="journal-overrides-status"),
    pytest.param([pkg("kesl", status="purge ok not-installed")], [], id="journal-removes"),
    pytest.param([pkg("kesl", status="install reinstreq half-installed"), pkg("kesl")],
                 [("kesl", "installed")], id="journal-files-apply-in-order"),
    pytest.param([pkg("kesl-gui", status="install ok unpacked")],
                 [("kesl", "installed"), ("kesl-gui", "unpacked")], id="journal-adds"),
    pytest.param([pkg("kesl", maintainer="Someone Else <x@example.org>")], [], id="journal-no-longer-matches"),
])
def test_dpkg_updates_journal(journal, expected):
    data = pkg("kesl") + b"\n" + pkg("bash", maintainer="Debian")
    records = parse_status(data, PatternSet(), search("kaspersky"), journal=journal)[0]
    assert [(r["name"], r["status"]) for r in records] == expected


def test_dpkg_synthetic_2500_packages():
    data = linux_root.synthetic_status(2500)
    assert len(data) > 2_500_000
    records, malformed = parse_status(data, names("kesl", "klnagent64", "kesl-gui"), search("re:kaspersky"))
    assert malformed == 0
    assert keyed(records) == [("kesl", "amd64", "installed", "12.1.0-1508"),
                              ("kesl-gui", "amd64", "config-files", "12.1.0-1508"),
                              ("klnagent64", "amd64", "installed", "15.1.0-20748")]


# --- dpkg through collect: files that are missing, empty or unreadable -----------------------------------

def test_dpkg_missing_status_file_is_no_dpkg(tmp_path):
    result = collect(tmp_path, packages=["kesl"])
    assert result["packages"] == [] and result["errors"] == []


def test_dpkg_empty_status_file_is_no_dpkg(tmp_path):
    linux_root.write(tmp_path, "/var/lib/dpkg/status", b"")
    result = collect(tmp_path, packages=["kesl"])
    assert result["packages"] == [] and result["errors"] == []


def test_dpkg_unreadable_status_is_an_error_and_collection_goes_on(tmp_path):
    linux_root.mkdir(tmp_path, "/var/lib/dpkg/status")  # open() fails with EISDIR
    linux_root.mkdir(tmp_path, "/opt/kaspersky")
    result = collect(tmp_path, packages=["kesl"], paths=["/opt/kaspersky"])
    assert result["packages"] == []
    assert [e["section"] for e in result["errors"]] == ["packages"]
    assert "/var/lib/dpkg/status" in result["errors"][0]["message"]
    assert result["paths"][0]["path"] == "/opt/kaspersky"


def _char_device(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("mknod needs root")
    linux_root.mkdir(tmp_path, "/dev")
    os.mknod(str(tmp_path) + "/dev/zero", 0o600 | stat.S_IFCHR, os.makedev(1, 5))


@pytest.mark.parametrize("make, errors", [
    pytest.param(lambda root, path: os.mkfifo(str(path)), ["not a regular file"], id="fifo-does-not-block"),
    pytest.param(lambda root, path: (_char_device(root), os.symlink("/dev/zero", str(path))),
                 ["not a regular file"], id="device-is-not-read"),
    pytest.param(lambda root, path: os.symlink("/dev/zero", str(path)), [],
                 id="link-to-the-scanners-dev-zero-is-re-rooted"),
])
def test_dpkg_status_that_is_not_a_file(tmp_path, make, errors):
    linux_root.mkdir(tmp_path, "/var/lib/dpkg")
    make(tmp_path, tmp_path / "var" / "lib" / "dpkg" / "status")
    result = collect(tmp_path, packages=["kesl"])
    assert result["packages"] == []
    assert [e["message"].rsplit(": ", 1)[-1] for e in result["errors"]] == errors


def test_dpkg_garbage_status_is_reported(tmp_path):
    linux_root.write(tmp_path, "/var/lib/dpkg/status", os.urandom(64 * 1024).replace(b"\n\n", b"\n"))
    result = collect(tmp_path, packages=["kesl"])
    assert result["packages"] == []
    assert "malformed" in result["errors"][0]["message"]


def test_dpkg_journal_is_read_from_the_updates_directory(tmp_path):
    root = linux_root.build_root(tmp_path / "root")
    linux_root.write(root, "/var/lib/dpkg/updates/0001",
                     pkg("kesl", status="deinstall ok config-files", version="12.1.0-1508"))
    linux_root.write(root, "/var/lib/dpkg/updates/tmp.i", pkg("kesl", status="purge ok not-installed"))
    result = collect(root, packages=["kesl"])
    assert [(p["name"], p["status"]) for p in result["packages"]] == [("kesl", "config-files")]


# --- hostile values: data, capped, JSON-safe ------------------------------------------------------------------

@pytest.mark.parametrize("maintainer, expected", [
    pytest.param("<script>alert(1)</script> Kaspersky", "<script>alert(1)</script> Kaspersky", id="html-is-data"),
    pytest.param("=cmd|' /C calc'!A0 Kaspersky", "=cmd|' /C calc'!A0 Kaspersky", id="csv-formula-is-data"),
    pytest.param(b"Kaspersky\x1b[31mred\x07", "Kaspersky\\x1b[31mred\\x07", id="control-chars-escaped"),
    pytest.param(b"Kaspersky\x00Lab", "Kaspersky\\x00Lab", id="nul-escaped"),
    pytest.param("Kaspersky \u041a\u0430\u0441\u043f\u0435\u0440\u0441\u043a\u0438\u0439",
                 "Kaspersky \u041a\u0430\u0441\u043f\u0435\u0440\u0441\u043a\u0438\u0439", id="utf8-kept"),
])
def test_hostile_maintainer_is_returned_as_data(tmp_path, maintainer, expected):
    linux_root.write(tmp_path, "/var/lib/dpkg/status", pkg("kesl", maintainer=maintainer,
                                                           Description="<script>x</script>\n =cmd|calc"))
    result = collect(tmp_path, package_maintainers=["kaspersky"])
    assert result["packages"][0]["maintainer"] == expected
    assert result["errors"] == []
    assert_json_safe(result)


def test_long_values_are_truncated_and_reported(tmp_path):
    name = "kesl" + "x" * 20000
    linux_root.write(tmp_path, "/var/lib/dpkg/status", pkg(name))
    result = collect(tmp_path, packages=["re:kesl.*"])
    value = result["packages"][0]["name"]
    assert value == name[:MAX_TEXT] + TRUNCATED
    assert result["errors"] == [{"section": "packages",
                                 "message": "1 values longer than 512 characters were truncated", "limit": True}]


def test_sections_are_capped(tmp_path):
    data = b"\n".join(pkg("kesl-%04d" % i) for i in range(1500))
    linux_root.write(tmp_path, "/var/lib/dpkg/status", data)
    result = collect(tmp_path, packages=["re:kesl-.*"])
    assert len(result["packages"]) == inv.MAX_ITEMS
    assert result["errors"] == [{"section": "packages",
                                 "message": "500 more items not returned (at most 1000 per section)", "limit": True}]
    assert len(json.dumps(result)) < 300 * 1024


@pytest.mark.parametrize("value, expected, truncated", [
    pytest.param(None, None, False, id="none"),
    pytest.param(b"\xff\xfekesl", "\ufffd\ufffdkesl", False, id="bytes-replace"),
    pytest.param("/opt/\udcffkesl", "/opt/\ufffdkesl", False, id="surrogateescape-from-os"),
    pytest.param("\ud800x", "\ufffd\ufffd\ufffdx", False, id="lone-surrogate"),
    pytest.param("a\tb\nc\rd\x7f", "a\tb\\x0ac\\x0dd\\x7f", False, id="controls-but-tab"),
    pytest.param("x" * 600, "x" * 512 + TRUNCATED, True, id="long"),
    pytest.param(12, "12", False, id="not-a-string"),
])
def test_clean_text(value, expected, truncated):
    assert clean_text(value) == (expected, truncated)


# --- rpm ---------------------------------------------------------------------------------------------------------------

TOKEN = "0123456789abcdef01234567"


def rpm_line(token, name, epoch, version, release, arch, vendor):
    sep = "@@F%s@@" % token
    return (sep.join([name, epoch, version, release, arch, vendor]) + "@@R%s@@\n" % token).encode("utf-8")


def test_rpm_queryformat_uses_the_token():
    fmt = rpm_queryformat(TOKEN)
    assert fmt == ("%{NAME}@@F{t}@@%{EPOCH}@@F{t}@@%{VERSION}@@F{t}@@%{RELEASE}@@F{t}@@%{ARCH}@@F{t}@@"
                   "%{VENDOR}@@R{t}@@\\n").replace("{t}", TOKEN)


@pytest.mark.parametrize("fields, expected", [
    pytest.param(("kesl", "(none)", "12.1.0", "1508", "x86_64", "AO Kaspersky Lab"),
                 ("kesl", "12.1.0-1508", "x86_64", "AO Kaspersky Lab"), id="no-epoch"),
    pytest.param(("kesl", "2", "12.1.0", "1508", "x86_64", "AO Kaspersky Lab"),
                 ("kesl", "2:12.1.0-1508", "x86_64", "AO Kaspersky Lab"), id="epoch"),
    pytest.param(("kesl", "0", "12.1.0", "1508", "aarch64", "(none)"),
                 ("kesl", "0:12.1.0-1508", "aarch64", None), id="explicit-epoch-0-no-vendor"),
    pytest.param(("kesl", "(none)", "1", "(none)", "(none)", "Kaspersky"),
                 ("kesl", "1", None, "Kaspersky"), id="no-release-no-arch"),
    pytest.param(("kesl", "(none)", "1", "2", "noarch", "Kaspersky|evil\tx\nkesl|9|9|9|x86_64|forged"),
                 ("kesl", "1-2", "noarch", "Kaspersky|evil\tx\nkesl|9|9|9|x86_64|forged"),
                 id="hostile-vendor-cannot-shift-columns"),
])
def test_rpm_output_parsing(fields, expected):
    out = rpm_line(TOKEN, "bash", "(none)", "5.1.8", "9.el9", "x86_64", "Red Hat, Inc.") + rpm_line(TOKEN, *fields)
    records, malformed = parse_rpm_output(out, TOKEN, names("kesl"), search("kaspersky"))
    assert malformed == 0
    assert [(r["name"], r["version"], r["arch"], r["maintainer"]) for r in records] == [expected]
    assert records[0]["manager"] == "rpm" and records[0]["status"] == "installed"


def test_rpm_output_forged_separator_without_the_token_is_malformed():
    out = rpm_line(TOKEN, "kesl", "(none)", "1", "1", "x86_64", "v") + b"kesl@@F@@1@@R@@\nrest"
    records, malformed = parse_rpm_output(out, TOKEN, names("kesl"))
    assert len(records) == 1 and malformed == 1


def test_rpm_output_maintainer_filter_and_sorting():
    out = b"".join(rpm_line(TOKEN, *f) for f in [
        ("klnagent64", "(none)", "15.1.0", "20748", "x86_64", "AO Kaspersky Lab"),
        ("kesl", "(none)", "12.1.0", "1508", "x86_64", "AO Kaspersky Lab"),
        ("gpg-pubkey", "(none)", "abc", "def", "(none)", "(none)"),
        ("bash", "(none)", "5.1.8", "9.el9", "x86_64", "Red Hat, Inc."),
    ])
    records = parse_rpm_output(out, TOKEN, PatternSet(), search("re:kaspersky"))[0]
    assert [r["name"] for r in records] == ["kesl", "klnagent64"]


class FakeRunner(object):
    def __init__(self, rc=0, out=b"", err=b"", rows=(), exc=None):
        self.calls = []
        self.rc, self.out, self.err, self.rows, self.exc = rc, out, err, rows, exc

    def __call__(self, argv):
        self.calls.append(argv)
        if self.exc:
            raise self.exc
        if self.rows:
            fmt = argv[argv.index("--queryformat") + 1]
            token = fmt.split("@@F", 1)[1].split("@@", 1)[0]
            return self.rc, b"".join(rpm_line(token, *row) for row in self.rows), self.err
        return self.rc, self.out, self.err


def rpm_root(tmp_path, dbdir="/var/lib/rpm", dbfile="rpmdb.sqlite"):
    linux_root.write(tmp_path, dbdir + "/" + dbfile, b"SQLite format 3\x00")
    return tmp_path


@pytest.mark.parametrize("dbdir, dbfile", [
    ("/var/lib/rpm", "rpmdb.sqlite"),
    ("/var/lib/rpm", "Packages"),
    ("/usr/lib/sysimage/rpm", "Packages.db"),
])
def test_rpm_offline_one_call_with_root_and_dbpath(tmp_path, dbdir, dbfile):
    root = rpm_root(tmp_path, dbdir, dbfile)
    runner = FakeRunner(rows=[("kesl", "(none)", "12.1.0", "1508", "x86_64", "AO Kaspersky Lab")])
    result = collect(root, run=runner, which=lambda name: "/usr/bin/" + name, packages=["kesl"])
    assert len(runner.calls) == 1
    argv = runner.calls[0]
    assert isinstance(argv, list)
    assert argv[:3] == ["/usr/bin/rpm", "--query", "--all"]
    assert argv[-4:] == ["--root", str(root), "--dbpath", dbdir]
    assert [(p["name"], p["version"], p["manager"]) for p in result["packages"]] == [("kesl", "12.1.0-1508", "rpm")]
    assert result["errors"] == []


def test_rpm_token_is_random_per_call(tmp_path):
    root = rpm_root(tmp_path)
    runner = FakeRunner()
    for _attempt in range(2):
        collect(root, run=runner, which=lambda name: "/bin/rpm", packages=["kesl"])
    assert runner.calls[0][4] != runner.calls[1][4]


@pytest.mark.parametrize("runner, which, message", [
    pytest.param(FakeRunner(rc=1, err=b"error: cannot open Packages database in /var/lib/rpm\nmore"),
                 lambda n: "/bin/rpm", "rpm exited with 1: error: cannot open Packages database in /var/lib/rpm",
                 id="rpm-fails"),
    pytest.param(FakeRunner(exc=OSError(8, "Exec format error")), lambda n: "/bin/rpm",
                 "rpm could not be run: [Errno 8] Exec format error", id="rpm-cannot-run"),
    pytest.param(FakeRunner(), lambda n: None,
                 "an rpm database is in /var/lib/rpm but no rpm command was found", id="no-rpm-binary"),
    pytest.param(None, lambda n: "/bin/rpm",
                 "an rpm database is in /var/lib/rpm but this collector cannot run commands", id="no-runner"),
])
def test_rpm_failures_are_errors_not_crashes(tmp_path, runner, which, message):
    linux_root.write(tmp_path, "/var/lib/dpkg/status", pkg("kesl"))
    result = collect(rpm_root(tmp_path), run=runner, which=which, packages=["kesl"])
    assert result["errors"] == [{"section": "packages", "message": message, "limit": False}]
    assert [p["manager"] for p in result["packages"]] == ["dpkg"]  # dpkg still collected


def test_rpm_not_called_without_database(tmp_path):
    linux_root.mkdir(tmp_path, "/var/lib/rpm")  # Debian's rpm package leaves an empty directory
    result = collect(tmp_path, run=no_run, which=lambda n: "/bin/rpm", packages=["kesl"])
    assert result["errors"] == []


def test_rpm_not_called_without_package_query(tmp_path):
    collect(rpm_root(tmp_path), run=no_run, which=lambda n: "/bin/rpm", paths=["/etc"])


def _real_rpm_root(tmp_path):
    if not (shutil.which("rpm") and shutil.which("rpmbuild")):
        pytest.skip("rpm and rpmbuild are needed")
    spec = tmp_path / "kesl.spec"
    spec.write_text(
        "Name: kesl\nVersion: 12.1.0\nRelease: 1508\nEpoch: 2\nSummary: fake\nLicense: none\n"
        "Vendor: AO Kaspersky Lab @@F|x|@@\ttab\nBuildArch: noarch\n%description\nfake\n%files\n")
    top = tmp_path / "top"
    root = tmp_path / "root"
    root.mkdir()
    try:
        subprocess.run(["rpmbuild", "-bb", "--define", "_topdir %s" % top, str(spec)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
        rpm_file = next((top / "RPMS" / "noarch").glob("*.rpm"))
        subprocess.run(["rpm", "--root", str(root), "--dbpath", "/var/lib/rpm", "-i", "--justdb", "--nodeps",
                        "--noscripts", "--notriggers", str(rpm_file)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
    except (subprocess.SubprocessError, OSError, StopIteration) as exc:
        pytest.skip("cannot build a test rpm database here: %s" % exc)
    return root


def test_rpm_real_database(tmp_path):
    """The real rpm accepts the argv and the queryformat, and its output parses back."""
    root = _real_rpm_root(tmp_path)

    def run(argv):
        proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120,
                              env=dict(os.environ, LC_ALL="C"), check=False)
        return proc.returncode, proc.stdout, proc.stderr

    result = collect(root, run=run, which=shutil.which, package_maintainers=["kaspersky"])
    assert result["packages"] == [{"name": "kesl", "version": "2:12.1.0-1508", "arch": "noarch",
                                   "manager": "rpm", "status": "installed",
                                   "maintainer": "AO Kaspersky Lab @@F|x|@@\ttab"}]


# --- units -------------------------------------------------------------------------------------------------------------

def test_units_offline_first_found_wins_and_sysv(tmp_path):
    root = linux_root.build_root(tmp_path / "root")
    result = collect(root, run=no_run, units=["kesl", "klnagent64", "kesl-supervisor", "klnagent"])
    assert result["units"] == [
        {"name": "kesl", "kind": "systemd", "path": "/etc/systemd/system/kesl.service",
         "active": None, "enabled": None},
        {"name": "kesl-supervisor", "kind": "sysv", "path": "/etc/init.d/kesl-supervisor",
         "active": None, "enabled": None},
        {"name": "klnagent64", "kind": "systemd", "path": "/lib/systemd/system/klnagent64.service",
         "active": None, "enabled": None},
    ]
    assert {"section": "unit_states", "reason": "offline root: active and enabled are not collected"} \
        in result["skipped"]
    assert not (root / "EXECUTED").exists()  # the init script was never run


@pytest.mark.parametrize("patterns, expected", [
    pytest.param(["kesl"], ["kesl"], id="exact"),
    pytest.param(["re:kesl.*"], ["kesl", "kesl-supervisor"], id="regex"),
    pytest.param(["re:kesl.*\\.service"], [], id="base-name-without-suffix"),
    pytest.param(["cron"], ["cron", "cron"], id="unit-and-init-script"),
    pytest.param([], [], id="no-query"),
])
def test_units_matching(tmp_path, patterns, expected):
    root = linux_root.build_root(tmp_path / "root")
    result = collect(root, units=patterns)
    assert [u["name"] for u in result["units"]] == expected


def test_units_only_in_usr_lib(tmp_path):
    linux_root.write(tmp_path, "/usr/lib/systemd/system/kesl.service", b"[Unit]\n")
    result = collect(tmp_path, units=["kesl"])
    assert result["units"][0]["path"] == "/usr/lib/systemd/system/kesl.service"


def test_units_directory_as_absolute_link_stays_in_root(tmp_path):
    """A merged-/usr image whose /lib is an absolute link must not list the scanner's /usr/lib."""
    linux_root.write(tmp_path, "/usr/lib/systemd/system/kesl.service", b"[Unit]\n")
    linux_root.link(tmp_path, "/lib", "/usr/lib")
    result = collect(tmp_path, units=["kesl", "re:.*"])
    assert [(u["name"], u["path"]) for u in result["units"]] == [("kesl", "/lib/systemd/system/kesl.service")]


SHOW = b"""Id=kesl.service
LoadState=loaded
ActiveState=active
UnitFileState=enabled

Id=kesl-supervisor.service
LoadState=loaded
ActiveState=failed
UnitFileState=generated

Id=klnagent64.service
LoadState=loaded
ActiveState=inactive
UnitFileState=disabled
"""


def test_units_live_states_one_systemctl_call(tmp_path):
    root = linux_root.build_root(tmp_path / "root")
    runner = FakeRunner(out=SHOW)
    section = inv._Section("units")
    skipped = []
    inv.gather_units(live_host(root, runner, lambda name: "/bin/systemctl"),
                     inv.Query(units=["kesl", "klnagent64", "kesl-supervisor"]), section, skipped)
    assert runner.calls == [["/bin/systemctl", "show", "--no-pager", "--property=Id", "--property=LoadState",
                             "--property=ActiveState", "--property=UnitFileState", "--",
                             "kesl.service", "kesl-supervisor.service", "klnagent64.service"]]
    assert [(u["name"], u["kind"], u["active"], u["enabled"]) for u in section.items] == [
        ("kesl", "systemd", "active", "enabled"),
        ("kesl-supervisor", "sysv", "failed", "generated"),
        ("klnagent64", "systemd", "inactive", "disabled"),
    ]
    assert skipped == [] and section.errors == []


def test_units_sysv_script_shadowed_by_a_native_unit_gets_no_state(tmp_path):
    root = linux_root.build_root(tmp_path / "root")
    section = inv._Section("units")
    show = b"Id=cron.service\nLoadState=loaded\nActiveState=active\nUnitFileState=enabled\n"
    inv.gather_units(live_host(root, FakeRunner(out=show), lambda name: "/bin/systemctl"), inv.Query(units=["cron"]),
                     section, [])
    assert [(u["kind"], u["active"]) for u in section.items] == [("systemd", "active"), ("sysv", None)]


@pytest.mark.parametrize("runner, which, message", [
    pytest.param(FakeRunner(rc=1, err=b"Failed to connect to bus"), lambda n: "/bin/systemctl",
                 "systemctl show failed (rc 1): Failed to connect to bus", id="fails"),
    pytest.param(FakeRunner(out=b"Id=kesl.service\n"), lambda n: "/bin/systemctl",
                 "systemctl show failed (rc 0): unexpected output", id="wrong-block-count"),
    pytest.param(FakeRunner(), lambda n: None,
                 "systemd runs but systemctl cannot be run: unit states not collected", id="no-systemctl"),
])
def test_units_systemctl_failures(tmp_path, runner, which, message):
    root = linux_root.build_root(tmp_path / "root")
    section = inv._Section("units")
    inv.gather_units(live_host(root, runner, which), inv.Query(units=["kesl", "klnagent64"]), section, [])
    assert [u["active"] for u in section.items] == [None, None]
    assert section.errors == [{"section": "units", "message": message}]


def test_units_hostile_names_are_not_passed_to_systemctl(tmp_path):
    linux_root.write(tmp_path, "/etc/systemd/system/--root=x.service", b"")
    linux_root.write(tmp_path, "/etc/systemd/system/a b.service", b"")
    linux_root.write(tmp_path, "/etc/systemd/system/kesl.service", b"")
    linux_root.write(tmp_path, "/etc/systemd/system/kesl@.service", b"")  # a template has no state
    linux_root.write(tmp_path, "/etc/systemd/system/kesl@x@y.service", b"")
    linux_root.write(tmp_path, "/etc/systemd/system/kesl@scan.service", b"")
    runner = FakeRunner(out=b"ActiveState=active\nUnitFileState=enabled\n\nActiveState=inactive\n")
    section = inv._Section("units")
    inv.gather_units(live_host(tmp_path, runner, lambda n: "/bin/systemctl"), inv.Query(units=["re:.*"]), section, [])
    assert runner.calls[0][-3:] == ["--", "kesl.service", "kesl@scan.service"]
    assert sorted((u["name"], u["active"]) for u in section.items) == [
        ("--root=x", None), ("a b", None), ("kesl", "active"), ("kesl@", None),
        ("kesl@scan", "inactive"), ("kesl@x@y", None)]
    assert section.errors == []


def test_units_live_without_systemd_is_skipped(tmp_path):
    root = linux_root.build_root(tmp_path / "root")
    section = inv._Section("units")
    skipped = []
    inv.gather_units(live_host(root, no_run, lambda n: "/bin/systemctl", systemd=False), inv.Query(units=["kesl"]),
                     section, skipped)
    assert skipped == [{"section": "unit_states",
                        "reason": "systemd is not running: active and enabled are not collected"}]


# --- processes and kernel modules ------------------------------------------------------------------------------------------

def fake_proc(tmp_path):
    proc = tmp_path / "proc"
    entries = {
        "1": ("/usr/lib/systemd/systemd", "systemd", b"/sbin/init\x00"),
        "412": ("/opt/kaspersky/kesl/libexec/kesl", "kesl", b"kesl\x00"),
        "413": ("/opt/kaspersky/kesl/libexec/kesl (deleted)", "kesl", b"kesl\x00"),
        "500": ("/opt/kaspersky/klnagent64/sbin/klnagent", "klnagent", b"klnagent\x00"),
        "2": (None, "kthreadd", b""),                  # kernel thread: no exe link
        "77": ("unreadable", "klnagent", b"klnagent\x00"),  # exe unreadable: comm fallback
        "78": ("unreadable", "kesl", b""),             # unreadable exe, no cmdline: kernel thread
        "999": (None, None, None),                      # vanished
    }
    for pid, (exe, comm, cmdline) in entries.items():
        d = proc / pid
        d.mkdir(parents=True)
        if exe == "unreadable":
            (d / "exe").write_bytes(b"")  # readlink fails with EINVAL, like EACCES for the collector
        elif exe:
            os.symlink(exe, str(d / "exe"))
        if comm:
            (d / "comm").write_text(comm + "\n")
        if cmdline is not None:
            (d / "cmdline").write_bytes(cmdline)
    (proc / "self").mkdir()
    (proc / "modules").write_text(
        "kl_filemon 16384 0 - Live 0x0000000000000000 (OE)\n"
        "ext4 999424 1 - Live 0x0000000000000000\n"
        "klif 40960 2 kl_filemon, Live 0x0000000000000000 (OE)\n")
    return proc


@pytest.mark.parametrize("patterns, expected", [
    pytest.param(["kesl"], [(412, "kesl", "/opt/kaspersky/kesl/libexec/kesl"),
                            (413, "kesl", "/opt/kaspersky/kesl/libexec/kesl")], id="deleted-suffix-stripped"),
    pytest.param(["klnagent"], [(77, "klnagent", None), (500, "klnagent", "/opt/kaspersky/klnagent64/sbin/klnagent")],
                 id="comm-fallback"),
    pytest.param(["kthreadd"], [], id="kernel-threads-skipped"),
    pytest.param(["re:k.*"], [(77, "klnagent", None), (412, "kesl", "/opt/kaspersky/kesl/libexec/kesl"),
                              (413, "kesl", "/opt/kaspersky/kesl/libexec/kesl"),
                              (500, "klnagent", "/opt/kaspersky/klnagent64/sbin/klnagent")], id="regex"),
    pytest.param([], [], id="no-query"),
])
def test_processes(tmp_path, patterns, expected):
    section = inv._Section("processes")
    inv.gather_processes(live_host(tmp_path, proc=str(fake_proc(tmp_path))), inv.Query(processes=patterns), section)
    assert [(p["pid"], p["name"], p["exe"]) for p in section.items] == expected
    assert section.errors == []


@pytest.mark.parametrize("patterns, expected", [
    (["klif"], ["klif"]),
    (["re:kl.*"], ["kl_filemon", "klif"]),
    (["kl"], []),
])
def test_kernel_modules(tmp_path, patterns, expected):
    section = inv._Section("kernel_modules")
    inv.gather_kernel_modules(live_host(tmp_path, proc=str(fake_proc(tmp_path))), inv.Query(kernel_modules=patterns),
                              section)
    assert [m["name"] for m in section.items] == expected


def test_offline_root_skips_live_sections(tmp_path):
    result = collect(tmp_path, processes=["kesl"], kernel_modules=["klif"])
    assert result["live"] is False
    assert [s["section"] for s in result["skipped"]] == ["processes", "kernel_modules"]
    assert result["processes"] == [] and result["kernel_modules"] == []


def test_live_scan_reads_proc():
    result = inv.collect(inv.Query(processes=["re:python.*"], kernel_modules=["re:.*"]),
                         Host(root="/", run=no_run, which=lambda n: None))
    assert result["live"] is True
    assert os.getpid() in [p["pid"] for p in result["processes"]]
    assert [s["section"] for s in result["skipped"]] == []
    assert_json_safe(result)


# --- paths: resolution inside the root --------------------------------------------------------------------------------------

def test_paths_absolute_link_is_resolved_inside_root(tmp_path):
    root = linux_root.build_root(tmp_path / "root")
    result = collect(root, paths=["/opt/kaspersky/kesl", "/opt/kaspersky/kesl/bin/kesl-control",
                                  "/opt/kaspersky/kesl/bin"])
    assert result["paths"] == [
        {"path": "/opt/kaspersky/kesl", "type": "link", "target": linux_root.KESL_INSTALL,
         "pattern": "/opt/kaspersky/kesl"},
        {"path": "/opt/kaspersky/kesl/bin/kesl-control", "type": "file", "target": None,
         "pattern": "/opt/kaspersky/kesl/bin/kesl-control"},
        {"path": "/opt/kaspersky/kesl/bin", "type": "directory", "target": None,
         "pattern": "/opt/kaspersky/kesl/bin"},
    ]
    assert result["errors"] == []


def test_paths_absolute_link_never_reaches_the_scanning_machine(tmp_path):
    """The link target exists on the scanning machine but not in the image: not found."""
    outside = tmp_path / "outside"
    (outside / "kesl" / "bin").mkdir(parents=True)
    (outside / "kesl" / "bin" / "kesl-control").write_bytes(b"host file")
    root = tmp_path / "img"
    linux_root.link(root, "/opt/kaspersky/kesl", str(outside / "kesl"))
    result = collect(root, paths=["/opt/kaspersky/kesl/bin/kesl-control", "/opt/kaspersky/kesl"])
    assert [p["path"] for p in result["paths"]] == ["/opt/kaspersky/kesl"]  # the link itself only


@pytest.mark.parametrize("query, shown", [
    pytest.param("/opt/up/etc/marker", "/opt/up/etc/marker", id="relative-link-up-to-the-root"),
    pytest.param("/opt/abs/etc/marker", "/opt/abs/etc/marker", id="absolute-link-with-dotdot"),
    pytest.param("/../../../etc/marker", "/etc/marker", id="dotdot-in-the-query"),
    pytest.param("/opt/../../etc/marker", "/etc/marker", id="dotdot-in-the-middle"),
])
def test_paths_dotdot_cannot_escape_root(tmp_path, query, shown):
    root = tmp_path / "a" / "b" / "img"
    linux_root.write(root, "/etc/marker", b"inside")
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "marker").write_bytes(b"OUTSIDE")  # where an escape would land
    (tmp_path / "a" / "etc").mkdir()
    (tmp_path / "a" / "etc" / "marker").write_bytes(b"OUTSIDE")
    linux_root.link(root, "/opt/up", "../../../../../../../..")
    linux_root.link(root, "/opt/abs", "/../../../..")
    result = collect(root, paths=[query])
    assert [(p["path"], p["type"]) for p in result["paths"]] == [(shown, "file")]
    fs = RootFS(str(root))
    with open(fs.host_path(query), "rb") as handle:
        assert handle.read() == b"inside"


def test_paths_symlink_loop_is_bounded(tmp_path):
    linux_root.link(tmp_path, "/opt/loop1", "/opt/loop2")
    linux_root.link(tmp_path, "/opt/loop2", "loop1")
    linux_root.link(tmp_path, "/opt/self", "/opt/self")
    result = collect(tmp_path, paths=["/opt/loop1", "/opt/loop1/bin/kesl", "/opt/self/x", "/opt/*/x"])
    assert [(p["path"], p["type"], p["target"]) for p in result["paths"]] == [("/opt/loop1", "link", "/opt/loop2")]
    assert [e["message"] for e in result["errors"]] == [
        "/opt/loop1/bin/kesl: too many levels of symbolic links",
        "/opt/self/x: too many levels of symbolic links",
        "/opt/loop1/x: too many levels of symbolic links",
        "/opt/loop2/x: too many levels of symbolic links",
    ]


def test_paths_globs_types_and_dedup(tmp_path):
    root = linux_root.build_root(tmp_path / "root")
    os.mkfifo(str(root) + "/var/opt/kaspersky/kesl/fifo")
    linux_root.mkdir(root, "/var/opt/kaspersky/kesl/.hidden_install_1")
    result = collect(root, paths=["/var/opt/kaspersky/kesl/install_*", "/var/opt/kaspersky/kesl/*",
                                  "/var/opt/kaspersky/kesl/fifo", "/nonexistent/*", "/etc/os-release",
                                  "/var/opt/kaspersky/kesl/install_[0-9]*/opt"])
    assert [(p["path"], p["type"], p["pattern"]) for p in result["paths"]] == [
        ("/var/opt/kaspersky/kesl/install_12.2.0.2412", "directory", "/var/opt/kaspersky/kesl/install_*"),
        ("/var/opt/kaspersky/kesl/common", "directory", "/var/opt/kaspersky/kesl/*"),
        ("/var/opt/kaspersky/kesl/fifo", "other", "/var/opt/kaspersky/kesl/*"),
        ("/var/opt/kaspersky/kesl/install-current", "link", "/var/opt/kaspersky/kesl/*"),
        ("/etc/os-release", "link", "/etc/os-release"),
        ("/var/opt/kaspersky/kesl/install_12.2.0.2412/opt", "directory",
         "/var/opt/kaspersky/kesl/install_[0-9]*/opt"),
    ]
    assert result["paths"][3]["target"] == "install_12.2.0.2412"


def test_paths_glob_through_an_absolute_link(tmp_path):
    root = linux_root.build_root(tmp_path / "root")
    result = collect(root, paths=["/opt/kaspersky/*/bin/*"])
    assert [p["path"] for p in result["paths"]] == ["/opt/kaspersky/kesl/bin/kesl-control"]


def test_paths_live_root(tmp_path):
    target = tmp_path / "probe"
    target.mkdir()
    result = inv.collect(inv.Query(paths=[str(target), str(tmp_path / "missing")]), Host(root="/", run=no_run))
    assert result["paths"] == [{"path": str(target), "type": "directory", "target": None,
                                "pattern": str(target)}]


def test_paths_undecodable_names_are_json_safe(tmp_path):
    os.makedirs(os.fsencode(str(tmp_path)) + b"/opt/kaspersky/\xff\xfe")
    result = collect(tmp_path, paths=["/opt/kaspersky/*"])
    assert result["paths"][0]["path"] == "/opt/kaspersky/\ufffd\ufffd"
    assert_json_safe(result)


# --- repositories ---------------------------------------------------------------------------------------------------------------

def test_repos_apt_deb822_yum_zypper(tmp_path):
    root = linux_root.build_root(tmp_path / "root")
    result = collect(root, repos=["kaspersky"])
    assert [(r["path"], r["line"]) for r in result["repos"]] == [
        ("/etc/apt/sources.list.d/kaspersky.list",
         "deb [arch=amd64 signed-by=/usr/share/keyrings/kaspersky.gpg] https://repo.example.net/KASPERSKY/kesl stable main"),
        ("/etc/apt/sources.list.d/kaspersky.sources", "URIs: https://repo.example.net/kaspersky/klnagent"),
        ("/etc/apt/sources.list.d/kaspersky.sources", "Signed-By: /usr/share/keyrings/kaspersky.gpg"),
        ("/etc/yum.repos.d/kaspersky.repo", "[kaspersky-kesl]"),
        ("/etc/yum.repos.d/kaspersky.repo", "name=Kaspersky Endpoint Security for Linux"),
        ("/etc/yum.repos.d/kaspersky.repo", "baseurl=https://repo.example.net/kaspersky/kesl/el$releasever/$basearch"),
        ("/etc/zypp/repos.d/kaspersky.repo", "[kaspersky]"),
        ("/etc/zypp/repos.d/kaspersky.repo", "name=Kaspersky Lab"),
        ("/etc/zypp/repos.d/kaspersky.repo", "baseurl=https://repo.example.net/Kaspersky/sles15"),
    ]  # comments and *.list.disabled are not read


@pytest.mark.parametrize("patterns, count", [
    (["re:https://repo\\.example\\.net/kaspersky/"], 4),
    (["deb.debian.org"], 2),
    (["re:^deb "], 3),
    (["nothing-like-this"], 0),
    ([], 0),
])
def test_repos_patterns(tmp_path, patterns, count):
    root = linux_root.build_root(tmp_path / "root")
    assert len(collect(root, repos=patterns)["repos"]) == count


def test_repos_hostile_file(tmp_path):
    linux_root.write(tmp_path, "/etc/apt/sources.list",
                     b"deb http://kaspersky\xff\x00/\x1b[2J " + b"A" * 5000 + b"\r\n" + b"\x00" * 100)
    result = collect(tmp_path, repos=["kaspersky"])
    line = result["repos"][0]["line"]
    assert line.startswith("deb http://kaspersky\ufffd\\x00/\\x1b[2J AAA") and line.endswith(TRUNCATED)
    assert_json_safe(result)


# --- platform -------------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("files, expected", [
    pytest.param({"/usr/lib/os-release": (FIXTURES / "os-release").read_bytes()}, ("debian", "12"),
                 id="usr-lib-fallback"),
    pytest.param({"/etc/os-release": b'ID="rhel"\nVERSION_ID="9.4"\n# ID=ignored\n'}, ("rhel", "9.4"), id="quoted"),
    pytest.param({"/etc/os-release": b"ID=astra\nVERSION_ID='1.7_x86-64'\n",
                  "/usr/lib/os-release": b"ID=debian\n"}, ("astra", "1.7_x86-64"), id="etc-first"),
    pytest.param({"/etc/os-release": b"ID=\"a\\\"b\"\n"}, ('a"b', None), id="escaped-quote"),
    pytest.param({}, (None, None), id="missing"),
    pytest.param({"/etc/os-release": b"\xff\x00garbage"}, (None, None), id="garbage"),
])
def test_platform(tmp_path, files, expected):
    for inner, data in files.items():
        linux_root.write(tmp_path, inner, data)
    platform = collect(tmp_path)["platform"]
    assert (platform["system"], platform["distribution"], platform["version"]) == ("Linux",) + expected


# --- the query and the root ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("query, option, fragment", [
    ({"packages": ["re:kesl("]}, "packages", "invalid regular expression"),
    ({"units": [""]}, "units", "non-empty"),
    ({"repos": ["re:[x"]}, "repos", "invalid regular expression"),
    ({"paths": ["opt/kaspersky"]}, "paths", "not an absolute path"),
    ({"paths": ["/opt\x00x"]}, "paths", "NUL"),
    ({"packages": ['["kesl"', '"klnagent64"]']}, "packages", "key=value"),
    ({"paths": ['["/opt/kaspersky"]']}, "paths", "key=value"),
    ({"processes": "kesl"}, "processes", "got a string"),
])
def test_invalid_query(query, option, fragment):
    with pytest.raises(inv.QueryError) as info:
        inv.Query(**query)
    assert info.value.option == option
    assert str(info.value).startswith(option + ": ") and fragment in str(info.value)


def test_brackets_where_they_are_legitimate():
    inv.Query(repos=["[arch=amd64]"], package_maintainers=['"Kaspersky"'], packages=["re:kesl[0-9]"],
              units=["re:[a-z]+"])


@pytest.mark.parametrize("root, fragment", [
    ("relative/root", "not an absolute path"),
    ("/nonexistent/root/for/sure", "does not exist"),
    ("", "non-empty"),
])
def test_invalid_root(root, fragment):
    with pytest.raises(OptionError) as info:
        Host(root=root)
    assert info.value.option == "root" and fragment in str(info.value)


def test_root_is_a_file(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(OptionError):
        Host(root=str(tmp_path / "f"))


def test_root_is_shown_normalised(tmp_path):
    result = inv.collect(inv.Query(), Host(root=str(tmp_path) + "/./"))
    assert result["root"] == str(tmp_path) and result["live"] is False


# --- the whole inventory ------------------------------------------------------------------------------------------------

def test_full_offline_inventory(tmp_path):
    root = linux_root.build_root(tmp_path / "root")
    result = collect(
        root, run=no_run,
        packages=["kesl", "kesl-gui", "klnagent64", "klnagent"], package_maintainers=["re:kaspersky"],
        units=["kesl", "kesl-supervisor", "klnagent64"], processes=["kesl"], kernel_modules=["re:kl.*"],
        paths=["/opt/kaspersky", "/opt/kaspersky/kesl", "/var/opt/kaspersky", "/etc/opt/kaspersky",
               "/var/log/kaspersky", "/usr/bin/kesl-control"],
        repos=["re:kaspersky"])
    assert set(result) == {"schema", "platform", "root", "live", "skipped", "errors", "packages", "units",
                           "processes", "kernel_modules", "paths", "repos", "containers"}
    assert result["containers"] == []
    assert result["schema"] == 1 and result["root"] == str(root) and result["live"] is False
    assert result["platform"] == {"system": "Linux", "distribution": "debian", "version": "12"}
    assert result["errors"] == []
    assert len(result["packages"]) == 7 and len(result["units"]) == 3 and len(result["repos"]) == 9
    assert [p["path"] for p in result["paths"]] == ["/opt/kaspersky", "/opt/kaspersky/kesl", "/var/opt/kaspersky",
                                                    "/etc/opt/kaspersky", "/var/log/kaspersky"]
    assert_json_safe(result)


def test_a_crashing_section_costs_only_that_section(tmp_path, monkeypatch):
    root = linux_root.build_root(tmp_path / "root")

    def boom(*args):
        raise RuntimeError("unexpected")

    monkeypatch.setattr(inv, "gather_repos", boom)
    result = collect(root, repos=["kaspersky"], packages=["kesl"])
    assert result["errors"] == [{"section": "repos", "message": "collection failed: RuntimeError: unexpected",
                                 "limit": False}]
    assert [p["name"] for p in result["packages"]] == ["kesl"]


# --- read failures: a source that could not be read is an error of its section ------------------------------
#
# The suite runs as root, where a directory of mode 000 does not stop reads; ``deny`` makes the
# os calls the collector and RootFS use fail with EACCES the way they do for an unprivileged
# scan: listing or opening a denied directory, or reaching anything below it.

def deny(monkeypatch, root, *inner_dirs, **how):
    """Mode 000 on ``inner_dirs`` (``search=False``: mode 0111, they cannot be listed but
    what is below them can be reached)."""
    blocked = [str(root) + inner for inner in inner_dirs]
    search = how.get("search", True)

    def check(path, itself):
        if isinstance(path, int):
            return
        path = os.fsdecode(path)
        for top in blocked:
            if (search and path.startswith(top + "/")) or (itself and path == top):
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)

    for name, itself in (("lstat", False), ("stat", False), ("readlink", False),
                         ("open", True), ("listdir", True), ("scandir", True)):
        real = getattr(os, name)

        def fake(path, *args, _real=real, _itself=itself, **kwargs):
            check(path, _itself)
            return _real(path, *args, **kwargs)

        monkeypatch.setattr(os, name, fake)


KASPERSKY = load_catalogs(["kaspersky"])
CATALOG_QUERY = build_query(KASPERSKY, "linux")


def scan(root, run=None, which=None):
    """The catalog's query through the collector and the matcher, as vendor_facts does."""
    inventory = collect(root, run=run, which=which, **CATALOG_QUERY)
    return inventory, match(inventory, KASPERSKY, scanned_at="2026-11-27T10:00:00Z")


def failures(inventory, section):
    return [e["message"] for e in inventory["errors"] if e["section"] == section and not e["limit"]]


def debian_without_the_vendor(base):
    """A clean Debian root that has the directories the vendor would use."""
    root = pathlib.Path(str(base))
    linux_root.write(root, "/etc/os-release", (FIXTURES / "os-release").read_bytes())
    linux_root.write(root, "/var/lib/dpkg/status", pkg("bash", maintainer="Debian"))
    linux_root.mkdir(root, "/var/lib/dpkg/updates")
    linux_root.write(root, "/etc/apt/sources.list", (FIXTURES / "repos" / "sources.list").read_bytes())
    linux_root.write(root, "/etc/apt/sources.list.d/debian-backports.list",
                     b"deb http://deb.debian.org/debian bookworm-backports main\n")
    for inner in ("/opt/google", "/var/opt/microsoft", "/etc/opt/chrome", "/etc/yum.repos.d", "/etc/zypp/repos.d"):
        linux_root.mkdir(root, inner)
    return root


def test_the_clean_root_is_clean(tmp_path):
    inventory, facts = scan(debian_without_the_vendor(tmp_path))
    assert inventory["errors"] == [] and facts["status"] == "clean"


@pytest.mark.parametrize("denied, section, expected", [
    pytest.param(["/opt", "/var/opt", "/etc/opt"], "paths",
                 ["cannot read /opt/kaspersky: Permission denied",
                  "cannot read /var/opt/kaspersky: Permission denied",
                  "cannot read /etc/opt/kaspersky: Permission denied",
                  "cannot read /opt: Permission denied"], id="vendor-directories-mode-000"),
    pytest.param([("/opt",)], "paths", ["cannot read /opt: Permission denied"], id="glob-listing-denied-mode-111"),
    pytest.param(["/etc/apt/sources.list.d"], "repos", ["cannot list /etc/apt/sources.list.d: Permission denied"],
                 id="repository-directory-cannot-be-listed"),
    pytest.param(["/etc/apt"], "repos", ["cannot read /etc/apt/sources.list: Permission denied",
                                         "cannot list /etc/apt/sources.list.d: Permission denied"],
                 id="repository-file-cannot-be-read"),
    pytest.param(["/var/lib/dpkg/updates"], "packages", ["cannot list /var/lib/dpkg/updates: Permission denied"],
                 id="dpkg-journal-cannot-be-listed"),
])
def test_an_unreadable_source_makes_the_host_unknown_not_clean(tmp_path, monkeypatch, denied, section, expected):
    root = debian_without_the_vendor(tmp_path)
    for inner in denied:
        if isinstance(inner, tuple):
            deny(monkeypatch, root, *inner, search=False)
        else:
            deny(monkeypatch, root, inner)
    inventory, facts = scan(root)
    for message in expected:
        assert any(m.endswith(message) for m in failures(inventory, section)), (message, inventory["errors"])
    assert facts["status"] == "unknown"
    shown = [e["message"] for e in facts["scan"]["errors"][:5]]  # what a report / plan blocker shows
    assert any(m.endswith(expected[0]) for m in shown)


def test_an_unreadable_rpm_database_directory_is_not_an_rpm_free_host(tmp_path, monkeypatch):
    root = debian_without_the_vendor(tmp_path)
    (root / "var/lib/dpkg/status").unlink()  # an EL host: no dpkg
    linux_root.write(root, "/var/lib/rpm/rpmdb.sqlite", b"SQLite format 3\x00")
    deny(monkeypatch, root, "/var/lib/rpm")
    inventory, facts = scan(root, run=no_run, which=lambda name: "/usr/bin/" + name)
    assert failures(inventory, "packages") == [
        "cannot tell whether an rpm database is in /var/lib/rpm: Permission denied"]
    assert facts["status"] == "unknown"


def test_a_missing_component_is_not_a_failure(tmp_path, monkeypatch):
    """ENOENT / ENOTDIR: the vendor is simply not there (here /var/opt is a file)."""
    root = debian_without_the_vendor(tmp_path)
    shutil.rmtree(str(root / "var/opt"))
    (root / "var/opt").write_bytes(b"not a directory")
    shutil.rmtree(str(root / "etc/yum.repos.d"))
    inventory, facts = scan(root)
    assert inventory["errors"] == [] and facts["status"] == "clean"


def test_a_denied_directory_outside_the_footprint_changes_nothing(tmp_path, monkeypatch):
    root = debian_without_the_vendor(tmp_path)
    deny(monkeypatch, root, "/opt/google", "/home")
    inventory, facts = scan(root)
    assert inventory["errors"] == [] and facts["status"] == "clean"


def test_an_unreadable_source_does_not_hide_an_installed_product(tmp_path, monkeypatch):
    root = linux_root.build_root(tmp_path / "root")
    deny(monkeypatch, root, "/etc/opt")
    inventory, facts = scan(root)
    assert failures(inventory, "paths")
    assert facts["status"] == "affected"


def test_failures_of_one_section_are_capped_but_always_reported(tmp_path, monkeypatch):
    root = debian_without_the_vendor(tmp_path)
    linux_root.mkdir(root, "/srv")
    deny(monkeypatch, root, "/srv")
    paths = ["/srv/vendor-%02d" % i for i in range(30)]
    inventory = collect(root, paths=paths)
    messages = failures(inventory, "paths")
    assert len(messages) == inv.MAX_SECTION_ERRORS + 1
    assert messages[-1] == "22 more failures not returned (at most 8 per section)"
    assert len(inventory["errors"]) <= inv.MAX_ERRORS


# --- bounds: what the collector reads and holds ------------------------------------------------------------

class ReadMeter(object):
    """Counts the bytes ``RootFS.read_bytes`` returns, and the largest single read."""

    def __init__(self, monkeypatch):
        self.total = 0
        real = RootFS.read_bytes
        meter = self

        def read_bytes(fs, path, limit=None):
            data, truncated = real(fs, path, limit)
            meter.total += len(data)
            return data, truncated

        monkeypatch.setattr(RootFS, "read_bytes", read_bytes)


def sparse(path, size):
    path = pathlib.Path(str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(str(path), "wb"):
        pass
    os.truncate(str(path), size)


def test_the_dpkg_journal_is_read_within_the_dpkg_budget(tmp_path, monkeypatch):
    """1,000 sparse 4 MB journal files took the collector to 4 GB: now it stops at the budget."""
    root = debian_without_the_vendor(tmp_path)
    linux_root.write(root, "/var/lib/dpkg/status", pkg("kesl"))
    for index in range(40):  # 160 MB of zeros, 2.5 times the budget
        sparse(root / "var/lib/dpkg/updates" / ("%04d" % index), 4 * 1024 * 1024)
    meter = ReadMeter(monkeypatch)
    inventory, facts = scan(root)
    assert meter.total <= inv.BUDGET_DPKG + 64 * 1024  # + os-release
    messages = failures(inventory, "packages")
    assert messages[0] == ("reading stopped at /var/lib/dpkg/updates/0015: the dpkg database files (status and "
                           "updates/ together) exceed the read budget of %d bytes" % inv.BUDGET_DPKG)
    assert not any(m.startswith("/var/lib/dpkg/status:") for m in messages)  # the status file is fine
    assert "16 malformed entries ignored in 16 journal file(s), the first /var/lib/dpkg/updates/0000" in messages[1]
    assert [p["name"] for p in inventory["packages"]] == ["kesl"]
    assert facts["status"] == "affected"


def test_a_dpkg_database_cut_by_the_budget_is_never_clean(tmp_path, monkeypatch):
    root = debian_without_the_vendor(tmp_path)
    monkeypatch.setattr(inv, "BUDGET_DPKG", 1024)
    linux_root.write(root, "/var/lib/dpkg/status",
                     b"\n".join(pkg("pkg-%03d" % i, maintainer="Debian") for i in range(50)))
    inventory, facts = scan(root)
    assert failures(inventory, "packages") == [
        "reading stopped at /var/lib/dpkg/status: the dpkg database files (status and updates/ together) "
        "exceed the read budget of 1024 bytes"]
    assert facts["status"] == "unknown"


def test_repository_files_are_read_within_one_budget(tmp_path, monkeypatch):
    root = debian_without_the_vendor(tmp_path)
    for index in range(4):  # each file within the per-file cap, together twice the budget
        sparse(root / "etc/apt/sources.list.d" / ("mirror-%d.list" % index), inv.MAX_TEXT_FILE)
    meter = ReadMeter(monkeypatch)
    inventory, facts = scan(root)
    assert meter.total <= inv.BUDGET_REPOS + inv.BUDGET_DPKG
    assert failures(inventory, "repos") == [
        "reading stopped at /etc/apt/sources.list.d/mirror-1.list: the repository files together exceed the "
        "read budget of %d bytes" % inv.BUDGET_REPOS]
    assert facts["status"] == "unknown"


def test_a_repository_file_over_its_own_cap_is_a_failure(tmp_path):
    root = debian_without_the_vendor(tmp_path)
    sparse(root / "etc/yum.repos.d/huge.repo", inv.MAX_TEXT_FILE + 1)
    inventory, facts = scan(root)
    assert failures(inventory, "repos") == [
        "/etc/yum.repos.d/huge.repo is larger than %d bytes, only its beginning was read" % inv.MAX_TEXT_FILE]
    assert facts["status"] == "unknown"


@pytest.mark.parametrize("directory, section", [
    ("/etc/apt/sources.list.d", "repos"),
    ("/var/lib/dpkg/updates", "packages"),
    ("/lib/systemd/system", "units"),
])
def test_directory_listings_are_bounded(tmp_path, monkeypatch, directory, section):
    root = debian_without_the_vendor(tmp_path)
    monkeypatch.setattr(inv, "MAX_DIR_ENTRIES", 20)
    for index in range(25):
        linux_root.write(root, "%s/%04d%s" % (directory, index, ".list" if section == "repos" else ""), b"")
    inventory = collect(root, **CATALOG_QUERY)
    assert [m for m in failures(inventory, section) if "holds more than 20 entries" in m] != []
    assert all("holds more than" not in m for s in ("paths", "processes") for m in failures(inventory, s))


def test_proc_is_looked_at_within_a_bound(tmp_path, monkeypatch):
    proc = fake_proc(tmp_path)
    monkeypatch.setattr(inv, "MAX_PROC_ENTRIES", 3)
    section = inv._Section("processes")
    inv.gather_processes(live_host(tmp_path, proc=str(proc)), inv.Query(processes=["re:.*"]), section)
    assert section.errors == [{"section": "processes",
                               "message": "%s lists more than 3 processes; only 3 were looked at" % proc}]
    assert len(section.items) <= 3


def test_proc_modules_beyond_its_budget_is_reported(tmp_path, monkeypatch):
    proc = fake_proc(tmp_path)
    monkeypatch.setattr(inv, "BUDGET_PROC_MODULES", 60)
    section = inv._Section("kernel_modules")
    inv.gather_kernel_modules(live_host(tmp_path, proc=str(proc)), inv.Query(kernel_modules=["re:kl.*"]), section)
    assert [m["name"] for m in section.items] == ["kl_filemon"]
    assert section.errors == [{"section": "kernel_modules",
                               "message": "%s/modules is larger than 60 bytes, only its beginning was read" % proc}]


# --- holds ------------------------------------------------------------------------------------------------------

def test_dpkg_hold_is_reported_only_when_held():
    records = parse_status((FIXTURES / "dpkg-status-holds").read_bytes(), names("re:.*"))[0]
    assert sorted((r["name"], r["status"], r.get("hold")) for r in records) == [
        ("bash", "installed", "apt-mark"),
        ("kesl", "installed", "apt-mark"),
        ("kesl-gui", "config-files", "apt-mark"),
        ("klnagent64", "installed", None),
    ]
    assert "hold" not in [r for r in records if r["name"] == "klnagent64"][0]


def test_dpkg_hold_set_in_the_journal(tmp_path):
    linux_root.write(tmp_path, "/var/lib/dpkg/status", pkg("kesl"))
    linux_root.write(tmp_path, "/var/lib/dpkg/updates/0001", pkg("kesl", status="hold ok installed"))
    result = collect(tmp_path, packages=["kesl"])
    assert [(p["name"], p.get("hold")) for p in result["packages"]] == [("kesl", "apt-mark")]


RPM_ROWS = [
    ("kesl", "(none)", "12.1.0", "1508", "x86_64", "AO Kaspersky Lab"),
    ("kesl-gui", "(none)", "12.1.0", "1508", "x86_64", "AO Kaspersky Lab"),
    ("klnagent64", "(none)", "15.4.0", "8873", "x86_64", "AO Kaspersky Lab"),
    ("kess", "1", "1.5.0", "100", "x86_64", "AO Kaspersky Lab"),
]
LOCKS = FIXTURES / "locks"


@pytest.mark.parametrize("files, holds, notes", [
    pytest.param({}, {}, [], id="no-lock-files"),
    pytest.param({"/etc/dnf/plugins/versionlock.list": LOCKS / "dnf-versionlock.list"},
                 {"kesl": "versionlock"}, [], id="dnf4-lock-and-exclude"),
    pytest.param({"/etc/yum/pluginconf.d/versionlock.list": LOCKS / "yum-versionlock.list"},
                 {"klnagent64": "versionlock"}, [], id="yum-epoch-first"),
    pytest.param({"/etc/dnf/versionlock.toml": LOCKS / "versionlock.toml"},
                 {"kesl": "versionlock", "kesl-gui": "versionlock"}, [], id="dnf5-toml"),
    pytest.param({"/etc/zypp/locks": LOCKS / "zypp-locks"},
                 {"kesl": "zypper-lock", "kesl-gui": "zypper-lock", "kess": "zypper-lock"},
                 ["/etc/zypp/locks: 1 locks could not be evaluated (regular expressions and complex locks are "
                  "not run)"], id="zypper-locks"),
    pytest.param({"/etc/dnf/plugins/versionlock.list": LOCKS / "dnf-versionlock.list",
                  "/etc/zypp/locks": LOCKS / "zypp-locks"},
                 {"kesl": "versionlock", "kesl-gui": "zypper-lock", "kess": "zypper-lock"},
                 ["/etc/zypp/locks: 1 locks could not be evaluated (regular expressions and complex locks are "
                  "not run)"], id="versionlock-first"),
])
def test_rpm_holds(tmp_path, files, holds, notes):
    root = rpm_root(tmp_path)
    for inner, source in files.items():
        linux_root.write(root, inner, source.read_bytes())
    result = collect(root, run=FakeRunner(rows=RPM_ROWS), which=lambda name: "/bin/rpm",
                     package_maintainers=["kaspersky"])
    assert {p["name"]: p["hold"] for p in result["packages"] if "hold" in p} == holds
    assert [e["message"] for e in result["errors"] if e["section"] == "holds"] == notes
    assert [e for e in result["errors"] if e["section"] != "holds"] == []


def test_rpm_lock_files_are_not_read_without_vendor_packages(tmp_path, monkeypatch):
    root = rpm_root(tmp_path)
    linux_root.write(root, "/etc/zypp/locks", (LOCKS / "zypp-locks").read_bytes())
    meter = ReadMeter(monkeypatch)
    collect(root, run=FakeRunner(rows=[]), which=lambda name: "/bin/rpm", packages=["kesl"])
    assert meter.total == 0


def test_unreadable_lock_file_is_a_note_not_a_package_failure(tmp_path, monkeypatch):
    root = rpm_root(tmp_path)
    linux_root.write(root, "/etc/zypp/locks", (LOCKS / "zypp-locks").read_bytes())
    deny(monkeypatch, root, "/etc/zypp")
    result = collect(root, run=FakeRunner(rows=RPM_ROWS[:1]), which=lambda name: "/bin/rpm", packages=["kesl"])
    assert [(e["section"], e["message"]) for e in result["errors"]] == [
        ("holds", "cannot read /etc/zypp/locks: Permission denied")]
    assert "hold" not in result["packages"][0]


def test_hostile_lock_files_stay_bounded(tmp_path):
    root = rpm_root(tmp_path)
    evil = b"".join(b"*" + b"a" * 120 + b"b-%d\n" % i for i in range(5000))  # the costliest globs there are
    linux_root.write(root, "/etc/dnf/plugins/versionlock.list", evil + b"\x00\xff[[[\n")
    linux_root.write(root, "/etc/zypp/locks", b"match_type: regex\nsolvable_name: (a+)+$\n\ncomplex: x\n")
    rows = [("a" * 100 + str(i), "(none)", "1", "1", "x86_64", "Kaspersky") for i in range(50)]
    result = collect(root, run=FakeRunner(rows=rows), which=lambda name: "/bin/rpm", package_maintainers=["kaspersky"])
    assert not any("hold" in p for p in result["packages"])
    assert [e["message"] for e in result["errors"] if not e["limit"]] == [
        "versionlock: 4937 glob entries beyond the first 64 were not evaluated",
        "holds of 49 packages were not looked up: the lock files hold too many patterns (641 comparisons a package, "
        "at most 1024 in all; 4 values kept per zypper lock attribute)",
        "/etc/zypp/locks: 2 locks could not be evaluated (regular expressions and complex locks are not run)"]


@pytest.mark.parametrize("pattern, text, expected", [
    ("kesl", "kesl", True), ("kesl", "kesl-gui", False), ("kesl*", "kesl-gui", True), ("*gui", "kesl-gui", True),
    ("k?sl", "kesl", True), ("k[a-f]sl", "kesl", True), ("k[!e]sl", "kesl", False), ("k[^e]sl", "kasl", True),
    ("[", "[", True), ("a[]]b", "a]b", True), ("\\*", "*", True), ("\\*", "x", False), ("*", "", True),
    ("?", "", False), ("a*b*c", "aXbYc", True), ("a*b*c", "aXbY", False),
    ("kesl-0:12.1.0-1508.*", "kesl-0:12.1.0-1508.x86_64", True),
    ("*a" * 60 + "b", "a" * 160, False), ("x" * 129, "x" * 129, False), ("x*", "x" * 161, False),
])
def test_glob_match(pattern, text, expected):
    assert glob_match(pattern, text) is expected


def test_rpm_spellings_cover_dnf_and_yum_forms():
    spellings = rpm_spellings("kesl", "12.1.0-1508", "x86_64")
    assert {"kesl", "kesl.x86_64", "kesl-12.1.0", "kesl-0:12.1.0-1508.x86_64", "0:kesl-12.1.0-1508.x86_64",
            "kesl-12.1.0-1508"} <= spellings
    assert "2:kesl-12.1.0-1508" in rpm_spellings("kesl", "2:12.1.0-1508", None)


@pytest.mark.parametrize("lock, name, arch, expected", [
    pytest.param({"solvable_name": ["kesl"]}, "KESL-gui", "x86_64", True, id="default-substring-ignoring-case"),
    pytest.param({"solvable_name": ["kesl"], "case_sensitive": ["on"]}, "KESL", "x86_64", False, id="case-on"),
    pytest.param({"solvable_name": ["kesl"], "match_type": ["exact"]}, "kesl-gui", "x86_64", False, id="exact"),
    pytest.param({"solvable_name": ["kesl"], "match_type": ["word"]}, "kesl-gui", "x86_64", True, id="word"),
    pytest.param({"solvable_name": ["kes"], "match_type": ["word"]}, "kesl", "x86_64", False, id="not-a-word"),
    pytest.param({"solvable_name": ["kesl > 11"], "match_type": ["exact"]}, "kesl", "x86_64", True,
                 id="versioned-name-is-a-hold"),
    pytest.param({"solvable_name": ["kesl"], "solvable_arch": ["i586"]}, "kesl", "x86_64", False, id="other-arch"),
    pytest.param({"solvable_name": ["kesl"], "type": ["patch"]}, "kesl", "x86_64", False, id="not-a-package"),
    pytest.param({"solvable_name": ["kesl"], "install_status": ["not-installed"]}, "kesl", "x86_64", False,
                 id="only-not-installed"),
    pytest.param({"solvable_name": ["kesl"], "repo": ["kaspersky"]}, "kesl", "x86_64", False, id="other-repo"),
    pytest.param({"type": ["package"]}, "kesl", "x86_64", True, id="every-package"),
    pytest.param({"solvable_summary": ["Kaspersky"]}, "kesl", "x86_64", None, id="summary-not-known"),
    pytest.param({"solvable_name": ["^kesl$"], "match_type": ["regex"]}, "kesl", "x86_64", None, id="regex-not-run"),
])
def test_zypp_lock_applies(lock, name, arch, expected):
    assert zypp_lock_applies(lock, name, arch) is expected


def test_versionlock_parsers():
    locks = VersionLocks()
    locks.add_list((LOCKS / "dnf-versionlock.list").read_bytes())
    locks.add_list((LOCKS / "yum-versionlock.list").read_bytes())
    locks.add_toml((LOCKS / "versionlock.toml").read_bytes())
    assert locks.specs == {"0:bash-4.2.46-35.el7_9.x86_64"}  # comments and the "!" exclude are not locks
    assert locks.spec_globs == ["kesl-0:12.1.0-1508.*", "0:klnagent64-15.4.0-8873.*"]
    assert locks.names == {"kesl"} and locks.name_globs == ["kesl-gui*"]  # the "!=" entry is an exclude
    assert locks.holds("bash", "4.2.46-35.el7_9", "x86_64") and not locks.holds("bash", "4.2.46-36.el7_9", "x86_64")
    assert parse_versionlock_toml(b'[[packages]]\nname = "a\\"b"\n[[packages.conditions]]\ncomparator = "<"\n') \
        == [('a"b', ["<"])]
    assert parse_zypp_locks((LOCKS / "zypp-locks").read_bytes())[1] == {
        "type": ["package"], "match_type": ["exact"], "case_sensitive": ["on"], "solvable_name": ["kess"],
        "version": ["= 1.5.0-100"]}


def test_a_budget_spent_exactly_still_reports_the_files_left_unread(tmp_path, monkeypatch):
    root = debian_without_the_vendor(tmp_path)
    (root / "etc/apt/sources.list").unlink()
    (root / "etc/apt/sources.list.d/debian-backports.list").unlink()
    linux_root.write(root, "/etc/apt/sources.list.d/a.list", b"#" * 100)
    linux_root.write(root, "/etc/apt/sources.list.d/b.list", b"deb https://repo.example.net/kaspersky x main\n")
    monkeypatch.setattr(inv, "BUDGET_REPOS", 100)  # a.list fills it to the byte
    inventory, facts = scan(root)
    assert failures(inventory, "repos") == [
        "reading stopped at /etc/apt/sources.list.d/b.list: the repository files together exceed the read budget "
        "of 100 bytes"]
    assert facts["status"] == "unknown"
