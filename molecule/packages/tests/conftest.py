"""testinfra tests of the package lifecycle scenario (molecule/packages)."""

import json
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared"))

import testlib  # noqa: E402

SCENARIO = "packages"
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def index():
    """What build_packages.py built (.cache/packages/index.json)."""
    cache = Path(os.environ.get("DIVEST_CACHE") or ROOT / ".cache")
    return json.loads((cache / "packages" / "index.json").read_text())["packages"]


@pytest.fixture(scope="session")
def lifecycle():
    return testlib.container(SCENARIO, "lifecycle")


@pytest.fixture(scope="session")
def faults():
    return testlib.container(SCENARIO, "faults")
