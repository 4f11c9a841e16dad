"""The build tests import the collection the way tests/unit does (tests/unit/conftest.py)."""

import os
import pathlib
import sys

COLLECTIONS = pathlib.Path(__file__).resolve().parents[2] / ".cache" / "collections"
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))
os.environ.setdefault("ANSIBLE_COLLECTIONS_PATH", str(COLLECTIONS))
