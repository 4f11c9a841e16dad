"""Two checkouts on one machine do not disturb each other (no containers needed).

The harness scripts and shared playbooks run here against stand-ins for podman, debootstrap,
chroot and apt-ftparchive that record every call, so the tests see exactly what would be
created, started or removed. tests/harness/README.md ("Several checkouts on one machine")
describes the guarantees.
"""

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

HARNESS = Path(__file__).resolve().parent
ROOT = HARNESS.parent.parent
SHARED = ROOT / "molecule" / "shared"
VENV_BIN = Path(sys.executable).parent

sys.path.insert(0, str(SHARED))
sys.path.insert(0, str(HARNESS))
import demo  # noqa: E402  pylint: disable=wrong-import-position
import testlib  # noqa: E402  pylint: disable=wrong-import-position


def ns_of(root: Path) -> str:
    return hashlib.sha256(str(root).encode()).hexdigest()[:8]


NS = ns_of(ROOT)
OTHER = ns_of(Path("/srv/ci/job-2/fleetsec.divest"))

# One stand-in program for every external command; it dispatches on its own name.
FAKE = r'''#!{python}
import json, os, sys
from pathlib import Path

state = Path(os.environ["FAKE_STATE"])
name = os.path.basename(sys.argv[0])
args = sys.argv[1:]
with open(state / "calls.jsonl", "a") as fh:
    fh.write(json.dumps([name] + args) + "\n")

def containers():
    path = state / "containers.json"
    return json.loads(path.read_text()) if path.exists() else []

def images():
    path = state / "images"
    return path.read_text().split() if path.exists() else []

if name == "podman":
    if args[:2] == ["image", "exists"]:
        sys.exit(0 if args[2] in images() else 1)
    if args[:1] == ["import"]:
        sys.stdin.buffer.read()
        with open(state / "images", "a") as fh:
            fh.write(args[-1] + "\n")
        print("sha256:0123")
        sys.exit(0)
    if args[:1] == ["ps"]:
        wanted = [a.split("=", 1)[1] for a in args if a.startswith("label=")]
        wanted += [a.split("=label=", 1)[1] for a in args if a.startswith("--filter=label=")]
        found = [c for c in containers()
                 if all(c["Labels"].get(w.split("=", 1)[0]) == w.split("=", 1)[1] for w in wanted)]
        fmt = args[args.index("--format") + 1] if "--format" in args else ""
        if fmt == "json":
            print(json.dumps(found))
        else:
            print("\n".join(c["Names"][0] for c in found))
        sys.exit(0)
    if args[:1] == ["exec"]:
        print("running")
        sys.exit(0)
    sys.exit(0)

if name == "debootstrap":
    root = Path(args[-1])
    for d in ("etc/apt", "var/cache/apt/archives", "var/lib/apt/lists"):
        (root / d).mkdir(parents=True)
    (root / "etc/apt/sources.list").write_text("deb http://deb.debian.org/debian bookworm main\n")
    (root / "var/cache/apt/archives/base_1_amd64.deb").write_text("base")
    sys.exit(0)

if name == "chroot":
    root, cmd = Path(args[0]), args[1:]
    if cmd[0] == "env":
        cmd = [c for c in cmd[1:] if "=" not in c]
    archives = root / "var/cache/apt/archives"
    if "clean" in cmd:
        for deb in archives.glob("*.deb"):
            deb.unlink()
    elif "install" in cmd:
        for pkg in cmd[cmd.index("-y") + 1:]:
            (archives / ("%s_1_amd64.deb" % pkg)).write_text(pkg)
    sys.exit(0)

if name == "apt-ftparchive":
    for deb in sorted(Path(".").glob("*.deb")):
        print("Package: %s\n" % deb.name.split("_")[0])
    sys.exit(0)
sys.exit("fake %s: unexpected call %r" % (name, args))
'''


