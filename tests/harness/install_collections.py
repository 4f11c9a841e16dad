"""Put the collections the project needs on ANSIBLE_COLLECTIONS_PATH without Galaxy.

Galaxy is unreachable from our machines, so the collections we depend on (galaxy.yml still
declares them for real users) are copied out of PyPI's ``ansible`` wheel, pinned in
``tests/requirements-collections.txt``. This collection itself is linked into the same tree,
so ``fleetsec.divest`` resolves to the working copy.

Idempotent: does nothing when the wanted versions are already there.
"""

from __future__ import annotations

import glob
import json
import os
import pathlib
import subprocess
import sys
import zipfile

ROOT = pathlib.Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache"
DEST = CACHE / "collections"
WHEELS = CACHE / "wheels"


def wanted() -> tuple[str, list[str]]:
    """Return (ansible wheel pin, collections) from tests/requirements-collections.txt."""
    pin, names = "", []
    for line in (ROOT / "tests" / "requirements-collections.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("ansible=="):
            pin = line
        else:
            names.append(line)
    if not pin:
        sys.exit("tests/requirements-collections.txt names no ansible==VERSION wheel")
    return pin, names


def installed_ok(pin: str, names: list[str]) -> bool:
    stamp = DEST / ".source"
    if not stamp.is_file() or stamp.read_text().strip() != pin:
        return False
    return all((DEST / "ansible_collections" / n.replace(".", "/") / "MANIFEST.json").is_file()
               for n in names)


def link_self() -> None:
    ns = DEST / "ansible_collections" / "fleetsec"
    ns.mkdir(parents=True, exist_ok=True)
    link = ns / "divest"
    if link.is_symlink() and os.readlink(link) == os.path.relpath(ROOT, ns):
        return
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(os.path.relpath(ROOT, ns), target_is_directory=True)


def main() -> None:
    if "--link-only" in sys.argv[1:]:  # the unit tests need only fleetsec.divest itself
        link_self()
        return
    pin, names = wanted()
    if not installed_ok(pin, names):
        WHEELS.mkdir(parents=True, exist_ok=True)
        version = pin.split("==", 1)[1]
        found = glob.glob(str(WHEELS / f"ansible-{version}-*.whl"))
        if not found:
            print(f"== pip download {pin} (collections bundle)", flush=True)
            subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                            "--disable-pip-version-check", pin, "-d", str(WHEELS)],
                           check=True, stderr=subprocess.DEVNULL)
            found = glob.glob(str(WHEELS / f"ansible-{version}-*.whl"))
        prefixes = tuple("ansible_collections/%s/" % n.replace(".", "/") for n in names)
        with zipfile.ZipFile(found[0]) as whl:
            members = [m for m in whl.namelist() if m.startswith(prefixes)]
            whl.extractall(DEST, members)
        (DEST / ".source").write_text(pin + "\n")
        versions = {}
        for n in names:
            manifest = DEST / "ansible_collections" / n.replace(".", "/") / "MANIFEST.json"
            versions[n] = json.loads(manifest.read_text())["collection_info"]["version"]
        print("== collections: " + ", ".join(f"{k} {v}" for k, v in versions.items()), flush=True)
    link_self()


if __name__ == "__main__":
    main()
