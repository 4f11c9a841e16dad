"""Controller-side tests of the harness: the fake packages as built (no containers needed)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HARNESS = Path(__file__).resolve().parent
ROOT = HARNESS.parent.parent
CACHE = Path(os.environ.get("DIVEST_CACHE") or ROOT / ".cache")


@pytest.fixture(scope="session")
def built():
    """Build the packages if their sources changed (a no-op otherwise); return the index."""
    proc = subprocess.run(
        [sys.executable, str(HARNESS / "build_packages.py"), "--quiet"],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads((CACHE / "packages" / "index.json").read_text())["packages"]


@pytest.fixture(scope="session")
def repos():
    return CACHE / "repos"