@pytest.fixture()
def fakes(tmp_path):
    """(bin dir, state dir, calls()) of the recording stand-ins."""
    bindir, state = tmp_path / "fakebin", tmp_path / "state"
    bindir.mkdir()
    state.mkdir()
    program = bindir / "fake.py"
    program.write_text(FAKE.replace("{python}", sys.executable))
    program.chmod(0o755)
    for name in ("podman", "debootstrap", "chroot", "apt-ftparchive"):
        (bindir / name).symlink_to(program)

    def calls():
        log = state / "calls.jsonl"
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return bindir, state, calls


def container(cid, name, **labels):
    return {"Id": cid, "Names": [name], "State": labels.pop("state", "running"), "Labels": labels}


def removed(calls):
    """The containers of each `podman rm` call (options and the --time value left out)."""
    return [[a for a in c[2:] if not a.startswith("-") and a != "0"] for c in calls if c[:2] == ["podman", "rm"]]


# --- env.sh ---------------------------------------------------------------------------------


def fake_checkout(base: Path) -> Path:
    """A directory laid out like a checkout, with this checkout's env.sh and image.sh."""
    (base / "tests" / "harness").mkdir(parents=True)
    for script in ("env.sh", "image.sh"):
        shutil.copy2(HARNESS / script, base / "tests" / "harness" / script)
    return base


def sourced(checkout: Path, env=None) -> dict:
    script = '. "$1"; for v in DIVEST_ROOT DIVEST_CACHE DIVEST_NS ANSIBLE_HOME; do echo "$v=${!v}"; done'
    out = subprocess.run(["bash", "-c", script, "bash", str(checkout / "tests" / "harness" / "env.sh")],
                         env=env if env is not None else {"PATH": os.environ["PATH"]},
                         capture_output=True, text=True, check=True).stdout
    return dict(line.split("=", 1) for line in out.splitlines())


def test_checkouts_with_the_same_directory_name_get_their_own_namespace_and_state(tmp_path):
    a = fake_checkout(tmp_path / "job-1" / "fleetsec.divest")
    b = fake_checkout(tmp_path / "job-2" / "fleetsec.divest")
    env_a, env_b = sourced(a), sourced(b)
    assert env_a["DIVEST_NS"] == ns_of(a) and env_b["DIVEST_NS"] == ns_of(b)
    assert env_a["DIVEST_NS"] != env_b["DIVEST_NS"]
    # molecule keys its state on the directory *name*: each checkout keeps its own ANSIBLE_HOME
    assert env_a["ANSIBLE_HOME"] == str(a / ".cache" / "ansible-home")
    assert env_b["ANSIBLE_HOME"] == str(b / ".cache" / "ansible-home")


def test_env_sh_ignores_the_environment_of_another_checkout(tmp_path):
    a = fake_checkout(tmp_path / "a")
    b = fake_checkout(tmp_path / "b")
    foreign = {"PATH": os.environ["PATH"], **sourced(a)}
    assert sourced(b, env=foreign) == sourced(b)
    assert sourced(b, env=foreign)["DIVEST_ROOT"] == str(b)


def test_every_part_of_the_harness_derives_the_same_namespace():
    assert sourced(ROOT)["DIVEST_NS"] == NS
    assert testlib.checkout_namespace() == NS
    assert testlib.container_name("identify", "clean") == f"divest-{NS}-identify-clean"
    assert demo.NS == NS and demo.ENV["DIVEST_NS"] == NS
    assert demo.container_name("web01") == f"divest-{NS}-demo-web01"


