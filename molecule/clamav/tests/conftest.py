"""testinfra tests of the replacement antivirus scenario (molecule/clamav)."""

import sys
from pathlib import Path

import pytest

SCENARIO_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(SCENARIO_DIR.parent / "shared"))
sys.path.insert(0, str(SCENARIO_DIR))

import eicar  # noqa: E402
import testlib  # noqa: E402

SCENARIO = "clamav"


@pytest.fixture(scope="session")
def hosts():
    return {name: testlib.container(SCENARIO, name) for name in ("offline", "mirror", "norepo", "nopkg", "blind", "nodb")}


@pytest.fixture(scope="session")
def bundle():
    return eicar.bundle()


@pytest.fixture(scope="session")
def eicar_pieces():
    return eicar.PIECES
