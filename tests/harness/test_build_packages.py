"""The fake .deb packages and the fake binaries, checked on the controller."""

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="dpkg-deb is not installed")

# Reference section 6.2: exact package file names and versions seen in the wild.
REFERENCE_FILES = [
    "kesl_12.2.0-2412_amd64.deb",  # L1
    "kesl-gui_12.2.0-2412_amd64.deb",  # L1
    "kesl_12.1.0-1508_amd64.deb",  # L2
    "kesl-astra_11.1.0-3013.mod_amd64.deb",  # L3
    "kesl_10.1.1-6421_amd64.deb",  # L5
    "klnagent_10.1.1-26_i386.deb",  # L6
    "kav4fs_8.0.4-312_i386.deb",  # L6
    "klnagent64_15.4.0-8873_amd64.deb",  # L8
    "ksc64_15.4.0-8873_amd64.deb",  # L10
    "ksc-web-console-15.4.1021.x86_64.deb",  # L10
    "kes4lwks_8.0.1-50_i386.deb",  # L11
    "kav4proxy_5.5-86_i386.deb",  # L12
    "kwts_6.1.0-4762_amd64.deb",  # L13
]


def deb_fields(path, *fields):
    out = subprocess.run(["dpkg-deb", "--field", str(path), *fields], capture_output=True, text=True, check=True)
    if len(fields) == 1:  # dpkg-deb prints the bare value for a single field
        return {fields[0]: out.stdout.strip()}
    result, key = {}, None
    for line in out.stdout.splitlines():
        if line[:1] in (" ", "\t") and key:
            result[key] += "\n" + line.strip()
        else:
            key, _sep, value = line.partition(":")
            result[key] = value.strip()
    return result


def debs(index, repo="kaspersky"):
    return [e for e in index if e["format"] == "deb" and e["repo"] == repo]


@pytest.mark.parametrize("filename", REFERENCE_FILES)
def test_reference_file_names_exist(built, repos, filename):
    assert (repos / "kaspersky" / filename).is_file()


def test_every_deb_matches_its_index_entry(built, repos):
    entries = debs(built)
    assert len(entries) == 23
    for e in entries:
        f = deb_fields(repos / e["repo"] / e["file"], "Package", "Version", "Architecture", "Description", "Maintainer")
        assert (f["Package"], f["Version"], f["Architecture"]) == (e["name"], e["version"], e["arch"])
        assert f["Description"].splitlines()[0].endswith("(TEST DOUBLE)"), e["file"]
        assert "It contains no vendor code." in f["Description"]
        assert "TEST DOUBLE" in f["Maintainer"]
        if e["name"] != "ksc-web-console":
            assert e["file"] == f"{e['name']}_{e['version']}_{e['arch']}.deb"


def test_legacy_products_are_32_bit(built):
    i386 = {e["name"] for e in debs(built) if e["arch"] == "i386"}
    assert i386 == {"klnagent", "kav4fs", "kes4lwks", "kav4proxy", "kav4ws", "klms"}


def test_gui_packages_pin_their_main_package(built, repos):
    for e in debs(built):
        if "-gui" in e["name"]:
            main = e["name"].replace("-gui", "")
            depends = deb_fields(repos / "kaspersky" / e["file"], "Depends")["Depends"]
            assert depends == f"{main} (= {e['version']})"


def test_apt_indexes_list_every_deb(built, repos):
    for repo in ("kaspersky", "kaspersky-faults"):
        packages = (repos / repo / "Packages").read_text()
        files = re.findall(r"^Filename: \./(.+)$", packages, re.MULTILINE)
        assert sorted(files) == sorted(p.name for p in (repos / repo).glob("*.deb"))
        assert (repos / repo / "Packages.gz").is_file() and (repos / repo / "Release").is_file()


def test_fault_variants_differ_from_normal_ones(built, repos):
    for e in [x for x in built if x["fault"] and x["format"] == "deb"]:
        normal = repos / "kaspersky" / e["file"]
        faulty = repos / "kaspersky-faults" / e["file"]
        assert deb_fields(normal, "Version")["Version"] == deb_fields(faulty, "Version")["Version"]
        assert normal.read_bytes() != faulty.read_bytes()
        assert "FAULT VARIANT" in deb_fields(faulty, "Description")["Description"]