def test_demo_uses_this_checkout_even_from_another_checkouts_shell(tmp_path):
    other = fake_checkout(tmp_path / "other")
    foreign = {**os.environ, **sourced(other)}
    code = "import json, demo; print(json.dumps({k: demo.ENV[k] for k in ('DIVEST_NS', 'DIVEST_CACHE', 'ANSIBLE_HOME')}))"
    out = subprocess.run([sys.executable, "-c", code], cwd=HARNESS, env=foreign,
                         capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == {"DIVEST_NS": NS, "DIVEST_CACHE": str(ROOT / ".cache"),
                               "ANSIBLE_HOME": str(ROOT / ".cache" / "ansible-home")}


def test_demo_down_removes_only_this_checkouts_demo(fakes, monkeypatch):
    bindir, state, calls = fakes
    (state / "containers.json").write_text(json.dumps([
        container("ours-web", f"divest-{NS}-demo-web01", **{"divest.checkout": NS, "divest.scenario": "demo"}),
        container("ours-identify", f"divest-{NS}-identify-clean", **{"divest.checkout": NS, "divest.scenario": "identify"}),
        container("theirs-web", f"divest-{OTHER}-demo-web01", **{"divest.checkout": OTHER, "divest.scenario": "demo"}),
        container("old-web", "divest-demo-web01", **{"divest.scenario": "demo"}),
    ]))
    monkeypatch.setitem(demo.ENV, "PATH", f"{bindir}{os.pathsep}{demo.ENV['PATH']}")
    monkeypatch.setitem(demo.ENV, "FAKE_STATE", str(state))
    monkeypatch.setattr(demo, "INVENTORY", state / "no-inventory.yml")
    demo.down()
    assert removed(calls()) == [["ours-web"]]


# --- molecule/shared/create.yml and destroy.yml ---------------------------------------------


def playbook(tmp_path, fakes, name, hosts, scenario="identify", extra_hosts=None):
    bindir, state, _calls = fakes
    inventory = {"all": {
        "hosts": extra_hosts or {},
        "children": {"harness_hosts": {
            "vars": {"harness_scenario": scenario, "ansible_connection": "containers.podman.podman"},
            "hosts": hosts}}}}
    path = tmp_path / "inventory.yml"
    path.write_text(yaml.safe_dump(inventory))
    config = tmp_path / "ansible.cfg"
    config.write_text("[defaults]\n")
    env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{VENV_BIN}{os.pathsep}{os.environ['PATH']}",
           "FAKE_STATE": str(state), "ANSIBLE_CONFIG": str(config), "ANSIBLE_HOME": str(tmp_path / "ah"),
           "ANSIBLE_NOCOLOR": "1", "DIVEST_NS": NS}
    return subprocess.run([str(VENV_BIN / "ansible-playbook"), "-i", str(path), str(SHARED / name)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, check=False)


def test_destroy_removes_only_this_checkouts_containers(tmp_path, fakes):
    _bindir, state, calls = fakes
    (state / "containers.json").write_text(json.dumps([
        container("ours-clean", f"divest-{NS}-identify-clean", **{"divest.checkout": NS, "divest.scenario": "identify"}),
        container("ours-stray", f"divest-{NS}-identify-gone", **{"divest.checkout": NS, "divest.scenario": "identify"}),
        container("ours-demo", f"divest-{NS}-demo-web01", **{"divest.checkout": NS, "divest.scenario": "demo"}),
        # the same scenario run by another checkout, and a container of the harness before namespaces
        container("theirs-clean", f"divest-{OTHER}-identify-clean", **{"divest.checkout": OTHER, "divest.scenario": "identify"}),
        container("old-clean", "divest-identify-kesl12", **{"divest.scenario": "identify", "divest.harness": "1"}),
    ]))
    hosts = {"clean": {"ansible_host": f"divest-{NS}-identify-clean"},
             # an inventory that names a container which is not this checkout's
             "kesl12": {"ansible_host": "divest-identify-kesl12"}}
    proc = playbook(tmp_path, fakes, "destroy.yml", hosts)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert [sorted(r) for r in removed(calls())] == [["ours-clean", "ours-stray"]]


def test_create_names_and_labels_containers_in_this_checkouts_namespace(tmp_path, fakes, built):
    _bindir, state, calls = fakes
    (state / "images").write_text("localhost/fleetsec-debian:12\n")
    (state / "containers.json").write_text(json.dumps([
        container("ours-kesl12", f"divest-{NS}-identify-kesl12", state="exited",
                  **{"divest.checkout": NS, "divest.scenario": "identify"}),
        container("theirs-clean", f"divest-{OTHER}-identify-clean", state="exited",
                  **{"divest.checkout": OTHER, "divest.scenario": "identify"}),
    ]))
    hosts = {h: {"ansible_host": f"divest-{NS}-identify-{h}"} for h in ("clean", "kesl12")}
    proc = playbook(tmp_path, fakes, "create.yml", hosts)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    runs = [c for c in calls() if c[:2] == ["podman", "run"]]
    assert len(runs) == 1
    assert {f"--name=divest-{NS}-identify-clean", "--hostname=clean", "--label=divest.harness=1",
            f"--label=divest.checkout={NS}", f"--label=divest.root={ROOT}",
            "--label=divest.scenario=identify", "--label=divest.host=clean"} <= set(runs[0])
    assert [c for c in calls() if c[:2] == ["podman", "start"]] == [["podman", "start", f"divest-{NS}-identify-kesl12"]]
    listings = [c for c in calls() if c[:2] == ["podman", "ps"]]
    assert listings and all(f"label=divest.checkout={NS}" in c for c in listings)


def test_create_refuses_names_outside_this_checkouts_namespace(tmp_path, fakes):
    _bindir, _state, calls = fakes
    hosts = {"clean": {"ansible_host": "divest-identify-clean"}}   # the name before namespaces
    proc = playbook(tmp_path, fakes, "create.yml", hosts)
    assert proc.returncode != 0
    assert f"not divest-{NS}-identify-clean" in proc.stdout
    assert "tests/harness/env.sh" in proc.stdout
    assert not [c for c in calls() if c[0] == "podman"], "nothing may be created or listed"


# --- tests/harness/image.sh -----------------------------------------------------------------


def image_sh(checkout, fakes, lock_dir, *args, **popen):
    bindir, state, _calls = fakes
    env = {"PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}", "FAKE_STATE": str(state),
           "DIVEST_LOCK_DIR": str(lock_dir), "DIVEST_TEST_IMAGE": "localhost/fleetsec-debian:12"}
    cmd = ["bash", str(checkout / "tests" / "harness" / "image.sh"), *args]
    if popen:
        return subprocess.Popen(cmd, env=env, text=True, **popen)
    return subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)


