"""The EICAR anti-malware test string and a tiny ClamAV signature bundle that detects it.

The string is kept in pieces so that no file of the repository contains it whole (scanners
on developer machines would flag the file); it is joined only in memory. Used by prepare.yml
(``python eicar.py DIR`` writes the bundle into DIR, ``python eicar.py DIR blind`` a bundle
whose only signature does not match EICAR) and by the testinfra tests.

The bundle holds two unsigned custom databases, a combination clamd is known to load (ClamAV's
signature documentation: .hdb and .ndb are plain-text custom databases; verified here by the
clamav scenario): an MD5 hash signature (.hdb) and a body signature (.ndb). clamd reports their hits
with the suffix ``.UNOFFICIAL``.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

PIECES = ("X5O!P%@AP[4\\PZX54(P^)7CC)7}$", "EICAR-STANDARD-", "ANTIVIRUS-TEST-", "FILE!$H+H*")
HDB_NAME = "Divest.Test.EICAR-HDB"
NDB_NAME = "Divest.Test.EICAR-NDB"
BLIND_NAME = "Divest.Test.Other-NDB"


def eicar() -> bytes:
    return "".join(PIECES).encode("ascii")


def bundle() -> dict[str, str]:
    """File name -> content of the test signature bundle."""
    data = eicar()
    return {
        "divest-test.hdb": f"{hashlib.md5(data).hexdigest()}:{len(data)}:{HDB_NAME}\n",
        "divest-test.ndb": f"{NDB_NAME}:0:0:{data.hex()}\n",
    }


def blind_bundle() -> dict[str, str]:
    """A bundle that loads fine but does not detect EICAR: the health check must refuse it."""
    return {"divest-blind.ndb": f"{BLIND_NAME}:0:0:{b'fleetsec-divest: not the test string'.hex()}\n"}


def main(argv: list[str]) -> int:
    dest = Path(argv[1])
    dest.mkdir(parents=True, exist_ok=True)
    changed = []
    files = blind_bundle() if argv[2:] == ["blind"] else bundle()
    for name, content in files.items():
        path = dest / name
        if not path.exists() or path.read_text() != content:
            path.write_text(content)
            changed.append(name)
    print("written: " + " ".join(changed) if changed else "unchanged")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