def test_maintainer_scripts(built, repos, tmp_path):
    subprocess.run(["dpkg-deb", "--control", str(repos / "kaspersky" / "kesl_12.1.0-1508_amd64.deb"), str(tmp_path)],
                   check=True)
    postinst = (tmp_path / "postinst").read_text()
    assert "systemctl start kesl.service" in postinst and "[ -d /run/systemd/system ]" in postinst
    assert "/var/opt/kaspersky/kesl/common/kesl.ini" in postinst
    prerm = (tmp_path / "prerm").read_text()
    assert "systemctl stop kesl.service" in prerm
    postrm = (tmp_path / "postrm").read_text()
    purge = postrm[postrm.index("purge)"):]
    assert "rm -rf /var/opt/kaspersky/kesl /var/log/kaspersky/kesl" in purge
    for script in ("postinst", "prerm", "postrm"):
        assert os.access(tmp_path / script, os.X_OK)
        assert subprocess.run(["sh", "-n", str(tmp_path / script)], check=False).returncode == 0


@pytest.fixture
def extracted(built, repos, tmp_path):
    """extracted(deb file) -> directory with the payload."""

    def _extract(name):
        dest = tmp_path / name
        subprocess.run(["dpkg-deb", "-x", str(repos / "kaspersky" / name), str(dest)], check=True)
        return dest

    return _extract


def process_running(comm):
    for d in Path("/proc").glob("[0-9]*"):
        try:
            if (d / "comm").read_text().strip() == comm:
                return True
        except OSError:
            pass
    return False


def test_fake_binary_is_a_static_elf_with_trailer(extracted):
    root = extracted("kesl_12.1.0-1508_amd64.deb")
    ctl = root / "opt/kaspersky/kesl/bin/kesl-control"
    data = ctl.read_bytes()
    assert data[:4] == b"\x7fELF" and data.endswith(b"DIVESTH1")
    out = subprocess.run(["file", str(ctl)], capture_output=True, text=True, check=False)
    if out.returncode == 0:
        assert "statically linked" in out.stdout


def test_control_tool_answers_like_the_vendor_cli(extracted):
    root = extracted("kesl_12.1.0-1508_amd64.deb")
    ctl = str(root / "opt/kaspersky/kesl/bin/kesl-control")
    bad = subprocess.run([ctl, "--bogus"], capture_output=True, text=True, check=False)
    assert bad.returncode == 1 and bad.stdout == "" and "Invalid command line" in bad.stderr
    helptext = subprocess.run([ctl, "--help"], capture_output=True, text=True, check=False)
    assert helptext.returncode == 0 and "TEST DOUBLE" in helptext.stdout
    if not process_running("kesl"):  # a container of a running scenario may show one
        down = subprocess.run([ctl, "--app-info"], capture_output=True, text=True, check=False)
        assert down.returncode == 64  # vendor: 64 = application not running


def test_daemon_runs_under_its_real_name_and_stops_on_sigterm(extracted):
    root = extracted("kav4proxy_5.5-86_i386.deb")
    daemon = root / "opt/kaspersky/kav4proxy/sbin/kav4proxy-kavicapserver"
    version = subprocess.run([str(daemon), "-v"], capture_output=True, text=True, check=False)
    assert version.returncode == 0
    assert re.search(r"version\s+([0-9.]+)/RELEASE build.*?([0-9]+)", version.stdout).groups() == ("5.5.86", "86")
    # a copy that does not listen (same trailer length, unknown key), so port 1344 may be taken
    quiet = root / "kav4proxy-kavicapserver"
    data = daemon.read_bytes()
    assert data.count(b"listen\t1344\n") == 1
    quiet.write_bytes(data.replace(b"listen\t1344\n", b"nolisten\t13\n"))
    quiet.chmod(0o755)
    proc = subprocess.Popen([str(quiet)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.3)
        assert proc.poll() is None, "the daemon keeps running"
        assert Path(f"/proc/{proc.pid}/comm").read_text().strip() == "kav4proxy-kavic"  # 15 characters
        assert os.readlink(f"/proc/{proc.pid}/exe") == str(quiet)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


def test_second_build_is_a_no_op(built):
    start = time.monotonic()
    out = subprocess.run([sys.executable, str(Path(__file__).parent / "build_packages.py"), "--quiet"],
                         capture_output=True, text=True, check=True)
    assert "up to date" in out.stdout and len(out.stdout.splitlines()) == 1
    assert time.monotonic() - start < 5