# What image.sh keeps in the mirror (CLAMAV_PKGS + RPM_HOST_PKGS): a complete mirror lists all of them.
MIRROR_PKGS = ("clamav", "clamav-daemon", "clamav-freshclam", "clamdscan", "rpm", "dnf", "python3-dnf", "zypper")


def complete_mirror(mirror):
    mirror.mkdir(parents=True)
    (mirror / "Packages").write_text("".join("Package: %s\n\n" % p for p in MIRROR_PKGS))


def destructive(calls):
    """Every podman call that removes or prunes something."""
    return [c for c in calls if c[0] == "podman" and ({"rm", "rmi", "prune"} & set(c) or "--force" in c)]


@pytest.fixture()
def checkout(tmp_path):
    lock_dir = tmp_path / "lock"
    lock_dir.mkdir()
    return fake_checkout(tmp_path / "checkout"), lock_dir


def test_image_sh_builds_a_missing_mirror_without_touching_the_image(checkout, fakes):
    ck, lock_dir = checkout
    _bindir, state, calls = fakes
    (state / "images").write_text("localhost/fleetsec-debian:12\n")
    proc = image_sh(ck, fakes, lock_dir)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    mirror = ck / ".cache" / "repos" / "debian"
    assert sorted(p.name for p in mirror.glob("*.deb")) == sorted("%s_1_amd64.deb" % p for p in MIRROR_PKGS)
    assert "Package: clamav" in (mirror / "Packages").read_text()
    assert [c for c in calls() if c[0] == "podman"] == [["podman", "image", "exists", "localhost/fleetsec-debian:12"]] * 2
    assert not list((ck / ".cache").glob("rootfs.*")), "the scratch rootfs is removed"


def test_image_sh_builds_a_missing_image_and_keeps_the_mirror(checkout, fakes):
    ck, lock_dir = checkout
    _bindir, _state, calls = fakes
    mirror = ck / ".cache" / "repos" / "debian"
    complete_mirror(mirror)
    before = (mirror / "Packages").stat()
    proc = image_sh(ck, fakes, lock_dir)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    imports = [c for c in calls() if c[:2] == ["podman", "import"]]
    assert len(imports) == 1 and imports[0][-1] == "localhost/fleetsec-debian:12"
    assert (mirror / "Packages").stat().st_ino == before.st_ino
    assert not destructive(calls())


