"""Make ``ansible_collections.fleetsec.divest`` importable for plain pytest runs.

The bootstrap links the working copy into ``.cache/collections/ansible_collections/fleetsec/divest``;
``ansible-test units`` sets the same path up by itself, so tests import the collection the
way Ansible does, by its fully qualified name.
"""

import os
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
COLLECTIONS = ROOT / ".cache" / "collections"

if not (COLLECTIONS / "ansible_collections" / "fleetsec" / "divest").exists():
    raise RuntimeError("run tests/harness/bootstrap.sh first: %s is missing" % COLLECTIONS)
if str(COLLECTIONS) not in sys.path and "ansible_collections.fleetsec" not in sys.modules:
    sys.path.insert(0, str(COLLECTIONS))
os.environ.setdefault("ANSIBLE_COLLECTIONS_PATH", str(COLLECTIONS))
