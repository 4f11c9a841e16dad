"""testinfra tests of the base harness fleet (molecule/default)."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared"))

import testlib  # noqa: E402

SCENARIO = "default"


@pytest.fixture(scope="session")
def fleet():
    """fleet(role) -> testinfra host of that role's container."""
    return lambda role: testlib.container(SCENARIO, role)