def test_image_sh_force_rebuilds_by_moving_the_tag_never_by_removing(checkout, fakes):
    ck, lock_dir = checkout
    _bindir, state, calls = fakes
    (state / "images").write_text("localhost/fleetsec-debian:12\n")
    proc = image_sh(ck, fakes, lock_dir, "--force")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert len([c for c in calls() if c[:2] == ["podman", "import"]]) == 1
    assert (ck / ".cache" / "repos" / "debian" / "Packages").stat().st_size > 0
    assert not destructive(calls())


def test_image_sh_waits_for_another_build_and_reuses_its_image(checkout, fakes):
    ck, lock_dir = checkout
    _bindir, state, calls = fakes
    mirror = ck / ".cache" / "repos" / "debian"
    complete_mirror(mirror)
    lock = lock_dir / f"fleetsec-divest-image.{os.getuid()}.lock"
    with open(lock, "a") as held:                       # another checkout is building
        fcntl.flock(held, fcntl.LOCK_EX)
        proc = image_sh(ck, fakes, lock_dir, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stdout.readline().startswith(f"waiting for {lock}")
        assert not [c for c in calls() if c[0] != "podman" or c[1] != "image"]
        (state / "images").write_text("localhost/fleetsec-debian:12\n")   # ... and imports the image
        fcntl.flock(held, fcntl.LOCK_UN)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, out + err
    assert "image localhost/fleetsec-debian:12 and mirror present" in out
    assert [c[0] for c in calls() if c[0] != "podman"] == [], "no second debootstrap"
    assert not [c for c in calls() if c[:2] == ["podman", "import"]]


def test_image_sh_builds_again_a_mirror_without_the_rpm_tools(checkout, fakes):
    # a mirror made before rpm, dnf and zypper were added to its lists (ClamAV only)
    ck, lock_dir = checkout
    _bindir, state, calls = fakes
    (state / "images").write_text("localhost/fleetsec-debian:12\n")
    mirror = ck / ".cache" / "repos" / "debian"
    mirror.mkdir(parents=True)
    (mirror / "Packages").write_text("".join("Package: %s\n\n" % p for p in MIRROR_PKGS[:4]))
    proc = image_sh(ck, fakes, lock_dir)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Package: zypper" in (mirror / "Packages").read_text().splitlines()
    assert not [c for c in calls() if c[:2] == ["podman", "import"]], "the image is left alone"


def test_image_sh_refuses_a_symlinked_lock_file(checkout, fakes, tmp_path):
    ck, lock_dir = checkout
    target = tmp_path / "not-a-lock"
    target.write_text("keep")
    (lock_dir / f"fleetsec-divest-image.{os.getuid()}.lock").symlink_to(target)
    proc = image_sh(ck, fakes, lock_dir)
    assert proc.returncode != 0 and "symbolic link" in proc.stderr
    assert target.read_text() == "keep"


def test_no_harness_script_removes_images_or_prunes():
    """Project rule: the harness never removes or prunes what another checkout may use."""
    files = [*HARNESS.glob("*.sh"), *HARNESS.glob("*.py"), *SHARED.glob("*.yml"), ROOT / "Makefile",
             ROOT / "tests" / "run-all.sh"]
    banned = re.compile(r"podman (rmi|image rm|(image|system|container|volume|network) prune|system reset"
                        r"|volume rm|network rm)\b")
    hits = []
    for path in files:
        if path.resolve() == Path(__file__).resolve():
            continue
        # argv lists as command lines: ['podman', 'image', 'rm'] -> podman image rm
        text = " ".join(re.sub(r"[\[\]'\",]", " ", path.read_text()).split())
        hits += [f"{path.relative_to(ROOT)}: {m.group(0)}" for m in banned.finditer(text)]
    assert hits == []
